"""Durable storage for ai-trading: SQLite by default, PostgreSQL (optionally TimescaleDB) by URL.

Subpackages by concern: :mod:`.models` (SQLAlchemy tables), :mod:`.repositories` (what the
rest of the code uses), :mod:`.migrations` (Alembic), :mod:`.timescale` (hypertables or
native range partitioning), :mod:`.ingest` (COPY bar ingest, NumPy range reads),
:mod:`.audit` (hash-chained audit trail) and :mod:`.cli` (``ai-trading db|data|audit``).
"""

from __future__ import annotations

__version__ = "0.1.0"
