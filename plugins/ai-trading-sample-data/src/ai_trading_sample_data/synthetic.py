"""A seeded synthetic universe: N correlated geometric Brownian motions at any timeframe.

This is made-up data for scale tests and demonstrations, not market history. Log returns
follow a one-factor model

    r[t, i] = (mu - sigma**2 / 2) * dt + sigma * sqrt(dt) * (sqrt(rho) * f[t] + sqrt(1 - rho) * e[t, i])

with independent standard normals ``f`` (market factor) and ``e`` (idiosyncratic), so every
pair of symbols has log-return correlation ``rho`` and each symbol has annualised volatility
``sigma`` and expected annual return ``mu`` (continuously compounded, GBM convention).
``dt = 1 / Timeframe.periods_per_year``, the same annualisation the rest of the framework
uses (252 days; 6.5-hour sessions for intraday bars; 24-hour markets for 4h bars).

Bars: the close path comes from the returns above; each open is the previous close times a
small independent gap; high and low extend beyond max/min(open, close) by half-normal
amounts. So low <= open, close <= high and all prices are positive by construction. Prices
are unrounded float64 (the broker rounds fills to the tick). Daily bars fall on weekdays
(Monday-Friday, no holidays) at UTC midnight; intraday bars are consecutive, 24 hours a day,
starting at UTC midnight of ``start``. Bars are labelled by their open time.
"""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ai_trading_core.enums import AssetClass, Timeframe
from ai_trading_core.market import BarPanel, FloatArray, to_ns
from ai_trading_core.models import Instrument

_NS_PER_DAY = 86_400 * 1_000_000_000
_GAP_FRACTION = 0.1  # std of the open gap, as a fraction of the per-bar volatility
_RANGE_FRACTION = 0.5  # scale of the high/low extension, as a fraction of the per-bar volatility
_DAILY_VOLUME = 1_000_000.0  # median units traded per day per symbol


class SyntheticParams(BaseModel):
    """Parameters of the ``synthetic`` data source."""

    model_config = ConfigDict(extra="forbid")

    n_symbols: int = Field(default=10, ge=1, le=100_000, description="number of symbols")
    n_bars: int = Field(default=2520, ge=1, le=50_000_000, description="number of bars per symbol")
    timeframe: str = Field(default="1d", description="bar length, 1m .. 1d (Timeframe.parse)")
    seed: int | None = Field(default=None, description="random seed; default: the run's seed")
    correlation: float = Field(
        default=0.3, ge=0.0, le=1.0,
        description="pairwise correlation of log returns (fraction, 0..1; one-factor model)",
    )
    annual_volatility: float = Field(
        default=0.2, gt=0.0, le=5.0, description="annualised volatility of log returns (fraction)"
    )
    annual_drift: float = Field(
        default=0.05, ge=-5.0, le=5.0, description="expected annual return (fraction, continuous)"
    )
    start: date = Field(default=date(2010, 1, 4), description="first bar's date (ISO, UTC midnight)")
    start_price: float = Field(
        default=100.0, gt=0.0, description="every symbol's price before the first bar (currency)"
    )

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        return Timeframe.parse(value).value


def synthetic_symbols(n: int) -> tuple[str, ...]:
    width = max(3, len(str(n - 1)))
    return tuple(f"SYN{i:0{width}d}" for i in range(n))


def synthetic_timestamps(start: date, n_bars: int, timeframe: Timeframe) -> np.ndarray:
    """int64 ns open times: weekdays for daily bars, consecutive bars otherwise."""
    if timeframe is Timeframe.D1:
        first = np.busday_offset(np.datetime64(start, "D"), 0, roll="forward")
        days = np.busday_offset(first, np.arange(n_bars))
        return days.astype("datetime64[ns]").astype(np.int64)
    step = timeframe.seconds * 1_000_000_000
    origin = (start.toordinal() - date(1970, 1, 1).toordinal()) * _NS_PER_DAY
    return origin + step * np.arange(n_bars, dtype=np.int64)


def synthetic_panel(params: SyntheticParams, seed: int) -> BarPanel:
    """Generate the whole panel (vectorised; float64 arrays of shape (n_bars, n_symbols))."""
    timeframe = Timeframe.parse(params.timeframe)
    t, n = params.n_bars, params.n_symbols
    rng = np.random.default_rng(seed)
    dt = 1.0 / timeframe.periods_per_year
    sigma = params.annual_volatility * math.sqrt(dt)
    mu = (params.annual_drift - 0.5 * params.annual_volatility**2) * dt
    rho = params.correlation

    log_close = rng.standard_normal((t, n))
    log_close *= sigma * math.sqrt(1.0 - rho)
    log_close += (sigma * math.sqrt(rho)) * rng.standard_normal((t, 1))
    log_close += mu
    log_close[0] += math.log(params.start_price)
    np.cumsum(log_close, axis=0, out=log_close)
    close = np.exp(log_close)

    prev_close: FloatArray = np.empty_like(close)
    prev_close[0] = params.start_price
    prev_close[1:] = close[:-1]
    open_ = rng.standard_normal((t, n))
    open_ *= _GAP_FRACTION * sigma
    np.exp(open_, out=open_)
    open_ *= prev_close
    del prev_close

    high = np.abs(rng.standard_normal((t, n)))
    high *= _RANGE_FRACTION * sigma
    np.exp(high, out=high)
    high *= np.maximum(open_, close)
    low = np.abs(rng.standard_normal((t, n)))
    low *= -_RANGE_FRACTION * sigma
    np.exp(low, out=low)
    low *= np.minimum(open_, close)

    per_bar = _DAILY_VOLUME * min(1.0, timeframe.seconds / 86_400)
    volume = rng.lognormal(math.log(per_bar), 0.5, size=(t, n))
    np.rint(volume, out=volume)

    symbols = synthetic_symbols(n)
    instruments = {
        s: Instrument(
            symbol=s, asset_class=AssetClass.EQUITY, description="synthetic (seeded GBM), not market data"
        )
        for s in symbols
    }
    return BarPanel(
        symbols=symbols, timestamps=synthetic_timestamps(params.start, t, timeframe), open=open_, high=high,
        low=low, close=close, volume=volume, timeframe=timeframe, instruments=instruments,
        source=f"synthetic (seed={seed}, correlation={rho}, annual_volatility={params.annual_volatility})",
    )


class SyntheticUniverse:
    """Data source ``synthetic``. The panel is generated on the first :meth:`load` and kept
    in this instance; the same parameters and seed always give the identical panel."""

    def __init__(self, params: SyntheticParams, seed: int) -> None:
        self.params = params
        self.seed = seed
        self._panel: BarPanel | None = None

    def load(self, start: datetime | None = None, end: datetime | None = None) -> BarPanel:
        """Bars with open time in [start, end] (inclusive); aware datetimes only."""
        if self._panel is None:
            self._panel = synthetic_panel(self.params, self.seed)
        if start is None and end is None:
            return self._panel
        return self._panel.select(
            start=None if start is None else to_ns(start), end=None if end is None else to_ns(end)
        )
