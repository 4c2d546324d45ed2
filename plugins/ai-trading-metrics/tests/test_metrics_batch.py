"""The Prometheus exporter's columnar verdicts agree with its single-order ones."""

from __future__ import annotations

import pytest
from ai_trading_metrics import PrometheusParams
from ai_trading_metrics.plugin import PrometheusComponent

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.testing.contracts import BatchRiskCheckContract


class TestPrometheusBatchContract(BatchRiskCheckContract):
    @pytest.fixture
    def risk_check(self) -> PrometheusComponent:
        return PrometheusComponent(PrometheusParams(port=0), SimulatedClock(0))
