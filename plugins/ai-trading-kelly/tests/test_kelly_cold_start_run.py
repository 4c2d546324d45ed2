"""A Kelly + circuit breaker config built from the docs trades from a cold start.

Kelly sizes from the strategy's own closed trades; without a prior the first run has none, so
it would never trade and never close the trades its estimate needs. The run goes through the
``ai-trading`` command in a subprocess, as a user would start it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ai_trading_core import rundoc

CONFIG = """
[run]
name = "kelly-cold-start"
mode = "backtest"
initial_cash = "100000"
start = 2005-01-01
end = 2012-12-31

[data]
name = "arch_indices"
params = {{ symbols = ["SP500", "NASDAQ"] }}

[[strategies]]
name = "sma_crossover"
id = "sma-10-30"
params = {{ fast = 10, slow = 30 }}

[sizer]
name = "kelly"
params = {{ min_trades = 10, cold_start_fraction = {prior} }}

[[risk]]
name = "circuit_breaker"

[broker]
name = "sim"
"""


def run(tmp_path: Path, prior: float) -> dict:
    cfg = tmp_path / f"kelly-{prior}.toml"
    cfg.write_text(CONFIG.format(prior=prior))
    out = tmp_path / f"run-{prior}.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ai_trading_core.cli", "run", str(cfg), "--json-out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_kelly_with_the_default_prior_trades_from_a_cold_start(tmp_path: Path) -> None:
    doc = run(tmp_path, 0.02)
    assert len(rundoc.rows(doc, "trades")) >= 10  # enough closed trades for the estimate to take over
    first = rundoc.rows(doc, "orders")[0]
    # the prior: at most 0.02 of the 100,000 equity in the first position (plus the move
    # between the decision's close and the fill's open), far below a full allocation
    notional = float(first["filled_quantity"]) * float(first["average_fill_price"])
    assert 0 < notional <= 0.02 * 100_000 * 1.1


def test_a_zero_prior_never_trades(tmp_path: Path) -> None:
    doc = run(tmp_path, 0.0)
    assert rundoc.rows(doc, "orders") == [] and rundoc.rows(doc, "trades") == []


def test_a_sizer_that_never_trades_is_warned_about(tmp_path: Path) -> None:
    """With no prior, Kelly sizes every wanted position to zero: the engine says so once,
    as a WARNING log line and an alert, instead of ending silently with no trades."""
    from loguru import logger

    from ai_trading_core.config import config_from_dict
    from ai_trading_core.engine import SILENT_SIZER_DECISIONS
    from ai_trading_core.plugins import create_plugin_host
    from ai_trading_core.runner import run_config

    host = create_plugin_host(only=["sample-data", "sim", "sma", "kelly"])
    alerts = []

    class Recorder:
        from ai_trading_core import hookimpl

        @hookimpl
        def ai_trading_alert(self, alert):  # type: ignore[no-untyped-def]
            alerts.append(alert)

    host.pm.register(Recorder(), name="alert-recorder")
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
    try:
        outcome = run_config(config_from_dict({
            "run": {"output_dir": str(tmp_path / "runs"), "state_dir": str(tmp_path / "state"), "seed": 2},
            "data": {"name": "synthetic", "params": {"n_symbols": 3, "n_bars": 400}},
            "strategies": [{"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
            "sizer": {"name": "kelly", "params": {"cold_start_fraction": 0.0}},
            "broker": {"name": "sim"},
            "audit": {"enabled": False},
        }), host)
    finally:
        logger.remove(sink)
    assert rundoc.rows(outcome.document, "orders") == []
    warned = [line for line in lines if f"for {SILENT_SIZER_DECISIONS} decisions in a row" in line]
    assert warned and all("sizer 'kelly'" in line for line in warned)
    assert len([line for line in warned if "_watch_silent_sizer" in line]) == 1  # once per run
    assert [a.key for a in alerts if a.source == "sizer:kelly"] == ["sizer:silent"]
