"""The ``atr`` sizer: risk a fixed fraction of equity per position against an ATR stop."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ai_trading_core.market import FloatArray
from ai_trading_core.protocols import SizingContext

from .estimators import wilder_atr
from .exposure import cap_gross_leverage, finish_targets


class AtrParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    risk_per_trade: float = Field(
        default=0.01,
        gt=0.0,
        le=1.0,
        description="equity lost if the stop is hit at full strength (fraction of equity)",
    )
    atr_multiple: float = Field(default=2.0, gt=0.0, description="stop distance in ATRs (multiple of ATR)")
    period: int = Field(default=14, ge=1, description="Wilder ATR period (bars)")
    lookback: int = Field(
        default=150,
        ge=2,
        description=(
            "history rows the ATR is computed over (bars); the seed's weight decays as (1 - 1/period)^rows"
        ),
    )
    max_leverage: float = Field(
        default=1.0, gt=0.0, description="cap on the book's gross exposure (multiple of equity)"
    )

    @model_validator(mode="after")
    def _window_holds_a_period(self) -> AtrParams:
        if self.lookback < self.period + 1:
            raise ValueError(f"lookback ({self.lookback}) must be at least period + 1 ({self.period + 1})")
        return self


class AtrSizer:
    """Target units = strength × risk_per_trade × equity / (atr_multiple × ATR).

    ATR is Wilder's average true range (currency per unit) over the last ``lookback`` rows of
    ``ctx.history`` high/low/close, identical to TA-Lib's ``ATR`` on the same rows. If the book's
    gross exposure exceeds ``max_leverage × equity``, every position is scaled down by one
    factor.

    - Fewer than ``period + 1`` rows, a NaN in a symbol's window, or a zero ATR: NaN, keep.
    - Zero strength: flat. NaN strength, or a NaN / non-positive price: NaN.
    """

    __slots__ = ("params", "warmup")

    def __init__(self, params: AtrParams) -> None:
        self.params = params
        self.warmup = params.lookback

    def atr(self, ctx: SizingContext) -> FloatArray:
        """Current ATR per symbol (currency per unit), shape (N,)."""
        h = ctx.history
        n = self.params.lookback
        return wilder_atr(h.window("high", n), h.window("low", n), h.window("close", n), self.params.period)

    def target_positions(self, targets: FloatArray, ctx: SizingContext) -> FloatArray:
        p = self.params
        stop = p.atr_multiple * self.atr(ctx)
        stop[~(stop > 0.0)] = np.nan
        units = targets * (p.risk_per_trade * max(ctx.equity, 0.0)) / stop
        units = cap_gross_leverage(units, ctx.prices, max(ctx.equity, 0.0), p.max_leverage)
        return finish_targets(units, targets, ctx.prices)
