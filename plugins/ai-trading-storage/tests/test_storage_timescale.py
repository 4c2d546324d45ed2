"""The TimescaleDB path is checked as text (the extension is not installed on the test server;
the detection and the native-partitioning path are tested against the real server)."""

from __future__ import annotations

from ai_trading_storage.timescale import (
    ContinuousAggregate,
    TimescaleSettings,
    continuous_aggregate_statements,
    create_partition,
    drop_timescale_statements,
    timescale_statements,
)
from ai_trading_storage.timescale.partitions import years_between

from ai_trading_core.market import to_ns
from ai_trading_core.models import utc


def test_hypertable_with_compression_and_retention() -> None:
    stmts = timescale_statements(
        TimescaleSettings(chunk_interval="1 day", compress_after="7 days", retention="5 years")
    )
    assert stmts[0] == "CREATE EXTENSION IF NOT EXISTS timescaledb"
    assert stmts[1].startswith("CREATE TABLE bars (") and "PARTITION BY" not in stmts[1]
    assert "CONSTRAINT pk_bars PRIMARY KEY (symbol, timeframe, ts)" in stmts[1]
    assert stmts[2] == "SELECT create_hypertable('bars', 'ts', chunk_time_interval => INTERVAL '1 day')"
    assert stmts[3] == (
        "ALTER TABLE bars SET (timescaledb.compress, timescaledb.compress_segmentby = "
        "'symbol, timeframe', timescaledb.compress_orderby = 'ts DESC')"
    )
    assert stmts[4] == "SELECT add_compression_policy('bars', INTERVAL '7 days')"
    assert stmts[5] == "SELECT add_retention_policy('bars', INTERVAL '5 years')"
    assert len(stmts) == 6


def test_policies_are_optional() -> None:
    stmts = timescale_statements(TimescaleSettings(compress_after=None, retention=None))
    assert not any("compress" in s or "retention" in s for s in stmts)


def test_continuous_aggregate_for_daily_bars() -> None:
    agg = ContinuousAggregate("1d", "1 day", source_timeframe="1m")
    create, policy = continuous_aggregate_statements(TimescaleSettings(aggregates=(agg,)))
    assert create == (
        "CREATE MATERIALIZED VIEW bars_1d WITH (timescaledb.continuous) AS SELECT symbol, "
        "'1d'::varchar(8) AS timeframe, time_bucket(INTERVAL '1 day', ts) AS ts, first(open, ts) AS open, "
        "max(high) AS high, min(low) AS low, last(close, ts) AS close, sum(volume) AS volume FROM bars "
        "WHERE timeframe = '1m' GROUP BY symbol, time_bucket(INTERVAL '1 day', ts) WITH NO DATA"
    )
    assert policy == (
        "SELECT add_continuous_aggregate_policy('bars_1d', start_offset => INTERVAL '3 days', "
        "end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour')"
    )
    assert drop_timescale_statements(TimescaleSettings(aggregates=(agg,))) == [
        "DROP MATERIALIZED VIEW IF EXISTS bars_1d",
        "DROP TABLE IF EXISTS bars",
    ]


def test_native_yearly_partitions() -> None:
    assert create_partition(2008) == (
        "CREATE TABLE IF NOT EXISTS bars_y2008 PARTITION OF bars FOR VALUES FROM "
        "('2008-01-01T00:00:00+00:00') TO ('2009-01-01T00:00:00+00:00')"
    )
    assert list(years_between(to_ns(utc(2019, 12, 31, 23)), to_ns(utc(2021, 1, 1)))) == [2019, 2020, 2021]
