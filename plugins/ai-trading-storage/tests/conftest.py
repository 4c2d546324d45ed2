"""Databases for the storage tests: a fresh SQLite file per test, and a throw-away PostgreSQL
database per session on 127.0.0.1:5432 (skipped, with the reason, only when unreachable)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from ai_trading_storage import migrations
from psycopg import sql

PG_ADMIN = os.environ.get("AI_TRADING_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
# The private TimescaleDB cluster (Apache edition) that `shared/tools/timescaledb start` runs
TIMESCALE_URL = os.environ.get("AI_TRADING_TEST_TIMESCALE_URL", "postgresql://postgres@127.0.0.1:5433/tsdb")


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """URL of a new database ``ai_trading_test_<random>``, dropped at the end."""
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL server unreachable at {PG_ADMIN.split('@')[-1]}: {exc}".splitlines()[0])
    name = f"ai_trading_test_{secrets.token_hex(4)}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        base = PG_ADMIN.rsplit("/", 1)[0]
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg_url(pg_database_url: str) -> Iterator[str]:
    """The session database, migrated to head for this test and back to base afterwards."""
    migrations.upgrade(pg_database_url)
    yield pg_database_url
    migrations.downgrade(pg_database_url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{(tmp_path / 'ai-trading.db').as_posix()}"
    migrations.upgrade(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated database of each kind."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture(scope="session")
def timescale_admin() -> Iterator[psycopg.Connection]:
    """An autocommit connection to the TimescaleDB cluster's ``postgres`` database (skipped,
    with the reason, when the cluster is not running)."""
    admin_url = TIMESCALE_URL.rsplit("/", 1)[0] + "/postgres"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"TimescaleDB cluster unreachable at {admin_url.split('@')[-1]}: {exc}".splitlines()[0])
    with admin:
        yield admin


@pytest.fixture
def timescale_url(timescale_admin: psycopg.Connection) -> Iterator[str]:
    """URL of a new, empty database on the TimescaleDB cluster, dropped after the test."""
    name = f"ai_trading_ts_{secrets.token_hex(4)}"
    timescale_admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{TIMESCALE_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        timescale_admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg_empty_url() -> Iterator[str]:
    """URL of a new, never-migrated database on the system PostgreSQL, dropped afterwards."""
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL server unreachable at {PG_ADMIN.split('@')[-1]}: {exc}".splitlines()[0])
    name = f"ai_trading_test_{secrets.token_hex(4)}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
