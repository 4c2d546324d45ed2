"""What the connected PostgreSQL server offers, and how ``bars`` was laid out."""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa

BarsLayout = Literal["hypertable", "partitioned", "plain", "missing"]


def timescale_available(conn: sa.Connection) -> bool:
    """True when the server can ``CREATE EXTENSION timescaledb`` (or already has it)."""
    if conn.dialect.name != "postgresql":
        return False
    row = conn.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).first()
    return row is not None


def timescale_installed(conn: sa.Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return (
        conn.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first() is not None
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
