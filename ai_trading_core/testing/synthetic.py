"""Seeded synthetic OHLCV panels for tests (a geometric random walk with consistent
open/high/low/close)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..enums import Timeframe
from ..market import BarPanel
from ..models import Instrument

_EPOCH_2020 = 1_577_836_800 * 1_000_000_000  # 2020-01-01T00:00Z in ns


def random_walk_panel(
    n_bars: int = 500,
    n_symbols: int = 3,
    *,
    seed: int = 0,
    timeframe: Timeframe = Timeframe.D1,
    start_ns: int = _EPOCH_2020,
    start_price: float = 100.0,
    volatility: float = 0.02,
    drift: float = 0.0002,
    symbols: Sequence[str] | None = None,
) -> BarPanel:
    """A panel of ``n_symbols`` independent log-normal random walks.

    :param volatility: per-bar standard deviation of log returns (fraction).
    :param drift: per-bar mean log return (fraction).
    """
    rng = np.random.default_rng(seed)
    syms = tuple(symbols) if symbols is not None else tuple(f"SYM{i:03d}" for i in range(n_symbols))
    n_symbols = len(syms)
    rets = rng.normal(drift, volatility, size=(n_bars, n_symbols))
    close = start_price * np.exp(np.cumsum(rets, axis=0))
    gap = rng.normal(0.0, volatility / 4, size=(n_bars, n_symbols))
    prev_close = np.vstack([np.full((1, n_symbols), start_price), close[:-1]])
    open_ = prev_close * np.exp(gap)
    spread = np.abs(rng.normal(0.0, volatility / 2, size=(n_bars, n_symbols)))
    high = np.maximum(open_, close) * np.exp(spread)
    low = np.minimum(open_, close) * np.exp(-spread)
    volume = rng.integers(1_000, 100_000, size=(n_bars, n_symbols)).astype(np.float64)
    step = timeframe.seconds * 1_000_000_000
    timestamps = start_ns + step * np.arange(n_bars, dtype=np.int64)
    return BarPanel(
        symbols=syms,
        timestamps=timestamps,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        timeframe=timeframe,
        instruments={s: Instrument(symbol=s) for s in syms},
        source="synthetic random walk",
    )
