"""The ``health`` check's columnar verdicts agree with its single-order ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_trading_health import HealthParams
from ai_trading_health.plugin import HealthComponent
from ai_trading_health.probes import directory_writable

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.testing.contracts import BatchRiskCheckContract


class TestHealthBatchContract(BatchRiskCheckContract):
    @pytest.fixture
    def risk_check(self, tmp_path: Path) -> HealthComponent:
        return HealthComponent(HealthParams(port=0), SimulatedClock(0), directory_writable(tmp_path))
