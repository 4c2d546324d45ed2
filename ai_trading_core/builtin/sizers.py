"""Basic position sizers shipped with the kernel."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..market import FloatArray
from ..protocols import SizingContext


class EqualWeightParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gross: float = Field(default=1.0, gt=0, description="fraction of equity invested at full strength, all symbols together")


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
