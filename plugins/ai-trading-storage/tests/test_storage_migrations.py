from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from ai_trading_storage import migrations
from ai_trading_storage.connection import create_db_engine, normalize_url
from ai_trading_storage.models import Base
from ai_trading_storage.timescale import bars_layout, detect_timescale, timescale_available, timescale_installed
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ai_trading_core.errors import ConfigError, StorageError

TABLES = {
    "instruments",
    "bars",
    "signals",
    "orders",
    "fills",
    "position_snapshots",
    "portfolio_snapshots",
    "risk_events",
    "runs",
    "audit_events",
    "audit_chain_heads",
}


def _round_trip(url: str) -> None:
    engine = create_db_engine(url)
    try:
        assert migrations.current(engine) == migrations.head_revision()
        assert migrations.table_names(engine) >= TABLES
        with engine.connect() as conn:
            # the migrated schema is exactly what the ORM models describe
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        migrations.downgrade(engine)
        assert migrations.current(engine) is None
        assert migrations.table_names(engine) == {"alembic_version"}
        migrations.upgrade(engine)
        assert migrations.current(engine) == migrations.head_revision()
        assert migrations.table_names(engine) >= TABLES
    finally:
        engine.dispose()


def test_sqlite_round_trip(sqlite_url: str) -> None:
    _round_trip(sqlite_url)
    with create_db_engine(sqlite_url).connect() as conn:
        assert bars_layout(conn) == "plain"
        assert not timescale_available(conn)


@pytest.mark.postgres
def test_postgres_round_trip_and_native_partitioning(pg_url: str) -> None:
    _round_trip(pg_url)
    engine = create_db_engine(pg_url)
    with engine.connect() as conn:
        # TimescaleDB is not preloaded on the test server (its files may be installed): the
        # plain-PostgreSQL layout is used
        assert detect_timescale(conn).loaded is False
        assert timescale_installed(conn) is False
        assert bars_layout(conn) == "partitioned"
        strategy = conn.execute(
            sa.text("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = to_regclass('bars')")
        ).scalar()
        assert strategy == "r"  # PARTITION BY RANGE
    engine.dispose()


@pytest.mark.postgres
def test_postgres_audit_triggers_installed_and_removed(pg_url: str) -> None:
    engine = create_db_engine(pg_url)
    query = sa.text("SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass('audit_events') AND NOT tgisinternal")
    with engine.connect() as conn:
        assert set(conn.execute(query).scalars()) == {
            "audit_events_no_update_delete",
            "audit_events_no_truncate",
            "audit_events_in_sequence",
        }
    migrations.downgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regproc('audit_events_append_only')")).scalar() is None
    migrations.upgrade(engine)
    engine.dispose()


def test_current_of_fresh_database_is_none(tmp_path: Path) -> None:
    assert migrations.current(f"sqlite:///{tmp_path / 'fresh.db'}") is None


def test_postgres_urls_use_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(ConfigError, match="unsupported database"):
        normalize_url("mysql://u@h/db")


def test_unreachable_server_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="127.0.0.1:1"):
        migrations.upgrade("postgresql://postgres@127.0.0.1:1/nothing")
