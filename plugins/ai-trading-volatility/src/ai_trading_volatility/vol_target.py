"""The ``vol_target`` sizer: scale each position to a target annualised volatility."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ai_trading_core.market import FloatArray
from ai_trading_core.protocols import SizingContext

from .estimators import RISKMETRICS_LAMBDA, ewma_variance, lambda_from_halflife, log_returns
from .exposure import cap_gross_leverage, finish_targets
from .garch import GarchForecaster


class VolTargetParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_vol: float = Field(
        default=0.10, gt=0.0, description="annualised volatility each position aims at (fraction)"
    )
    estimator: Literal["ewma", "garch"] = Field(
        default="ewma", description="'ewma' (RiskMetrics) or 'garch' (GARCH(1,1) via the arch package)"
    )
    lambda_: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="EWMA decay per bar (fraction); default 0.94 (RiskMetrics daily)",
    )
    halflife: float | None = Field(
        default=None, gt=0.0, description="EWMA half-life (bars); alternative to lambda_"
    )
    lookback: int = Field(default=250, ge=2, description="returns in the estimation window (bars)")
    min_periods: int = Field(
        default=20, ge=2, description="fewer finite EWMA returns give no estimate (returns)"
    )
    refit_every: int = Field(default=21, ge=1, description="GARCH re-estimation interval (bars)")
    garch_min_obs: int = Field(default=100, ge=30, description="finite returns needed to fit GARCH (returns)")
    max_leverage: float = Field(
        default=1.0,
        gt=0.0,
        description=(
            "cap on each position's volatility scale and on the book's gross exposure (multiple of equity)"
        ),
    )
    weight: float | None = Field(
        default=None,
        gt=0.0,
        description=(
            "fraction of equity per symbol before volatility scaling (fraction); "
            "default 1 / number of symbols"
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> VolTargetParams:
        if self.lambda_ is not None and self.halflife is not None:
            raise ValueError("give lambda_ or halflife, not both")
        if self.min_periods > self.lookback:
            raise ValueError(f"min_periods ({self.min_periods}) exceeds lookback ({self.lookback})")
        if self.estimator == "garch" and self.garch_min_obs > self.lookback:
            raise ValueError(f"garch_min_obs ({self.garch_min_obs}) exceeds lookback ({self.lookback})")
        return self

    @property
    def decay(self) -> float:
        if self.halflife is not None:
            return lambda_from_halflife(self.halflife)
        return RISKMETRICS_LAMBDA if self.lambda_ is None else self.lambda_


class VolTargetSizer:
    """Target units = strength × min(target_vol / σ, max_leverage) × equity × weight / price.

    ``σ`` is the symbol's annualised volatility forecast, ``sqrt(per-bar variance ×
    ctx.timeframe.periods_per_year)``, from the last ``lookback`` log returns of
    ``ctx.history`` closes: RiskMetrics EWMA (one weighted sum for all symbols) or a zero-mean
    GARCH(1,1) re-fitted every ``refit_every`` bars and rolled forward in between. Then, if the
    book's gross exposure exceeds ``max_leverage × equity``, every position is scaled down by
    the same factor.

    - No volatility estimate yet (too few returns; GARCH not fitted or never converged): NaN,
      keep the position. A zero volatility scales at ``max_leverage``.
    - Zero strength: flat. NaN strength, or a NaN / non-positive price: NaN.
    - Non-positive equity: zero targets.
    """

    __slots__ = ("params", "decay", "warmup", "_garch", "_last_ts", "_variance")

    def __init__(self, params: VolTargetParams) -> None:
        self.params = params
        self.decay = params.decay
        self.warmup = params.lookback + 1  # history rows (closes) read
        self._garch = (
            GarchForecaster(params.refit_every, params.garch_min_obs) if params.estimator == "garch" else None
        )
        self._last_ts: int | None = None
        self._variance: FloatArray | None = None

    def variance(self, ctx: SizingContext) -> FloatArray:
        """Per-bar variance forecast for the next bar (fraction² per bar), shape (N,)."""
        p = self.params
        returns = log_returns(ctx.history.close(p.lookback + 1))
        if self._garch is None:
            return ewma_variance(returns, self.decay, p.min_periods)
        if self._variance is not None and ctx.timestamp == self._last_ts:
            return self._variance  # sized twice on one bar: do not roll the recursion again
        stamps = ctx.history.timestamps(p.lookback + 1)
        new_rows = len(stamps) if self._last_ts is None else int(np.count_nonzero(stamps > self._last_ts))
        self._variance = self._garch.step(returns, min(new_rows, len(returns))).copy()
        self._last_ts = ctx.timestamp
        return self._variance

    def target_positions(self, targets: FloatArray, ctx: SizingContext) -> FloatArray:
        p = self.params
        n = len(targets)
        equity = max(ctx.equity, 0.0)
        vol = np.sqrt(self.variance(ctx) * ctx.timeframe.periods_per_year)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.minimum(p.target_vol / vol, p.max_leverage)  # NaN vol stays NaN
            weight = p.weight if p.weight is not None else 1.0 / n
            units = targets * scale * (equity * weight) / ctx.prices
        units = cap_gross_leverage(units, ctx.prices, equity, p.max_leverage)
        return finish_targets(units, targets, ctx.prices)
