"""Exposure arithmetic shared by the sizers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ai_trading_core.market import FloatArray


def unusable_prices(prices: FloatArray) -> npt.NDArray[np.bool_]:
    """Symbols whose price cannot size a position: NaN, infinite or non-positive."""
    return ~np.isfinite(prices) | (prices <= 0.0)


def cap_gross_leverage(
    units: FloatArray, prices: FloatArray, equity: float, max_leverage: float
) -> FloatArray:
    """Scale every position down by one factor so that ``Σ |units × price| <= max_leverage ×
    equity`` (NaN positions are ignored and stay NaN). Returns ``units`` unchanged when the
    book is within the cap."""
    with np.errstate(invalid="ignore"):
        gross = float(np.nansum(np.abs(units * prices)))
    limit = max_leverage * equity
    if gross > limit > 0.0:
        return units * (limit / gross)
    return units


def finish_targets(units: FloatArray, targets: FloatArray, prices: FloatArray) -> FloatArray:
    """Apply the sizing conventions: a zero strength is flat (even where the sizing inputs
    were missing); a NaN strength or an unusable price keeps the position (NaN)."""
    units[targets == 0.0] = 0.0
    units[np.isnan(targets) | unusable_prices(prices)] = np.nan
    return units
