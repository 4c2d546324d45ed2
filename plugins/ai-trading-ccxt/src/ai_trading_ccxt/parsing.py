"""Conversions between ccxt's unified structures and the framework's models.

ccxt's unified structures carry numbers as Python floats parsed from the exchange's decimal
strings. ``decimal`` converts them through ``repr`` (the shortest string that round-trips),
which gives back the exchange's decimal string exactly for every value of at most 15
significant digits: "0.00001000" -> 1e-05 -> Decimal("0.00001"), never the binary
expansion Decimal(1e-05) = 0.00001000000000000000081803....
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import ccxt

from ai_trading_core.enums import AssetClass, OrderStatus, OrderType, Side, TimeInForce
from ai_trading_core.errors import BrokerError, ConfigError, DataError
from ai_trading_core.models import Instrument, Order, OrderUpdate

STATUS = {
    "open": OrderStatus.ACCEPTED,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
"""ccxt unified order status -> framework order status ("open" with a filled quantity
becomes PARTIALLY_FILLED)."""

_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}


def decimal(value: Any, field: str) -> Decimal:
    """An exact Decimal from a ccxt number (float or numeric string)."""
    if value is None or isinstance(value, bool):
        raise BrokerError(f"ccxt: {field} is missing")
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        out = Decimal(text)
    except InvalidOperation:
        raise BrokerError(f"ccxt: {field} is not a number: {value!r}") from None
    if not out.is_finite():
        raise BrokerError(f"ccxt: {field} is not finite: {value!r}")
    return out


def increment(value: Any, mode: int, what: str) -> Decimal:
    """A price or amount increment from a ccxt market's ``precision`` entry, exactly.
    ``mode`` is the exchange's ``precisionMode``: TICK_SIZE (the increment itself, e.g.
    0.01) or DECIMAL_PLACES (a digit count, 2 -> 0.01)."""
    if value is None:
        raise DataError(f"ccxt: {what}: the exchange reports no precision")
    if mode == ccxt.TICK_SIZE:
        inc = decimal(value, what)
    elif mode == ccxt.DECIMAL_PLACES:
        inc = Decimal(1).scaleb(-int(value))
    else:
        raise DataError(f"ccxt: {what}: precision mode {mode} (significant digits) has no fixed increment")
    if inc <= 0:
        raise DataError(f"ccxt: {what}: non-positive increment {inc}")
    return inc.normalize()


def instrument(market: dict[str, Any], mode: int, exchange: str) -> Instrument:
    """An ``Instrument`` from a loaded ccxt market: tick = price precision, lot = amount
    precision, minimum quantity = the amount limit's minimum, currency = the quote asset."""
    symbol = str(market["symbol"])
    precision = market.get("precision") or {}
    min_amount = ((market.get("limits") or {}).get("amount") or {}).get("min")
    return Instrument(
        symbol=symbol,
        asset_class=AssetClass.CRYPTO,
        currency=str(market.get("quote") or "USD"),
        exchange=exchange,
        tick_size=increment(precision.get("price"), mode, f"{symbol} price precision"),
        lot_size=increment(precision.get("amount"), mode, f"{symbol} amount precision"),
        min_quantity=decimal(min_amount, f"{symbol} min amount").normalize() if min_amount else Decimal(0),
    )


def to_ms(text: str, what: str) -> int:
    """Milliseconds since the epoch of an ISO date or datetime (UTC when no offset)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise ConfigError(f"ccxt: {what} {text!r} is not an ISO date or datetime") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def order_args(order: Order, coid_param: str) -> dict[str, Any]:
    """Keyword arguments of ``exchange.create_order`` for an order; the amount and prices go
    as decimal strings (ccxt's precision helpers accept them), and the client order id
    always travels under ``coid_param``."""
    params: dict[str, Any] = {coid_param: order.client_order_id}
    price: str | None = None
    if order.order_type is OrderType.MARKET:
        kind = "market"
    elif order.order_type is OrderType.LIMIT:
        kind = "limit"
        price = str(order.limit_price)
        params["timeInForce"] = _TIF.get(order.time_in_force, "GTC")
    else:
        kind = "limit" if order.order_type is OrderType.STOP_LIMIT else "market"
        params["triggerPrice"] = str(order.stop_price)
        if order.limit_price is not None:
            price = str(order.limit_price)
    return {
        "symbol": order.symbol,
        "type": kind,
        "side": order.side.value,
        "amount": str(order.quantity),
        "price": price,
        "params": params,
    }


def order_update(raw: dict[str, Any], coid: str, at: datetime) -> OrderUpdate:
    """An ``OrderUpdate`` from a ccxt unified order."""
    status = STATUS.get(str(raw.get("status")))
    if status is None:
        raise BrokerError(f"ccxt: order {coid}: unknown status {raw.get('status')!r}")
    filled = raw.get("filled")
    filled_qty = decimal(filled, "filled") if filled is not None else None
    if status is OrderStatus.ACCEPTED and filled_qty:
        status = OrderStatus.PARTIALLY_FILLED
    stamp = raw.get("lastUpdateTimestamp") or raw.get("timestamp")
    return OrderUpdate(
        client_order_id=coid,
        status=status,
        timestamp=datetime.fromtimestamp(stamp / 1000, tz=UTC) if stamp else at,
        broker_order_id=str(raw["id"]) if raw.get("id") is not None else None,
        filled_quantity=filled_qty,
        reason=f"exchange status {raw.get('status')}"
        if status in (OrderStatus.REJECTED, OrderStatus.EXPIRED)
        else None,
    )


def side(value: Any) -> Side:
    return Side.BUY if str(value).lower() == "buy" else Side.SELL
