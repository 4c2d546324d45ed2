"""The ``sql`` storage component: the kernel's ``Storage`` protocol over the repositories."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from loguru import logger
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.audit import resolve_audit_key
from ai_trading_core.clock import WallClock
from ai_trading_core.models import AuditEvent, Fill, Instrument, Order, PortfolioState, RiskEvent, Signal
from ai_trading_core.recovery import Checkpoint, RecoveredState
from ai_trading_core.registry import BuildContext

from .connection import PoolSettings, create_db_engine
from .repositories import Database


class SqlStorageParams(BaseModel):
    """Parameters of the ``sql`` storage component."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        default=None,
        description="database URL; default sqlite:///<state_dir>/ai-trading.db; "
        "postgresql://user@host/db for PostgreSQL",
    )
    pool_size: int = Field(default=5, ge=1, description="connections kept open")
    max_overflow: int = Field(default=10, ge=0, description="extra connections under load")
    pool_timeout: float = Field(default=30.0, gt=0, description="seconds to wait for a free connection")
    pool_pre_ping: bool = Field(default=True, description="test connections before use")
    connect_timeout: float = Field(default=5.0, gt=0, description="seconds allowed to open a connection")
    auto_migrate: bool = Field(default=True, description="run `db upgrade` when the component starts")
    timescale: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="bars layout when the schema is created: auto = TimescaleDB hypertable when the "
        "server can load it, else native partitions; on = TimescaleDB or fail; off = native partitions",
    )


def default_url(state_dir: Path) -> str:
    return f"sqlite:///{(Path(state_dir) / 'ai-trading.db').as_posix()}"


class SqlStorage:
    """Durable orders, fills, audit events and run documents.

    Every ``record_*`` method commits before returning and raises
    :class:`~ai_trading_core.errors.StorageError` when the database cannot be written: the
    engine calls ``record_order`` before the broker, so a failure halts trading instead of
    sending an unrecorded order.
    """

    def __init__(self, params: SqlStorageParams, ctx: BuildContext) -> None:
        self.url = params.url or default_url(ctx.state_dir)
        pool = PoolSettings(params.pool_size, params.max_overflow, params.pool_timeout, params.pool_pre_ping)
        self.engine = create_db_engine(self.url, pool, connect_timeout=params.connect_timeout)
        # the audit chain's HMAC key, resolved as the run's file sink resolves it
        self.db = Database(self.engine, audit_key=resolve_audit_key(ctx.credentials, ctx.state_dir))
        self.clock = ctx.clock if ctx.clock is not None else WallClock()
        self.run_id = ""
        if params.auto_migrate:
            from . import migrations  # Alembic loads only for the component, not for every command

            for note in migrations.upgrade(self.engine, timescale=params.timescale):
                logger.warning("storage: {}", note)

    # ------------------------------------------------------------------ run identity
    def bind_run(self, run_id: str) -> None:
        """Tag the orders, fills and snapshots recorded from now on with ``run_id``."""
        self.run_id = run_id

    # ------------------------------------------------------------------ Storage protocol
    def record_order(self, order: Order) -> None:
        self.db.orders.add(order, self.run_id)

    def record_order_update(self, order: Order) -> None:
        self.db.orders.update(order, self.run_id, updated_at=self._now())

    def record_fill(self, fill: Fill) -> None:
        self.db.fills.add(fill, self.run_id)

    def close(self) -> None:
        self.db.dispose()

    # ------------------------------------------------------------------ audit and runs
    def record_audit(self, event: AuditEvent) -> str:
        """Append to the HMAC-chained, append-only audit trail; durable on return. Returns the
        event's chain hash."""
        if not self.run_id:
            self.run_id = event.run_id
        return self.db.audit.append(event)

    def record_run(self, document: dict[str, Any]) -> None:
        """Store the finished run document (read back equal by :meth:`load_run`)."""
        self.db.runs.save(document, stored_at=self._now())

    def load_run(self, run_id: str) -> dict[str, Any]:
        return self.db.runs.load(run_id)

    # ------------------------------------------------------------------ crash recovery
    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Where the run stands (after every paper or live step); durable on return."""
        self.db.checkpoints.save(checkpoint, updated_at=self._now())

    def finish_run(self, run_id: str) -> None:
        """The run ended normally: a later start of the same config begins a new run."""
        self.db.checkpoints.finish(run_id)

    def recover(self, config_hash: str) -> RecoveredState | None:
        """The newest unfinished run of this config with everything it recorded, or None."""
        checkpoint = self.db.checkpoints.unfinished(config_hash)
        if checkpoint is None:
            return None
        run_id = checkpoint.run_id
        head = self.db.audit.head(run_id)
        return RecoveredState(
            checkpoint=checkpoint,
            orders=self.db.orders.for_run(run_id),
            fills=self.db.fills.for_run(run_id),
            audit_sequence=0 if head is None else int(head.sequence),
        )

    # ------------------------------------------------------------------ optional records
    def record_instruments(self, instruments: list[Instrument]) -> None:
        self.db.instruments.upsert(instruments)

    def record_signal(self, signal: Signal) -> None:
        self.db.signals.add([signal], self.run_id)

    def record_snapshot(self, state: PortfolioState) -> None:
        self.db.snapshots.add(state, self.run_id)

    def record_risk_event(self, event: RiskEvent) -> None:
        self.db.risk_events.add(event, self.run_id)

    def _now(self) -> datetime:
        now: datetime = self.clock.now()
        return now
