"""Alembic migrations, shipped inside the package so that ``ai-trading db upgrade`` works
from an installed wheel. Use these functions rather than the ``alembic`` command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ai_trading_core.errors import StorageError

from ..connection import create_db_engine, safe_url

TimescaleMode = Literal["auto", "off"]


def alembic_config(timescale: TimescaleMode = "auto") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "ai_trading_storage:migrations")
    cfg.attributes["timescale"] = timescale
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


@contextmanager
def _engine_for(target: str | Engine) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = create_db_engine(target)
    try:
        yield engine
    finally:
        engine.dispose()


def upgrade(target: str | Engine, revision: str = "head", *, timescale: TimescaleMode = "auto") -> None:
    """Migrate the database at ``target`` (URL or engine) up to ``revision``.

    ``timescale="auto"`` lays ``bars`` out as a TimescaleDB hypertable when the server has
    the extension, else as a natively range-partitioned table; ``"off"`` forces the latter.
    """
    _run("upgrade", target, revision, timescale)


def downgrade(target: str | Engine, revision: str = "base") -> None:
    """Migrate down to ``revision`` (``base`` removes every table)."""
    _run("downgrade", target, revision, "auto")


def current(target: str | Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with _engine_for(target) as engine:
        try:
            with engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot read the schema revision of {safe_url(engine.url)}: {exc}") from exc


def _run(direction: str, target: str | Engine, revision: str, timescale: TimescaleMode) -> None:
    cfg = alembic_config(timescale)
    with _engine_for(target) as engine:
        try:
            with engine.connect() as conn:
                cfg.attributes["connection"] = conn
                if direction == "upgrade":
                    command.upgrade(cfg, revision)
                else:
                    command.downgrade(cfg, revision)
                conn.commit()
        except SQLAlchemyError as exc:
            raise StorageError(f"{direction} of {safe_url(engine.url)} to {revision} failed: {exc}") from exc


def table_names(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())
