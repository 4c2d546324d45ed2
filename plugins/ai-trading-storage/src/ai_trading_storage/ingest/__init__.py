"""Bulk bar ingest (COPY on PostgreSQL, executemany on SQLite) and range reads into NumPy."""

from __future__ import annotations

from .bars import (
    BarColumns,
    BarRows,
    DuplicateBarError,
    columns_from_panel,
    iso_utc,
    list_symbols,
    read_bars,
    write_bar_chunks,
    write_bars,
)
from .stream import prefetched

__all__ = [
    "BarColumns",
    "BarRows",
    "DuplicateBarError",
    "columns_from_panel",
    "iso_utc",
    "list_symbols",
    "prefetched",
    "read_bars",
    "write_bar_chunks",
    "write_bars",
]
