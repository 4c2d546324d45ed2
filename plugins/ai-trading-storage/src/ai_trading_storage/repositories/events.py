"""Signals, position and portfolio snapshots, risk events."""

from __future__ import annotations

import json
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ai_trading_core.models import PortfolioState, RiskEvent, Signal

from ..models import PortfolioSnapshotRow, PositionSnapshotRow, RiskEventRow, SignalRow
from ._sql import reading, transaction, upsert


class SignalRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, signals: Iterable[Signal], run_id: str) -> None:
        rows = []
        for sig in signals:
            values = sig.model_dump(mode="json", exclude={"metadata", "timestamp"})
            rows.append(
                {
                    **values,
                    "timestamp": sig.timestamp,
                    "run_id": run_id,
                    "metadata": json.dumps(sig.metadata, sort_keys=True, default=str),
                }
            )
        if rows:
            with transaction(self.engine, f"recording signals of run {run_id}") as conn:
                conn.execute(sa.insert(SignalRow.__table__), rows)

    def for_run(self, run_id: str) -> list[Signal]:
        with reading(self.engine, f"reading signals of run {run_id}") as s:
            rows = s.scalars(sa.select(SignalRow).where(SignalRow.run_id == run_id).order_by(SignalRow.id))
            return [
                Signal(
                    strategy_id=r.strategy_id,
                    symbol=r.symbol,
                    timestamp=r.timestamp,
                    strength=r.strength,
                    confidence=r.confidence,
                    correlation_id=r.correlation_id,
                    metadata=json.loads(r.metadata_json),
                )
                for r in rows
            ]


class SnapshotRepository:
    """Portfolio state at a timestamp: one portfolio row plus one row per position."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, state: PortfolioState, run_id: str) -> None:
        with transaction(self.engine, f"recording portfolio snapshot of run {run_id}") as conn:
            upsert(
                conn,
                PortfolioSnapshotRow,
                [
                    {
                        "run_id": run_id,
                        "timestamp": state.timestamp,
                        "cash": state.cash,
                        "equity": state.equity,
                        "currency": state.currency,
                    }
                ],
                ["run_id", "timestamp"],
            )
            upsert(
                conn,
                PositionSnapshotRow,
                [{"run_id": run_id, "timestamp": state.timestamp, **p.model_dump()} for p in state.positions],
                ["run_id", "timestamp", "symbol"],
            )

    def for_run(self, run_id: str) -> list[PortfolioState]:
        with reading(self.engine, f"reading snapshots of run {run_id}") as s:
            ports = s.scalars(
                sa.select(PortfolioSnapshotRow)
                .where(PortfolioSnapshotRow.run_id == run_id)
                .order_by(PortfolioSnapshotRow.timestamp)
            ).all()
            pos = s.scalars(
                sa.select(PositionSnapshotRow)
                .where(PositionSnapshotRow.run_id == run_id)
                .order_by(PositionSnapshotRow.timestamp, PositionSnapshotRow.symbol)
            ).all()
        by_ts: dict[object, list[dict[str, object]]] = {}
        for p in pos:
            by_ts.setdefault(p.timestamp, []).append(
                {
                    "symbol": p.symbol,
                    "quantity": p.quantity,
                    "average_price": p.average_price,
                    "realized_pnl": p.realized_pnl,
                    "market_price": p.market_price,
                }
            )
        return [
            PortfolioState.model_validate(
                {
                    "timestamp": r.timestamp,
                    "cash": r.cash,
                    "equity": r.equity,
                    "currency": r.currency,
                    "positions": by_ts.get(r.timestamp, []),
                }
            )
            for r in ports
        ]


class RiskEventRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, event: RiskEvent, run_id: str) -> None:
        values = {
            **event.model_dump(),
            "run_id": run_id,
            "previous_state": str(event.previous_state),
            "state": str(event.state),
        }
        with transaction(self.engine, f"recording risk event of run {run_id}") as conn:
            conn.execute(sa.insert(RiskEventRow), values)

    def for_run(self, run_id: str) -> list[RiskEvent]:
        with reading(self.engine, f"reading risk events of run {run_id}") as s:
            rows = s.scalars(
                sa.select(RiskEventRow).where(RiskEventRow.run_id == run_id).order_by(RiskEventRow.id)
            )
            return [
                RiskEvent(
                    timestamp=r.timestamp,
                    source=r.source,
                    previous_state=r.previous_state,  # type: ignore[arg-type]
                    state=r.state,
                    reason=r.reason,
                    measured=r.measured,
                    limit=r.limit,
                )  # type: ignore[arg-type]
                for r in rows
            ]
