"""DDL for the bars table on PostgreSQL, as text.

Two layouts, one set of queries: with the TimescaleDB extension, ``bars`` is a hypertable with
compression and (optionally) retention policies and continuous aggregates for higher
timeframes; without it, ``bars`` is a native ``PARTITION BY RANGE (ts)`` table with one
partition per calendar year (UTC). Every statement here is a plain string so that the
TimescaleDB path can be checked as text where the extension is not installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

BARS_COLUMNS = """
    symbol varchar(64) NOT NULL,
    timeframe varchar(8) NOT NULL,
    ts timestamptz NOT NULL,
    open double precision NOT NULL,
    high double precision NOT NULL,
    low double precision NOT NULL,
    close double precision NOT NULL,
    volume double precision NOT NULL,
    CONSTRAINT pk_bars PRIMARY KEY (symbol, timeframe, ts)"""


@dataclass(frozen=True)
class ContinuousAggregate:
    """A higher-timeframe view computed by TimescaleDB from ``source_timeframe`` bars.

    ``bucket`` is a PostgreSQL interval ('1 hour', '1 day'); ``timeframe`` the label of the
    result (the kernel's Timeframe value, '1h', '1d'); offsets and schedule are intervals
    of the refresh policy.
    """

    timeframe: str
    bucket: str
    source_timeframe: str = "1m"
    start_offset: str = "3 days"
    end_offset: str = "1 hour"
    schedule_interval: str = "1 hour"

    @property
    def view_name(self) -> str:
        return f"bars_{self.timeframe}"


@dataclass(frozen=True)
class TimescaleSettings:
    """Hypertable policies. Intervals are PostgreSQL interval strings; ``retention`` None
    keeps bars forever."""

    chunk_interval: str = "7 days"
    compress_after: str | None = "30 days"
    retention: str | None = None
    aggregates: tuple[ContinuousAggregate, ...] = field(
        default_factory=lambda: (ContinuousAggregate("1h", "1 hour"), ContinuousAggregate("1d", "1 day"))
    )


def create_bars_table(partitioned: bool) -> str:
    tail = " PARTITION BY RANGE (ts)" if partitioned else ""
    return f"CREATE TABLE bars ({BARS_COLUMNS}\n){tail}"


def timescale_statements(settings: TimescaleSettings) -> list[str]:
    """Statements that run inside the migration's transaction."""
    stmts = [
        "CREATE EXTENSION IF NOT EXISTS timescaledb",
        create_bars_table(partitioned=False),
        "SELECT create_hypertable('bars', 'ts', "
        f"chunk_time_interval => INTERVAL '{settings.chunk_interval}')",
    ]
    if settings.compress_after is not None:
        stmts += [
            "ALTER TABLE bars SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'symbol, timeframe', "
            "timescaledb.compress_orderby = 'ts DESC')",
            f"SELECT add_compression_policy('bars', INTERVAL '{settings.compress_after}')",
        ]
    if settings.retention is not None:
        stmts.append(f"SELECT add_retention_policy('bars', INTERVAL '{settings.retention}')")
    return stmts


def continuous_aggregate_statements(settings: TimescaleSettings) -> list[str]:
    """Statements that must run outside a transaction block (TimescaleDB refuses to create
    a continuous aggregate inside one)."""
    stmts = []
    for agg in settings.aggregates:
        stmts.append(
            f"CREATE MATERIALIZED VIEW {agg.view_name} WITH (timescaledb.continuous) AS "
            f"SELECT symbol, '{agg.timeframe}'::varchar(8) AS timeframe, "
            f"time_bucket(INTERVAL '{agg.bucket}', ts) AS ts, "
            "first(open, ts) AS open, max(high) AS high, min(low) AS low, last(close, ts) AS close, "
            "sum(volume) AS volume "
            f"FROM bars WHERE timeframe = '{agg.source_timeframe}' "
            f"GROUP BY symbol, time_bucket(INTERVAL '{agg.bucket}', ts) WITH NO DATA"
        )
        stmts.append(
            f"SELECT add_continuous_aggregate_policy('{agg.view_name}', "
            f"start_offset => INTERVAL '{agg.start_offset}', end_offset => INTERVAL '{agg.end_offset}', "
            f"schedule_interval => INTERVAL '{agg.schedule_interval}')"
        )
    return stmts


def drop_timescale_statements(settings: TimescaleSettings) -> list[str]:
    return [f"DROP MATERIALIZED VIEW IF EXISTS {agg.view_name}" for agg in settings.aggregates] + [
        "DROP TABLE IF EXISTS bars"
    ]


def partition_name(year: int) -> str:
    return f"bars_y{year:04d}"


def create_partition(year: int) -> str:
    """One calendar year (UTC) of bars: [Jan 1 of ``year``, Jan 1 of ``year + 1``)."""
    lo = datetime(year, 1, 1, tzinfo=UTC).isoformat()
    hi = datetime(year + 1, 1, 1, tzinfo=UTC).isoformat()
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(year)} PARTITION OF bars "
        f"FOR VALUES FROM ('{lo}') TO ('{hi}')"
    )
