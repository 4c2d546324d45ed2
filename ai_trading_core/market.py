"""Market data as arrays.

A :class:`BarPanel` holds a whole history (T timestamps × N symbols) for backtests; each
clock step hands the pipeline a :class:`MarketSlice`, the cross-section of every subscribed
symbol at one timestamp, and a :class:`History` of rolling windows kept in a preallocated
ring buffer. A symbol without a bar at a timestamp has NaN prices there.

Bar convention: bars are labelled by their **open** time, in UTC. A daily bar of 2008-09-15
is stamped 2008-09-15T00:00Z and its close is known only after that session ends; orders
decided on it fill no earlier than the next bar.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from .enums import Timeframe
from .errors import DataError, UnknownSymbolError
from .models import Instrument

FloatArray = npt.NDArray[np.float64]
FIELDS = ("open", "high", "low", "close", "volume")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_datetime(ns: int | np.integer) -> datetime:
    """Convert nanoseconds since the epoch to an aware UTC datetime (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=int(ns) // 1000)


def to_ns(value: datetime | str | np.datetime64) -> int:
    """Nanoseconds since the epoch of an aware datetime, ISO string (UTC assumed only if it
    carries an offset) or datetime64."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise DataError(f"naive timestamp {value.isoformat()}: timestamps must carry a timezone")
        value = np.datetime64(value.astimezone(UTC).replace(tzinfo=None), "ns")
    return int(np.asarray(value).astype("datetime64[ns]").astype(np.int64))


@dataclass(frozen=True, slots=True)
class BarPanel:
    """OHLCV for N symbols over T timestamps. Arrays are float64 of shape (T, N);
    ``timestamps`` are int64 nanoseconds since the epoch (UTC), strictly increasing."""

    symbols: tuple[str, ...]
    timestamps: npt.NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    timeframe: Timeframe = Timeframe.D1
    instruments: Mapping[str, Instrument] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        t, n = len(self.timestamps), len(self.symbols)
        for name in FIELDS:
            arr = getattr(self, name)
            if arr.shape != (t, n):
                raise DataError(f"{self.source or 'panel'}: field {name} has shape {arr.shape}, expected {(t, n)}")
        if t > 1 and not np.all(np.diff(self.timestamps) > 0):
            bad = int(np.argmin(np.diff(self.timestamps) > 0)) + 1
            raise DataError(
                f"{self.source or 'panel'}: timestamps not strictly increasing at row {bad} "
                f"({to_datetime(self.timestamps[bad]).isoformat()})"
            )
        if len(set(self.symbols)) != n:
            raise DataError(f"{self.source or 'panel'}: duplicate symbols in {self.symbols}")

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.timestamps), len(self.symbols)

    def instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            if symbol not in self.symbols:
                raise UnknownSymbolError(f"unknown symbol {symbol!r}")
            inst = Instrument(symbol=symbol)
        return inst

    def select(
        self, symbols: Sequence[str] | None = None, start: int | None = None, end: int | None = None
    ) -> BarPanel:
        """Sub-panel by symbols and by a [start, end] nanosecond range (inclusive)."""
        cols: slice | list[int] = slice(None)
        syms = self.symbols
        if symbols is not None:
            missing = [s for s in symbols if s not in self.symbols]
            if missing:
                raise UnknownSymbolError(
                    f"unknown symbol(s) {', '.join(missing)}; available: {', '.join(self.symbols)}"
                )
            cols = [self.symbols.index(s) for s in symbols]
            syms = tuple(symbols)
        lo = 0 if start is None else int(np.searchsorted(self.timestamps, start, side="left"))
        hi = len(self.timestamps) if end is None else int(np.searchsorted(self.timestamps, end, side="right"))
        rows = slice(lo, hi)

        def pick(a: FloatArray) -> FloatArray:
            return np.ascontiguousarray(a[rows][:, cols])

        return BarPanel(
            symbols=syms,
            timestamps=self.timestamps[rows].copy(),
            open=pick(self.open),
            high=pick(self.high),
            low=pick(self.low),
            close=pick(self.close),
            volume=pick(self.volume),
            timeframe=self.timeframe,
            instruments={s: self.instrument(s) for s in syms},
            source=self.source,
        )

    def fingerprint(self) -> str:
        """SHA-256 (hex) over the timeframe, the symbols, the timestamps and the OHLCV bytes
        (little-endian int64 / float64, row-major): two panels with the same fingerprint hold
        the same bars bit for bit."""
        import hashlib

        h = hashlib.sha256()
        h.update(self.timeframe.value.encode())
        h.update(b"\0")
        h.update("\x1f".join(self.symbols).encode())
        h.update(b"\0")
        h.update(np.ascontiguousarray(self.timestamps, dtype="<i8").tobytes())
        for name in FIELDS:
            h.update(np.ascontiguousarray(getattr(self, name), dtype="<f8").tobytes())
        return h.hexdigest()

    def slices(self) -> Iterator[MarketSlice]:
        for i in range(len(self.timestamps)):
            yield self.slice_at(i)

    def slice_at(self, i: int) -> MarketSlice:
        return MarketSlice(
            int(self.timestamps[i]),
            self.symbols,
            self.open[i],
            self.high[i],
            self.low[i],
            self.close[i],
            self.volume[i],
        )


class MarketSlice:
    """The cross-section at one timestamp: one price array entry per subscribed symbol
    (NaN where the symbol has no bar). Arrays may be views into a panel: treat as read-only."""

    __slots__ = ("timestamp", "symbols", "open", "high", "low", "close", "volume")

    def __init__(
        self,
        timestamp: int,
        symbols: tuple[str, ...],
        open: FloatArray,
        high: FloatArray,
        low: FloatArray,
        close: FloatArray,
        volume: FloatArray,
    ) -> None:
        self.timestamp = timestamp
        self.symbols = symbols
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume

    @property
    def time(self) -> datetime:
        return to_datetime(self.timestamp)


class History:
    """Rolling windows of the last ``capacity`` slices, in a preallocated ring buffer.

    Each row is written twice (at ``i`` and ``i + capacity``) so that the most recent ``n``
    rows are always one contiguous slice: :meth:`window` returns a view, never a copy.
    """

    __slots__ = ("capacity", "n_symbols", "count", "_pos", "_buf", "_ts")

    def __init__(self, capacity: int, n_symbols: int) -> None:
        if capacity < 1:
            raise ValueError("history capacity must be at least 1")
        self.capacity = capacity
        self.n_symbols = n_symbols
        self.count = 0
        self._pos = 0
        self._buf = np.full((len(FIELDS), 2 * capacity, n_symbols), np.nan)
        self._ts = np.zeros(2 * capacity, dtype=np.int64)

    def push(self, market: MarketSlice) -> None:
        p, c = self._pos, self.capacity
        buf = self._buf
        buf[:, p] = (market.open, market.high, market.low, market.close, market.volume)
        buf[:, p + c] = buf[:, p]
        self._ts[p] = self._ts[p + c] = market.timestamp
        self._pos = (p + 1) % c
        self.count += 1

    def load(self, panel: BarPanel, i: int) -> None:
        """Refill the buffer with rows up to and including ``i`` of ``panel`` (block mode,
        which skips the rows on which nothing happens)."""
        k = min(self.capacity, i + 1)
        lo = i + 1 - k
        c = self.capacity
        for f, name in enumerate(FIELDS):
            rows = getattr(panel, name)[lo : i + 1]
            self._buf[f, :k] = rows
            self._buf[f, c : c + k] = rows
        self._ts[:k] = self._ts[c : c + k] = panel.timestamps[lo : i + 1]
        self._pos = k % c
        self.count = i + 1

    def window(self, field: str, n: int) -> FloatArray:
        """The last ``n`` rows of ``field`` (oldest first), shape (n, N). ``n`` is capped at
        the number of rows pushed so far and at the capacity."""
        n = min(n, self.count, self.capacity)
        k = FIELDS.index(field)
        end = self._pos + self.capacity
        return self._buf[k, end - n : end]

    def close(self, n: int) -> FloatArray:
        return self.window("close", n)

    def timestamps(self, n: int) -> npt.NDArray[np.int64]:
        n = min(n, self.count, self.capacity)
        end = self._pos + self.capacity
        return self._ts[end - n : end]


def forward_fill(a: FloatArray) -> FloatArray:
    """Carry the last finite value of each column forward (rows before the first stay NaN)."""
    t = a.shape[0]
    idx = np.where(np.isfinite(a), np.arange(t)[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    return np.take_along_axis(a, idx, axis=0)
