"""Alembic environment: run migrations on the connection handed in by
:func:`ai_trading_storage.migrations.upgrade` (or on ``sqlalchemy.url``)."""

from __future__ import annotations

from alembic import context

from ai_trading_storage.connection import create_db_engine
from ai_trading_storage.models import Base


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    if context.is_offline_mode():
        raise RuntimeError("ai-trading migrations run online only (they inspect the server's extensions)")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


run_migrations()
