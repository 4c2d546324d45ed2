"""Run checkpoints: the state a restarted paper or live run resumes from."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ai_trading_core.recovery import Checkpoint

from ..models import CheckpointRow
from ._sql import reading, transaction, upsert


class CheckpointRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, checkpoint: Checkpoint, updated_at: datetime) -> None:
        """Replace the run's checkpoint; durable on return."""
        row = {
            "run_id": checkpoint.run_id,
            "config_hash": checkpoint.config_hash,
            "step_ns": checkpoint.timestamp,
            "finished": False,
            "updated_at": updated_at,
            "state": json.dumps(checkpoint.to_json(), separators=(",", ":")),
        }
        with transaction(self.engine, f"saving checkpoint of run {checkpoint.run_id}") as conn:
            upsert(conn, CheckpointRow, [row], ["run_id"])

    def finish(self, run_id: str) -> None:
        with transaction(self.engine, f"closing checkpoint of run {run_id}") as conn:
            conn.execute(sa.update(CheckpointRow).where(CheckpointRow.run_id == run_id).values(finished=True))

    def unfinished(self, config_hash: str) -> Checkpoint | None:
        """The newest unfinished run of this config, or None."""
        with reading(self.engine, f"reading checkpoints of config {config_hash[:12]}") as s:
            state = s.scalars(
                sa.select(CheckpointRow.state)
                .where(CheckpointRow.config_hash == config_hash, CheckpointRow.finished.is_(False))
                .order_by(CheckpointRow.updated_at.desc())
                .limit(1)
            ).first()
        return None if state is None else Checkpoint.from_json(json.loads(state))
