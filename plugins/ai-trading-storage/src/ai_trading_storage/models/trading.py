"""Signals, orders, fills, position and portfolio snapshots, risk events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, ExactDecimal, JsonText, UtcDateTime


class SignalRow(Base):
    __tablename__ = "signals"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    strategy_id: Mapped[str] = mapped_column(sa.String(128))
    symbol: Mapped[str] = mapped_column(sa.String(64))
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime())
    strength: Mapped[float] = mapped_column(sa.Double())
    confidence: Mapped[float] = mapped_column(sa.Double())
    correlation_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    metadata_json: Mapped[str] = mapped_column("metadata", JsonText())


class OrderRow(Base):
    """The latest state of an order. Written (status NEW) before the order is sent."""

    __tablename__ = "orders"

    client_order_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    run_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    symbol: Mapped[str] = mapped_column(sa.String(64))
    side: Mapped[str] = mapped_column(sa.String(8))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    order_type: Mapped[str] = mapped_column(sa.String(16))
    limit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    stop_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    time_in_force: Mapped[str] = mapped_column(sa.String(8))
    strategy_id: Mapped[str] = mapped_column(sa.String(128))
    correlation_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(sa.String(24))
    broker_order_id: Mapped[str | None] = mapped_column(sa.String(128))
    filled_quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    average_fill_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    reason: Mapped[str | None] = mapped_column(sa.Text)
    parent_id: Mapped[str | None] = mapped_column(sa.String(128))
    reduce_only: Mapped[bool] = mapped_column(sa.Boolean())
    notional: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FillRow(Base):
    __tablename__ = "fills"

    execution_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    client_order_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    run_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    symbol: Mapped[str] = mapped_column(sa.String(64))
    side: Mapped[str] = mapped_column(sa.String(8))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    price: Mapped[Decimal] = mapped_column(ExactDecimal())
    commission: Mapped[Decimal] = mapped_column(ExactDecimal())
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime())
    strategy_id: Mapped[str] = mapped_column(sa.String(128))
    correlation_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    venue: Mapped[str] = mapped_column(sa.String(32))


class PositionSnapshotRow(Base):
    __tablename__ = "position_snapshots"

    run_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    symbol: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    average_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    realized_pnl: Mapped[Decimal] = mapped_column(ExactDecimal())
    market_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())


class PortfolioSnapshotRow(Base):
    __tablename__ = "portfolio_snapshots"

    run_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    cash: Mapped[Decimal] = mapped_column(ExactDecimal())
    equity: Mapped[Decimal] = mapped_column(ExactDecimal())
    currency: Mapped[str] = mapped_column(sa.String(8))


class RiskEventRow(Base):
    __tablename__ = "risk_events"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(sa.String(128))
    previous_state: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.Text)
    measured: Mapped[float | None] = mapped_column(sa.Double())
    limit: Mapped[float | None] = mapped_column(sa.Double())
