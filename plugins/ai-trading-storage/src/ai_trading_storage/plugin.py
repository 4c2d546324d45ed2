"""Registers the ``sql`` storage component and the ``db``, ``data`` and ``audit`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

if TYPE_CHECKING:
    import click

    from .storage import SqlStorage, SqlStorageParams

    from ai_trading_core.registry import BuildContext, StorageRegistry


# SQLAlchemy (and Alembic) are imported when the component is built or a command runs, not
# when the plugin loads (ai-trading --help, plugins list).
def _sql(params: SqlStorageParams, ctx: BuildContext) -> SqlStorage:
    from .storage import SqlStorage

    return SqlStorage(params, ctx)


@hookimpl
def ai_trading_register_storage(registry: StorageRegistry) -> None:
    registry.register(
        "sql",
        _sql,
        params="ai_trading_storage.storage:SqlStorageParams",
        description="SQLite (default) or PostgreSQL/TimescaleDB: orders before they are sent, fills, "
        "hash-chained audit trail, run documents",
    )


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    """``db`` and ``data``, and the database audit commands (in the kernel's ``audit`` group
    when there is one), all imported on first use."""
    from ai_trading_core.cli import LazyCommand

    cli.add_command(LazyCommand("db", "ai_trading_storage.cli:db_group", "Database schema migrations."))
    cli.add_command(LazyCommand("data", "ai_trading_storage.cli:data_group", "Bulk bar import and export."))
    verify = "Verify the database audit trail (keyed hash chain, seals, heads)."
    export = "Print the database trail's sealed heads as JSON lines, for external anchoring."
    explain = "Print the decision chain behind ORDER_ID from the database audit trail."
    existing = cli.commands.get("audit")
    if existing is not None and hasattr(existing, "add_command") and hasattr(existing, "commands"):
        existing.add_command(LazyCommand("verify-db", "ai_trading_storage.audit.commands:audit_verify_db", verify))
        existing.add_command(
            LazyCommand("export-heads-db", "ai_trading_storage.audit.commands:audit_export_heads_db", export)
        )
        name = "explain-db" if "explain" in existing.commands else "explain"
        existing.add_command(LazyCommand(name, "ai_trading_storage.cli:audit_explain", explain))
        return
    from .cli import register  # no kernel audit group: build ours the usual way

    register(cli)
