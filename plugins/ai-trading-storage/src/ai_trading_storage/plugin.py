"""Registers the ``sql`` storage component and the ``db``, ``data`` and ``audit`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

from .storage import SqlStorage, SqlStorageParams

if TYPE_CHECKING:
    import click

    from ai_trading_core.registry import BuildContext, StorageRegistry


def _sql(params: SqlStorageParams, ctx: BuildContext) -> SqlStorage:
    return SqlStorage(params, ctx)


@hookimpl
def ai_trading_register_storage(registry: StorageRegistry) -> None:
    registry.register(
        "sql",
        _sql,
        params=SqlStorageParams,
        description="SQLite (default) or PostgreSQL/TimescaleDB: orders before they are sent, fills, "
        "hash-chained audit trail, run documents",
    )


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    from .cli import register

    register(cli)
