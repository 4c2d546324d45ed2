"""``ml_classifier`` passes the kernel's strategy contract suite."""

from __future__ import annotations

from typing import Any

import pytest

from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.registry import BuildContext
from ai_trading_core.testing.contracts import StrategyContract


class TestMLClassifierContract(StrategyContract):
    @pytest.fixture
    def strategy(self) -> Any:
        registry = create_plugin_host(only=["ml"], env={}).registries.strategies
        params = {"retrain_every": 40, "train_window": 120, "min_train_bars": 60, "cv_splits": 3}
        return registry.get("ml_classifier").build(params, BuildContext(component_id="ml"))
