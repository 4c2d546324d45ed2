"""Indicator state machines updated one bar at a time, for all symbols at once.

Each state reproduces the TA-Lib function of the same name on the symbol's own sequence of
bars (bars where the symbol has no price are skipped, as the block path skips them): same
seeding, same recursion, same first valid index. The tests compare every one against TA-Lib
on the same input. A state costs O(period × N) memory and O(N) (recursive indicators) or
O(period × N) (window indicators) work per bar, whatever the length of the run.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ai_trading_core.market import FloatArray

BoolArray = npt.NDArray[np.bool_]


class SymbolWindow:
    """The last ``length`` values of each symbol's own series, in a ring buffer with one
    write position per symbol (symbols advance only on bars where they have a value)."""

    __slots__ = ("length", "buf", "pos", "count", "_cols")

    def __init__(self, n_symbols: int, length: int) -> None:
        self.length = length
        self.buf = np.full((length, n_symbols), np.nan)
        self.pos = np.zeros(n_symbols, dtype=np.int64)
        self.count = np.zeros(n_symbols, dtype=np.int64)
        self._cols = np.arange(n_symbols)

    def push(self, x: FloatArray, mask: BoolArray) -> None:
        cols = self._cols[mask]
        self.buf[self.pos[mask], cols] = x[mask]
        self.pos[mask] = (self.pos[mask] + 1) % self.length
        self.count[mask] += 1

    @property
    def full(self) -> BoolArray:
        return self.count >= self.length

    def oldest(self) -> FloatArray:
        """The value ``length - 1`` bars ago (NaN until the window is full)."""
        return np.where(self.full, self.buf[self.pos, self._cols], np.nan)


class IndicatorState:
    """Base of the state machines: ``update`` consumes one bar and returns the outputs for
    this bar (NaN for symbols without a bar or not yet warmed up)."""

    __slots__ = ()

    def update(self, x: FloatArray, mask: BoolArray) -> tuple[FloatArray, ...]:
        raise NotImplementedError


class WindowStat(IndicatorState):
    """TA-Lib SMA, STDDEV (population, × nbdev), MAX, MIN over ``period`` bars."""

    __slots__ = ("win", "stat", "nbdev")

    def __init__(self, n_symbols: int, period: int, stat: str, nbdev: float = 1.0) -> None:
        self.win = SymbolWindow(n_symbols, period)
        self.stat = stat
        self.nbdev = nbdev

    def update(self, x: FloatArray, mask: BoolArray) -> tuple[FloatArray, ...]:
        self.win.push(x, mask)
        ok = mask & self.win.full
        buf = self.win.buf
        if self.stat == "sma":
            value = buf.mean(axis=0)
        elif self.stat == "stddev":
            value = buf.std(axis=0) * self.nbdev
        elif self.stat == "max":
            value = buf.max(axis=0)
        else:
            value = buf.min(axis=0)
        return (np.where(ok, value, np.nan),)


class BollingerState(IndicatorState):
    """TA-Lib BBANDS with a simple moving average: (upper, middle, lower)."""

    __slots__ = ("win", "nbdev")

    def __init__(self, n_symbols: int, period: int, nbdev: float) -> None:
        self.win = SymbolWindow(n_symbols, period)
        self.nbdev = nbdev

    def update(self, x: FloatArray, mask: BoolArray) -> tuple[FloatArray, ...]:
        self.win.push(x, mask)
        ok = mask & self.win.full
        middle = np.where(ok, self.win.buf.mean(axis=0), np.nan)
        dev = np.where(ok, self.win.buf.std(axis=0), np.nan) * self.nbdev
        return middle + dev, middle, middle - dev


class RocState(IndicatorState):
    """TA-Lib ROC: ``(price / price[period bars ago] - 1) × 100`` (percent)."""

    __slots__ = ("win",)

    def __init__(self, n_symbols: int, period: int) -> None:
        self.win = SymbolWindow(n_symbols, period + 1)

    def update(self, x: FloatArray, mask: BoolArray) -> tuple[FloatArray, ...]:
        self.win.push(x, mask)
        prev = self.win.oldest()
        with np.errstate(divide="ignore", invalid="ignore"):
            roc = np.where(prev != 0.0, ((x / prev) - 1.0) * 100.0, 0.0)
        return (np.where(mask & self.win.full, roc, np.nan),)


class EmaState(IndicatorState):
    """TA-Lib EMA: seeded with the simple average of the first ``period`` values, then
    ``ema += (x - ema) × 2 / (period + 1)``."""

    __slots__ = ("period", "k", "count", "total", "value")

    def __init__(self, n_symbols: int, period: int) -> None:
        self.period = period
        self.k = 2.0 / (period + 1)
        self.count = np.zeros(n_symbols, dtype=np.int64)
        self.total = np.zeros(n_symbols)
        self.value = np.full(n_symbols, np.nan)

    def seed(self, seed: FloatArray, mask: BoolArray) -> None:
        """Start the recursion from ``seed`` where ``mask`` (TA-Lib's MACD seeds its fast EMA
        late, see :class:`MacdState`)."""
        self.value = np.where(mask, seed, self.value)
        self.count = np.where(mask, self.period, self.count)

    def update(self, x: FloatArray, mask: BoolArray) -> tuple[FloatArray, ...]:
        self.count = self.count + mask
        seeding = mask & (self.count <= self.period)
        self.total = np.where(seeding, self.total + x, self.total)
        just_seeded = mask & (self.count == self.period)
        recursing = mask & (self.count > self.period)
        value = np.where(just_seeded, self.total / self.period, self.value)
        self.value = np.where(recursing, (x - value) * self.k + value, value)
        return (np.where(mask & (self.count >= self.period), self.value, np.nan),)


class RsiState(IndicatorState):
    """TA-Lib RSI (Wilder): averages of the first ``period`` gains and losses, then
    ``avg = (avg × (period - 1) + new) / period``; RSI = 100 × gain / (gain + loss), 0 when
    both are zero."""

    __slots__ = ("period", "count", "prev", "gain", "loss")

    def __init__(self, n_symbols: int, period: int) -> None:
        self.period = period
        self.count = np.zeros(n_symbols, dtype=np.int64)
        self.prev = np.full(n_symbols, np.nan)
        self.gain = np.zeros(n_symbols)
        self.loss = np.zeros(n_symbols)

    def update(self, x: FloatArray, mask: BoolArray) -> tuple[FloatArray, ...]:
        p = self.period
        diff = np.where(mask & (self.count > 0), x - self.prev, 0.0)
        self.count = self.count + mask
        self.prev = np.where(mask, x, self.prev)
        up = np.where(diff > 0, diff, 0.0)
        down = np.where(diff < 0, -diff, 0.0)
        seeding = mask & (self.count <= p + 1)
        self.gain = np.where(seeding, self.gain + up, self.gain)
        self.loss = np.where(seeding, self.loss + down, self.loss)
        seeded = mask & (self.count == p + 1)
        self.gain = np.where(seeded, self.gain / p, self.gain)
        self.loss = np.where(seeded, self.loss / p, self.loss)
        wilder = mask & (self.count > p + 1)
        self.gain = np.where(wilder, (self.gain * (p - 1) + up) / p, self.gain)
        self.loss = np.where(wilder, (self.loss * (p - 1) + down) / p, self.loss)
        total = self.gain + self.loss
        with np.errstate(divide="ignore", invalid="ignore"):
            rsi = np.where(total != 0.0, 100.0 * (self.gain / total), 0.0)
        return (np.where(mask & (self.count > p), rsi, np.nan),)


class MacdState(IndicatorState):
    """TA-Lib MACD: (macd, signal, histogram).

    TA-Lib starts both EMAs at the slow EMA's first value: the fast EMA is seeded with the
    average of the ``fast`` values ending at bar ``slow - 1``, not of the first ``fast``
    values. The signal line is an EMA of the MACD line; all three outputs start at bar
    ``slow + signal - 2``.
    """

    __slots__ = ("slow", "fast_ema", "slow_ema", "signal_ema", "recent", "count")

    def __init__(self, n_symbols: int, fast: int, slow: int, signal: int) -> None:
        self.slow = slow
        self.fast_ema = EmaState(n_symbols, fast)
        self.slow_ema = EmaState(n_symbols, slow)
        self.signal_ema = EmaState(n_symbols, signal)
        self.recent = SymbolWindow(n_symbols, fast)
        self.count = np.zeros(n_symbols, dtype=np.int64)

    def update(self, x: FloatArray, mask: BoolArray) -> tuple[FloatArray, ...]:
        self.count = self.count + mask
        self.recent.push(x, mask)
        (slow,) = self.slow_ema.update(x, mask)
        start = mask & (self.count == self.slow)
        later = mask & (self.count > self.slow)
        if start.any():
            self.fast_ema.seed(self.recent.buf.mean(axis=0), start)
        # the fast EMA only runs from the slow EMA's first bar on
        (fast,) = self.fast_ema.update(x, later)
        fast = np.where(start, self.fast_ema.value, fast)
        line = fast - slow
        live = start | later
        (sig,) = self.signal_ema.update(line, live)
        ready = live & np.isfinite(sig)
        line = np.where(ready, line, np.nan)
        return line, sig, line - sig
