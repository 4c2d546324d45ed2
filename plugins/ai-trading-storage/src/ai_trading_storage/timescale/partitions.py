"""Yearly range partitions of ``bars`` on plain PostgreSQL, created on demand."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from .sql import create_partition, partition_name

_LOCK_KEY = 0x41495442  # advisory lock id serialising partition creation across writers


def existing_partitions(conn: sa.Connection) -> set[str]:
    rows = conn.execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass('bars')"
        )
    )
    return {r[0] for r in rows}


def years_between(start_ns: int, end_ns: int) -> range:
    first = datetime.fromtimestamp(start_ns // 1_000_000_000, tz=UTC).year
    last = datetime.fromtimestamp(end_ns // 1_000_000_000, tz=UTC).year
    return range(first, last + 1)


def ensure_partitions(conn: sa.Connection, start_ns: int, end_ns: int) -> list[str]:
    """Create the yearly partitions covering [start_ns, end_ns] (int64 ns, UTC) that do not
    exist yet; returns the names created. Runs in the caller's transaction."""
    wanted = {partition_name(y): y for y in years_between(start_ns, end_ns)}
    missing = [name for name in wanted if name not in existing_partitions(conn)]
    if not missing:
        return []
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    created = []
    present = existing_partitions(conn)
    for name in missing:
        if name not in present:
            conn.execute(sa.text(create_partition(wanted[name])))
            created.append(name)
    return created
