"""The embedded audit trail: append-only JSON lines, hash-chained.

Each line is ``{"sequence", "run_id", "kind", "correlation_id", "timestamp", "payload",
"prev_hash", "hash"}`` with ``hash = sha256(prev_hash + canonical_json(event))`` where the
canonical form has sorted keys, no spaces, and the first ``prev_hash`` is 64 zeros. Changing,
inserting or deleting any line breaks the chain at that line; :func:`verify_audit_file`
names it. The storage plugin writes the same chain to the database.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from loguru import logger

from . import hookimpl
from .errors import AuditError
from .models import AuditEvent

GENESIS = "0" * 64


def canonical_json(event: AuditEvent) -> str:
    doc = event.model_dump(mode="json")
    doc["timestamp"] = event.timestamp.isoformat(timespec="microseconds")
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + canonical_json(event)).encode()).hexdigest()


class JsonlAuditSink:
    """Writes audit events to a JSON-lines file, flushed (and optionally fsynced) per event.
    Registered with the run's plugin manager as the ``audit-jsonl`` plugin."""

    def __init__(self, path: Path, *, fsync: bool = False) -> None:
        self.path = path
        self.fsync = fsync
        self._fh: IO[str] | None = None
        self._prev = GENESIS
        self.count = 0

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size:
            _drop_torn_tail(self.path)
            last = _last_line(self.path)
            if last:
                self._prev = json.loads(last)["hash"]
        self._fh = self.path.open("a", encoding="utf-8")

    @hookimpl
    def ai_trading_audit_event(self, event: AuditEvent) -> None:
        if self._fh is None:
            self.open()
        assert self._fh is not None
        digest = chain_hash(self._prev, event)
        record: dict[str, Any] = json.loads(canonical_json(event))
        record["prev_hash"] = self._prev
        record["hash"] = digest
        try:
            self._fh.write(json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")
            self._fh.flush()
            if self.fsync:
                os.fsync(self._fh.fileno())
        except OSError as exc:
            raise AuditError(f"cannot write audit trail {self.path}: {exc}") from exc
        self._prev = digest
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _drop_torn_tail(path: Path) -> None:
    """A process killed in the middle of a write leaves a last line without its newline: that
    record was never complete (nor acted on), so it is cut off before the chain continues."""
    with path.open("rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        block = min(size, 65536)
        fh.seek(size - block)
        tail = fh.read()
        cut = tail.rfind(b"\n")
        keep = size - block + cut + 1 if cut >= 0 else (0 if block == size else size)
        if keep == size:
            return
        fh.truncate(keep)
    logger.warning(
        "audit trail {}: dropped a torn last record ({} bytes) left by an interrupted write", path, size - keep
    )


def _last_line(path: Path) -> str:
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        block = min(size, 65536)
        fh.seek(size - block)
        lines = fh.read().decode("utf-8").strip().splitlines()
    return lines[-1] if lines else ""


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    lines: int
    problem: str = ""
    line: int | None = None


def verify_audit_file(path: Path) -> AuditVerification:
    """Recompute the hash chain. Reports the first line (1-based) that was altered, inserted
    or follows a deletion."""
    if not path.is_file():
        raise AuditError(f"audit file not found: {path}")
    prev = GENESIS
    n = 0
    with path.open(encoding="utf-8") as fh:
        for n, raw in enumerate(fh, start=1):
            try:
                record = json.loads(raw)
                stored_prev, stored_hash = record.pop("prev_hash"), record.pop("hash")
                event = AuditEvent.model_validate(record)
            except (ValueError, KeyError) as exc:
                return AuditVerification(False, n, f"line {n}: unreadable record ({exc})", n)
            if stored_prev != prev:
                return AuditVerification(
                    False,
                    n,
                    f"line {n} (sequence {event.sequence}): chain broken, a line before it was removed or altered",
                    n,
                )
            if chain_hash(prev, event) != stored_hash:
                return AuditVerification(False, n, f"line {n} (sequence {event.sequence}): content altered", n)
            prev = stored_hash
    return AuditVerification(True, n)
