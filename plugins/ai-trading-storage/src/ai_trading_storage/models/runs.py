"""Runs and the audit trail."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JsonText, UtcDateTime


class RunRow(Base):
    """A finished run: a few indexed fields plus the whole run document as JSON text."""

    __tablename__ = "runs"

    run_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(256))
    mode: Mapped[str] = mapped_column(sa.String(16))
    config_hash: Mapped[str] = mapped_column(sa.String(128))
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime())
    document: Mapped[str] = mapped_column(JsonText())
    # The sealed head of the run's audit chain (hash and event count), fixed once recorded.
    audit_head: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    audit_count: Mapped[int | None] = mapped_column(sa.BigInteger(), nullable=True)


class AuditEventRow(Base):
    """One audit event. Append-only: database triggers refuse UPDATE and DELETE.

    ``hash = sha256(prev_hash + canonical JSON of the event)``, chained per run; the first
    event of a run chains from :data:`ai_trading_storage.audit.chain.GENESIS_HASH`.
    """

    __tablename__ = "audit_events"

    run_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    sequence: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(32))
    correlation_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime())
    payload: Mapped[str] = mapped_column(JsonText())
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditChainHeadRow(Base):
    """The last event of each run's chain: where the next event links from, and how
    ``audit verify`` notices rows deleted from the end of a chain."""

    __tablename__ = "audit_chain_heads"

    run_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    sequence: Mapped[int] = mapped_column(sa.BigInteger())
    hash: Mapped[str] = mapped_column(sa.String(64))
    count: Mapped[int] = mapped_column(sa.BigInteger())
    sealed: Mapped[bool] = mapped_column(sa.Boolean(), default=False, server_default=sa.false())


class CheckpointRow(Base):
    """Where a paper or live run stands, rewritten after every step so that a restarted process
    can resume it (``ai_trading_core.recovery``). ``finished`` is set when the run ends
    normally; an unfinished row is a run to resume."""

    __tablename__ = "run_checkpoints"

    run_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    config_hash: Mapped[str] = mapped_column(sa.String(128), index=True)
    step_ns: Mapped[int | None] = mapped_column(sa.BigInteger(), nullable=True)
    finished: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(JsonText())
