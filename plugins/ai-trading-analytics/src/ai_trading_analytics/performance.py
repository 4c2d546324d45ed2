"""Return-based performance metrics, vectorised over columns.

Every method takes per-bar simple returns shaped ``(T,)`` (one series) or ``(T, N)`` (``N``
series side by side, e.g. 500 assets) and returns a ``float`` or an ``(N,)`` float64 array.
Conventions (docs/analytics.md):

- returns are simple returns of the equity curve, ``r_t = E_t / E_{t-1} - 1``;
- annualisation multiplies means by ``periods_per_year`` and deviations by its square root
  (252 for daily bars, see ``Timeframe.periods_per_year``);
- the risk-free rate is an annual fraction, 0 by default, turned into a per-bar rate
  geometrically: ``(1 + rf) ** (1 / periods_per_year) - 1``;
- standard deviations are sample deviations (``ddof=1``);
- Sortino's downside deviation is empyrical's: ``sqrt(mean(min(r - rf, 0) ** 2))`` over *all*
  bars, annualised by ``sqrt(periods_per_year)``;
- VaR and CVaR are per-bar *returns* (negative for a loss), as in empyrical.

An undefined value (a zero denominator, too few observations) is ``NaN`` in these arrays; the
reporter turns it into ``null`` in the run document.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ai_trading_core.errors import ConfigError, DataError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ai_trading_core.enums import Timeframe
    from ai_trading_core.models import Trade

    from .trades import TradeStatistics

FloatArray = npt.NDArray[np.float64]
Metric = float | FloatArray

#: Names of the metrics produced by :meth:`PerformanceCalculator.compute`, in display order.
RETURN_METRICS: tuple[str, ...] = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "downside_deviation",
    "max_drawdown",
    "max_drawdown_duration_bars",
    "longest_drawdown_bars",
    "var_95_historical",
    "var_99_historical",
    "var_95_parametric",
    "var_99_parametric",
    "cvar_95",
    "cvar_99",
    "best_bar",
    "worst_bar",
)
BENCHMARK_METRICS: tuple[str, ...] = (
    "benchmark_total_return",
    "benchmark_cagr",
    "excess_return",
    "tracking_error",
    "information_ratio",
)


def _as_2d(values: npt.ArrayLike, what: str) -> tuple[FloatArray, bool]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        return arr[:, None], True
    if arr.ndim == 2:
        return arr, False
    raise DataError(f"{what} must be 1-D (T,) or 2-D (T, N); got shape {arr.shape}")


def _check_finite(arr: FloatArray, what: str) -> None:
    if not np.isfinite(arr).all():
        raise DataError(f"{what} contains NaN or infinite values")


def _out(values: FloatArray, one_d: bool) -> Metric:
    return float(values[0]) if one_d else values


def _safe_ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` with NaN where ``den`` is zero or undefined."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    ok = np.isfinite(den) & (den != 0)
    np.divide(num, den, out=out, where=ok)
    return out


def _sample_std(x: FloatArray) -> FloatArray:
    """Sample standard deviation per column; exactly 0 for constant columns (a float mean of
    identical values can leave a ~1e-18 residue that would turn an undefined ratio into a huge
    number), NaN with fewer than two rows."""
    if x.shape[0] < 2:
        return np.full(x.shape[1], np.nan)
    std = x.std(axis=0, ddof=1)
    tiny = std < 1e-12
    if tiny.any():
        sub = x[:, tiny]
        std[tiny] = np.where(sub.max(axis=0) == sub.min(axis=0), 0.0, std[tiny])
    out: FloatArray = std
    return out


# Column-wise running products/maxima: numpy's ``accumulate`` along axis 0 of a wide C-ordered
# matrix walks memory with a stride and was 2-3x slower here than one vectorised ufunc call per
# row; for narrow inputs (few columns, many rows) the per-row call overhead dominates instead.
_ROW_LOOP_MIN_COLUMNS = 64


def _accumulate(
    ufunc: np.ufunc, x: npt.NDArray[Any], out: npt.NDArray[Any] | None = None
) -> npt.NDArray[Any]:
    """``ufunc.accumulate(x, axis=0)``, by rows when ``x`` is wide."""
    if x.shape[1] < _ROW_LOOP_MIN_COLUMNS or x.shape[0] < 2:
        acc: npt.NDArray[Any] = ufunc.accumulate(x, axis=0, out=out)
        return acc
    res = x.copy() if out is None else out
    if out is not None and out is not x:
        res[...] = x
    for i in range(1, res.shape[0]):
        ufunc(res[i - 1], res[i], out=res[i])
    return res


def _sorted_tail(r: FloatArray, tails: Sequence[float]) -> FloatArray:
    """The smallest ``int((T - 1) * max(tails)) + 2`` returns of each column, sorted ascending:
    enough for the linear-interpolated quantile and the empyrical CVaR of every tail."""
    t_len = r.shape[0]
    k = min(int((t_len - 1) * max(tails)) + 1, t_len - 1)
    head = np.partition(r, k, axis=0)[: k + 1] if k < t_len - 1 else r
    return np.sort(head, axis=0)


def _quantile_from_sorted(head: FloatArray, t_len: int, tail: float) -> FloatArray:
    """Linear-interpolated ``tail`` quantile (``numpy.percentile``'s default method)."""
    pos = (t_len - 1) * tail
    lo = int(pos)
    hi = min(lo + 1, t_len - 1)
    frac = pos - lo
    a, b = head[lo], head[hi]
    out: FloatArray = a + (b - a) * frac if frac < 0.5 else b - (b - a) * (1.0 - frac)
    return out


def _cvar_from_sorted(head: FloatArray, t_len: int, tail: float) -> FloatArray:
    k = int((t_len - 1) * tail)
    out: FloatArray = head[: k + 1].mean(axis=0)
    return out


@dataclass(frozen=True)
class PerformanceCalculator:
    """Performance metrics of return series.

    :param periods_per_year: bars per year used to annualise (252 for daily bars).
    :param risk_free_rate: annual risk-free rate as a fraction (0.02 = 2 %), default 0.
    """

    periods_per_year: float = 252.0
    risk_free_rate: float = 0.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.periods_per_year) and self.periods_per_year > 0):
            raise ConfigError(f"periods_per_year must be a positive number; got {self.periods_per_year!r}")
        if not (np.isfinite(self.risk_free_rate) and self.risk_free_rate > -1):
            raise ConfigError(f"risk_free_rate must be a fraction above -1; got {self.risk_free_rate!r}")

    @classmethod
    def for_timeframe(cls, timeframe: Timeframe, risk_free_rate: float = 0.0) -> PerformanceCalculator:
        """A calculator annualising by the bar length of ``timeframe``."""
        return cls(periods_per_year=timeframe.periods_per_year, risk_free_rate=risk_free_rate)

    @property
    def risk_free_per_bar(self) -> float:
        """Per-bar risk-free return (fraction), geometric de-annualisation of the annual rate."""
        return float((1.0 + self.risk_free_rate) ** (1.0 / self.periods_per_year) - 1.0)

    # ------------------------------------------------------------------ inputs
    def returns_from_equity(self, equity: npt.ArrayLike, initial: float | None = None) -> Metric | FloatArray:
        """Simple returns of an equity curve (currency), ``E_t / E_{t-1} - 1``.

        :param equity: equity curve in currency, ``(T,)`` or ``(T, N)``.
        :param initial: equity before the first bar (currency); when given it anchors the curve,
            so the result has ``T`` rows and compounds to ``E_T / initial - 1``; otherwise it has
            ``T - 1`` rows. A bar following equity at or below zero has return 0 (nothing left).
        """
        eq, one_d = _as_2d(equity, "equity")
        _check_finite(eq, "equity")
        if initial is not None:
            eq = np.vstack([np.full((1, eq.shape[1]), float(initial)), eq])
        prev, cur = eq[:-1], eq[1:]
        rets = np.zeros_like(cur)
        np.divide(cur, prev, out=rets, where=prev > 0)
        rets -= 1.0
        rets[prev <= 0] = 0.0
        return rets[:, 0] if one_d else rets

    # ------------------------------------------------------------------ growth
    def total_return(self, returns: npt.ArrayLike) -> Metric:
        """Compounded return over the whole series (fraction); 0 for an empty series."""
        r, one_d = _as_2d(returns, "returns")
        return _out(np.prod(1.0 + r, axis=0) - 1.0, one_d)

    def cagr(self, returns: npt.ArrayLike) -> Metric:
        """Compound annual growth rate (fraction per year) over ``T / periods_per_year`` years.
        -1 when the curve ends at or below zero; NaN for an empty series."""
        r, one_d = _as_2d(returns, "returns")
        return _out(self._cagr(r), one_d)

    def _cagr(self, r: FloatArray) -> FloatArray:
        if r.shape[0] == 0:
            return np.full(r.shape[1], np.nan)
        growth = np.prod(1.0 + r, axis=0)
        years = r.shape[0] / self.periods_per_year
        with np.errstate(over="ignore"):
            value = np.where(growth > 0, np.power(np.maximum(growth, 0.0), 1.0 / years) - 1.0, -1.0)
        return np.where(np.isfinite(value), value, np.nan)

    # ------------------------------------------------------------------ dispersion and ratios
    def volatility(self, returns: npt.ArrayLike) -> Metric:
        """Annualised sample standard deviation of returns (fraction); NaN with < 2 bars."""
        r, one_d = _as_2d(returns, "returns")
        return _out(_sample_std(r) * np.sqrt(self.periods_per_year), one_d)

    def sharpe(self, returns: npt.ArrayLike) -> Metric:
        """Annualised Sharpe ratio: ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``."""
        r, one_d = _as_2d(returns, "returns")
        return _out(self._sharpe(r), one_d)

    def _sharpe(self, r: FloatArray) -> FloatArray:
        excess = r - self.risk_free_per_bar if self.risk_free_rate else r
        if r.shape[0] < 2:
            return np.full(r.shape[1], np.nan)
        ratio = _safe_ratio(excess.mean(axis=0), _sample_std(excess))
        out: FloatArray = ratio * np.sqrt(self.periods_per_year)
        return out

    def downside_deviation(self, returns: npt.ArrayLike) -> Metric:
        """Annualised downside deviation below the risk-free rate (fraction), empyrical's
        ``downside_risk``: ``sqrt(mean(min(r - rf, 0)^2)) * sqrt(periods_per_year)``."""
        r, one_d = _as_2d(returns, "returns")
        return _out(self._downside(r), one_d)

    def _downside(self, r: FloatArray) -> FloatArray:
        if r.shape[0] == 0:
            return np.full(r.shape[1], np.nan)
        rf = self.risk_free_per_bar
        below = np.minimum(r, rf)
        if rf:
            below -= rf
        np.square(below, out=below)
        out: FloatArray = np.sqrt(below.mean(axis=0) * self.periods_per_year)
        return out

    def sortino(self, returns: npt.ArrayLike) -> Metric:
        """Annualised Sortino ratio: ``mean(r - rf) * periods_per_year / downside_deviation``;
        NaN with < 2 bars or no bar below the risk-free rate."""
        r, one_d = _as_2d(returns, "returns")
        return _out(self._sortino(r), one_d)

    def _sortino(self, r: FloatArray) -> FloatArray:
        if r.shape[0] < 2:
            return np.full(r.shape[1], np.nan)
        mean_annual = (r.mean(axis=0) - self.risk_free_per_bar) * self.periods_per_year
        return _safe_ratio(mean_annual, self._downside(r))

    def calmar(self, returns: npt.ArrayLike) -> Metric:
        """CAGR divided by the magnitude of the maximum drawdown; NaN without a drawdown."""
        r, one_d = _as_2d(returns, "returns")
        return _out(_safe_ratio(self._cagr(r), -self._max_drawdown(r)), one_d)

    def information_ratio(self, returns: npt.ArrayLike, benchmark_returns: npt.ArrayLike) -> Metric:
        """Annualised information ratio against a benchmark:
        ``mean(r - b) / std(r - b, ddof=1) * sqrt(periods_per_year)`` (empyrical's
        ``excess_sharpe`` times ``sqrt(periods_per_year)``).

        :param benchmark_returns: ``(T,)`` (shared by every column) or ``(T, N)``.
        """
        r, one_d = _as_2d(returns, "returns")
        active = r - self._benchmark_2d(benchmark_returns, r)
        if r.shape[0] < 2:
            return _out(np.full(r.shape[1], np.nan), one_d)
        ratio = _safe_ratio(active.mean(axis=0), _sample_std(active)) * np.sqrt(self.periods_per_year)
        return _out(ratio, one_d)

    def tracking_error(self, returns: npt.ArrayLike, benchmark_returns: npt.ArrayLike) -> Metric:
        """Annualised sample standard deviation of ``r - b`` (fraction)."""
        r, one_d = _as_2d(returns, "returns")
        active = r - self._benchmark_2d(benchmark_returns, r)
        return _out(_sample_std(active) * np.sqrt(self.periods_per_year), one_d)

    @staticmethod
    def _benchmark_2d(benchmark_returns: npt.ArrayLike, r: FloatArray) -> FloatArray:
        b, _ = _as_2d(benchmark_returns, "benchmark returns")
        if b.shape[0] != r.shape[0] or b.shape[1] not in (1, r.shape[1]):
            raise DataError(
                f"benchmark returns of shape {b.shape} do not align with returns of shape {r.shape}"
            )
        _check_finite(b, "benchmark returns")
        return b

    # ------------------------------------------------------------------ drawdowns
    def drawdown_series(self, returns: npt.ArrayLike) -> FloatArray:
        """Drawdown after each bar (fraction, <= 0): wealth over its running peak, minus 1.
        The running peak includes the starting wealth, so a first-bar loss is a drawdown."""
        r, one_d = _as_2d(returns, "returns")
        dd = self._drawdowns(r)
        return dd[:, 0] if one_d else dd

    @staticmethod
    def _drawdowns(r: FloatArray) -> FloatArray:
        wealth = _accumulate(np.multiply, r + 1.0)
        peak = wealth.copy()
        np.maximum(peak[0], 1.0, out=peak[0])  # the starting wealth of 1 is the first peak
        _accumulate(np.maximum, peak, out=peak)
        np.divide(wealth, peak, out=peak)
        peak -= 1.0
        return peak

    def max_drawdown(self, returns: npt.ArrayLike) -> Metric:
        """Largest peak-to-trough loss (fraction, <= 0); 0 for an empty series."""
        r, one_d = _as_2d(returns, "returns")
        return _out(self._max_drawdown(r), one_d)

    def _max_drawdown(self, r: FloatArray) -> FloatArray:
        if r.shape[0] == 0:
            return np.zeros(r.shape[1])
        out: FloatArray = np.minimum(self._drawdowns(r).min(axis=0), 0.0)
        return out

    def drawdown_durations(self, returns: npt.ArrayLike) -> tuple[Metric, Metric]:
        """``(max_drawdown_duration, longest_drawdown)`` in bars.

        The first is the number of bars spent under water in the episode that contains the
        maximum drawdown (from the bar after its peak up to, not including, the bar that
        regains the peak, or to the end if it never does); the second is the longest such
        episode. Both 0 without a drawdown.
        """
        r, one_d = _as_2d(returns, "returns")
        max_dd_dur, longest = (
            self._durations(self._drawdowns(r))
            if r.shape[0]
            else (np.zeros(r.shape[1]), np.zeros(r.shape[1]))
        )
        return _out(max_dd_dur, one_d), _out(longest, one_d)

    @staticmethod
    def _durations(dd: FloatArray) -> tuple[FloatArray, FloatArray]:
        t_len, n = dd.shape
        rows = np.arange(t_len, dtype=np.int32)[:, None]
        # Index of the latest bar at the high-water mark (-1 = the starting wealth); it only
        # moves forward, jumping to t at every bar that is not under water.
        last_peak = _accumulate(np.maximum, np.where(dd < 0, np.int32(-1), rows))
        longest = (rows - last_peak).max(axis=0).astype(np.float64)
        trough = dd.argmin(axis=0)
        peak = last_peak[trough, np.arange(n)]
        # Bars up to the recovery are exactly those whose last peak is still at or before the
        # episode's peak; with none under water at the trough the duration is 0.
        recovery = (last_peak <= peak[None, :]).sum(axis=0)
        under_at_trough = dd[trough, np.arange(n)] < 0
        max_dd_dur = np.where(under_at_trough, recovery - peak - 1, 0).astype(np.float64)
        return max_dd_dur, longest

    # ------------------------------------------------------------------ tail risk
    def var_historical(self, returns: npt.ArrayLike, tail: float = 0.05) -> Metric:
        """Historical value at risk: the ``tail`` quantile of per-bar returns (linear
        interpolation, as ``numpy.percentile`` and empyrical's ``value_at_risk``); a return,
        negative for a loss. NaN for an empty series.

        :param tail: tail probability (0.05 for VaR 95 %).
        """
        r, one_d = _as_2d(returns, "returns")
        return _out(self._var_hist(r, tail), one_d)

    @staticmethod
    def _var_hist(r: FloatArray, tail: float) -> FloatArray:
        _check_tail(tail)
        if r.shape[0] == 0:
            return np.full(r.shape[1], np.nan)
        return _quantile_from_sorted(_sorted_tail(r, (tail,)), r.shape[0], tail)

    def var_parametric(self, returns: npt.ArrayLike, tail: float = 0.05) -> Metric:
        """Gaussian value at risk: ``mean + std(ddof=1) * Phi^-1(tail)`` of per-bar returns;
        NaN with < 2 bars."""
        r, one_d = _as_2d(returns, "returns")
        return _out(self._var_param(r, tail), one_d)

    @staticmethod
    def _var_param(r: FloatArray, tail: float) -> FloatArray:
        mean = r.mean(axis=0) if r.shape[0] else np.full(r.shape[1], np.nan)
        return _gaussian_quantile(mean, _sample_std(r), tail)

    def cvar(self, returns: npt.ArrayLike, tail: float = 0.05) -> Metric:
        """Conditional VaR (expected shortfall) as empyrical's ``conditional_value_at_risk``:
        the mean of the ``floor((T - 1) * tail) + 1`` worst per-bar returns. NaN when empty."""
        r, one_d = _as_2d(returns, "returns")
        return _out(self._cvar(r, tail), one_d)

    @staticmethod
    def _cvar(r: FloatArray, tail: float) -> FloatArray:
        _check_tail(tail)
        if r.shape[0] == 0:
            return np.full(r.shape[1], np.nan)
        return _cvar_from_sorted(_sorted_tail(r, (tail,)), r.shape[0], tail)

    # ------------------------------------------------------------------ everything at once
    def compute(
        self, returns: npt.ArrayLike, benchmark_returns: npt.ArrayLike | None = None
    ) -> dict[str, Metric]:
        """Every metric in :data:`RETURN_METRICS` (and :data:`BENCHMARK_METRICS` when a
        benchmark is given), sharing intermediate arrays. Values are floats for a 1-D input and
        ``(N,)`` arrays for a 2-D input; each equals the corresponding single-metric method."""
        r, one_d = _as_2d(returns, "returns")
        _check_finite(r, "returns")
        t_len, n = r.shape
        ann = np.sqrt(self.periods_per_year)
        nan = np.full(n, np.nan)
        cagr = self._cagr(r)
        std = _sample_std(r)
        mean = r.mean(axis=0) if t_len else nan
        downside = self._downside(r)
        rf = self.risk_free_per_bar
        if t_len:
            dd = self._drawdowns(r)
            growth = np.prod(1.0 + r, axis=0)
            max_dd = np.minimum(dd.min(axis=0), 0.0)
            max_dd_dur, longest = self._durations(dd)
            head = _sorted_tail(r, (0.05, 0.01))
            var = {tail: _quantile_from_sorted(head, t_len, tail) for tail in (0.05, 0.01)}
            cvar = {tail: _cvar_from_sorted(head, t_len, tail) for tail in (0.05, 0.01)}
        else:
            growth = np.ones(n)
            max_dd, max_dd_dur, longest = np.zeros(n), np.zeros(n), np.zeros(n)
            var = cvar = {0.05: nan, 0.01: nan}
        enough = t_len >= 2
        out: dict[str, FloatArray] = {
            "total_return": growth - 1.0,
            "cagr": cagr,
            "volatility": std * ann,
            "sharpe": _safe_ratio(mean - rf, std) * ann if enough else nan,
            "sortino": _safe_ratio((mean - rf) * self.periods_per_year, downside) if enough else nan,
            "calmar": _safe_ratio(cagr, -max_dd),
            "downside_deviation": downside,
            "max_drawdown": max_dd,
            "max_drawdown_duration_bars": max_dd_dur,
            "longest_drawdown_bars": longest,
            "var_95_historical": var[0.05],
            "var_99_historical": var[0.01],
            "var_95_parametric": _gaussian_quantile(mean, std, 0.05),
            "var_99_parametric": _gaussian_quantile(mean, std, 0.01),
            "cvar_95": cvar[0.05],
            "cvar_99": cvar[0.01],
            "best_bar": r.max(axis=0) if t_len else nan,
            "worst_bar": r.min(axis=0) if t_len else nan,
        }
        if benchmark_returns is not None:
            b = self._benchmark_2d(benchmark_returns, r)
            b_cagr = self._cagr(b)
            active = r - b
            active_std = _sample_std(active)
            out["benchmark_total_return"] = np.broadcast_to(np.prod(1.0 + b, axis=0) - 1.0, (n,)).copy()
            out["benchmark_cagr"] = np.broadcast_to(b_cagr, (n,)).copy()
            out["excess_return"] = cagr - b_cagr
            out["tracking_error"] = active_std * ann
            out["information_ratio"] = _safe_ratio(active.mean(axis=0), active_std) * ann if enough else nan
        return {k: (float(v[0]) if one_d else v) for k, v in out.items()}

    # ------------------------------------------------------------------ trades
    def trade_stats(self, trades: Sequence[Trade]) -> TradeStatistics:
        """Win rate, profit factor, expectancy and friends of closed round trips."""
        from .trades import trade_statistics

        return trade_statistics(trades)


def _gaussian_quantile(mean: FloatArray, std: FloatArray, tail: float) -> FloatArray:
    _check_tail(tail)
    out: FloatArray = mean + std * NormalDist().inv_cdf(tail)
    return out


def _check_tail(tail: float) -> None:
    if not 0.0 < tail < 1.0:
        raise ConfigError(f"tail probability must be in (0, 1); got {tail!r}")


def json_number(value: Any) -> float | int | None:
    """A JSON-safe number: ``None`` for NaN/inf/None, ``int`` kept, everything else ``float``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    f = float(value)
    return f if np.isfinite(f) else None
