"""examples/crisis.toml: the 2008 crash on the real S&P 500 and NASDAQ Composite daily bars.
With the risk plugins the circuit breaker trips and the maximum drawdown is smaller than in
the same run without them (examples/crisis_no_risk.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from ai_trading_core.config import config_from_dict
from ai_trading_core.runner import run_config

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

pytest.importorskip("ai_trading_circuit_breaker")
pytest.importorskip("ai_trading_risk_limits")


def run(name: str, tmp_path: Path) -> dict[str, Any]:
    doc = tomllib.loads((EXAMPLES / name).read_text())
    doc["run"]["output_dir"] = str(tmp_path / "runs")
    doc["run"]["state_dir"] = str(tmp_path / "state")
    doc["audit"] = {"enabled": False}
    return run_config(config_from_dict(doc)).document


def test_the_circuit_breaker_trips_in_the_crash_and_cuts_the_drawdown(tmp_path: Path) -> None:
    with_risk = run("crisis.toml", tmp_path)
    without = run("crisis_no_risk.toml", tmp_path)

    events = with_risk["risk_events"]
    assert events, "the circuit breaker did not trip"
    trip = events[0]
    assert trip["source"] == "circuit_breaker"
    assert trip["previous_state"] == "active" and trip["state"] in ("reducing", "halted")
    assert trip["measured"] >= trip["limit"] == 0.05
    assert "2007-06-01" <= trip["timestamp"][:10] <= "2009-12-31"
    assert without["risk_events"] == []

    dd_risk = with_risk["metrics"]["max_drawdown"]
    dd_none = without["metrics"]["max_drawdown"]
    assert 0 < dd_risk < dd_none
    # the same bars and the same strategy: only the risk checks differ
    assert with_risk["bars"] == without["bars"] and with_risk["symbols"] == without["symbols"]
    # backtests do not persist the breaker's state: the next run starts armed
    assert not (tmp_path / "state" / "circuit-breaker").exists()
