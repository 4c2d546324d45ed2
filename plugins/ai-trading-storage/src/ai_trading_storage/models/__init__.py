"""SQLAlchemy 2 ORM tables. ``Base.metadata`` is what the migrations must produce."""

from __future__ import annotations

from .base import Base, ExactDecimal, JsonText, UtcDateTime
from .market import BarRow, InstrumentRow
from .runs import AuditChainHeadRow, AuditEventRow, CheckpointRow, RunRow
from .trading import FillRow, OrderRow, PortfolioSnapshotRow, PositionSnapshotRow, RiskEventRow, SignalRow

__all__ = [
    "AuditChainHeadRow",
    "AuditEventRow",
    "BarRow",
    "Base",
    "CheckpointRow",
    "ExactDecimal",
    "FillRow",
    "InstrumentRow",
    "JsonText",
    "OrderRow",
    "PortfolioSnapshotRow",
    "PositionSnapshotRow",
    "RiskEventRow",
    "RunRow",
    "SignalRow",
    "UtcDateTime",
]
