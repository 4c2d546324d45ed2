"""The user's strategy is found through its entry point, picked by name in a config, and
passes the look-ahead check."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from ai_trading_example_strategy import GoldenCross

from ai_trading_core.config import config_from_dict
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.registry import BuildContext
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel
from ai_trading_core.testing.lookahead import assert_no_lookahead

CONFIG = Path(__file__).resolve().parents[1] / "golden_cross.toml"


def test_entry_point_registers_golden_cross() -> None:
    host = create_plugin_host(only=["example-strategy"], env={})
    plugin = host.plugin("example-strategy")
    assert plugin is not None and plugin.distribution == "ai-trading-example-strategy"
    spec = host.registries.strategies.get("golden_cross")
    strategy = spec.build({"fast": 5, "slow": 20}, BuildContext(component_id="gc"))
    assert isinstance(strategy, GoldenCross) and strategy.strategy_id == "gc"


def test_golden_cross_has_no_lookahead() -> None:
    host = create_plugin_host(only=["example-strategy"], env={})
    spec = host.registries.strategies.get("golden_cross")
    targets = assert_no_lookahead(
        lambda: spec.build({"fast": 5, "slow": 20}, BuildContext(component_id="gc")),
        random_walk_panel(300, 2),
    )
    assert set(np.unique(targets[np.isfinite(targets)])) <= {0.0, 1.0}


def test_config_picks_the_strategy_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = tomllib.loads(CONFIG.read_text())
    data["run"]["state_dir"] = str(tmp_path)
    outcome = run_config(config_from_dict(data))
    assert "example-strategy" in [
        p["name"] if isinstance(p, dict) else p for p in outcome.document["plugins"]
    ]
    trades = outcome.document["trades"]
    assert len(trades) > 3 and {t["strategy_id"] for t in trades} == {"golden-50-200"}
