"""The rolling (ring-buffer, rank-2 update) estimates equal a from-scratch re-estimation at
every step: random panels with a common factor, several window lengths, NaN gaps, symbols that
stop trading, ``estimate_every`` > 1, and the VaR/CVaR figures and verdicts that follow."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from ai_trading_risk_limits import PortfolioLimits, PortfolioLimitsParams
from ai_trading_risk_limits.book import LimitSet, RiskBook
from ai_trading_risk_limits.estimates import RiskEstimates, estimate
from ai_trading_risk_limits.rolling import RollingRiskEstimator

from ai_trading_core.enums import RiskState, Side
from ai_trading_core.market import History, MarketSlice
from ai_trading_core.models import Order, utc
from ai_trading_core.protocols import RiskContext

DAY = 86_400 * 1_000_000_000
T0 = int(utc(2020, 1, 1).timestamp()) * 1_000_000_000


def panel(steps: int, n: int, seed: int, gaps: bool) -> np.ndarray:
    """(steps, n) closes: a common factor (so that correlation clusters form), idiosyncratic
    noise with per-symbol volatility, and, with ``gaps``, missing prices (NaN) here and there,
    one symbol without any bar for a stretch and one that stops trading for good."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(0.0003, 0.01, (steps, 1))
    beta = rng.uniform(-1.5, 1.5, n)
    vol = rng.uniform(0.002, 0.03, n)
    r = factor * beta + rng.normal(0, 1, (steps, n)) * vol
    close = 50.0 * np.cumprod(1.0 + r, axis=0)
    if gaps:
        close[rng.random((steps, n)) < 0.03] = np.nan
        close[steps // 3 : steps // 3 + 25, 1] = np.nan
        close[steps // 2 :, 2] = np.nan  # stops trading: its returns become 0, its variance 0
    return close


def params_for(lookback: int, **kw: object) -> PortfolioLimitsParams:
    return PortfolioLimitsParams(
        var_95=0.5,
        var_99=0.5,
        cvar=0.5,
        var_methods=["historical", "parametric"],
        include_mean=True,
        lookback=lookback,
        min_observations=min(lookback, 5),
        correlation_threshold=0.5,
        max_cluster_weight=5.0,
        **kw,  # type: ignore[arg-type]
    )


def unrotate(returns_t: np.ndarray, oldest: int) -> np.ndarray:
    return np.concatenate([returns_t[:, oldest:], returns_t[:, :oldest]], axis=1)


def assert_same_estimates(got: RiskEstimates, want: RiskEstimates, oldest: int) -> None:
    assert got.timestamp == want.timestamp and got.n_obs == want.n_obs
    # the return window holds the very same numbers, in ring order
    np.testing.assert_array_equal(unrotate(got.returns_t, oldest), want.returns_t)
    if want.mean is None:
        assert got.mean is None
        return
    assert got.mean is not None and want.cov is not None and got.cov is not None
    scale = np.sqrt(np.outer(np.diag(want.cov), np.diag(want.cov)))
    ret_scale = float(np.abs(want.returns_t).max()) or 1.0
    # means to 1e-12 of the returns' magnitude; covariances to 1e-12 of sqrt(cov_ii cov_jj)
    assert np.all(np.abs(got.mean - want.mean) <= 1e-12 * ret_scale)
    err = np.abs(got.cov - want.cov)
    assert np.all((err <= 1e-12 * scale) | (err == 0)), float(np.max(err / np.where(scale > 0, scale, 1)))
    assert want.labels is not None and got.labels is not None
    np.testing.assert_array_equal(got.labels, want.labels)
    np.testing.assert_array_equal(got.orientation, want.orientation)  # type: ignore[arg-type]
    np.testing.assert_array_equal(got.mixed, want.mixed)  # type: ignore[arg-type]


def context_at(history: History, close_row: np.ndarray, t: int, positions: np.ndarray) -> RiskContext:
    n = len(close_row)
    symbols = tuple(f"S{i}" for i in range(n))
    prices = np.where(np.isfinite(close_row), close_row, 50.0)
    equity = float(np.abs(positions * prices).sum()) * 1.2
    return RiskContext(
        timestamp=T0 + t * DAY,
        symbols=symbols,
        prices=prices,
        positions=positions,
        equity=equity,
        cash=equity,
        peak_equity=equity,
        day_start_equity=equity,
        history=history,
        state=RiskState.ACTIVE,
        symbol_index={s: i for i, s in enumerate(symbols)},
    )


@pytest.mark.parametrize(
    ("lookback", "n", "steps", "gaps"),
    [(2, 6, 30, False), (5, 8, 60, True), (20, 12, 120, True), (60, 30, 260, True), (60, 30, 200, False)],
)
def test_rolling_estimates_equal_a_full_re_estimation_every_step(
    lookback: int, n: int, steps: int, gaps: bool
) -> None:
    close = panel(steps, n, seed=lookback * 7 + n, gaps=gaps)
    params = params_for(lookback)
    limits = LimitSet(params)
    history = History(lookback + 1, n)
    rolling = RollingRiskEstimator(params)
    rng = np.random.default_rng(lookback)
    updates = 0
    for t in range(steps):
        row = close[t]
        history.push(MarketSlice(T0 + t * DAY, tuple(f"S{i}" for i in range(n)), row, row, row, row, np.zeros(n)))
        got = rolling.estimate(history, T0 + t * DAY, n)
        want = estimate(params, history, T0 + t * DAY, n)
        oldest = rolling._pos if rolling._ring is not None else 0
        assert_same_estimates(got, want, oldest)
        if got.n_obs == lookback and rolling._ring is not None and rolling.full_estimates and t > lookback:
            updates += 1
        if want.mean is None:
            continue
        # the figures the limits act on: historical VaR/CVaR exactly the same order statistics,
        # parametric ones to 1e-12 relative
        positions = rng.uniform(-100, 100, n)
        ctx = context_at(history, row, t, positions)
        book_got, book_want = RiskBook(limits, ctx, got), RiskBook(limits, ctx, want)
        j, d = int(rng.integers(n)), float(rng.uniform(-50, 50))
        for m_got, m_want in zip(book_got.measures(j, d), book_want.measures(j, d), strict=True):
            assert m_got.name == m_want.name
            assert m_got.measured == pytest.approx(m_want.measured, rel=1e-12, abs=0.0), m_got.name
    assert updates > 0  # the rank-2 path did run, not only full estimates
    assert rolling.full_estimates < steps


def test_the_window_is_re_estimated_only_as_often_as_needed() -> None:
    lookback, n, steps = 20, 10, 200
    close = panel(steps, n, seed=3, gaps=False)
    params = params_for(lookback)
    history = History(lookback + 1, n)
    rolling = RollingRiskEstimator(params)
    for t in range(steps):
        row = close[t]
        history.push(MarketSlice(T0 + t * DAY, tuple(f"S{i}" for i in range(n)), row, row, row, row, np.zeros(n)))
        rolling.estimate(history, T0 + t * DAY, n)
    # lookback + 1 warm-up steps from scratch, then one full estimate every lookback returns
    # (plus any a collapsing variance asks for)
    warm = lookback + 1
    assert rolling.full_estimates >= warm + (steps - warm) // lookback
    assert rolling.full_estimates <= warm + 2 * ((steps - warm) // lookback + 1)


def test_a_new_history_or_a_rewritten_one_is_estimated_from_scratch() -> None:
    lookback, n = 10, 5
    close = panel(40, n, seed=5, gaps=False)
    params = params_for(lookback)
    rolling = RollingRiskEstimator(params)
    history = History(lookback + 1, n)
    syms = tuple(f"S{i}" for i in range(n))
    for t in range(30):
        history.push(MarketSlice(T0 + t * DAY, syms, close[t], close[t], close[t], close[t], np.zeros(n)))
        rolling.estimate(history, T0 + t * DAY, n)
    before = rolling.full_estimates
    # another history with other prices but the same count: never mixed with the old window
    other = History(lookback + 1, n)
    for t in range(30):
        row = close[t] * 1.01 + t
        other.push(MarketSlice(T0 + t * DAY, syms, row, row, row, row, np.zeros(n)))
    got = rolling.estimate(other, T0 + 29 * DAY, n)
    assert rolling.full_estimates == before + 1
    assert_same_estimates(got, estimate(params, other, T0 + 29 * DAY, n), rolling._pos)
    # the same history object refilled with different rows (block mode's load): from scratch too
    from ai_trading_core.market import BarPanel

    rows = close[:31] * 0.9
    bars = BarPanel(
        timestamps=T0 + np.arange(31, dtype=np.int64) * DAY,
        symbols=syms,
        open=rows,
        high=rows,
        low=rows,
        close=rows,
        volume=np.zeros_like(rows),
    )
    other.load(bars, 30)
    got = rolling.estimate(other, T0 + 30 * DAY, n)
    assert_same_estimates(got, estimate(params, other, T0 + 30 * DAY, n), rolling._pos)


@pytest.mark.parametrize("every", [1, 3])
def test_the_check_gives_the_same_verdicts_as_with_full_re_estimation(every: int) -> None:
    """Verdicts of ``portfolio_limits`` over a run, against the same check whose estimator is
    replaced by the from-scratch definition."""
    lookback, n, steps = 30, 15, 120
    close = panel(steps, n, seed=9, gaps=True)
    params = params_for(lookback, estimate_every=every).model_copy(
        update={"var_95": 0.02, "var_99": 0.03, "cvar": 0.035, "max_cluster_weight": 0.6, "max_gross_exposure": 1.5}
    )
    rolling = PortfolioLimits(params)
    full = PortfolioLimits(params)

    class FromScratch:
        def estimate(self, history: History, timestamp: int, n_symbols: int) -> RiskEstimates:
            return estimate(params, history, timestamp, n_symbols)

    full._estimator = FromScratch()  # type: ignore[assignment]
    history = History(lookback + 2, n)
    rng = np.random.default_rng(1)
    syms = tuple(f"S{i}" for i in range(n))
    compared = 0
    for t in range(steps):
        row = close[t]
        history.push(MarketSlice(T0 + t * DAY, syms, row, row, row, row, np.zeros(n)))
        positions = np.round(rng.uniform(-100, 100, n), 2)
        ctx = context_at(history, row, t, positions)
        rolling.update(ctx)
        full.update(ctx)
        if t < lookback:
            continue
        orders = [
            Order(
                client_order_id=f"o{t}-{i}",
                symbol=syms[i],
                side=Side.BUY if rng.random() < 0.5 else Side.SELL,
                quantity=Decimal(f"{rng.uniform(1, 80):.2f}"),
                correlation_id="c",
                created_at=utc(2020, 1, 1),
            )
            for i in rng.choice(n, 4, replace=False)
        ]
        a, b = rolling.check(orders, ctx), full.check(orders, ctx)
        for va, vb in zip(a, b, strict=True):
            assert (va.decision, va.approved_quantity, va.limit) == (vb.decision, vb.approved_quantity, vb.limit)
            if vb.measured is None:
                assert va.measured is None
            else:
                assert va.measured == pytest.approx(vb.measured, rel=1e-12, abs=1e-15)
            compared += 1
    assert compared == 4 * (steps - lookback)


def test_a_backtest_with_the_limits_is_the_same_with_full_re_estimation(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole run through the engine (VaR, CVaR and cluster limits binding): the same
    orders, fills and final equity as with the from-scratch estimator."""
    import ai_trading_risk_limits.limits as limits_module

    from ai_trading_core.config import config_from_dict
    from ai_trading_core.runner import run_config

    def config() -> object:
        return config_from_dict({
            "run": {"seed": 3, "output_dir": f"{tmp_path}/runs", "state_dir": f"{tmp_path}/state"},
            "plugins": {"load": ["sample-data", "sim", "sma", "risk-limits"]},
            "data": {"name": "synthetic", "params": {"n_symbols": 20, "n_bars": 260}},
            "strategies": [{"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
            "risk": [{"name": "portfolio_limits", "params": {
                "max_gross_exposure": 1.0, "var_99": 0.004, "cvar": 0.0048,
                "var_methods": ["historical", "parametric"], "lookback": 60,
                "correlation_threshold": 0.3, "max_cluster_weight": 0.3}}],
            "audit": {"enabled": False},
        })

    rolling_run = run_config(config())  # type: ignore[arg-type]

    class FromScratch:
        def __init__(self, params: PortfolioLimitsParams) -> None:
            self.params = params

        def estimate(self, history: History, timestamp: int, n_symbols: int) -> RiskEstimates:
            return estimate(self.params, history, timestamp, n_symbols)

    monkeypatch.setattr(limits_module, "RollingRiskEstimator", FromScratch)
    full_run = run_config(config())  # type: ignore[arg-type]
    rolling, full = rolling_run.document, full_run.document
    for key in ("final_equity", "order_count", "trade_count"):
        assert rolling["metrics"][key] == full["metrics"][key], key

    def verdicts(run: object) -> list[tuple[str, object, str]]:
        return [
            (v.decision.value, v.approved_quantity, v.reason.split(" ", 1)[0])
            for v in run.result.risk_verdicts  # type: ignore[attr-defined]
        ]

    assert verdicts(rolling_run) == verdicts(full_run)
    binding = {name for decision, _, name in verdicts(rolling_run) if decision != "approve"}
    assert {"var_99_historical", "var_99_parametric", "cluster_weight"} <= binding  # the limits did bind
