"""What the connected PostgreSQL server offers, and how ``bars`` was laid out.

TimescaleDB is *usable* only when its library is loaded in the server (it must be listed in
``shared_preload_libraries``): a server that merely has the extension's files answers
``CREATE EXTENSION timescaledb`` by closing the connection ("must be preloaded"), so the probe
checks that setting first. Then ``CREATE EXTENSION`` (which may still be refused, e.g. for
lack of privilege) and ``SHOW timescaledb.license`` run inside a savepoint that is rolled
back: detection changes nothing. The license tells the two editions apart: ``apache``
(hypertables, chunks, ``time_bucket``) or ``timescale`` (also compression, continuous
aggregates and retention policies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ai_trading_core.errors import ConfigError

BarsLayout = Literal["hypertable", "partitioned", "plain", "missing"]
TimescaleMode = Literal["auto", "on", "off"]
TIMESCALE_MODES: tuple[TimescaleMode, ...] = ("auto", "on", "off")
PRELOAD_HINT = "add timescaledb to shared_preload_libraries in postgresql.conf and restart the server"


@dataclass(frozen=True)
class TimescaleSupport:
    """The probe's answer.

    ``available``: the server has the extension's files; ``loaded``: the library is loaded
    and ``CREATE EXTENSION timescaledb`` succeeds (or the extension is already created) on
    this database; ``license``: ``SHOW timescaledb.license`` when loaded; ``reason``: why
    it is not usable, when it is available but not loaded.
    """

    available: bool
    loaded: bool
    license: str | None = None
    reason: str = ""

    @property
    def licensed(self) -> bool:
        """Compression, continuous aggregates and retention policies are available (the
        Timescale License edition; ``community`` is its older name)."""
        return self.loaded and self.license in ("timescale", "community")


def timescale_available(conn: sa.Connection) -> bool:
    """True when the server has the extension's files (which does not mean it can load it:
    see :func:`detect_timescale`)."""
    if conn.dialect.name != "postgresql":
        return False
    row = conn.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).first()
    return row is not None


def timescale_installed(conn: sa.Connection) -> bool:
    """True when ``CREATE EXTENSION timescaledb`` was run in this database."""
    if conn.dialect.name != "postgresql":
        return False
    return conn.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first() is not None


def timescale_preloaded(conn: sa.Connection) -> bool:
    """True when the TimescaleDB loader runs in the server, i.e. ``shared_preload_libraries``
    lists timescaledb (without it, ``CREATE EXTENSION timescaledb`` ends the session with a
    FATAL error). Read from the loader's own settings, which exist only then: reading
    ``shared_preload_libraries`` itself needs superuser or ``pg_read_all_settings``."""
    row = conn.execute(sa.text("SELECT 1 FROM pg_settings WHERE name = 'timescaledb.max_background_workers'")).first()
    return row is not None


def detect_timescale(conn: sa.Connection, *, keep_extension: bool = False) -> TimescaleSupport:
    """Probe the server behind ``conn``: ``CREATE EXTENSION`` and ``SHOW timescaledb.license``
    run inside a savepoint, rolled back when they fail.

    When they succeed, ``keep_extension=True`` keeps the extension created in the caller's
    transaction (the migration's case: TimescaleDB cannot be created a second time in a
    session where a creation was rolled back, "already been loaded with another version").
    ``keep_extension=False`` rolls it back too and invalidates ``conn`` so that the pool
    does not hand that session out again (the caller must roll back before reusing it).
    """
    if not timescale_available(conn):
        return TimescaleSupport(available=False, loaded=False)
    if not timescale_preloaded(conn):
        return TimescaleSupport(True, False, None, f"the library is not preloaded ({PRELOAD_HINT})")
    installed = timescale_installed(conn)
    savepoint = conn.begin_nested()
    try:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
        license_ = str(conn.execute(sa.text("SHOW timescaledb.license")).scalar())
    except DBAPIError as exc:
        savepoint.rollback()
        return TimescaleSupport(True, False, None, f"CREATE EXTENSION timescaledb failed: {_first_line(exc)}")
    if keep_extension or installed:
        savepoint.commit()
    else:
        savepoint.rollback()
        conn.invalidate()
    return TimescaleSupport(True, True, license_)


@dataclass(frozen=True)
class BarsPlan:
    """How the migration lays out ``bars``: ``hypertable`` or ``partitioned`` (native yearly
    range partitions); ``licensed_features``: add compression, retention and continuous
    aggregates; ``notes``: warnings for the user (each said once, by whoever migrates)."""

    layout: Literal["hypertable", "partitioned"]
    licensed_features: bool
    notes: tuple[str, ...] = ()


def plan_bars(support: TimescaleSupport, mode: TimescaleMode) -> BarsPlan:
    """Choose the layout for ``mode``: ``off`` never uses TimescaleDB; ``auto`` uses it
    when it loads and otherwise falls back to native partitions (with a warning when the
    extension is installed but unusable); ``on`` requires it (ConfigError otherwise)."""
    if mode not in TIMESCALE_MODES:
        raise ConfigError(f"timescale must be one of {', '.join(TIMESCALE_MODES)}, not {mode!r}")
    if mode == "off":
        return BarsPlan("partitioned", False)
    if not support.loaded:
        if mode == "on":
            why = support.reason if support.available else "the server does not have the timescaledb extension"
            raise ConfigError(f"timescale = 'on' but TimescaleDB cannot be used: {why}")
        if not support.available:
            return BarsPlan("partitioned", False)
        return BarsPlan(
            "partitioned",
            False,
            (
                f"TimescaleDB is installed but unusable here: {support.reason}; bars use native yearly "
                "partitions instead (pass timescale = 'off' to silence this, 'on' to make it an error)",
            ),
        )
    if support.licensed:
        return BarsPlan("hypertable", True)
    return BarsPlan(
        "hypertable",
        False,
        (
            f"TimescaleDB {support.license or 'unknown'} edition: bars are a hypertable; compression, "
            "continuous aggregates and retention policies need the Timescale License edition and are skipped",
        ),
    )


def bars_layout(conn: sa.Connection) -> BarsLayout:
    """How the ``bars`` table of the current schema is stored."""
    if conn.dialect.name != "postgresql":
        return "plain" if sa.inspect(conn).has_table("bars") else "missing"
    kind = conn.execute(sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass('bars')")).scalar()
    if kind is None:
        return "missing"
    if kind == "p":
        return "partitioned"
    if timescale_installed(conn):
        hyper = conn.execute(
            sa.text("SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = 'bars'")
        ).first()
        if hyper is not None:
            return "hypertable"
    return "plain"


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
