"""DDL for the bars table on PostgreSQL, as text.

Two layouts, one set of queries: with the TimescaleDB extension, ``bars`` is a hypertable (on
the Timescale License edition also with compression, optional retention and continuous
aggregates for higher timeframes); without it, ``bars`` is a native ``PARTITION BY RANGE (ts)`` table with one
partition per calendar year (UTC). Every statement here is a plain string so that the
TimescaleDB path can be checked as text where the extension is not installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ai_trading_core.enums import Timeframe

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


BARS_PER_CHUNK = 1440  # bars per symbol in one chunk
MIN_CHUNK_SECONDS = 86_400
MAX_CHUNK_SECONDS = 365 * 86_400


def chunk_interval_for(timeframe: Timeframe | str) -> str:
    """The hypertable chunk interval for bars of ``timeframe``: room for 1,440 bars per
    symbol, between one day and one year (1m: 1 day, 5m: 5 days, 1h: 60 days, 1d: 365
    days). Daily bars in 7-day chunks would make one chunk (a table and its index) per
    week of history for a handful of rows per symbol."""
    seconds = Timeframe.parse(str(timeframe)).seconds * BARS_PER_CHUNK
    seconds = min(max(seconds, MIN_CHUNK_SECONDS), MAX_CHUNK_SECONDS)
    return f"{seconds // 86_400} days" if seconds % 86_400 == 0 else f"{seconds} seconds"


@dataclass(frozen=True)
class TimescaleSettings:
    """Hypertable settings and policies. Intervals are PostgreSQL interval strings;
    ``retention`` None keeps bars forever. ``chunk_interval`` is the initial one: each bar
    import sets the interval for its timeframe (:func:`chunk_interval_for`) before it creates
    chunks. Compression, retention and the aggregates need the Timescale License edition."""

    chunk_interval: str = field(default_factory=lambda: chunk_interval_for(Timeframe.D1))
    compress_after: str | None = "30 days"
    retention: str | None = None
    aggregates: tuple[ContinuousAggregate, ...] = field(
        default_factory=lambda: (ContinuousAggregate("1h", "1 hour"), ContinuousAggregate("1d", "1 day"))
    )


def create_bars_table(partitioned: bool) -> str:
    tail = " PARTITION BY RANGE (ts)" if partitioned else ""
    return f"CREATE TABLE bars ({BARS_COLUMNS}\n){tail}"


def hypertable_statements(settings: TimescaleSettings) -> list[str]:
    """The hypertable (every edition); statements that run inside the migration's transaction."""
    return [
        "CREATE EXTENSION IF NOT EXISTS timescaledb",
        create_bars_table(partitioned=False),
        f"SELECT create_hypertable('bars', 'ts', chunk_time_interval => INTERVAL '{settings.chunk_interval}')",
    ]


def licensed_statements(settings: TimescaleSettings) -> list[str]:
    """Compression and retention policies (Timescale License edition only); inside the
    migration's transaction, after :func:`hypertable_statements`."""
    stmts: list[str] = []
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


def timescale_statements(settings: TimescaleSettings, *, licensed: bool = True) -> list[str]:
    """Everything that runs inside the migration's transaction for a hypertable ``bars``."""
    return hypertable_statements(settings) + (licensed_statements(settings) if licensed else [])


def set_chunk_interval_statement(interval: str) -> str:
    return f"SELECT set_chunk_time_interval('bars', INTERVAL '{interval}')"


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
    return f"CREATE TABLE IF NOT EXISTS {partition_name(year)} PARTITION OF bars FOR VALUES FROM ('{lo}') TO ('{hi}')"
