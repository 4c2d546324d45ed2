"""Seeded synthetic OHLCV for the benchmarks (pure NumPy), cached as ``.npz`` files.

Two cases are defined (:data:`CASES`): ``panel``, 500 symbols × 2,520 daily bars, and
``minute``, 1 symbol × 1,000,000 one-minute bars. Prices are a geometric random walk per
symbol: ``close`` follows log returns ~ N(drift, volatility); ``open`` is the previous close
moved by a small gap; ``high``/``low`` enclose open and close. All four prices are then put
on a 1e-8 tick (:data:`TICK`, as crypto venues quote; :func:`on_tick`), so an engine with
exact money in tick units fills at the open exactly. (A cents tick was tried: the fast and
slow averages of cent prices then tie exactly on hundreds of bars of the minute case, and
each peer resolves a tie its own way, so the engines no longer trade one rule.) The arrays are fully
determined by the case's seed, so every engine (each in its own process, some in another
virtualenv) reads the same bytes from the cache file.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

CACHE_DIR = Path(os.environ.get("AI_TRADING_BENCH_CACHE", Path(__file__).resolve().parent / ".data-cache"))
_GENERATOR_VERSION = 3  # bump when the generator changes, so stale caches are not reused (3: 1e-8 tick)
TICK_DECIMALS = 8
TICK = 10.0**-TICK_DECIMALS  # price tick of every case (currency): 1e-8
_NS_PER_S = 1_000_000_000
_START_NS = 1_262_304_000 * _NS_PER_S  # 2010-01-01T00:00Z


@dataclass(frozen=True)
class CaseSpec:
    """One synthetic data set.

    :param volatility: standard deviation of per-bar log returns (fraction).
    :param drift: mean per-bar log return (fraction).
    :param bar_seconds: bar length in seconds (timestamps are bar open times, UTC).
    :param initial_cash: cash of the whole account (currency); split equally per symbol.
    """

    name: str
    n_bars: int
    n_symbols: int
    seed: int
    volatility: float
    drift: float
    bar_seconds: int
    initial_cash: float

    @property
    def n_cells(self) -> int:
        return self.n_bars * self.n_symbols


CASES: dict[str, CaseSpec] = {
    "panel": CaseSpec(
        "panel",
        2_520,
        500,
        seed=20240501,
        volatility=0.015,
        drift=0.0002,
        bar_seconds=86_400,
        initial_cash=50_000_000.0,
    ),
    "minute": CaseSpec(
        "minute",
        1_000_000,
        1,
        seed=20240502,
        volatility=0.0004,
        drift=0.0,
        bar_seconds=60,
        initial_cash=100_000.0,
    ),
}


@dataclass(frozen=True)
class OHLCV:
    """Arrays of shape (T, N), float64; ``timestamps`` int64 ns since the epoch (UTC)."""

    symbols: tuple[str, ...]
    timestamps: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]
    initial_cash: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.close.shape  # type: ignore[return-value]

    def head(self, n_bars: int, n_symbols: int | None = None) -> OHLCV:
        """The first ``n_bars`` rows (and first ``n_symbols`` columns, with cash scaled so that
        each symbol keeps the same cash)."""
        k = self.shape[1] if n_symbols is None else n_symbols
        cash = self.initial_cash * k / self.shape[1]
        return OHLCV(
            self.symbols[:k],
            self.timestamps[:n_bars],
            *(a[:n_bars, :k].copy() for a in (self.open, self.high, self.low, self.close, self.volume)),
            initial_cash=cash,
        )


FloatArray = npt.NDArray[np.float64]


def on_tick(
    open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Round open, high, low and close to :data:`TICK` (``np.round(x, TICK_DECIMALS)``), none below one
    tick, and keep every bar consistent: ``high >= max(open, close)`` and ``low <=
    min(open, close)``. Rounding is monotone, so it keeps that order by itself; the floor of one
    tick can lift an open or close above a rounded high (or a low to one tick), which the
    last two steps repair. Returns new arrays (open, high, low, close); the inputs are not
    modified."""
    o, c = (np.maximum(np.round(a, TICK_DECIMALS), TICK) for a in (open_, close))
    h = np.maximum(np.round(high, TICK_DECIMALS), np.maximum(o, c))
    lo = np.maximum(np.minimum(np.round(low, TICK_DECIMALS), np.minimum(o, c)), TICK)
    return o, h, lo, c


def generate(spec: CaseSpec) -> OHLCV:
    """Generate a case from its seed (no cache)."""
    rng = np.random.default_rng(spec.seed)
    t, n = spec.n_bars, spec.n_symbols
    start = rng.uniform(20.0, 200.0, size=n)
    log_close = np.log(start) + np.cumsum(rng.normal(spec.drift, spec.volatility, size=(t, n)), axis=0)
    close = np.exp(log_close)
    prev = np.empty_like(close)
    prev[0] = start
    prev[1:] = close[:-1]
    open_ = prev * np.exp(rng.normal(0.0, spec.volatility / 3.0, size=(t, n)))
    wick = np.abs(rng.normal(0.0, spec.volatility / 2.0, size=(2, t, n)))
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    open_, high, low, close = on_tick(open_, high, low, close)
    volume = np.floor(rng.lognormal(10.0, 1.0, size=(t, n)))
    timestamps = _START_NS + spec.bar_seconds * _NS_PER_S * np.arange(t, dtype=np.int64)
    symbols = tuple(f"S{i:04d}" for i in range(n))
    return OHLCV(symbols, timestamps, open_, high, low, close, volume, spec.initial_cash)


def cache_path(spec: CaseSpec) -> Path:
    return CACHE_DIR / f"{spec.name}-v{_GENERATOR_VERSION}-{spec.n_symbols}x{spec.n_bars}-seed{spec.seed}.npz"


def save(data: OHLCV, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        symbols=np.array(data.symbols),
        timestamps=data.timestamps,
        open=data.open,
        high=data.high,
        low=data.low,
        close=data.close,
        volume=data.volume,
        initial_cash=np.float64(data.initial_cash),
    )
    tmp.replace(path)  # atomic: a concurrent reader never sees a half-written file


def load(path: Path) -> OHLCV:
    with np.load(path) as z:
        return OHLCV(
            tuple(str(s) for s in z["symbols"]),
            z["timestamps"],
            z["open"],
            z["high"],
            z["low"],
            z["close"],
            z["volume"],
            float(z["initial_cash"]),
        )


def ensure_case(name: str) -> Path:
    """Path of the case's cache file, generating it first if missing."""
    if name not in CASES:
        raise KeyError(f"unknown case {name!r}; known: {', '.join(CASES)}")
    spec = CASES[name]
    path = cache_path(spec)
    if not path.is_file():
        save(generate(spec), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="generate the benchmark data cache")
    parser.add_argument("cases", nargs="*", default=list(CASES))
    for name in parser.parse_args().cases:
        print(ensure_case(name), asdict(CASES[name]))


if __name__ == "__main__":
    main()
