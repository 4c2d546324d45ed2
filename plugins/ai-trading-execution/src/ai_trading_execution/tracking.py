"""Parent and child order records, and the execution report built from them.

Conventions: implementation shortfall is a cost, positive when the execution was worse than
the decision price (bought higher, sold lower): ``(average fill − decision price) × signed
filled quantity``, currency. The decision price is the close of the bar at which the engine
decided; the arrival price is the open of the first bar the parent is worked. Slippage is
against the arrival price. Both in bps are notional-weighted:
``Σ cost / Σ (reference price × filled quantity) × 10,000``. Commissions are reported
apart from price shortfall.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ai_trading_core.enums import OrderStatus
from ai_trading_core.models import Order

_BPS = 10_000.0


@dataclass
class ChildRecord:
    order: Order  # the child as sent (its status and fills kept up to date here)
    venue: str
    bar: int  # bars since the parent started
    sent_at: datetime
    commission: Decimal = Decimal(0)
    value: Decimal = Decimal(0)  # Σ fill quantity × price, currency

    def add_fill(self, quantity: Decimal, price: Decimal, commission: Decimal) -> None:
        self.order.filled_quantity += quantity
        self.value += quantity * price
        self.commission += commission
        self.order.average_fill_price = self.value / self.order.filled_quantity
        self.order.status = (
            OrderStatus.FILLED
            if self.order.filled_quantity >= self.order.quantity
            else OrderStatus.PARTIALLY_FILLED
        )


@dataclass
class ParentRecord:
    order: Order  # the engine's parent order as accepted (a copy)
    accepted_at: datetime
    decision_price: Decimal | None  # close of the decision bar, currency
    arrival_price: Decimal | None = None  # open of the first worked bar, currency
    start_ts: int | None = None  # ns, first worked bar
    bars: int = 0  # bars worked so far
    schedule: list[Decimal] | None = None
    sent: Decimal = Decimal(0)  # units sent to venues, net of refused or expired remainders
    filled: Decimal = Decimal(0)
    value: Decimal = Decimal(0)  # Σ fill quantity × price, currency
    commission: Decimal = Decimal(0)
    children: list[str] = field(default_factory=list)
    route_failures: int = 0
    status: OrderStatus = OrderStatus.ACCEPTED
    reason: str | None = None
    shadow_filled: Decimal = Decimal(0)
    shadow_value: Decimal = Decimal(0)
    shadow_commission: Decimal = Decimal(0)
    shadow_reason: str | None = None
    shadow_done: bool = False  # live and paper both finished and compared

    @property
    def quantity(self) -> Decimal:
        return self.order.quantity

    @property
    def unsent(self) -> Decimal:
        return self.order.quantity - self.sent

    @property
    def average_price(self) -> Decimal | None:
        return self.value / self.filled if self.filled > 0 else None

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal


def _cost(avg: Decimal | None, ref: Decimal | None, signed_qty: Decimal) -> float | None:
    if avg is None or ref is None:
        return None
    return float((avg - ref) * signed_qty)


def _bps(cost: float | None, ref: Decimal | None, qty: Decimal) -> float | None:
    if cost is None or ref is None or qty <= 0:
        return None
    return cost / (float(ref) * float(qty)) * _BPS


def parent_row(p: ParentRecord) -> dict[str, Any]:
    o = p.order
    signed = p.filled * o.side.sign
    avg = p.average_price
    shortfall = _cost(avg, p.decision_price, signed)
    slippage = _cost(avg, p.arrival_price, signed)
    return {
        "client_order_id": o.client_order_id,
        "strategy_id": o.strategy_id,
        "symbol": o.symbol,
        "side": o.side.value,
        "quantity": str(o.quantity),
        "filled_quantity": str(p.filled),
        "status": p.status.value,
        "reason": p.reason,
        "accepted_at": p.accepted_at.isoformat(),
        "decision_price": None if p.decision_price is None else str(p.decision_price),
        "arrival_price": None if p.arrival_price is None else str(p.arrival_price),
        "average_fill_price": None if avg is None else str(avg),
        "shortfall": shortfall,
        "shortfall_bps": _bps(shortfall, p.decision_price, p.filled),
        "slippage": slippage,
        "slippage_bps": _bps(slippage, p.arrival_price, p.filled),
        "commission": float(p.commission),
        "children": list(p.children),
        "bars_worked": p.bars,
    }


def child_row(c: ChildRecord) -> dict[str, Any]:
    o = c.order
    return {
        "client_order_id": o.client_order_id,
        "parent_id": o.parent_id,
        "venue": c.venue,
        "symbol": o.symbol,
        "side": o.side.value,
        "quantity": str(o.quantity),
        "filled_quantity": str(o.filled_quantity),
        "status": o.status.value,
        "average_fill_price": None if o.average_fill_price is None else str(o.average_fill_price),
        "commission": float(c.commission),
        "bar": c.bar,
        "sent_at": c.sent_at.isoformat(),
    }


@dataclass
class _Totals:
    orders: int = 0
    filled_quantity: float = 0.0
    notional: float = 0.0  # currency, Σ |fill value|
    shortfall: float = 0.0  # currency
    decision_notional: float = 0.0  # currency, Σ decision price × filled quantity
    slippage: float = 0.0  # currency
    arrival_notional: float = 0.0  # currency, Σ arrival price × filled quantity
    commission: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "filled_quantity": self.filled_quantity,
            "notional": self.notional,
            "shortfall": self.shortfall,
            "shortfall_bps": self.shortfall / self.decision_notional * _BPS
            if self.decision_notional
            else None,
            "slippage": self.slippage,
            "slippage_bps": self.slippage / self.arrival_notional * _BPS if self.arrival_notional else None,
            "commission": self.commission,
        }


def by_strategy(parents: Iterable[ParentRecord]) -> dict[str, dict[str, Any]]:
    out: dict[str, _Totals] = {}
    for p in parents:
        _add_parent(out.setdefault(p.order.strategy_id or "", _Totals()), p)
    return {k: v.as_dict() for k, v in sorted(out.items())}


def overall(parents: Iterable[ParentRecord]) -> dict[str, Any]:
    """The same totals over every parent order."""
    t = _Totals()
    for p in parents:
        _add_parent(t, p)
    return t.as_dict()


def _add_parent(t: _Totals, p: ParentRecord) -> None:
    t.orders += 1
    t.commission += float(p.commission)
    if p.filled > 0:
        _add(t, p.filled, p.value, p.order.side.sign, p.decision_price, p.arrival_price)


def by_venue(children: Iterable[ChildRecord], parents: dict[str, ParentRecord]) -> dict[str, dict[str, Any]]:
    """Per venue, over child fills; shortfall and slippage against the parent's prices."""
    out: dict[str, _Totals] = {}
    for c in children:
        t = out.setdefault(c.venue, _Totals())
        t.orders += 1
        t.commission += float(c.commission)
        q = c.order.filled_quantity
        if q <= 0:
            continue
        p = parents[c.order.parent_id or ""]
        _add(t, q, c.value, c.order.side.sign, p.decision_price, p.arrival_price)
    return {k: v.as_dict() for k, v in sorted(out.items())}


def _add(
    t: _Totals, qty: Decimal, value: Decimal, sign: int, decision: Decimal | None, arrival: Decimal | None
) -> None:
    t.filled_quantity += float(qty)
    t.notional += float(value)
    if decision is not None:
        t.shortfall += float((value - decision * qty) * sign)
        t.decision_notional += float(decision * qty)
    if arrival is not None:
        t.slippage += float((value - arrival * qty) * sign)
        t.arrival_notional += float(arrival * qty)


def shadow_row(p: ParentRecord, finished: bool = True) -> dict[str, Any]:
    """Live (venues) against shadow (paper) fills of one parent order.

    :param finished: both sides are done (the parent and the shadow's order are terminal);
        an unfinished order's quantities are still moving and are not a mismatch."""
    live = p.average_price
    paper = p.shadow_value / p.shadow_filled if p.shadow_filled > 0 else None
    diff_bps = None
    if live is not None and paper is not None:
        diff_bps = float((live - paper) / paper) * p.order.side.sign * _BPS
    return {
        "client_order_id": p.order.client_order_id,
        "strategy_id": p.order.strategy_id,
        "symbol": p.order.symbol,
        "side": p.order.side.value,
        "live_filled_quantity": str(p.filled),
        "shadow_filled_quantity": str(p.shadow_filled),
        "quantity_difference": str(p.filled - p.shadow_filled),
        "live_average_price": None if live is None else str(live),
        "shadow_average_price": None if paper is None else str(paper),
        "price_difference_bps": diff_bps,
        "shadow_reason": p.shadow_reason,
        "finished": finished,
    }


def shadow_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Live against paper over **finished** orders only (see :func:`shadow_row`), as the
    per-order log does: an order still working when the data ended (partly filled live or on
    paper) is listed under ``unfinished`` and never counted as a quantity mismatch.

    ``orders``: every parent; ``finished``: those compared; ``compared``: finished orders
    with a fill on both sides (the price difference is defined); ``quantity_mismatches``:
    finished orders whose live and paper filled quantities differ; ``unfinished``: the count
    and client order ids of the rest."""
    done = [r for r in rows if r.get("finished", True)]
    open_ids = [r["client_order_id"] for r in rows if not r.get("finished", True)]
    diffs = [r["price_difference_bps"] for r in done if r["price_difference_bps"] is not None]
    return {
        "orders": len(rows),
        "finished": len(done),
        "compared": len(diffs),
        "mean_price_difference_bps": sum(diffs) / len(diffs) if diffs else None,
        "quantity_mismatches": sum(1 for r in done if Decimal(r["quantity_difference"]) != 0),
        "unfinished": {"orders": len(open_ids), "client_order_ids": open_ids},
    }
