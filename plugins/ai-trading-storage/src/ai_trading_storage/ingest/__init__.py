"""Bulk bar ingest (COPY on PostgreSQL, executemany on SQLite) and range reads into NumPy."""

from __future__ import annotations

from .bars import BarColumns, columns_from_panel, read_bars, write_bars

__all__ = ["BarColumns", "columns_from_panel", "read_bars", "write_bars"]
