"""Run checkpoints: where a paper or live run stands, so that a restart resumes it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ai_trading_storage.models.base import JsonText, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_checkpoints",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("config_hash", sa.String(128), nullable=False),
        sa.Column("step_ns", sa.BigInteger(), nullable=True),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("state", JsonText(), nullable=False),
    )
    op.create_index("ix_run_checkpoints_config_hash", "run_checkpoints", ["config_hash"])


def downgrade() -> None:
    op.drop_index("ix_run_checkpoints_config_hash", table_name="run_checkpoints")
    op.drop_table("run_checkpoints")
