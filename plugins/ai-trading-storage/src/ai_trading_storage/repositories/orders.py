"""Orders (latest state per client order id) and fills (once per execution id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ai_trading_core.errors import StorageError
from ai_trading_core.models import Fill, Order

from ..models import FillRow, OrderRow
from ._sql import insert_for, insert_ignore, reading, transaction

_ORDER_FIELDS = tuple(Order.model_fields)
_FILL_FIELDS = tuple(Fill.model_fields)


def order_values(order: Order, run_id: str, updated_at: datetime) -> dict[str, Any]:
    values = {name: getattr(order, name) for name in _ORDER_FIELDS}
    for name in ("side", "order_type", "time_in_force", "status"):
        values[name] = str(values[name])
    values.update(run_id=run_id, updated_at=updated_at)
    return values


def order_from_row(row: OrderRow) -> Order:
    return Order.model_validate({name: getattr(row, name) for name in _ORDER_FIELDS})


def fill_from_row(row: FillRow) -> Fill:
    return Fill.model_validate({name: getattr(row, name) for name in _FILL_FIELDS})


class OrderRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, order: Order, run_id: str = "") -> None:
        """Insert a new order; durable when this returns. A client order id that exists
        already is an error (it would mean two decisions produced the same id)."""
        with transaction(self.engine, f"recording order {order.client_order_id}") as conn:
            stmt = (
                insert_for(conn, OrderRow)
                .on_conflict_do_nothing(index_elements=["client_order_id"])
                .returning(OrderRow.client_order_id)
            )
            inserted = conn.execute(stmt, order_values(order, run_id, order.created_at)).first()
            if inserted is None:
                existing = conn.execute(
                    sa.select(OrderRow.run_id).where(OrderRow.client_order_id == order.client_order_id)
                ).scalar()
                if existing != run_id:
                    raise StorageError(
                        f"client order id {order.client_order_id!r} already recorded by run {existing!r}"
                    )

    def update(self, order: Order, run_id: str = "", updated_at: datetime | None = None) -> None:
        """Store the order's new state (inserting it if it was never recorded)."""
        values = order_values(order, run_id, updated_at or order.created_at)
        with transaction(self.engine, f"updating order {order.client_order_id}") as conn:
            changes = {
                k: v for k, v in values.items() if k != "client_order_id" and (k != "run_id" or run_id)
            }
            result = conn.execute(
                sa.update(OrderRow).where(OrderRow.client_order_id == order.client_order_id).values(**changes)
            )
            if result.rowcount == 0:
                conn.execute(sa.insert(OrderRow), values)

    def get(self, client_order_id: str) -> Order | None:
        with reading(self.engine, f"reading order {client_order_id}") as s:
            row = s.get(OrderRow, client_order_id)
            return None if row is None else order_from_row(row)

    def run_of(self, client_order_id: str) -> str | None:
        with reading(self.engine, f"reading order {client_order_id}") as s:
            return s.scalar(sa.select(OrderRow.run_id).where(OrderRow.client_order_id == client_order_id))

    def for_run(self, run_id: str) -> list[Order]:
        with reading(self.engine, f"reading orders of run {run_id}") as s:
            rows = s.scalars(
                sa.select(OrderRow)
                .where(OrderRow.run_id == run_id)
                .order_by(OrderRow.created_at, OrderRow.client_order_id)
            )
            return [order_from_row(r) for r in rows]


class FillRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, fill: Fill, run_id: str = "") -> bool:
        """Record an execution once; returns False when ``execution_id`` was seen before."""
        values = fill.model_dump()
        values["side"] = str(values["side"])
        values["run_id"] = run_id
        with transaction(self.engine, f"recording fill {fill.execution_id}") as conn:
            return insert_ignore(conn, FillRow, [values], ["execution_id"]) > 0

    def for_order(self, client_order_id: str) -> list[Fill]:
        with reading(self.engine, f"reading fills of order {client_order_id}") as s:
            rows = s.scalars(
                sa.select(FillRow)
                .where(FillRow.client_order_id == client_order_id)
                .order_by(FillRow.timestamp, FillRow.execution_id)
            )
            return [fill_from_row(r) for r in rows]

    def for_run(self, run_id: str) -> list[Fill]:
        with reading(self.engine, f"reading fills of run {run_id}") as s:
            rows = s.scalars(
                sa.select(FillRow)
                .where(FillRow.run_id == run_id)
                .order_by(FillRow.timestamp, FillRow.execution_id)
            )
            return [fill_from_row(r) for r in rows]
