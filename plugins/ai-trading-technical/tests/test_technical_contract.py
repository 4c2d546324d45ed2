"""Every registered technical strategy passes the kernel's strategy contract suite."""

from __future__ import annotations

from typing import Any

import pytest

from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.registry import BuildContext
from ai_trading_core.testing.contracts import StrategyContract

CASES = [
    ("momentum", {"lookback": 10}),
    ("mean_reversion", {"period": 10, "rsi_period": 5}),
    ("macd_trend", {}),
    ("breakout", {"period": 10}),
    ("mtf_trend", {"fast": 3, "slow": 8, "trend_timeframe": "1d"}),
]


@pytest.fixture(scope="module")
def strategies() -> Any:
    return create_plugin_host(only=["technical"], env={}).registries.strategies


class TestTechnicalStrategyContract(StrategyContract):
    @pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
    def strategy(self, request: pytest.FixtureRequest, strategies: Any) -> Any:
        name, params = request.param
        return strategies.get(name).build(params, BuildContext(component_id=name))
