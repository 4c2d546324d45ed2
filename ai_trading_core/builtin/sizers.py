"""Basic position sizers shipped with the kernel."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..market import FloatArray
from ..protocols import SizingContext


class EqualWeightParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gross: float = Field(
        default=1.0, gt=0, description="fraction of equity invested at full strength, all symbols together"
    )


class EqualWeightSizer:
    """Each symbol gets ``gross / N`` of equity at full strength: with one symbol and
    ``gross = 1`` a strength of 1 is all-in."""

    __slots__ = ("gross",)

    def __init__(self, params: EqualWeightParams) -> None:
        self.gross = params.gross

    def target_positions(self, targets: FloatArray, ctx: SizingContext) -> FloatArray:
        n = len(targets)
        with np.errstate(divide="ignore", invalid="ignore"):
            units = targets * (ctx.equity * self.gross / n) / ctx.prices
        units[~np.isfinite(ctx.prices) | (ctx.prices <= 0)] = np.nan
        return units


class FixedQuantityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: float = Field(default=1.0, gt=0, description="units held at full strength")


class FixedQuantitySizer:
    __slots__ = ("quantity",)

    def __init__(self, params: FixedQuantityParams) -> None:
        self.quantity = params.quantity

    def target_positions(self, targets: FloatArray, ctx: SizingContext) -> FloatArray:
        return targets * self.quantity


class SubAccountParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gross: float = Field(default=1.0, gt=0, description="fraction of each sub-account invested at full strength")
    size_at_fill: bool = Field(
        default=False,
        description="send increases as notional orders sized at the fill price (all-in at the next open)",
    )


class SubAccountSizer:
    """Each symbol trades its own sub-account: ``initial_cash / N`` plus that symbol's own
    realised P&L and cash flows. At full strength the whole sub-account is invested; with
    ``size_at_fill`` the quantity is fixed by the broker at the fill price, which is how
    vectorbt's ``size=inf`` and backtrader's all-in orders at the next open behave."""

    __slots__ = ("gross", "sizes_at_fill")

    def __init__(self, params: SubAccountParams) -> None:
        self.gross = params.gross
        self.sizes_at_fill = params.size_at_fill

    def target_positions(self, targets: FloatArray, ctx: SizingContext) -> FloatArray:
        n = len(targets)
        flows = ctx.cash_flows if ctx.cash_flows is not None else np.zeros(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = ctx.initial_cash / n + flows + ctx.positions * ctx.prices
            units = targets * self.gross * value / ctx.prices
        units[~np.isfinite(ctx.prices) | (ctx.prices <= 0)] = np.nan
        return units
