"""Instruments and bars."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, ExactDecimal


class InstrumentRow(Base):
    __tablename__ = "instruments"

    symbol: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    asset_class: Mapped[str] = mapped_column(sa.String(16))
    currency: Mapped[str] = mapped_column(sa.String(8))
    exchange: Mapped[str | None] = mapped_column(sa.String(32))
    tick_size: Mapped[Decimal] = mapped_column(ExactDecimal())
    lot_size: Mapped[Decimal] = mapped_column(ExactDecimal())
    min_quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    description: Mapped[str | None] = mapped_column(sa.Text)


BAR_TIME_SQLITE = sa.BigInteger()


class BarRow(Base):
    """One OHLCV bar labelled by its open time.

    ``ts`` is ``timestamptz`` on PostgreSQL (the hypertable / partition key) and int64
    nanoseconds since the epoch on SQLite; :mod:`ai_trading_storage.ingest` is the only code
    that reads and writes bars, and converts. On PostgreSQL the table is created by the
    migration as a hypertable or a ``PARTITION BY RANGE (ts)`` table.
    """

    __tablename__ = "bars"

    symbol: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    timeframe: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    ts: Mapped[object] = mapped_column(
        sa.DateTime(timezone=True).with_variant(BAR_TIME_SQLITE, "sqlite"), primary_key=True
    )
    open: Mapped[float] = mapped_column(sa.Double())
    high: Mapped[float] = mapped_column(sa.Double())
    low: Mapped[float] = mapped_column(sa.Double())
    close: Mapped[float] = mapped_column(sa.Double())
    volume: Mapped[float] = mapped_column(sa.Double())
