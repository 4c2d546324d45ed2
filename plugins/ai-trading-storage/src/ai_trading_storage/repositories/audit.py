"""Appending to and reading the hash-chained audit trail."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ai_trading_core.audit import AuditKey
from ai_trading_core.errors import AuditError
from ai_trading_core.models import AuditEvent

from ..audit.chain import GENESIS_HASH, SEAL_KIND, chain_hash, event_bytes, payload_text
from ..models import AuditChainHeadRow, AuditEventRow
from ._sql import reading, transaction


class AuditRepository:
    def __init__(self, engine: Engine, key: AuditKey | None = None) -> None:
        self.engine = engine
        self.key = key

    def append(self, event: AuditEvent) -> str:
        """Append ``event`` to its run's chain; durable on return. Returns the row's hash.

        Sequences must be contiguous per run: an event whose sequence is not the head's + 1
        is refused (the chain would otherwise show a gap). Concurrent writers to one run are
        serialised by an advisory lock (PostgreSQL) or the database lock (SQLite).
        """
        if self.key is None:
            raise AuditError("cannot append to the audit trail: no audit key (see resolve_audit_key)")
        key = self.key
        payload = payload_text(event)
        with transaction(self.engine, f"appending audit event {event.run_id}#{event.sequence}") as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:r))"), {"r": event.run_id})
            head = conn.execute(
                sa.select(AuditChainHeadRow.sequence, AuditChainHeadRow.hash, AuditChainHeadRow.count).where(
                    AuditChainHeadRow.run_id == event.run_id
                )
            ).first()
            if head is not None and event.sequence != head.sequence + 1:
                raise AuditError(
                    f"audit event {event.run_id}#{event.sequence} out of order: the chain's last sequence is "
                    f"{head.sequence}"
                )
            prev = GENESIS_HASH if head is None else head.hash
            digest = chain_hash(
                prev,
                event_bytes(
                    event.run_id, event.sequence, event.kind, event.correlation_id, event.timestamp, payload
                ),
                key,
            )
            conn.execute(
                sa.insert(AuditEventRow),
                {
                    "run_id": event.run_id,
                    "sequence": event.sequence,
                    "kind": event.kind,
                    "correlation_id": event.correlation_id,
                    "timestamp": event.timestamp,
                    "payload": payload,
                    "prev_hash": prev,
                    "hash": digest,
                },
            )
            # The head is inserted for the first event and advanced by one afterwards: the
            # database's triggers (migration 0004) refuse any other change to it.
            values = {
                "sequence": event.sequence,
                "hash": digest,
                "count": 1 if head is None else int(head._mapping["count"]) + 1,
                "sealed": event.kind == SEAL_KIND,
            }
            if head is None:
                conn.execute(sa.insert(AuditChainHeadRow), {"run_id": event.run_id, **values})
            else:
                conn.execute(
                    sa.update(AuditChainHeadRow).where(AuditChainHeadRow.run_id == event.run_id).values(**values)
                )
        return digest

    def run_ids(self) -> list[str]:
        with reading(self.engine, "listing audited runs") as s:
            ids = set(s.scalars(sa.select(AuditEventRow.run_id).distinct()))
            ids |= set(s.scalars(sa.select(AuditChainHeadRow.run_id)))
        return sorted(ids)

    def head(self, run_id: str) -> AuditChainHeadRow | None:
        with reading(self.engine, f"reading audit head of run {run_id}") as s:
            row = s.get(AuditChainHeadRow, run_id)
            if row is not None:
                s.expunge(row)
            return row

    def rows(self, run_id: str, batch: int = 5000) -> Iterator[AuditEventRow]:
        """The run's rows in sequence order, read in batches."""
        last: int | None = None
        while True:
            with reading(self.engine, f"reading audit trail of run {run_id}") as s:
                q = sa.select(AuditEventRow).where(AuditEventRow.run_id == run_id)
                if last is not None:
                    q = q.where(AuditEventRow.sequence > last)
                chunk = s.scalars(q.order_by(AuditEventRow.sequence).limit(batch)).all()
                s.expunge_all()
            if not chunk:
                return
            yield from chunk
            last = chunk[-1].sequence

    def for_correlation(self, correlation_id: str) -> list[AuditEventRow]:
        with reading(self.engine, f"reading audit events of {correlation_id}") as s:
            rows = s.scalars(
                sa.select(AuditEventRow)
                .where(AuditEventRow.correlation_id == correlation_id)
                .order_by(AuditEventRow.run_id, AuditEventRow.sequence)
            ).all()
            s.expunge_all()
            return list(rows)
