"""``audit explain ORDER_ID``: the whole decision chain behind one order."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ai_trading_core.errors import StorageError
from ai_trading_core.models import Fill, Order

if TYPE_CHECKING:
    from ..repositories import Database


@dataclass(frozen=True)
class ChainStep:
    run_id: str
    sequence: int
    kind: str
    timestamp: datetime
    payload: dict[str, Any]


@dataclass
class DecisionChain:
    order: Order
    run_id: str
    steps: list[ChainStep] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return [s.kind for s in self.steps]

    def lines(self) -> list[str]:
        o = self.order
        out = [
            f"order {o.client_order_id} (run {self.run_id or '-'}, correlation {o.correlation_id or '-'})",
            f"  {o.side} {o.quantity} {o.symbol} {o.order_type} status={o.status} filled={o.filled_quantity}"
            + (f" avg={o.average_fill_price}" if o.average_fill_price is not None else ""),
        ]
        for step in self.steps:
            body = json.dumps(step.payload, sort_keys=True, default=str)
            out.append(f"  #{step.sequence:<6} {step.timestamp.isoformat()} {step.kind:<13} {body}")
        if not self.steps:
            out.append("  (no audit events stored for this correlation id)")
        for fill in self.fills:
            out.append(
                f"  fill {fill.execution_id}: {fill.side} {fill.quantity} @ {fill.price} "
                f"commission {fill.commission} at {fill.timestamp.isoformat()}"
            )
        return out


def explain(db: Database, client_order_id: str) -> DecisionChain:
    """Collect the audit events sharing the order's correlation id (market data, signal,
    sizing, every risk verdict, order, acknowledgements, fills) and the stored fills."""
    order = db.orders.get(client_order_id)
    if order is None:
        raise StorageError(f"no stored order {client_order_id!r}")
    run_id = db.orders.run_of(client_order_id) or ""
    rows = db.audit.for_correlation(order.correlation_id) if order.correlation_id else []
    steps = [
        ChainStep(r.run_id, r.sequence, r.kind, r.timestamp, json.loads(r.payload))
        for r in rows
        if not run_id or r.run_id == run_id
    ]
    return DecisionChain(order=order, run_id=run_id, steps=steps, fills=db.fills.for_order(client_order_id))
