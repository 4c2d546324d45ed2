"""VaR and CVaR limit decisions on both sides of their thresholds, against figures computed
here independently (numpy's inverted-CDF quantile, the sample standard deviation, scipy's
normal quantile): a figure equal to the limit passes, one lot more is cut."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from ai_trading_risk_limits import PortfolioLimits, PortfolioLimitsParams
from scipy.stats import norm

from ai_trading_core.enums import RiskDecision, RiskState, Side
from ai_trading_core.market import History, MarketSlice
from ai_trading_core.models import Order, utc
from ai_trading_core.protocols import RiskContext

DAY = 86_400 * 1_000_000_000
T0 = int(utc(2021, 1, 1).timestamp()) * 1_000_000_000
EQUITY = 100_000.0
L = 100


def _closes() -> np.ndarray:
    rng = np.random.default_rng(21)
    rets = rng.standard_t(4, L) * 0.01  # fat tails: the historical and normal figures differ
    return 100.0 * np.concatenate([[1.0], np.cumprod(1 + rets)])


def _ctx(closes: np.ndarray) -> RiskContext:
    history = History(len(closes), 1)
    for t, c in enumerate(closes):
        row = np.array([c])
        history.push(MarketSlice(T0 + t * DAY, ("A",), row, row, row, row, np.zeros(1)))
    return RiskContext(
        timestamp=T0 + L * DAY,
        symbols=("A",),
        prices=np.array([closes[-1]]),
        positions=np.zeros(1),
        equity=EQUITY,
        cash=EQUITY,
        peak_equity=EQUITY,
        day_start_equity=EQUITY,
        history=history,
        state=RiskState.ACTIVE,
        symbol_index={"A": 0},
    )


def _loss_per_unit_value(rets: np.ndarray, limit: str, method: str, side: Side) -> float:
    """Loss of a position worth 1 (currency) held long (BUY) or short (SELL)."""
    pnl = rets if side is Side.BUY else -rets
    if method == "parametric":
        sd = float(np.std(rets, ddof=1))
        if limit == "cvar":
            return sd * float(norm.pdf(norm.ppf(0.975))) / 0.025
        return sd * float(norm.ppf(0.95 if limit == "var_95" else 0.99))
    # tail probability written as a literal: 1 - 0.95 is 0.05000000000000004 in binary, which
    # would move the inverted-CDF quantile one observation up (the check absorbs that rounding)
    tail = {"var_95": 0.05, "var_99": 0.01, "cvar": 0.025}[limit]
    q = float(np.quantile(pnl, tail, method="inverted_cdf"))
    if limit == "cvar":
        return float(-pnl[pnl <= q].mean())  # the worst ceil(n (1 - c)) outcomes (no ties here)
    return -q


def _order(side: Side, qty: int) -> Order:
    return Order(
        client_order_id="o1",
        symbol="A",
        side=side,
        quantity=Decimal(qty),
        correlation_id="c1",
        created_at=utc(2021, 1, 1),
    )


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
@pytest.mark.parametrize("method", ["historical", "parametric"])
@pytest.mark.parametrize("limit", ["var_95", "var_99", "cvar"])
def test_decisions_at_the_threshold(limit: str, method: str, side: Side) -> None:
    closes = _closes()
    ctx = _ctx(closes)
    rets = closes[1:] / closes[:-1] - 1
    price = float(closes[-1])
    n = 137  # units; the figure of n units is the threshold
    at = n * price * _loss_per_unit_value(rets, limit, method, side) / EQUITY

    def check(limit_value: float, qty: int) -> tuple[RiskDecision, Decimal, float | None]:
        params = PortfolioLimitsParams(**{limit: limit_value}, var_methods=[method], lookback=L)
        (v,) = PortfolioLimits(params).check([_order(side, qty)], ctx)
        return v.decision, v.approved_quantity, v.measured

    # a hair above the figure of n units: n passes whole, n + 1 is cut back to n
    assert check(at * (1 + 1e-9), n)[:2] == (RiskDecision.APPROVE, Decimal(n))
    decision, approved, measured = check(at * (1 + 1e-9), n + 1)
    assert (decision, approved) == (RiskDecision.RESIZE, Decimal(n))
    assert measured == pytest.approx(at * (n + 1) / n, rel=1e-9)  # the request's own figure
    # a hair below it: n is one lot too many
    assert check(at * (1 - 1e-9), n)[:2] == (RiskDecision.RESIZE, Decimal(n - 1))
    # far below: not even one unit fits
    decision, approved, _ = check(at / (2 * n), n)
    assert (decision, approved) == (RiskDecision.REJECT, Decimal(0))
