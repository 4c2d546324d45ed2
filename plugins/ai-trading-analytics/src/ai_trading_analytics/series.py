"""Time series derived from returns for the tearsheet: rolling Sharpe, monthly returns."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

FloatArray = npt.NDArray[np.float64]


def rolling_sharpe(returns: npt.ArrayLike, window: int, periods_per_year: float) -> FloatArray:
    """Annualised Sharpe ratio (risk-free 0, ddof=1) over a trailing window of ``window`` bars,
    aligned with ``returns``: NaN for the first ``window - 1`` bars and where the window has no
    dispersion (the tearsheet leaves gaps there)."""
    r = np.asarray(returns, dtype=np.float64)
    out = np.full(r.shape, np.nan)
    if window < 2 or r.size < window:
        return out
    windows = sliding_window_view(r, window)
    mean = windows.mean(axis=1)
    std = windows.std(axis=1, ddof=1)
    ok = (windows.max(axis=1) > windows.min(axis=1)) & (std > 0)
    vals = np.full(mean.shape, np.nan)
    np.divide(mean, std, out=vals, where=ok)
    out[window - 1 :] = vals * np.sqrt(periods_per_year)
    return out


def monthly_returns(
    timestamps_ns: npt.NDArray[np.int64], returns: npt.ArrayLike
) -> tuple[list[int], FloatArray]:
    """Compounded return of each calendar month (UTC), as ``(years, table)`` where ``table``
    has one row per year and 12 columns (January..December), NaN for months without bars.

    :param timestamps_ns: bar timestamps, int64 nanoseconds UTC, sorted, aligned with returns.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size == 0:
        return [], np.empty((0, 12))
    months = np.asarray(timestamps_ns, dtype=np.int64).astype("datetime64[ns]").astype("datetime64[M]")
    month_no = months.astype(np.int64)  # months since 1970-01
    starts = np.flatnonzero(np.r_[True, month_no[1:] != month_no[:-1]])
    compounded = np.multiply.reduceat(1.0 + r, starts) - 1.0
    keys = month_no[starts]
    years = sorted({int(k // 12) + 1970 for k in keys})
    table = np.full((len(years), 12), np.nan)
    row = {y: i for i, y in enumerate(years)}
    for k, value in zip(keys, compounded, strict=True):
        year, month = int(k // 12) + 1970, int(k % 12)
        prev = table[row[year], month]
        # Unsorted input could revisit a month; compound rather than overwrite.
        table[row[year], month] = value if np.isnan(prev) else (1 + prev) * (1 + value) - 1
    return years, table
