"""The hash chain: ``hash = HMAC-SHA256(key, prev_hash + canonical JSON of the event)``, per run
(the key: :func:`ai_trading_core.audit.resolve_audit_key`).

The canonical JSON is the event's six fields (sequence, run_id, kind, correlation_id,
timestamp, payload) with sorted keys, no whitespace, UTF-8, and the timestamp as UTC ISO-8601
with microseconds, so it can be rebuilt exactly from the stored columns.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from ai_trading_core.audit import AuditKey
from ai_trading_core.models import AuditEvent

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first event of every run."""


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_timestamp(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def payload_text(event: AuditEvent) -> str:
    """The event's payload as stored: JSON-mode values (Decimal and datetime as strings)."""
    return canonical_json(event.model_dump(mode="json")["payload"])


def event_bytes(
    run_id: str, sequence: int, kind: str, correlation_id: str, timestamp: datetime, payload: str
) -> bytes:
    document = {
        "correlation_id": correlation_id,
        "kind": kind,
        "payload": json.loads(payload),
        "run_id": run_id,
        "sequence": sequence,
        "timestamp": canonical_timestamp(timestamp),
    }
    return canonical_json(document).encode("utf-8")


def chain_hash(prev_hash: str, canonical: bytes, key: AuditKey) -> str:
    """``HMAC-SHA256(key, prev_hash + canonical)``: the same chain as the JSON-lines trail's."""
    return key.mac(prev_hash, canonical)


def legacy_hash(prev_hash: str, canonical: bytes) -> str:
    """The unkeyed SHA-256 chain written before migration 0004, recognised to say so."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()

SEAL_KIND = "seal"
"""Kind of the event that closes a run's chain on a clean stop (see ``ai_trading_core.audit``)."""
