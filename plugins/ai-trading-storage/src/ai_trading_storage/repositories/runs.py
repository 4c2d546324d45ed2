"""Run documents, stored whole as JSON text and read back equal."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ai_trading_core.errors import StorageError

from ..models import RunRow
from ._sql import reading, transaction, upsert


def run_id_of(document: dict[str, Any]) -> str:
    """A run document's id: top-level ``run_id`` or ``session.run_id``."""
    session = document.get("session")
    run_id = document.get("run_id") or (session.get("run_id") if isinstance(session, dict) else None)
    if not isinstance(run_id, str) or not run_id:
        raise StorageError("run document has no run_id (expected 'run_id' or 'session.run_id')")
    return run_id


def _field(document: dict[str, Any], name: str) -> str:
    session = document.get("session") if isinstance(document.get("session"), dict) else {}
    value = document.get(name, session.get(name, ""))  # type: ignore[union-attr]
    return "" if value is None else str(value)


def _audit_head(document: dict[str, Any]) -> dict[str, Any]:
    audit = document.get("audit")
    if not isinstance(audit, dict) or not audit.get("head"):
        return {}
    return {"audit_head": str(audit["head"]), "audit_count": int(audit.get("events", 0))}


class RunRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, document: dict[str, Any], stored_at: datetime) -> str:
        """Store (or replace) a run document; returns its run id. Values must be JSON types:
        anything else is refused rather than silently turned into a string."""
        run_id = run_id_of(document)
        try:
            text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise StorageError(f"run {run_id}: document is not JSON-serialisable: {exc}") from None
        values = {
            "run_id": run_id,
            "name": _field(document, "name"),
            "mode": _field(document, "mode"),
            "config_hash": _field(document, "config_hash"),
            "stored_at": stored_at,
            "document": text,
            # the sealed head of the run's audit chain; the database keeps it once recorded
            **_audit_head(document),
        }
        with transaction(self.engine, f"storing run {run_id}") as conn:
            upsert(conn, RunRow, [values], ["run_id"])
        return run_id

    def load(self, run_id: str) -> dict[str, Any]:
        with reading(self.engine, f"loading run {run_id}") as s:
            text = s.scalar(sa.select(RunRow.document).where(RunRow.run_id == run_id))
        if text is None:
            raise StorageError(f"no stored run {run_id!r}")
        document: dict[str, Any] = json.loads(text)
        return document

    def audit_heads(self) -> dict[str, tuple[str | None, int | None]]:
        """Run id → (sealed audit head, event count) as recorded on each run row."""
        with reading(self.engine, "reading the runs' audit heads") as s:
            rows = s.execute(sa.select(RunRow.run_id, RunRow.audit_head, RunRow.audit_count)).all()
        return {r.run_id: (r.audit_head, r.audit_count) for r in rows}

    def ids(self) -> list[str]:
        with reading(self.engine, "listing runs") as s:
            return list(s.scalars(sa.select(RunRow.run_id).order_by(RunRow.stored_at, RunRow.run_id)))
