"""Alembic migrations, shipped inside the package so that ``ai-trading db upgrade`` works
from an installed wheel. Use these functions rather than the ``alembic`` command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ai_trading_core.errors import ConfigError, StorageError

from ..connection import create_db_engine, safe_url, sqlite_file
from ..timescale import TIMESCALE_MODES, TimescaleMode, bars_layout

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported inside the functions: every ``ai-trading`` command loads this plugin,
# few of them migrate.

__all__ = [
    "DowngradePlan",
    "DroppedColumn",
    "DroppedTable",
    "TimescaleMode",
    "current",
    "downgrade",
    "head_revision",
    "plan_downgrade",
    "revisions",
    "table_names",
    "upgrade",
]

CHECKPOINTS_TABLE = "run_checkpoints"


def alembic_config(timescale: TimescaleMode = "auto") -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "ai_trading_storage:migrations")
    cfg.attributes["timescale"] = timescale
    cfg.attributes["notes"] = []
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@contextmanager
def _engine_for(target: str | Engine, *, must_exist: bool = False) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = create_db_engine(target, must_exist=must_exist)
    try:
        yield engine
    finally:
        engine.dispose()


def upgrade(target: str | Engine, revision: str = "head", *, timescale: TimescaleMode = "auto") -> tuple[str, ...]:
    """Migrate the database at ``target`` (URL or engine) up to ``revision``; returns the
    warnings the user should see (for instance TimescaleDB installed but not usable).

    ``timescale``: ``auto`` lays ``bars`` out as a TimescaleDB hypertable when the server
    can load the extension, else as a natively range-partitioned table; ``off`` forces the
    latter; ``on`` requires the former (ConfigError when the server cannot, or when ``bars``
    already exists in the other layout).
    """
    if timescale not in TIMESCALE_MODES:
        raise ConfigError(f"timescale must be one of {', '.join(TIMESCALE_MODES)}, not {timescale!r}")
    with _engine_for(target) as engine:
        notes = _run("upgrade", engine, revision, timescale)
        if timescale == "on":
            _require_hypertable(engine)
    return notes


def _require_hypertable(engine: Engine) -> None:
    with engine.connect() as conn:
        layout = bars_layout(conn)
    if engine.dialect.name != "postgresql":
        raise ConfigError("timescale = 'on' needs PostgreSQL with TimescaleDB, not SQLite")
    if layout not in ("hypertable", "missing"):
        raise ConfigError(
            f"timescale = 'on' but bars in {safe_url(engine.url)} is a {layout} table (created without "
            "TimescaleDB); export the bars, downgrade to base, upgrade with TimescaleDB and import them again"
        )


def downgrade(target: str | Engine, revision: str = "base") -> None:
    """Migrate down to ``revision`` (``base`` removes every table). No questions asked: the
    ``db downgrade`` command first shows :func:`plan_downgrade` and asks for intent."""
    with _engine_for(target, must_exist=True) as engine:
        _run("downgrade", engine, revision, "auto")


def current(target: str | Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated (a SQLite file
    that does not exist is not created)."""
    from alembic.runtime.migration import MigrationContext

    if isinstance(target, str):
        path = sqlite_file(target)
        if path is not None and not path.is_file():
            return None
    with _engine_for(target) as engine:
        try:
            with engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot read the schema revision of {safe_url(engine.url)}: {exc}") from exc


def _run(direction: str, engine: Engine, revision: str, timescale: TimescaleMode) -> tuple[str, ...]:
    from alembic import command
    from alembic.util import CommandError

    cfg = alembic_config(timescale)
    try:
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            try:
                if direction == "upgrade":
                    command.upgrade(cfg, revision)
                else:
                    command.downgrade(cfg, revision)
                conn.commit()
            except BaseException:
                # a session where CREATE EXTENSION timescaledb was rolled back cannot create it
                # again: keep it out of the pool
                conn.invalidate()
                raise
    except (SQLAlchemyError, CommandError) as exc:
        raise StorageError(f"{direction} of {safe_url(engine.url)} to {revision} failed: {exc}") from exc
    return tuple(cfg.attributes["notes"])


def table_names(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


# --------------------------------------------------------------------------- downgrade plans


@dataclass(frozen=True)
class DroppedTable:
    name: str
    rows: int
    columns: tuple[str, ...] = ()

    @property
    def audit(self) -> bool:
        """An audit table, or a table holding audit columns (the chain heads on run rows)."""
        return self.name.startswith("audit_") or any(c.startswith("audit_") for c in self.columns)


@dataclass(frozen=True)
class DroppedColumn:
    table: str
    column: str
    rows: int  # rows of the table, each losing its value

    @property
    def audit(self) -> bool:
        return self.table.startswith("audit_") or self.column.startswith("audit_")


@dataclass(frozen=True)
class DowngradePlan:
    """What ``downgrade(url, target)`` would remove, found by running it inside a
    transaction that is rolled back (so it also covers revisions added later)."""

    url: str
    current: str
    target: str
    steps: tuple[str, ...]  # the revisions undone, newest first
    tables: tuple[DroppedTable, ...]
    columns: tuple[DroppedColumn, ...]
    unfinished_runs: int  # resumable runs whose checkpoints the downgrade drops

    @property
    def audit_rows(self) -> int:
        """Rows of audit data lost: rows of dropped audit tables, plus rows of tables that
        lose an audit column."""
        return sum(t.rows for t in self.tables if t.audit) + sum(
            c.rows for c in {(c.table, c.rows): c for c in self.columns if c.audit}.values()
        )

    @property
    def drops_checkpoints(self) -> bool:
        return any(t.name == CHECKPOINTS_TABLE for t in self.tables)

    def lines(self) -> list[str]:
        out = [f"downgrade {self.url} from {self.current} to {self.target} (undoes {', '.join(self.steps)}):"]
        for t in self.tables:
            extra = ""
            if t.name == CHECKPOINTS_TABLE:
                extra = " - the resume checkpoints" + (
                    f": {self.unfinished_runs} unfinished run(s) could no longer be resumed"
                    if self.unfinished_runs
                    else ""
                )
            elif t.audit:
                extra = " - audit trail" if t.name.startswith("audit_") else " - holds audit chain heads"
            out.append(f"  drops table {t.name} ({t.rows} row(s)){extra}")
        for c in self.columns:
            extra = " - audit trail" if c.audit else ""
            out.append(f"  drops column {c.table}.{c.column} ({c.rows} row(s)){extra}")
        if not self.tables and not self.columns:
            out.append("  drops no table or column (triggers, functions or indexes only)")
        return out


def plan_downgrade(target: str | Engine, revision: str) -> DowngradePlan:
    """Validate ``revision`` (``base`` or an older revision id) and dry-run the downgrade.

    Raises ConfigError for an unknown, current or newer revision; StorageError when the
    database cannot be read or was never migrated.
    """
    from alembic import command
    from alembic.util import CommandError

    known = revisions()
    if revision != "base" and revision not in known:
        raise ConfigError(f"unknown revision {revision!r}: choose base or one of {', '.join(known)}")
    with _engine_for(target, must_exist=True) as engine:
        url = safe_url(engine.url)
        now = current(engine)
        if now is None:
            raise StorageError(f"{url} was never migrated: nothing to downgrade")
        if revision != "base" and known.index(revision) >= known.index(now):
            raise ConfigError(f"{url} is at {now}: {revision} is not an older revision")
        first_undone = 0 if revision == "base" else known.index(revision) + 1
        steps = tuple(reversed(known[first_undone : known.index(now) + 1]))
        try:
            with engine.connect() as conn:
                before = _schema(conn)
                counts = {name: _count(conn, name) for name in before}
                unfinished = _count(conn, CHECKPOINTS_TABLE, "NOT finished") if CHECKPOINTS_TABLE in before else 0
                # still inside the transaction the counts began: alembic leaves it to us
                try:
                    cfg = alembic_config()
                    cfg.attributes["connection"] = conn
                    command.downgrade(cfg, revision)
                    after = _schema(conn)
                finally:
                    conn.rollback()
        except (SQLAlchemyError, CommandError) as exc:
            raise StorageError(f"cannot plan the downgrade of {url} to {revision}: {exc}") from exc
    tables = tuple(
        DroppedTable(name, counts[name], tuple(before[name])) for name in sorted(before) if name not in after
    )
    columns = tuple(
        DroppedColumn(name, column, counts[name])
        for name in sorted(before)
        if name in after
        for column in before[name]
        if column not in after[name]
    )
    return DowngradePlan(
        url=url,
        current=now,
        target=revision,
        steps=steps,
        tables=tables,
        columns=columns,
        unfinished_runs=unfinished if any(t.name == CHECKPOINTS_TABLE for t in tables) else 0,
    )


def _schema(conn: sa.Connection) -> dict[str, list[str]]:
    """Tables of the current schema (not partitions, not ``alembic_version``) with their
    columns."""
    if conn.dialect.name == "postgresql":
        names = conn.execute(
            sa.text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            )
        ).scalars()
    else:
        names = sa.inspect(conn).get_table_names()  # type: ignore[assignment]
    inspector: Any = sa.inspect(conn)
    return {
        str(name): [str(col["name"]) for col in inspector.get_columns(name)]
        for name in names
        if name != "alembic_version"
    }


def _count(conn: sa.Connection, table: str, where: str = "") -> int:
    quoted = conn.dialect.identifier_preparer.quote(table)
    sql = f"SELECT count(*) FROM {quoted}" + (f" WHERE {where}" if where else "")
    return int(conn.execute(sa.text(sql)).scalar() or 0)
