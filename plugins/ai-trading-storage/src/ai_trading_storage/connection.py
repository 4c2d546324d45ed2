"""Engines for the two supported databases.

SQLite is the embedded default: WAL journal, ``synchronous=FULL`` (a commit is on disk when
it returns), a busy timeout, and ``BEGIN IMMEDIATE`` so that concurrent writers queue on
the database lock instead of failing half-way through a read-modify-write. PostgreSQL is
reached with psycopg 3 (``postgresql://`` URLs are mapped to ``postgresql+psycopg://``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError

from ai_trading_core.errors import ConfigError, StorageError


@dataclass(frozen=True)
class PoolSettings:
    """Connection pool settings (PostgreSQL and file SQLite).

    ``pool_size``: connections kept open; ``max_overflow``: extra connections allowed under
    load; ``pool_timeout``: seconds to wait for a free connection; ``pool_pre_ping``: test a
    connection before handing it out (detects a restarted server).
    """

    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 30.0
    pool_pre_ping: bool = True


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``, choosing the psycopg 3 driver for PostgreSQL. Raises ConfigError."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"invalid database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise ConfigError(f"unsupported database {backend!r}: use sqlite:/// or postgresql:// URLs")
    return parsed


def safe_url(url: str | URL) -> str:
    """The URL with its password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"


def sqlite_file(url: str | URL) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and in-memory SQLite."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    return Path(database).expanduser()


def create_db_engine(
    url: str | URL,
    pool: PoolSettings | None = None,
    *,
    connect_timeout: float = 5.0,
    must_exist: bool = False,
) -> Engine:
    """An engine for ``url`` with the pool settings and the per-dialect settings above.

    ``connect_timeout`` (seconds) bounds how long a connection attempt to PostgreSQL may
    take, so an unreachable server fails fast rather than stalling the trading loop.
    ``must_exist``: a SQLite file that does not exist is a StorageError instead of being
    created (for commands that only read or remove).
    """
    parsed = normalize_url(url)
    pool = pool or PoolSettings()
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(parsed)
        if must_exist and path is not None and not path.is_file():
            raise StorageError(f"no database at {path}")
        return _sqlite_engine(parsed, pool)
    kwargs: dict[str, Any] = {
        "pool_size": pool.pool_size,
        "max_overflow": pool.max_overflow,
        "pool_timeout": pool.pool_timeout,
        "pool_pre_ping": pool.pool_pre_ping,
        "connect_args": {"connect_timeout": max(1, int(connect_timeout))},
    }
    return sa.create_engine(parsed, **kwargs)


def _sqlite_engine(url: URL, pool: PoolSettings) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30.0, "check_same_thread": False}}
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.update(
            pool_size=pool.pool_size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.pool_timeout,
            pool_pre_ping=pool.pool_pre_ping,
        )
    else:
        kwargs["poolclass"] = sa.pool.StaticPool
    engine = sa.create_engine(url, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (the stdlib driver would
        # otherwise start deferred transactions behind our back).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_postgres(engine: Engine | sa.Connection) -> bool:
    return engine.dialect.name == "postgresql"
