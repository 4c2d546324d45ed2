"""The repository layer: the only way the rest of the code reads or writes the database."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ai_trading_core.audit import AuditKey

from .audit import AuditRepository
from .checkpoints import CheckpointRepository
from .events import RiskEventRepository, SignalRepository, SnapshotRepository
from .instruments import InstrumentRepository
from .orders import FillRepository, OrderRepository
from .runs import RunRepository, run_id_of


class Database:
    """All repositories over one engine. ``audit_key`` keys the audit chain's HMAC: needed to
    append audit events and to verify them, not to read them."""

    def __init__(self, engine: Engine, audit_key: AuditKey | None = None) -> None:
        self.engine = engine
        self.instruments = InstrumentRepository(engine)
        self.orders = OrderRepository(engine)
        self.fills = FillRepository(engine)
        self.signals = SignalRepository(engine)
        self.snapshots = SnapshotRepository(engine)
        self.risk_events = RiskEventRepository(engine)
        self.runs = RunRepository(engine)
        self.audit = AuditRepository(engine, audit_key)
        self.checkpoints = CheckpointRepository(engine)

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = [
    "AuditRepository",
    "CheckpointRepository",
    "Database",
    "FillRepository",
    "InstrumentRepository",
    "OrderRepository",
    "RiskEventRepository",
    "RunRepository",
    "SignalRepository",
    "SnapshotRepository",
    "run_id_of",
]
