"""Transactions that turn database failures into :class:`StorageError`, and dialect-neutral
upserts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ai_trading_core.errors import StorageError

from ..connection import safe_url


@contextmanager
def transaction(engine: Engine, what: str) -> Iterator[sa.Connection]:
    """A connection in a transaction, committed on exit (durable on return). Any database
    error becomes a StorageError naming ``what`` and the (password-masked) database."""
    try:
        with engine.begin() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise StorageError(f"{what} failed on {safe_url(engine.url)}: {_short(exc)}") from exc


@contextmanager
def reading(engine: Engine, what: str) -> Iterator[Session]:
    try:
        with Session(engine) as session:
            yield session
    except SQLAlchemyError as exc:
        raise StorageError(f"{what} failed on {safe_url(engine.url)}: {_short(exc)}") from exc


def _short(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def insert_for(conn: sa.Connection, table: Any) -> Any:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def upsert(conn: sa.Connection, table: Any, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> None:
    """Insert ``rows``; rows whose ``keys`` exist already are updated in place."""
    if not rows:
        return
    stmt = insert_for(conn, table)
    update = {c: getattr(stmt.excluded, c) for c in rows[0] if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=update), list(rows))


def insert_ignore(
    conn: sa.Connection, table: Any, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> int:
    """Insert ``rows`` skipping those whose ``keys`` exist; returns how many were new."""
    if not rows:
        return 0
    stmt = insert_for(conn, table).on_conflict_do_nothing(index_elements=list(keys))
    return int(conn.execute(stmt, list(rows)).rowcount or 0)
