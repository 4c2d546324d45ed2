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


def yearly_returns(timestamps_ns: npt.NDArray[np.int64], returns: npt.ArrayLike) -> list[tuple[int, float]]:
    """Compounded return of each calendar year (UTC) that has bars, oldest first, as
    ``(year, return)`` with the return a fraction (0.05 = +5 %)."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size == 0:
        return []
    years = np.asarray(timestamps_ns, dtype=np.int64).astype("datetime64[ns]").astype("datetime64[Y]")
    year_no = years.astype(np.int64) + 1970
    starts = np.flatnonzero(np.r_[True, year_no[1:] != year_no[:-1]])
    compounded = np.multiply.reduceat(1.0 + r, starts) - 1.0
    return [(int(y), float(v)) for y, v in zip(year_no[starts], compounded, strict=True)]


def rolling_volatility(returns: npt.ArrayLike, window: int, periods_per_year: float) -> FloatArray:
    """Annualised volatility (ddof=1) over a trailing window of ``window`` bars, aligned with
    ``returns``; NaN for the first ``window - 1`` bars (fraction per year)."""
    r = np.asarray(returns, dtype=np.float64)
    out = np.full(r.shape, np.nan)
    if window < 2 or r.size < window:
        return out
    out[window - 1 :] = sliding_window_view(r, window).std(axis=1, ddof=1) * np.sqrt(periods_per_year)
    return out


def rolling_beta(returns: npt.ArrayLike, benchmark_returns: npt.ArrayLike, window: int) -> FloatArray:
    """Beta of ``returns`` on ``benchmark_returns`` (cov / var, both ddof=1) over a trailing
    window of ``window`` bars, aligned with ``returns``; NaN where the window is short, holds a
    non-finite value or the benchmark does not move."""
    r = np.asarray(returns, dtype=np.float64)
    b = np.asarray(benchmark_returns, dtype=np.float64)
    out = np.full(r.shape, np.nan)
    if window < 2 or r.size < window or b.shape != r.shape:
        return out
    rw = sliding_window_view(r, window)
    bw = sliding_window_view(b, window)
    rd = rw - rw.mean(axis=1, keepdims=True)
    bd = bw - bw.mean(axis=1, keepdims=True)
    cov = (rd * bd).sum(axis=1)
    var = (bd * bd).sum(axis=1)
    vals = np.full(cov.shape, np.nan)
    np.divide(cov, var, out=vals, where=np.isfinite(cov) & np.isfinite(var) & (var > 0))
    out[window - 1 :] = vals
    return out


def worst_drawdowns(returns: npt.ArrayLike, top: int = 5) -> list[dict[str, float | int | None]]:
    """The ``top`` deepest drawdown periods of the compounded equity, deepest first.

    Each period runs from a peak (index of the last high before the fall) through its trough
    to the recovery (first index back at or above the peak; None while still under water).
    ``depth`` is the trough's loss from the peak (a negative fraction) and ``bars`` counts the
    bars from peak to recovery (or to the last bar). Indices refer to ``returns``; index ``i``
    is the equity after bar ``i``, and a peak of -1 is the starting capital.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size == 0:
        return []
    wealth = np.cumprod(1.0 + np.where(np.isfinite(r), r, 0.0))
    high = np.maximum.accumulate(np.r_[1.0, wealth])[1:]
    under = wealth < high
    periods = []
    i, n = 0, r.size
    while i < n:
        if not under[i]:
            i += 1
            continue
        start = i
        while i < n and under[i]:
            i += 1
        seg = wealth[start:i] / high[start:i] - 1.0
        trough = start + int(np.argmin(seg))
        periods.append(
            {
                "peak": start - 1,
                "trough": trough,
                "recovery": i if i < n else None,
                "depth": float(seg.min()),
                "bars": (i if i < n else n - 1) - (start - 1),
            }
        )
    periods.sort(key=lambda p: p["depth"])  # type: ignore[arg-type, return-value]
    return periods[:top]
