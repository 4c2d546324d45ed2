from __future__ import annotations

import numpy as np
import pytest
from ai_trading_summary import SummaryReporter
from ai_trading_summary.reporter import max_drawdown

from ai_trading_core.testing.contracts import ReporterContract


@pytest.fixture
def run_result(ai_trading_run, ai_trading_panel):  # type: ignore[no-untyped-def]
    outcome = ai_trading_run({
        "data": {"name": "synthetic"}, "strategies": [{"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "audit": {"enabled": False},
    }, panel=ai_trading_panel)
    return outcome.result


class TestSummaryContract(ReporterContract):
    @pytest.fixture
    def reporter(self) -> SummaryReporter:
        return SummaryReporter()


def test_max_drawdown_hand_worked() -> None:
    # peak 120, trough 90: 25 %
    assert max_drawdown(np.array([100.0, 120.0, 90.0, 110.0, 130.0])) == pytest.approx(0.25)
    assert max_drawdown(np.array([])) == 0.0
    assert max_drawdown(np.array([100.0, 100.0])) == 0.0


def test_report_counts_closed_trades(run_result) -> None:  # type: ignore[no-untyped-def]
    m = SummaryReporter().report(run_result).metrics
    assert m["trade_count"] == sum(1 for t in run_result.trades if not t.is_open)
    assert m["final_equity"] == pytest.approx(float(run_result.final_equity))
