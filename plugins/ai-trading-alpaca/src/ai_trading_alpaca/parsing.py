"""Conversions between Alpaca's JSON and the framework's models. Quantities and prices are
read from Alpaca's decimal strings straight into ``Decimal`` (clients run with
``raw_data=True`` so no float ever sits in between)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    OrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
)

from ai_trading_core.enums import OrderStatus, OrderType, Side, TimeInForce
from ai_trading_core.errors import BrokerError
from ai_trading_core.models import Order, OrderUpdate

STATUS = {
    "new": OrderStatus.ACCEPTED,
    "accepted": OrderStatus.ACCEPTED,
    "pending_new": OrderStatus.SUBMITTED,
    "accepted_for_bidding": OrderStatus.ACCEPTED,
    "held": OrderStatus.ACCEPTED,
    "calculated": OrderStatus.ACCEPTED,
    "stopped": OrderStatus.ACCEPTED,
    "pending_replace": OrderStatus.ACCEPTED,
    "pending_review": OrderStatus.SUBMITTED,
    "replaced": OrderStatus.CANCELLED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "done_for_day": OrderStatus.EXPIRED,
    "expired": OrderStatus.EXPIRED,
    "canceled": OrderStatus.CANCELLED,
    "pending_cancel": OrderStatus.CANCEL_PENDING,
    "rejected": OrderStatus.REJECTED,
    "suspended": OrderStatus.REJECTED,
}
"""Alpaca order status -> framework order status."""

_TIF = {
    TimeInForce.DAY: AlpacaTif.DAY,
    TimeInForce.GTC: AlpacaTif.GTC,
    TimeInForce.IOC: AlpacaTif.IOC,
    TimeInForce.FOK: AlpacaTif.FOK,
}


def decimal(value: Any, field: str) -> Decimal:
    """An exact Decimal from an Alpaca decimal string (or int). Floats are refused: they are
    a sign that the payload was parsed lossily somewhere."""
    if isinstance(value, float):
        raise BrokerError(f"alpaca: {field} arrived as a float ({value!r}); expected a decimal string")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise BrokerError(f"alpaca: {field} is not a number: {value!r}") from None


def timestamp(value: Any) -> datetime:
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def order_request(order: Order, extended_hours: bool = False) -> OrderRequest:
    """The alpaca-py request for an order; always carries the client order id."""
    common: dict[str, Any] = {
        "symbol": order.symbol,
        "qty": str(order.quantity),
        "side": AlpacaSide.BUY if order.side is Side.BUY else AlpacaSide.SELL,
        "time_in_force": _TIF[order.time_in_force],
        "client_order_id": order.client_order_id,
        "extended_hours": extended_hours or None,
    }
    if order.order_type is OrderType.MARKET:
        return MarketOrderRequest(**common)
    if order.order_type is OrderType.LIMIT:
        return LimitOrderRequest(limit_price=str(order.limit_price), **common)
    if order.order_type is OrderType.STOP:
        return StopOrderRequest(stop_price=str(order.stop_price), **common)
    return StopLimitOrderRequest(
        limit_price=str(order.limit_price), stop_price=str(order.stop_price), **common
    )


def order_update(raw: dict[str, Any], at: datetime) -> OrderUpdate:
    """An ``OrderUpdate`` from an Alpaca order object."""
    status = STATUS.get(str(raw.get("status")))
    if status is None:
        raise BrokerError(f"alpaca: order {raw.get('client_order_id')}: unknown status {raw.get('status')!r}")
    filled = raw.get("filled_qty")
    stamp = raw.get("updated_at") or raw.get("submitted_at")
    return OrderUpdate(
        client_order_id=str(raw["client_order_id"]),
        status=status,
        timestamp=timestamp(stamp) if stamp else at,
        broker_order_id=str(raw["id"]),
        filled_quantity=decimal(filled, "filled_qty") if filled not in (None, "") else None,
        reason=f"alpaca status {raw.get('status')}"
        if status in (OrderStatus.REJECTED, OrderStatus.EXPIRED)
        else None,
    )


def side(raw: dict[str, Any]) -> Side:
    return Side.BUY if str(raw.get("side")) == "buy" else Side.SELL
