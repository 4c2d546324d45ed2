"""Hypertable chunk sizing at write time: the interval follows the timeframe being written."""

from __future__ import annotations

import sqlalchemy as sa

from ai_trading_core.enums import Timeframe

from .sql import chunk_interval_for, set_chunk_interval_statement


def ensure_chunk_interval(conn: sa.Connection, timeframe: Timeframe | str) -> str:
    """Set the ``bars`` hypertable's interval for chunks created from now on to the one for
    ``timeframe`` (existing chunks keep theirs); returns it. Runs in the caller's
    transaction; a no-op when the interval is already that."""
    interval = chunk_interval_for(timeframe)
    current = conn.execute(
        sa.text(
            "SELECT time_interval = CAST(:iv AS interval) FROM timescaledb_information.dimensions "
            "WHERE hypertable_name = 'bars' AND column_name = 'ts'"
        ),
        {"iv": interval},
    ).scalar()
    if current is not True:
        conn.execute(sa.text(set_chunk_interval_statement(interval)))
    return interval
