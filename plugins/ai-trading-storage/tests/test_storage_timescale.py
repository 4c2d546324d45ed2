"""TimescaleDB: the statements as text, the layout decision, and the real thing on the private
TimescaleDB cluster (Apache edition, port 5433; ``timescale`` marker) and on the system
PostgreSQL, where the extension's files are installed but the library is not preloaded."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import psycopg
import pytest
import sqlalchemy as sa
from ai_trading_storage import migrations
from ai_trading_storage.cli import register
from ai_trading_storage.connection import create_db_engine
from ai_trading_storage.ingest import read_bars, write_bars
from ai_trading_storage.storage import SqlStorage, SqlStorageParams
from ai_trading_storage.timescale import (
    ContinuousAggregate,
    TimescaleSettings,
    TimescaleSupport,
    bars_layout,
    chunk_interval_for,
    continuous_aggregate_statements,
    create_partition,
    detect_timescale,
    drop_timescale_statements,
    plan_bars,
    timescale_installed,
    timescale_statements,
)
from ai_trading_storage.timescale.partitions import years_between
from click.testing import CliRunner
from psycopg import sql

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import to_ns
from ai_trading_core.models import utc
from ai_trading_core.registry import BuildContext
from ai_trading_core.testing import random_walk_panel

APACHE = TimescaleSupport(available=True, loaded=True, license="apache")
LICENSED = TimescaleSupport(available=True, loaded=True, license="timescale")
NOT_PRELOADED = TimescaleSupport(available=True, loaded=False, reason="the library is not preloaded (...)")
ABSENT = TimescaleSupport(available=False, loaded=False)


# --------------------------------------------------------------------------- as text


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
    # the Apache edition gets the hypertable only
    assert timescale_statements(TimescaleSettings(retention="5 years"), licensed=False) == stmts[:2] + [
        "SELECT create_hypertable('bars', 'ts', chunk_time_interval => INTERVAL '365 days')"
    ]


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


def test_chunk_interval_follows_the_timeframe() -> None:
    assert chunk_interval_for(Timeframe.M1) == "1 days"
    assert chunk_interval_for("5m") == "5 days"
    assert chunk_interval_for("1h") == "60 days"
    assert chunk_interval_for("4h") == "240 days"
    assert chunk_interval_for("1d") == "365 days"  # not 7-day chunks of a handful of rows


# --------------------------------------------------------------------------- the decision


def test_layout_plan_per_mode_and_edition() -> None:
    assert plan_bars(LICENSED, "auto") == plan_bars(LICENSED, "on")
    assert plan_bars(LICENSED, "auto").layout == "hypertable" and plan_bars(LICENSED, "auto").licensed_features
    assert not plan_bars(LICENSED, "auto").notes
    apache = plan_bars(APACHE, "auto")
    assert apache.layout == "hypertable" and not apache.licensed_features
    assert len(apache.notes) == 1 and "compression, continuous aggregates and retention" in apache.notes[0]
    fallback = plan_bars(NOT_PRELOADED, "auto")
    assert fallback.layout == "partitioned" and "not preloaded" in fallback.notes[0]
    assert plan_bars(ABSENT, "auto") == plan_bars(APACHE, "off") == plan_bars(NOT_PRELOADED, "off")
    assert not plan_bars(ABSENT, "auto").notes and plan_bars(ABSENT, "auto").layout == "partitioned"
    with pytest.raises(ConfigError, match="timescale = 'on' but TimescaleDB cannot be used: the library is not"):
        plan_bars(NOT_PRELOADED, "on")
    with pytest.raises(ConfigError, match="does not have the timescaledb extension"):
        plan_bars(ABSENT, "on")
    with pytest.raises(ConfigError, match="one of auto, on, off"):
        plan_bars(APACHE, "yes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- system PostgreSQL


@pytest.mark.postgres
def test_system_postgres_auto_falls_back_to_partitions(pg_empty_url: str) -> None:
    """The extension's files may be installed (the TimescaleDB cluster shares this PostgreSQL's
    directories) but the library is not preloaded: ``auto`` warns and uses partitions, ``on``
    refuses, and detection leaves the session usable."""
    engine = create_db_engine(pg_empty_url)
    try:
        with engine.connect() as conn:
            support = detect_timescale(conn)
        assert not support.loaded
        notes = migrations.upgrade(engine, timescale="auto")
        if support.available:
            assert len(notes) == 1 and "not preloaded" in notes[0] and "native yearly partitions" in notes[0]
        else:
            assert notes == ()
        with engine.connect() as conn:
            assert bars_layout(conn) == "partitioned" and not timescale_installed(conn)
        assert migrations.upgrade(engine, timescale="auto") == ()  # said once, when bars is created
        panel = random_walk_panel(300, 2, seed=1)
        assert write_bars(engine, panel) == 600
        with pytest.raises(ConfigError, match="bars .* is a partitioned table"):
            migrations.upgrade(engine, timescale="on")
        migrations.downgrade(engine, "base")
        if support.available:
            with pytest.raises(ConfigError, match="not preloaded"):
                migrations.upgrade(engine, timescale="on")
            assert migrations.current(engine) is None  # the failed upgrade left nothing behind
        assert migrations.upgrade(engine, timescale="off") == ()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- real TimescaleDB


@pytest.mark.timescale
def test_apache_edition_gets_a_hypertable_without_licensed_features(timescale_url: str) -> None:
    engine = create_db_engine(timescale_url)
    try:
        with engine.connect() as conn:
            support = detect_timescale(conn)
            conn.rollback()
            assert support.loaded and support.license == "apache" and not support.licensed
            assert not timescale_installed(conn)  # detection changed nothing
        notes = migrations.upgrade(engine)
        assert len(notes) == 1 and notes[0].startswith("TimescaleDB apache edition: bars are a hypertable")
        with engine.connect() as conn:
            assert bars_layout(conn) == "hypertable"
            assert (
                conn.execute(
                    sa.text("SELECT count(*) FROM timescaledb_information.jobs WHERE hypertable_name = 'bars'")
                ).scalar()
                == 0
            )
            assert (
                conn.execute(sa.text("SELECT count(*) FROM timescaledb_information.continuous_aggregates")).scalar()
                == 0
            )
        migrations.downgrade(engine, "base")
        assert migrations.upgrade(engine, timescale="on") == notes  # same session pool: still works
    finally:
        engine.dispose()


@pytest.mark.timescale
def test_daily_and_minute_bars_get_their_chunk_intervals(timescale_url: str) -> None:
    engine = create_db_engine(timescale_url)
    try:
        migrations.upgrade(engine, timescale="on")
        daily = random_walk_panel(2520, 3, seed=4, start_ns=to_ns(utc(2010, 1, 1)))
        assert write_bars(engine, daily) == 7560
        minute = random_walk_panel(3 * 1440, 2, seed=5, timeframe=Timeframe.M1, start_ns=to_ns(utc(2024, 6, 1)))
        assert write_bars(engine, minute) == 2 * 3 * 1440
        with engine.connect() as conn:
            chunks = (
                conn.execute(
                    sa.text(
                        "SELECT range_end - range_start FROM timescaledb_information.chunks "
                        "WHERE hypertable_name = 'bars' ORDER BY range_start"
                    )
                )
                .scalars()
                .all()
            )
            interval = conn.execute(
                sa.text("SELECT time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'bars'")
            ).scalar()
        # the daily bars' span in chunks of a year (7-day chunks would make one per week)
        years = (int(daily.timestamps[-1]) - int(daily.timestamps[0])) / (365 * 86_400e9)
        yearly = [c for c in chunks if c.days == 365]
        assert len(yearly) == int(years) + 1 and len(chunks) < years + 10
        # minute bars written after: one-day chunks
        assert sum(1 for c in chunks if c.days == 1) >= 3
        assert interval.days == 1
        back = read_bars(engine, daily.symbols, "1d")
        np.testing.assert_array_equal(back.close, daily.close)
        # the downgrade's dry run drops the hypertable inside a transaction and rolls it back
        plan = migrations.plan_downgrade(engine, "base")
        assert {t.name: t.rows for t in plan.tables}["bars"] == 7560 + 2 * 3 * 1440
        assert read_bars(engine, daily.symbols[:1], "1d").shape == (2520, 1)
    finally:
        engine.dispose()


@pytest.mark.timescale
def test_import_command_and_sql_component_on_timescaledb(timescale_url: str, tmp_path: Path) -> None:
    root = click.Group("ai-trading")
    register(root)
    src = tmp_path / "bars.csv"
    src.write_text(
        "symbol,timestamp,open,high,low,close,volume\n"
        "SPY,2024-03-08T16:00:00-05:00,10,12,9,11,1000\n"
        "SPY,2024-03-11T16:00:00-04:00,11,13,10,12,2000\n"
    )
    res = CliRunner().invoke(root, ["data", "import", str(src), "--url", timescale_url, "--timescale", "on"])
    assert res.exit_code == 0, res.output
    assert "imported 2 bars" in res.output
    assert "warning: TimescaleDB apache edition" in res.output  # said once, when bars was created
    again = CliRunner().invoke(root, ["data", "import", str(src), "--url", timescale_url, "--replace"])
    assert again.exit_code == 0 and "warning" not in again.output
    store = SqlStorage(
        SqlStorageParams(url=timescale_url, timescale="on"),
        BuildContext(component_id="sql", clock=SimulatedClock(0)),
    )
    try:
        with store.engine.connect() as conn:
            assert bars_layout(conn) == "hypertable"
        panel = read_bars(store.engine, ["SPY"], "1d")
        assert panel.close.ravel().tolist() == [11.0, 12.0]
    finally:
        store.close()


@pytest.mark.timescale
def test_refused_create_extension_falls_back_inside_a_savepoint(
    timescale_admin: psycopg.Connection, timescale_url: str
) -> None:
    """A role that may not create the extension: ``auto`` falls back to partitions with the
    server's reason, ``on`` fails with it; the migration's transaction survives the probe."""
    role = "ai_trading_test_plain_role"
    timescale_admin.execute(
        sql.SQL(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {r}) THEN "
            "CREATE ROLE {i} LOGIN; END IF; END $$"
        ).format(r=sql.Literal(role), i=sql.Identifier(role))
    )
    # may create tables in the schema, not extensions in the database (no CREATE on it)
    with psycopg.connect(timescale_url, autocommit=True) as owner:
        owner.execute(sql.SQL("GRANT CREATE, USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
    url = timescale_url.replace("postgres@", f"{role}@", 1)
    with pytest.raises(ConfigError, match="CREATE EXTENSION timescaledb failed: permission denied"):
        migrations.upgrade(url, timescale="on")
    notes = migrations.upgrade(url)
    assert "CREATE EXTENSION timescaledb failed: permission denied" in notes[0]
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            assert bars_layout(conn) == "partitioned"
    finally:
        engine.dispose()
