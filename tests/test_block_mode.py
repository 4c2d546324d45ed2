"""Block mode gives exactly the per-bar path's trades and equity."""

from __future__ import annotations

import numpy as np
import pytest

from ai_trading_core.config import config_from_dict
from ai_trading_core.errors import ConfigError
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel


def _config(sizer: dict, strategies: list | None = None) -> dict:
    return {
        "data": {"name": "synthetic"}, "audit": {"enabled": False}, "sizer": sizer,
        "broker": {"name": "sim", "params": {"commission_bps": 1, "slippage_bps": 2}},
        "strategies": strategies or [{"name": "sma_crossover", "params": {"fast": 10, "slow": 30}}],
    }


@pytest.mark.parametrize("sizer", [{"name": "equal_weight"}, {"name": "sub_account", "params": {"size_at_fill": True}}])
@pytest.mark.parametrize("seed", [1, 2])
def test_block_equals_per_bar(sizer: dict, seed: int) -> None:
    panel = random_walk_panel(600, 5, seed=seed)
    # one symbol lists late: NaN bars before it trades
    panel.open[:50, 2] = panel.high[:50, 2] = panel.low[:50, 2] = panel.close[:50, 2] = np.nan
    per_bar = run_config(config_from_dict(_config(sizer)), panel=panel)
    block = run_config(config_from_dict(_config(sizer)), panel=panel, block=True)
    assert len(per_bar.result.fills) > 30
    assert [(f.symbol, f.side, f.quantity, f.price, f.timestamp) for f in block.result.fills] == \
        [(f.symbol, f.side, f.quantity, f.price, f.timestamp) for f in per_bar.result.fills]
    assert block.result.final_cash == per_bar.result.final_cash
    np.testing.assert_array_equal(block.result.timestamps, per_bar.result.timestamps)
    np.testing.assert_allclose(block.result.equity, per_bar.result.equity, rtol=1e-12)
    np.testing.assert_allclose(block.result.gross_exposure, per_bar.result.gross_exposure, rtol=1e-12)


def test_block_with_two_strategies() -> None:
    panel = random_walk_panel(500, 3, seed=4)
    strategies = [{"name": "sma_crossover", "id": "a", "weight": 0.5, "params": {"fast": 5, "slow": 20}},
                  {"name": "sma_crossover", "id": "b", "weight": 0.5, "params": {"fast": 10, "slow": 40}}]
    per_bar = run_config(config_from_dict(_config({"name": "equal_weight"}, strategies)), panel=panel)
    block = run_config(config_from_dict({**_config({"name": "equal_weight"}, strategies), "run": {"engine": "block"}}),
                       panel=panel)
    assert [(o.symbol, o.quantity, o.strategy_id) for o in block.result.orders] == \
        [(o.symbol, o.quantity, o.strategy_id) for o in per_bar.result.orders]
    np.testing.assert_allclose(block.result.equity, per_bar.result.equity, rtol=1e-12)


def test_block_mode_needs_block_strategies() -> None:
    pytest.importorskip("ai_trading_ml")
    cfg = _config({"name": "equal_weight"}, [{"name": "ml_classifier"}])
    with pytest.raises(ConfigError, match="signal_block"):
        run_config(config_from_dict({**cfg, "run": {"engine": "block"}}), panel=random_walk_panel(100, 1))
