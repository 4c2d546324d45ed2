"""Properties of ``portfolio_limits`` (hypothesis): an approved order never leaves a limit
breached; a resize never asks for more, never raises risk against the request, and with only
linear limits is the largest allowed lot count. Every figure is recomputed here
independently of the check (plain NumPy sorts, standard deviations, a union-find)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from ai_trading_risk_limits import PortfolioLimits, PortfolioLimitsParams
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from ai_trading_core.enums import RiskDecision, RiskState, Side
from ai_trading_core.market import History, MarketSlice
from ai_trading_core.models import Order, utc
from ai_trading_core.protocols import RiskContext

N = 4
L = 40
DAY = 86_400 * 1_000_000_000
TOL = 1e-9


@dataclass
class Case:
    params: PortfolioLimitsParams
    closes: np.ndarray
    positions: np.ndarray
    equity: float
    peak: float
    orders: list[tuple[int, int, int]]  # (symbol, sign, lots)
    lot: Decimal


@st.composite
def cases(draw: st.DrawFn, linear_only: bool = False) -> Case:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 0.015, L)
    loadings = rng.uniform(0, 1, N)
    rets = common[:, None] * loadings + rng.normal(0, 0.01, (L, N))
    start = rng.uniform(10, 300, N)
    closes = start * np.vstack([np.ones(N), np.cumprod(1 + rets, axis=0)])
    equity = draw(st.floats(1e4, 1e6))
    weights = np.array(draw(st.lists(st.floats(-0.6, 0.6), min_size=N, max_size=N)))
    prices = closes[-1]
    lot = draw(st.sampled_from([Decimal("1"), Decimal("0.01")]))
    positions = np.floor(weights * equity / prices / float(lot)) * float(lot)
    opt = st.one_of(st.none(), st.floats(0.05, 2.0))
    kw: dict[str, Any] = {
        "max_gross_exposure": draw(opt),
        "max_net_exposure": draw(opt),
        "max_leverage": draw(opt),
        "max_position_weight": draw(opt),
        "lookback": L,
        "min_observations": 10,
    }
    if draw(st.booleans()):
        kw["correlation_threshold"] = draw(st.floats(0.05, 0.9))
        kw["max_cluster_weight"] = draw(st.floats(0.1, 2.0))
    if not linear_only:
        var_opt = st.one_of(st.none(), st.floats(0.002, 0.05))
        kw.update(
            var_95=draw(var_opt),
            var_99=draw(var_opt),
            cvar=draw(var_opt),
            max_drawdown=draw(st.one_of(st.none(), st.floats(0.05, 0.5))),
            var_methods=draw(st.sampled_from([["historical"], ["parametric"], ["historical", "parametric"]])),
        )
    peak = equity * draw(st.floats(1.0, 1.4))
    orders = draw(
        st.lists(
            st.tuples(st.integers(0, N - 1), st.sampled_from([1, -1]), st.integers(1, 5_000)),
            min_size=1,
            max_size=6,
        )
    )
    return Case(PortfolioLimitsParams(**kw), closes, positions, equity, peak, orders, lot)


def make_context(case: Case) -> RiskContext:
    symbols = tuple(f"S{i}" for i in range(N))
    history = History(L + 1, N)
    t0 = int(utc(2020, 1, 1).timestamp()) * 1_000_000_000
    for t, row in enumerate(case.closes):
        history.push(MarketSlice(t0 + t * DAY, symbols, row, row, row, row, np.zeros(N)))
    return RiskContext(
        timestamp=t0 + L * DAY,
        symbols=symbols,
        prices=case.closes[-1].copy(),
        positions=case.positions.copy(),
        equity=case.equity,
        cash=case.equity,
        peak_equity=case.peak,
        day_start_equity=case.equity,
        history=history,
        state=RiskState.ACTIVE,
        symbol_index={s: i for i, s in enumerate(symbols)},
    )


def clusters_of(rets: np.ndarray, threshold: float) -> tuple[list[int], list[float], set[int]]:
    """Union-find on ``|rho| >= threshold``, then, by brute force over every orientation
    (first member +1), the one agreeing with the sign of every link; the clusters where none
    does are returned as mixed (they count gross)."""
    corr = np.corrcoef(rets.T)
    parent = list(range(N))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    links = [(a, b) for a in range(N) for b in range(a + 1, N) if abs(corr[a, b]) >= threshold]
    for a, b in links:
        parent[find(a)] = find(b)
    labels = [find(i) for i in range(N)]
    orient = [1.0] * N
    mixed: set[int] = set()
    for root in set(labels):
        members = [i for i in range(N) if labels[i] == root]
        inner = [(a, b) for a, b in links if labels[a] == root]
        found = None
        for bits in itertools.product([1.0, -1.0], repeat=len(members) - 1):
            sigma = dict(zip(members, (1.0, *bits), strict=True))
            if all(np.sign(corr[a, b]) == sigma[a] * sigma[b] for a, b in inner):
                found = sigma
                break
        if found is None:
            mixed.add(root)
            continue
        for i, sg in found.items():
            orient[i] = sg
    return labels, orient, mixed


def figures(case: Case, pos: np.ndarray, j: int) -> dict[str, float]:
    """Every limited figure of the portfolio ``pos`` as seen by an order on symbol ``j``."""
    p = case.params
    prices = case.closes[-1]
    rets = case.closes[1:] / case.closes[:-1] - 1
    e = case.equity
    val = pos * prices
    out = {
        "gross_exposure": np.abs(val).sum() / e,
        "leverage": np.abs(val).sum() / e,
        "net_exposure": abs(val.sum()) / e,
        "position_weight": abs(val[j]) / e,
        "drawdown": 1 - e / case.peak,
    }
    if p.correlation_threshold is not None:
        labels, orient, mixed = clusters_of(rets, p.correlation_threshold)
        members = [i for i in range(N) if labels[i] == labels[j]]
        if labels[j] in mixed:
            out["cluster_weight"] = sum(abs(val[i]) for i in members) / e
        else:
            out["cluster_weight"] = abs(sum(orient[i] * val[i] for i in members)) / e
    pnl = np.sort(rets @ val)
    sd = float(np.std(pnl, ddof=1))
    for name, c, is_cvar in (
        ("var_95", 0.95, False),
        ("var_99", 0.99, False),
        ("cvar", p.cvar_confidence, True),
    ):
        k = max(1, math.ceil(L * (1 - c) - 1e-9))
        out[f"{name}_historical"] = (-pnl[:k].mean() if is_cvar else -pnl[k - 1]) / e
        z = norm.ppf(c)
        out[f"{name}_parametric"] = (sd * norm.pdf(z) / (1 - c) if is_cvar else z * sd) / e
    return out


def limits_of(p: PortfolioLimitsParams) -> dict[str, float]:
    lim = {
        "gross_exposure": p.max_gross_exposure,
        "leverage": p.max_leverage,
        "net_exposure": p.max_net_exposure,
        "position_weight": p.max_position_weight,
        "drawdown": p.max_drawdown,
        "cluster_weight": p.max_cluster_weight,
    }
    for m in p.var_methods:
        lim.update({f"var_95_{m}": p.var_95, f"var_99_{m}": p.var_99, f"cvar_{m}": p.cvar})
    return {k: v for k, v in lim.items() if v is not None}


def breaches(case: Case, pos: np.ndarray, j: int) -> dict[str, tuple[float, float]]:
    f = figures(case, pos, j)
    return {k: (f[k], v) for k, v in limits_of(case.params).items() if f[k] > v * (1 + TOL) + 1e-12}


def run(case: Case) -> list[tuple[int, int, Decimal, Any, np.ndarray, np.ndarray]]:
    ctx = make_context(case)
    orders = [
        Order(
            client_order_id=f"o{k}",
            symbol=f"S{j}",
            side=Side.BUY if s > 0 else Side.SELL,
            quantity=case.lot * n,
            correlation_id=f"c{k}",
            created_at=utc(2020, 1, 1),
        )
        for k, (j, s, n) in enumerate(case.orders)
    ]
    verdicts = PortfolioLimits(case.params).check(orders, ctx)
    assert len(verdicts) == len(orders)
    out = []
    pos = case.positions.copy()
    for (j, s, _), o, v in zip(case.orders, orders, verdicts, strict=True):
        before = pos.copy()
        if v.decision is not RiskDecision.REJECT:
            pos[j] += s * float(v.approved_quantity)
        out.append((j, s, o.quantity, v, before, pos.copy()))
    return out


def reduces(before: float, s: int, q: float) -> bool:
    return before * s < 0 and q <= abs(before) * (1 + 1e-12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_an_approved_order_never_leaves_a_limit_breached(case: Case) -> None:
    for j, s, requested, v, before, after in run(case):
        if v.decision is RiskDecision.REJECT:
            assert v.approved_quantity == 0
            continue
        assert v.approved_quantity is not None and 0 < v.approved_quantity <= requested
        if reduces(before[j], s, float(v.approved_quantity)):
            continue  # reducing a position is always allowed
        assert breaches(case, after, j) == {}, v.reason


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_a_resize_never_raises_risk_against_the_request(case: Case) -> None:
    for j, s, requested, v, before, after in run(case):
        if v.decision is not RiskDecision.RESIZE:
            continue
        assert v.approved_quantity < requested
        at_request = before.copy()
        at_request[j] += s * float(requested)
        # the request breached the limit named on the verdict, and the resize does not
        assert v.measured is not None and v.limit is not None and v.measured > v.limit
        if not reduces(before[j], s, float(v.approved_quantity)):
            assert breaches(case, after, j) == {}
        # the position moves in the requested direction, and no further than requested
        assert s * (after[j] - before[j]) > 0
        assert abs(after[j] - before[j]) < abs(at_request[j] - before[j])
        if np.sign(after[j]) == np.sign(at_request[j]) or after[j] == 0:
            assert abs(after[j]) <= abs(at_request[j]) + 1e-9


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(linear_only=True))
def test_with_linear_limits_a_resize_is_the_largest_allowed(case: Case) -> None:
    lot = float(case.lot)
    for j, s, _, v, before, after in run(case):
        if v.decision is not RiskDecision.RESIZE or reduces(before[j], s, float(v.approved_quantity)):
            continue
        one_more = after.copy()
        one_more[j] += s * lot
        assert breaches(case, one_more, j) != {}
