"""The ``risk_parity`` sizer: allocate equity across the traded symbols by risk."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ai_trading_core.market import FloatArray
from ai_trading_core.protocols import SizingContext

from .covariance import ledoit_wolf
from .estimators import log_returns
from .exposure import finish_targets, unusable_prices
from .risk_budget import erc_weights, inverse_vol_weights


class RiskParityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["inverse_vol", "erc"] = Field(
        default="erc", description="'inverse_vol' (w ∝ 1/σ) or 'erc' (equal risk contributions)"
    )
    lookback: int = Field(default=126, ge=2, description="returns in the covariance window (bars)")
    min_periods: int = Field(
        default=60, ge=2, description="complete return rows needed for a covariance (returns)"
    )
    rebalance_every: int = Field(default=21, ge=1, description="bars between re-allocations (bars)")
    gross: float = Field(
        default=1.0, gt=0.0, description="gross exposure of the allocated book (multiple of equity)"
    )

    @model_validator(mode="after")
    def _window_holds_min_periods(self) -> RiskParityParams:
        if self.min_periods > self.lookback:
            raise ValueError(f"min_periods ({self.min_periods}) exceeds lookback ({self.lookback})")
        return self


class RiskParitySizer:
    """Target units = sign(strength) × w_i × gross × equity / price over the **active** symbols
    (finite, non-zero strength and a usable price); every other symbol with a zero strength is
    flat. The strength's magnitude is not used: the allocation decides the size.

    Weights come from a Ledoit-Wolf shrunk covariance of the last ``lookback`` log returns
    (rows where every allocated symbol has a return): inverse volatility, or equal risk
    contribution of the *signed* positions (ERC on ``D Σ D``, ``D = diag(sign)``, so a short
    leg's risk is counted with its sign). Symbols with fewer than ``min_periods`` finite
    returns in the window, or zero variance, get NaN (keep) and no weight.

    The allocation is recomputed on the first call, every ``rebalance_every`` bars, and as soon
    as the set of active symbols or any direction changes (or the last allocation left an
    active symbol unsized); in between, the last target units are returned unchanged, so the
    book does not churn with every price move.
    """

    __slots__ = ("params", "warmup", "_last_ts", "_bars_since", "_codes", "_units", "_pending")

    def __init__(self, params: RiskParityParams) -> None:
        self.params = params
        self.warmup = params.lookback + 1
        self._last_ts: int | None = None
        self._bars_since = 0
        self._codes: FloatArray | None = None
        self._units: FloatArray | None = None
        self._pending = False

    def target_positions(self, targets: FloatArray, ctx: SizingContext) -> FloatArray:
        if ctx.timestamp != self._last_ts:
            self._bars_since += 1
            self._last_ts = ctx.timestamp
        codes = np.where(np.isnan(targets), 2.0, np.sign(targets))  # 2 marks "no opinion"
        stale = (
            self._units is None
            or self._pending
            or self._bars_since >= self.params.rebalance_every
            or self._codes is None
            or not np.array_equal(codes, self._codes)
        )
        if stale:
            self._units = self.allocate(targets, ctx)
            self._codes = codes
            self._bars_since = 0
        assert self._units is not None
        return finish_targets(self._units.copy(), targets, ctx.prices)

    def allocate(self, targets: FloatArray, ctx: SizingContext) -> FloatArray:
        """Fresh target units (N,) for the current targets and history."""
        p = self.params
        n = len(targets)
        units = np.zeros(n)
        active = np.isfinite(targets) & (targets != 0.0) & ~unusable_prices(ctx.prices)
        units[np.isnan(targets)] = np.nan
        self._pending = False
        if not active.any():
            return units
        returns = log_returns(ctx.history.close(p.lookback + 1))
        enough = active & (np.isfinite(returns).sum(axis=0) >= p.min_periods)
        units[active & ~enough] = np.nan
        idx = np.flatnonzero(enough)
        rows = returns[:, idx]
        rows = rows[np.all(np.isfinite(rows), axis=1)]
        if len(rows) < p.min_periods or len(idx) == 0:
            units[active] = np.nan
            self._pending = True
            return units
        moving = rows.var(axis=0) > 0.0
        units[idx[~moving]] = np.nan
        idx, rows = idx[moving], rows[:, moving]
        if len(idx):
            cov, _ = ledoit_wolf(rows)
            signs = np.sign(targets[idx])
            if p.method == "erc":
                weights = erc_weights(cov * np.outer(signs, signs))
            else:
                weights = inverse_vol_weights(cov)
            units[idx] = signs * weights * p.gross * max(ctx.equity, 0.0) / ctx.prices[idx]
        self._pending = bool(np.isnan(units[active]).any())
        return units
