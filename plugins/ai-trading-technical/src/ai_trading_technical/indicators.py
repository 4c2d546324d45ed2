"""Two interchangeable indicator sources behind one interface, :class:`Indicators`.

* :class:`BlockIndicators` computes over a whole :class:`BarPanel` with TA-Lib, column by
  column (vectorised in time), and caches results per symbol and timeframe in an
  :class:`IndicatorCache`, keyed by the indicator, its parameters and a digest of the input
  column, so a changed column is never served a stale value.
* :class:`IncrementalIndicators` is fed one bar at a time and keeps one state machine per
  indicator (:mod:`ai_trading_technical.incremental`): the newest value costs O(N), not a
  recomputation over the history. It returns arrays of shape (N,).

Both skip the bars where a symbol has no close (NaN) and compute over each symbol's own bar
sequence, so an indicator's value at bar t is the same in both. ``lag=k`` gives the value
``k`` of the symbol's bars earlier (a channel of the *previous* 20 bars is ``lag=1``).
``higher(timeframe)`` gives indicators of completed higher-timeframe bars (see
:mod:`ai_trading_core.resample`), aligned to the base bars without look-ahead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol, cast

import numpy as np
import talib

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import FIELDS, BarPanel, FloatArray, MarketSlice
from ai_trading_core.resample import IncrementalResampler, completed_bucket_index, resample_panel

from .incremental import (
    BollingerState,
    EmaState,
    IndicatorState,
    MacdState,
    RocState,
    RsiState,
    SymbolWindow,
    WindowStat,
)

Triple = tuple[FloatArray, FloatArray, FloatArray]
_SMA = talib.MA_Type.SMA  # type: ignore[attr-defined]


class Indicators(Protocol):
    """What ``TechnicalStrategy.calculate_indicators`` receives. Arrays are (T, N) from the
    block source and (N,) from the incremental one; prices in currency, ``rsi`` in [0, 100],
    ``roc`` in percent."""

    def price(self, field: str = "close", lag: int = 0) -> FloatArray: ...
    def sma(self, period: int, field: str = "close", lag: int = 0) -> FloatArray: ...
    def ema(self, period: int, field: str = "close", lag: int = 0) -> FloatArray: ...
    def stddev(self, period: int, nbdev: float = 1.0, field: str = "close", lag: int = 0) -> FloatArray: ...
    def bbands(self, period: int, nbdev: float = 2.0, field: str = "close", lag: int = 0) -> Triple: ...
    def rsi(self, period: int = 14, field: str = "close", lag: int = 0) -> FloatArray: ...
    def macd(
        self, fast: int = 12, slow: int = 26, signal: int = 9, field: str = "close", lag: int = 0
    ) -> Triple: ...
    def roc(self, period: int, field: str = "close", lag: int = 0) -> FloatArray: ...
    def highest(self, period: int, field: str = "high", lag: int = 0) -> FloatArray: ...
    def lowest(self, period: int, field: str = "low", lag: int = 0) -> FloatArray: ...
    def higher(self, timeframe: Timeframe) -> Indicators: ...


def _check(period: int, lag: int, field: str, minimum: int = 1) -> None:
    if period < minimum:
        raise ConfigError(f"indicator period must be at least {minimum}, got {period}")
    if lag < 0:
        raise ConfigError(f"indicator lag must be >= 0, got {lag}")
    if field not in FIELDS:
        raise ConfigError(f"unknown price field {field!r}; expected one of {', '.join(FIELDS)}")


# --------------------------------------------------------------------------- block (TA-Lib)
class IndicatorCache:
    """Computed indicator columns keyed by (timeframe, symbol, indicator, parameters, input
    digest). Owned by whoever creates it (a strategy, or several sharing one): no module
    state. ``hits`` and ``misses`` count lookups."""

    def __init__(self) -> None:
        self._store: dict[tuple[object, ...], tuple[FloatArray, ...]] = {}
        self.hits = 0
        self.misses = 0

    def get_or_compute(
        self, key: tuple[object, ...], compute: Callable[[], tuple[FloatArray, ...]]
    ) -> tuple[FloatArray, ...]:
        found = self._store.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        value = compute()
        self._store[key] = value
        return value

    def __len__(self) -> int:
        return len(self._store)


def _digest(column: FloatArray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(column).tobytes(), digest_size=16).digest()


class BlockIndicators:
    """Indicators over a whole panel, by TA-Lib, shape (T, N)."""

    def __init__(self, panel: BarPanel, cache: IndicatorCache | None = None) -> None:
        self.panel = panel
        self.cache = cache if cache is not None else IndicatorCache()
        self._valid = np.isfinite(panel.close)
        self._rows = [np.flatnonzero(self._valid[:, j]) for j in range(len(panel.symbols))]
        self._digests: dict[tuple[str, int], bytes] = {}

    def _column_digest(self, field: str, j: int) -> bytes:
        key = (field, j)
        if key not in self._digests:
            self._digests[key] = _digest(getattr(self.panel, field)[:, j])
        return self._digests[key]

    def _apply(
        self,
        name: str,
        params: tuple[object, ...],
        fields: tuple[str, ...],
        n_out: int,
        lag: int,
        fn: Callable[..., tuple[FloatArray, ...]],
    ) -> tuple[FloatArray, ...]:
        panel = self.panel
        t, n = panel.shape
        outs = tuple(np.full((t, n), np.nan) for _ in range(n_out))
        for j, sym in enumerate(panel.symbols):
            rows = self._rows[j]
            if len(rows) == 0:
                continue
            key = (panel.timeframe.value, sym, name, params, tuple(self._column_digest(f, j) for f in fields))

            def compute(rows: np.ndarray = rows, j: int = j) -> tuple[FloatArray, ...]:
                cols = [np.ascontiguousarray(getattr(panel, f)[rows, j], dtype=np.float64) for f in fields]
                return tuple(np.asarray(o, dtype=np.float64) for o in fn(*cols))

            values = self.cache.get_or_compute(key, compute)
            for out, v in zip(outs, values, strict=True):
                if lag:
                    shifted = np.full_like(v, np.nan)
                    shifted[lag:] = v[:-lag]
                    v = shifted
                out[rows, j] = v
        return outs

    def price(self, field: str = "close", lag: int = 0) -> FloatArray:
        _check(1, lag, field)
        return self._apply("price", (), (field,), 1, lag, lambda x: (x,))[0]

    def sma(self, period: int, field: str = "close", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        return self._apply("sma", (period,), (field,), 1, lag, lambda x: (talib.SMA(x, period),))[0]

    def ema(self, period: int, field: str = "close", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        return self._apply("ema", (period,), (field,), 1, lag, lambda x: (talib.EMA(x, period),))[0]

    def stddev(self, period: int, nbdev: float = 1.0, field: str = "close", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        fn = lambda x: (talib.STDDEV(x, period, nbdev),)  # noqa: E731
        return self._apply("stddev", (period, nbdev), (field,), 1, lag, fn)[0]

    def bbands(self, period: int, nbdev: float = 2.0, field: str = "close", lag: int = 0) -> Triple:
        _check(period, lag, field, 2)
        fn = lambda x: talib.BBANDS(x, period, nbdev, nbdev, _SMA)  # noqa: E731
        up, mid, lo = self._apply("bbands", (period, nbdev), (field,), 3, lag, fn)
        return up, mid, lo

    def rsi(self, period: int = 14, field: str = "close", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        return self._apply("rsi", (period,), (field,), 1, lag, lambda x: (talib.RSI(x, period),))[0]

    def macd(
        self, fast: int = 12, slow: int = 26, signal: int = 9, field: str = "close", lag: int = 0
    ) -> Triple:
        _check_macd(fast, slow, signal)
        _check(slow, lag, field, 2)
        fn = lambda x: talib.MACD(x, fast, slow, signal)  # noqa: E731
        line, sig, hist = self._apply("macd", (fast, slow, signal), (field,), 3, lag, fn)
        return line, sig, hist

    def roc(self, period: int, field: str = "close", lag: int = 0) -> FloatArray:
        _check(period, lag, field)
        return self._apply("roc", (period,), (field,), 1, lag, lambda x: (talib.ROC(x, period),))[0]

    def highest(self, period: int, field: str = "high", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        return self._apply("max", (period,), (field,), 1, lag, lambda x: (talib.MAX(x, period),))[0]

    def lowest(self, period: int, field: str = "low", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        return self._apply("min", (period,), (field,), 1, lag, lambda x: (talib.MIN(x, period),))[0]

    def higher(self, timeframe: Timeframe) -> Indicators:
        aligned = AlignedIndicators(
            BlockIndicators(resample_panel(self.panel, timeframe), self.cache),
            completed_bucket_index(self.panel.timestamps, self.panel.timeframe, timeframe),
        )
        return cast(Indicators, aligned)


def _check_macd(fast: int, slow: int, signal: int) -> None:
    if not 2 <= fast < slow or signal < 1:
        raise ConfigError(f"MACD needs 2 <= fast < slow and signal >= 1 (got {fast}, {slow}, {signal})")


class AlignedIndicators:
    """Higher-timeframe block indicators gathered onto base rows: base row t sees the value
    of the newest higher-timeframe bar completed by then (NaN before the first)."""

    def __init__(self, inner: BlockIndicators, index: np.ndarray) -> None:
        self._inner = inner
        self._index = index

    def _align(self, a: FloatArray) -> FloatArray:
        out = np.full((len(self._index), a.shape[1]), np.nan)
        ok = self._index >= 0
        out[ok] = a[self._index[ok]]
        return out

    def __getattr__(self, name: str) -> Callable[..., object]:
        method = getattr(self._inner, name)
        if name == "higher":
            raise ConfigError("higher() of a higher timeframe is not supported: ask the base source")

        def aligned(*args: object, **kwargs: object) -> object:
            result = method(*args, **kwargs)
            if isinstance(result, tuple):
                return tuple(self._align(r) for r in result)
            return self._align(result)

        return aligned


# --------------------------------------------------------------------------- incremental
class _Tracked:
    """One indicator's state, the price field it reads and its lag buffers."""

    __slots__ = ("state", "field", "lag", "lagged", "last")

    def __init__(
        self, state: IndicatorState | None, field: str, lag: int, n_out: int, n_symbols: int
    ) -> None:
        self.state = state
        self.field = field
        self.lag = lag
        self.lagged = [SymbolWindow(n_symbols, lag + 1) for _ in range(n_out)] if lag else []
        self.last: tuple[FloatArray, ...] = tuple(np.full(n_symbols, np.nan) for _ in range(n_out))

    def update(self, x: FloatArray, mask: np.ndarray) -> None:
        outs = self.state.update(x, mask) if self.state is not None else (np.where(mask, x, np.nan),)
        if self.lag:
            lagged = []
            for win, o in zip(self.lagged, outs, strict=True):
                win.push(o, mask)
                lagged.append(np.where(mask, win.oldest(), np.nan))
            outs = tuple(lagged)
        self.last = outs


class IncrementalIndicators:
    """Indicators fed one slice at a time; each call returns the newest values, shape (N,).

    The set of indicators is fixed by the calls made on the first bar: asking for a new one
    later raises :class:`ConfigError` (its state would have missed the earlier bars), so
    ``calculate_indicators`` must request the same indicators on every bar.
    """

    def __init__(self, n_symbols: int, timeframe: Timeframe) -> None:
        self.n_symbols = n_symbols
        self.timeframe = timeframe
        self.bars = 0
        self._tracked: dict[tuple[object, ...], _Tracked] = {}
        self._higher: dict[Timeframe, tuple[IncrementalResampler, IncrementalIndicators]] = {}
        self._market: MarketSlice | None = None
        self._sealed = False

    def advance(self, market: MarketSlice) -> None:
        """Consume one slice (the newest bar of every symbol)."""
        if self.bars:
            self._sealed = True
        self._market = market
        self.bars += 1
        mask = np.isfinite(market.close)
        for tracked in self._tracked.values():
            tracked.update(getattr(market, tracked.field), mask)
        for resampler, child in self._higher.values():
            _feed_higher(resampler, child, market)

    def _get(
        self,
        key: tuple[object, ...],
        field: str,
        lag: int,
        n_out: int,
        make: Callable[[], IndicatorState | None],
    ) -> tuple[FloatArray, ...]:
        full_key = (*key, field, lag)
        tracked = self._tracked.get(full_key)
        if tracked is None:
            if self._sealed:
                raise ConfigError(
                    f"indicator {key[0]}{key[1:]} on {field!r} was first requested after the first bar; "
                    "calculate_indicators must request the same indicators on every bar"
                )
            tracked = _Tracked(make(), field, lag, n_out, self.n_symbols)
            self._tracked[full_key] = tracked
            if self._market is not None and self.bars:
                tracked.update(getattr(self._market, field), np.isfinite(self._market.close))
        return tracked.last

    def price(self, field: str = "close", lag: int = 0) -> FloatArray:
        _check(1, lag, field)
        return self._get(("price",), field, lag, 1, lambda: None)[0]

    def sma(self, period: int, field: str = "close", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        return self._get(("sma", period), field, lag, 1, lambda: WindowStat(self.n_symbols, period, "sma"))[0]

    def ema(self, period: int, field: str = "close", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        return self._get(("ema", period), field, lag, 1, lambda: EmaState(self.n_symbols, period))[0]

    def stddev(self, period: int, nbdev: float = 1.0, field: str = "close", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        make = lambda: WindowStat(self.n_symbols, period, "stddev", nbdev)  # noqa: E731
        return self._get(("stddev", period, nbdev), field, lag, 1, make)[0]

    def bbands(self, period: int, nbdev: float = 2.0, field: str = "close", lag: int = 0) -> Triple:
        _check(period, lag, field, 2)
        make = lambda: BollingerState(self.n_symbols, period, nbdev)  # noqa: E731
        up, mid, lo = self._get(("bbands", period, nbdev), field, lag, 3, make)
        return up, mid, lo

    def rsi(self, period: int = 14, field: str = "close", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        return self._get(("rsi", period), field, lag, 1, lambda: RsiState(self.n_symbols, period))[0]

    def macd(
        self, fast: int = 12, slow: int = 26, signal: int = 9, field: str = "close", lag: int = 0
    ) -> Triple:
        _check_macd(fast, slow, signal)
        _check(slow, lag, field, 2)
        make = lambda: MacdState(self.n_symbols, fast, slow, signal)  # noqa: E731
        line, sig, hist = self._get(("macd", fast, slow, signal), field, lag, 3, make)
        return line, sig, hist

    def roc(self, period: int, field: str = "close", lag: int = 0) -> FloatArray:
        _check(period, lag, field)
        return self._get(("roc", period), field, lag, 1, lambda: RocState(self.n_symbols, period))[0]

    def highest(self, period: int, field: str = "high", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        return self._get(("max", period), field, lag, 1, lambda: WindowStat(self.n_symbols, period, "max"))[0]

    def lowest(self, period: int, field: str = "low", lag: int = 0) -> FloatArray:
        _check(period, lag, field, 2)
        return self._get(("min", period), field, lag, 1, lambda: WindowStat(self.n_symbols, period, "min"))[0]

    def higher(self, timeframe: Timeframe) -> Indicators:
        found = self._higher.get(timeframe)
        if found is None:
            if self._sealed:
                raise ConfigError(f"timeframe {timeframe.value} was first requested after the first bar")
            # capacity 2: at most two higher bars complete on one base bar
            resampler = IncrementalResampler(self.n_symbols, self.timeframe, timeframe, capacity=2)
            found = (resampler, IncrementalIndicators(self.n_symbols, timeframe))
            self._higher[timeframe] = found
            if self._market is not None:
                _feed_higher(resampler, found[1], self._market)
        return found[1]


def _feed_higher(resampler: IncrementalResampler, child: IncrementalIndicators, market: MarketSlice) -> None:
    """Advance the higher-timeframe indicators by the bars ``market`` completed, if any."""
    done = resampler.update(market)
    if done:
        hist = resampler.history
        stamps = hist.timestamps(done)
        wins = [hist.window(f, done) for f in FIELDS]
        for i in range(done):
            child.advance(MarketSlice(int(stamps[i]), market.symbols, *(w[i] for w in wins)))
