"""The ``kelly`` position sizer."""

from __future__ import annotations

import numpy as np

from ai_trading_core.market import FloatArray
from ai_trading_core.models import StrategyPerformance
from ai_trading_core.protocols import SizingContext

from .criterion import KellyCriterion, KellyParams


class KellySizer:
    """Target units = strength × Kelly fraction × equity / price, per symbol.

    The Kelly fraction of a symbol is attributed to the strategies that drive it: with
    ``ctx.strategy_targets[s]`` the per-strategy target strengths and ``k_s = f*_s × fraction``
    each strategy's fractional Kelly (estimated from ``ctx.performance[s]``, see
    :class:`~ai_trading_kelly.criterion.KellyCriterion`),

    ``k_i = min(confidence_i × Σ_s |t_s,i| k_s / Σ_s |t_s,i|, max_fraction)``

    i.e. the strategies' fractions averaged with weights equal to the absolute strength each
    puts on symbol ``i`` (NaN strengths weigh nothing), scaled by the symbol's confidence
    (``ctx.confidence``; None or NaN counts as 1, values are clipped to [0, 1]) and capped.
    With a single strategy this is exactly ``KellyCriterion.calculate_kelly_fraction``.

    - A symbol no strategy puts any weight on gets ``k_i = 0``; when ``ctx.strategy_targets``
      is empty and ``ctx.performance`` holds exactly one strategy, every symbol is attributed
      to it; otherwise every ``k_i`` is 0.
    - Cold start: a strategy with fewer than ``min_trades`` closed trades in its window stakes
      ``k_s = cold_start_fraction`` (the documented prior, 0.02 by default) instead of its
      estimate (see :meth:`strategy_fraction`).
    - ``k_i = 0`` (no edge) gives a zero target: flat.
    - A NaN strength, or a NaN / non-positive price, gives NaN: keep the current position.
    - Non-positive equity gives zero targets.

    The cap applies per position: with N symbols the book may reach ``N × max_fraction`` of
    equity gross; bound the book with a risk check.
    """

    __slots__ = ("criterion", "cold_start_fraction", "warmup")

    def __init__(self, params: KellyParams) -> None:
        self.criterion = KellyCriterion.from_params(params)
        self.cold_start_fraction = params.cold_start_fraction
        self.warmup = 0  # needs no market history, only closed trades

    def strategy_fraction(self, performance: StrategyPerformance | None) -> float:
        """A strategy's fractional Kelly ``k_s`` (fraction of equity, before confidence and cap).

        Cold start: while the strategy's window holds fewer than ``min_trades`` closed trades
        (or it has no record yet), the Kelly estimate does not exist and ``k_s`` is the prior
        ``cold_start_fraction``. Without a prior a Kelly-sized strategy could never trade, so
        it could never close the trades its estimate needs.
        """
        crit = self.criterion
        if performance is None or len(performance.trade_returns[-crit.lookback_periods :]) < crit.min_trades:
            return self.cold_start_fraction
        return crit.scaled_kelly(performance)

    def symbol_fractions(self, n: int, ctx: SizingContext) -> FloatArray:
        """``k_i`` for each of the ``n`` symbols (fraction of equity, in [0, max_fraction])."""
        crit = self.criterion
        if ctx.strategy_targets:
            num = np.zeros(n)
            den = np.zeros(n)
            for sid, strengths in ctx.strategy_targets.items():
                w = np.abs(np.asarray(strengths, dtype=np.float64))
                w[~np.isfinite(w)] = 0.0
                num += w * self.strategy_fraction(ctx.performance.get(sid))
                den += w
            k = np.divide(num, den, out=np.zeros(n), where=den > 0.0)
        elif len(ctx.performance) == 1:
            k = np.full(n, self.strategy_fraction(next(iter(ctx.performance.values()))))
        else:
            k = np.zeros(n)
        if ctx.confidence is not None:
            conf = np.asarray(ctx.confidence, dtype=np.float64)
            k *= np.where(np.isfinite(conf), np.clip(conf, 0.0, 1.0), 1.0)
        return np.minimum(k, crit.max_fraction)

    def target_positions(self, targets: FloatArray, ctx: SizingContext) -> FloatArray:
        n = len(targets)
        k = self.symbol_fractions(n, ctx)
        equity = ctx.equity if ctx.equity > 0.0 else 0.0
        prices = ctx.prices
        bad_price = ~np.isfinite(prices) | (prices <= 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            units = targets * k * equity / prices
        # 0 × strength is flat even where the sizing arithmetic produced -0.0 or inf.
        units[(k == 0.0) & np.isfinite(targets)] = 0.0
        units[bad_price | np.isnan(targets)] = np.nan
        return units
