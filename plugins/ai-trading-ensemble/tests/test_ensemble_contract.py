"""The ``ensemble`` strategy passes the kernel's strategy contract suite, with static and
with Sharpe allocation."""

from __future__ import annotations

from typing import Any

import pytest

from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.registry import BuildContext
from ai_trading_core.testing.contracts import StrategyContract

MEMBERS = [
    {"name": "momentum", "params": {"lookback": 10}},
    {"name": "macd_trend", "id": "macd"},
    {"name": "breakout", "params": {"period": 10}, "weight": 2.0},
]


@pytest.fixture(scope="module")
def strategies() -> Any:
    return create_plugin_host(only=["technical", "ensemble"], env={}).registries.strategies


class TestEnsembleContract(StrategyContract):
    @pytest.fixture(params=["static", "sharpe"])
    def strategy(self, request: pytest.FixtureRequest, strategies: Any) -> Any:
        params = {
            "allocation": request.param,
            "lookback": 20,
            "min_weight": 0.1,
            "max_weight": 0.6,
            "members": MEMBERS,
        }
        return strategies.get("ensemble").build(params, BuildContext(component_id="ens"))
