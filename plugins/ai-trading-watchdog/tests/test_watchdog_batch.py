"""The ``heartbeat`` check's columnar verdicts agree with its single-order ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_trading_watchdog.heartbeat import Heartbeat

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.testing.contracts import BatchRiskCheckContract


class TestHeartbeatBatchContract(BatchRiskCheckContract):
    @pytest.fixture
    def risk_check(self, tmp_path: Path) -> Heartbeat:
        return Heartbeat(tmp_path / "heartbeat.json", SimulatedClock(0), interval_s=1.0)
