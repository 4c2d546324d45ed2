"""Timing of the volatility and Kelly sizers per call (run by hand; never asserted in tests).

    python benchmarks/bench_sizers.py

Measures one ``target_positions`` call on a 500-symbol universe with a 400-row history:
``vol_target`` (EWMA, 250 returns), ``atr`` (150 rows), ``risk_parity`` (Ledoit-Wolf +
ERC Newton over 500 and 50 active symbols, forced re-allocation), ``kelly`` (3 strategies,
252-trade windows), and one GARCH(1,1) re-fit of the 500 symbols (200 returns each).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import numpy as np
from ai_trading_kelly import KellyParams, KellySizer
from ai_trading_volatility import (
    AtrParams,
    AtrSizer,
    RiskParityParams,
    RiskParitySizer,
    VolTargetParams,
    VolTargetSizer,
    log_returns,
)
from ai_trading_volatility.garch import GarchForecaster

from ai_trading_core.market import History
from ai_trading_core.models import StrategyPerformance
from ai_trading_core.protocols import SizingContext
from ai_trading_core.testing import random_walk_panel


def per_call(fn: Callable[[], object], repeat: int = 5, number: int = 20) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def report(label: str, seconds: float, unit: str = "µs") -> None:
    scale = {"µs": 1e6, "ms": 1e3, "s": 1.0}[unit]
    print(f"{label:<48}{seconds * scale:10.1f} {unit}")


def main() -> None:
    n = 500
    panel = random_walk_panel(400, n, seed=1)
    history = History(400, n)
    for i in range(400):
        history.push(panel.slice_at(i))
    rng = np.random.default_rng(2)
    strategies = {f"s{k}": rng.uniform(-1, 1, n) for k in range(3)}
    ctx = SizingContext(
        timestamp=int(panel.timestamps[-1]),
        symbols=panel.symbols,
        prices=panel.close[-1].copy(),
        equity=1e6,
        cash=1e6,
        positions=np.zeros(n),
        history=history,
        instruments=[],
        timeframe=panel.timeframe,
        strategy_targets=strategies,
        performance={
            s: StrategyPerformance(strategy_id=s, trade_returns=list(rng.normal(0.002, 0.02, 300)))
            for s in strategies
        },
    )
    targets = rng.uniform(-1, 1, n)
    vt = VolTargetSizer(VolTargetParams())
    report(f"vol_target EWMA, {n} symbols", per_call(partial(vt.target_positions, targets, ctx)))
    atr = AtrSizer(AtrParams())
    report(f"atr, {n} symbols", per_call(partial(atr.target_positions, targets, ctx)))
    for active in (n, 50):
        t = targets.copy()
        t[active:] = 0.0
        rp = RiskParitySizer(RiskParityParams(method="erc"))
        allocate = partial(rp.allocate, t, ctx)
        report(f"risk_parity ERC re-allocation, {active} active", per_call(allocate, number=3), "ms")
    kelly = KellySizer(KellyParams())
    report(f"kelly, {n} symbols x 3 strategies", per_call(partial(kelly.target_positions, targets, ctx)))
    returns = log_returns(history.close(201))
    garch = GarchForecaster(refit_every=21, min_obs=100)
    t0 = time.perf_counter()
    garch.refit(returns)
    report(f"GARCH(1,1) re-fit, {n} symbols x 200 returns", time.perf_counter() - t0, "s")
    report(f"GARCH roll between re-fits, {n} symbols", per_call(partial(garch.roll, returns[-1])))


if __name__ == "__main__":
    main()
