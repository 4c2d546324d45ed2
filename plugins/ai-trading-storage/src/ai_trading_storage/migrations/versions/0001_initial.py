"""Initial schema: instruments, bars, signals, orders, fills, snapshots, risk events, runs and
the append-only, hash-chained audit trail.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_trading_storage.models.base import ExactDecimal, JsonText, UtcDateTime
from ai_trading_storage.timescale import (
    BarsPlan,
    TimescaleSettings,
    TimescaleSupport,
    continuous_aggregate_statements,
    create_bars_table,
    detect_timescale,
    drop_timescale_statements,
    hypertable_statements,
    licensed_statements,
    plan_bars,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

PG_AUDIT_FUNCTION = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""
PG_AUDIT_TRIGGERS = [
    "CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
]
SQLITE_AUDIT_TRIGGERS = [
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END",
]


def _bars_plan(conn: sa.Connection) -> BarsPlan:
    """The layout for ``bars`` per the ``timescale`` mode handed in by
    :func:`ai_trading_storage.migrations.upgrade` (``auto`` when run otherwise); its notes
    are handed back through the config's ``notes`` list."""
    config = op.get_context().config
    attributes = config.attributes if config is not None else {}
    mode = attributes.get("timescale", "auto")
    if mode == "off":
        return plan_bars(TimescaleSupport(available=False, loaded=False), mode)
    plan = plan_bars(detect_timescale(conn, keep_extension=True), mode)
    attributes.setdefault("notes", []).extend(plan.notes)
    return plan


def _create_bars(conn: sa.Connection) -> None:
    if conn.dialect.name != "postgresql":
        op.create_table(
            "bars",
            sa.Column("symbol", sa.String(64), nullable=False),
            sa.Column("timeframe", sa.String(8), nullable=False),
            sa.Column("ts", sa.BigInteger(), nullable=False),  # int64 ns since the epoch, UTC
            *(sa.Column(c, sa.Double(), nullable=False) for c in ("open", "high", "low", "close", "volume")),
            sa.PrimaryKeyConstraint("symbol", "timeframe", "ts", name="pk_bars"),
        )
        return
    plan = _bars_plan(conn)
    if plan.layout == "hypertable":
        settings = TimescaleSettings()
        for stmt in hypertable_statements(settings):
            op.execute(stmt)
        if plan.licensed_features:
            for stmt in licensed_statements(settings):
                op.execute(stmt)
            with op.get_context().autocommit_block():
                for stmt in continuous_aggregate_statements(settings):
                    op.execute(stmt)
    else:
        # Yearly partitions are created on demand by the ingest code.
        op.execute(create_bars_table(partitioned=True))


def upgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "instruments",
        sa.Column("symbol", sa.String(64), primary_key=True),
        sa.Column("asset_class", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("exchange", sa.String(32)),
        sa.Column("tick_size", ExactDecimal(), nullable=False),
        sa.Column("lot_size", ExactDecimal(), nullable=False),
        sa.Column("min_quantity", ExactDecimal(), nullable=False),
        sa.Column("description", sa.Text()),
    )
    _create_bars(conn)
    op.create_table(
        "signals",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False, index=True),
        sa.Column("strategy_id", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timestamp", UtcDateTime(), nullable=False),
        sa.Column("strength", sa.Double(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("correlation_id", sa.String(128), index=True),
        sa.Column("metadata", JsonText(), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("client_order_id", sa.String(128), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False, index=True),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("limit_price", ExactDecimal()),
        sa.Column("stop_price", ExactDecimal()),
        sa.Column("time_in_force", sa.String(8), nullable=False),
        sa.Column("strategy_id", sa.String(128), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=False, index=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("broker_order_id", sa.String(128)),
        sa.Column("filled_quantity", ExactDecimal(), nullable=False),
        sa.Column("average_fill_price", ExactDecimal()),
        sa.Column("reason", sa.Text()),
        sa.Column("parent_id", sa.String(128)),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "fills",
        sa.Column("execution_id", sa.String(128), primary_key=True),
        sa.Column("client_order_id", sa.String(128), nullable=False, index=True),
        sa.Column("run_id", sa.String(64), nullable=False, index=True),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("commission", ExactDecimal(), nullable=False),
        sa.Column("timestamp", UtcDateTime(), nullable=False),
        sa.Column("strategy_id", sa.String(128), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=False, index=True),
        sa.Column("venue", sa.String(32), nullable=False),
    )
    op.create_table(
        "position_snapshots",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("timestamp", UtcDateTime(), primary_key=True),
        sa.Column("symbol", sa.String(64), primary_key=True),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("average_price", ExactDecimal(), nullable=False),
        sa.Column("realized_pnl", ExactDecimal(), nullable=False),
        sa.Column("market_price", ExactDecimal()),
    )
    op.create_table(
        "portfolio_snapshots",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("timestamp", UtcDateTime(), primary_key=True),
        sa.Column("cash", ExactDecimal(), nullable=False),
        sa.Column("equity", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
    )
    op.create_table(
        "risk_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False, index=True),
        sa.Column("timestamp", UtcDateTime(), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("previous_state", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("measured", sa.Double()),
        sa.Column("limit", sa.Double()),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("config_hash", sa.String(128), nullable=False),
        sa.Column("stored_at", UtcDateTime(), nullable=False),
        sa.Column("document", JsonText(), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("sequence", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=False, index=True),
        sa.Column("timestamp", UtcDateTime(), nullable=False),
        sa.Column("payload", JsonText(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_chain_heads",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )
    if conn.dialect.name == "postgresql":
        op.execute(PG_AUDIT_FUNCTION)
        for stmt in PG_AUDIT_TRIGGERS:
            op.execute(stmt)
    else:
        for stmt in SQLITE_AUDIT_TRIGGERS:
            op.execute(stmt)


def downgrade() -> None:
    conn = op.get_bind()
    for table in (
        "audit_chain_heads",
        "audit_events",
        "runs",
        "risk_events",
        "portfolio_snapshots",
        "position_snapshots",
        "fills",
        "orders",
        "signals",
    ):
        op.drop_table(table)
    if conn.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
        for stmt in drop_timescale_statements(TimescaleSettings()):
            op.execute(stmt)  # DROP TABLE bars drops its partitions too
    else:
        op.drop_table("bars")
    op.drop_table("instruments")
