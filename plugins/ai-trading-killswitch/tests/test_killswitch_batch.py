"""The kill switch's columnar verdicts (the batch contract runs in test_killswitch_state.py,
armed and halted): a halt rejects every row of the next batch."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from ai_trading_killswitch import state as ks_state
from ai_trading_killswitch.check import KillSwitchCheck

from ai_trading_core.batch import APPROVE, REJECT
from ai_trading_core.testing.contracts import BatchRiskCheckContract, random_batch


def test_a_halt_rejects_every_row_of_the_next_batch(tmp_path: Path) -> None:
    check = KillSwitchCheck(tmp_path)
    ctx = BatchRiskCheckContract().context()
    batch = random_batch(ctx.symbols, np.random.default_rng(3), 12, timestamp=ctx.timestamp)
    assert (check.check_batch(batch, ctx).decision == APPROVE).all()
    ks_state.halt(tmp_path, reason="operator", by="tests", now=datetime(2024, 3, 1, tzinfo=UTC))
    out = check.check_batch(batch, ctx)
    assert (out.decision == REJECT).all() and out.reasons[0] == "kill switch halted: operator"
