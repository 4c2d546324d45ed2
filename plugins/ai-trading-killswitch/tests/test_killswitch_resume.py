"""`ai-trading resume` during a run re-arms the engine that the kill switch halted."""

from __future__ import annotations

from datetime import UTC, datetime

from ai_trading_killswitch.state import halt, resume

from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import RiskState
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel


def test_resume_mid_run_rearms(tmp_path) -> None:  # type: ignore[no-untyped-def]
    panel = random_walk_panel(400, 3, seed=9)
    state_dir = tmp_path / "state"
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def progress(done: int, total: int) -> None:
        if done >= 100 and not marks.get("halted"):
            halt(state_dir, reason="operator test", by="test", now=now)
            marks["halted"] = done
        elif done >= 250 and not marks.get("resumed"):
            resume(state_dir, reason="all clear", by="test", now=now)
            marks["resumed"] = done

    marks: dict[str, int] = {}
    cfg = config_from_dict({
        "run": {"mode": "paper", "state_dir": str(state_dir), "output_dir": str(tmp_path / "runs")},
        "data": {"name": "synthetic"}, "audit": {"enabled": False},
        "strategies": [{"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "risk": [{"name": "kill_switch"}],
    })
    out = run_config(cfg, panel=panel, progress=progress)
    states = [(e.state, e.source) for e in out.result.risk_events]
    assert states == [(RiskState.HALTED, "kill_switch"), (RiskState.ACTIVE, "kill_switch")]
    halted_at, resumed_at = (e.timestamp for e in out.result.risk_events)
    sent = [o.created_at for o in out.result.orders if o.status.value != "rejected"]
    assert not [t for t in sent if halted_at <= t < resumed_at]
    assert [t for t in sent if t > resumed_at], "trading resumes after the re-arm"
