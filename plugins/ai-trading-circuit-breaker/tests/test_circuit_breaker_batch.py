"""The ``circuit_breaker`` check's columnar verdicts agree with its single-order ones: armed,
tripped to REDUCING (only the rows that reduce a position pass) and HALTED."""

from __future__ import annotations

import numpy as np
import pytest
from ai_trading_circuit_breaker import CircuitBreakerCheck
from ai_trading_circuit_breaker.breaker import CircuitBreaker

from ai_trading_core.batch import APPROVE, REJECT, OrderBatch
from ai_trading_core.enums import RiskState
from ai_trading_core.testing.contracts import BatchRiskCheckContract, assert_batch_agrees


def tripped(state: RiskState) -> CircuitBreakerCheck:
    breaker = CircuitBreaker()
    breaker.trip(state, "contract", measured=0.031, limit=0.02, timestamp=0)
    return CircuitBreakerCheck(breaker)


class TestArmedBatchContract(BatchRiskCheckContract):
    @pytest.fixture
    def risk_check(self) -> CircuitBreakerCheck:
        return CircuitBreakerCheck(CircuitBreaker())


class TestReducingBatchContract(BatchRiskCheckContract):
    @pytest.fixture
    def risk_check(self) -> CircuitBreakerCheck:
        return tripped(RiskState.REDUCING)


class TestHaltedBatchContract(BatchRiskCheckContract):
    @pytest.fixture
    def risk_check(self) -> CircuitBreakerCheck:
        return tripped(RiskState.HALTED)


def test_reducing_passes_exactly_the_rows_that_reduce() -> None:
    """Long 100 of the first symbol, short 50 of the second: selling up to 100 of the first
    or buying up to 50 of the second reduces; anything else (more, the other way, a flat or
    unknown symbol) is rejected."""
    contract = BatchRiskCheckContract()
    ctx = contract.context(positions=np.array([100.0, -50.0, 0.0, 0.0]))
    symbols = ctx.symbols + ("UNKNOWN",)
    rows = [(0, -1, 10_000), (0, -1, 10_001), (0, 1, 1), (1, 1, 5_000), (1, 1, 5_001), (2, -1, 1), (4, -1, 1)]
    n = len(rows)
    units = np.array([u for _, _, u in rows], dtype=np.int64)
    batch = OrderBatch(
        symbols,
        np.array([i for i, _, _ in rows], dtype=np.int64),
        np.array([s for _, s, _ in rows], dtype=np.int8),
        units / 100.0,
        units,
        2,
        np.full(n, np.nan),
        np.zeros(n, dtype=bool),
        np.arange(n, dtype=np.int64),
        np.zeros(n, dtype=np.int16),
        ("s",),
        ctx.timestamp,
    )
    out = assert_batch_agrees(tripped(RiskState.REDUCING), batch, ctx)
    assert out.decision.tolist() == [APPROVE, REJECT, REJECT, APPROVE, REJECT, REJECT, REJECT]
    assert out.measured[0] == 0.031 and out.limits[6] == 0.02
