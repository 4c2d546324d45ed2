"""Resampling bars to a higher timeframe, for whole panels and bar by bar.

Buckets are aligned to the UTC epoch (a daily bucket is one UTC calendar day, a 4-hour bucket
starts at 00:00, 04:00, ... UTC) and, like every bar in the project, a resampled bar is
labelled by its bucket's **open** time. Aggregation per symbol, over the bars the symbol has in
the bucket (NaN rows are "no bar" and are skipped):

* open: the first bar's open; close: the last bar's close;
* high: the highest high; low: the lowest low;
* volume: the sum of volumes.

A bucket in which a symbol has no bar gives that symbol NaN prices.

Completed bars only: a higher-timeframe bar is known once its bucket has ended, that is when a
bar of a later bucket arrives, or when the arriving bar itself ends at or after the bucket's
end (the last 5-minute bar of a 4-hour bucket). A daily bucket of an equity session therefore
completes with the next session's first bar: without a session calendar nothing earlier is
safe. :class:`IncrementalResampler` and :func:`completed_bucket_index` both follow this rule,
so a strategy sees the same higher-timeframe bars in a backtest and live.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .enums import Timeframe
from .errors import ConfigError
from .market import BarPanel, FloatArray, History, MarketSlice

_NS = 1_000_000_000


def check_timeframes(base: Timeframe, target: Timeframe) -> None:
    """Raise :class:`ConfigError` unless ``target`` is a whole multiple of ``base``."""
    if target.seconds < base.seconds or target.seconds % base.seconds:
        raise ConfigError(
            f"cannot resample {base.value} bars to {target.value}: the target timeframe must be a whole "
            f"multiple of the base timeframe"
        )


def bucket_start(timestamps: npt.NDArray[np.int64], target: Timeframe) -> npt.NDArray[np.int64]:
    """Open time (ns since the epoch, UTC) of the ``target`` bucket holding each timestamp."""
    step = target.seconds * _NS
    return (np.asarray(timestamps, dtype=np.int64) // step) * step


def resample_panel(panel: BarPanel, target: Timeframe, *, complete_only: bool = False) -> BarPanel:
    """Aggregate ``panel`` to ``target`` bars labelled by bucket open time.

    :param complete_only: drop the last bucket unless the panel's last bar ends at or after the
        bucket's end (whether a bucket is complete cannot be known otherwise).
    """
    check_timeframes(panel.timeframe, target)
    t, n = panel.shape
    if t == 0:
        return _panel_like(panel, target, np.zeros(0, np.int64), *(np.zeros((0, n)) for _ in range(5)))
    starts = bucket_start(panel.timestamps, target)
    first_rows = np.flatnonzero(np.r_[True, starts[1:] != starts[:-1]])
    rows = np.arange(t)[:, None]

    valid_o = np.isfinite(panel.open)
    valid_c = np.isfinite(panel.close)
    first = np.minimum.reduceat(np.where(valid_o, rows, t), first_rows, axis=0)
    last = np.maximum.reduceat(np.where(valid_c, rows, -1), first_rows, axis=0)
    cols = np.arange(n)[None, :]
    open_ = np.where(first < t, panel.open[np.minimum(first, t - 1), cols], np.nan)
    close = np.where(last >= 0, panel.close[np.maximum(last, 0), cols], np.nan)
    # fmax/fmin skip NaN; a bucket where every value is NaN stays NaN
    high = np.fmax.reduceat(panel.high, first_rows, axis=0)
    low = np.fmin.reduceat(panel.low, first_rows, axis=0)
    has_vol = np.logical_or.reduceat(np.isfinite(panel.volume), first_rows, axis=0)
    vol_sum = np.add.reduceat(np.nan_to_num(panel.volume, nan=0.0), first_rows, axis=0)
    volume = np.where(has_vol, vol_sum, np.nan)
    stamps = starts[first_rows]
    if complete_only and len(stamps):
        last_end = int(panel.timestamps[-1]) + panel.timeframe.seconds * _NS
        if last_end < int(stamps[-1]) + target.seconds * _NS:
            stamps = stamps[:-1]
            open_, high, low, close, volume = (a[:-1] for a in (open_, high, low, close, volume))
    return _panel_like(panel, target, stamps, open_, high, low, close, volume)


def _panel_like(
    panel: BarPanel,
    target: Timeframe,
    stamps: npt.NDArray[np.int64],
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
) -> BarPanel:
    return BarPanel(
        symbols=panel.symbols,
        timestamps=np.ascontiguousarray(stamps, dtype=np.int64),
        open=np.ascontiguousarray(open_),
        high=np.ascontiguousarray(high),
        low=np.ascontiguousarray(low),
        close=np.ascontiguousarray(close),
        volume=np.ascontiguousarray(volume),
        timeframe=target,
        instruments=panel.instruments,
        source=f"{panel.source} resampled to {target.value}".strip(),
    )


def completed_bucket_index(
    timestamps: npt.NDArray[np.int64], base: Timeframe, target: Timeframe
) -> npt.NDArray[np.int64]:
    """For each base bar, the row in ``resample_panel(panel, target)`` of the newest
    higher-timeframe bar that is complete once that base bar has closed; -1 when none is.

    Use it to align higher-timeframe values to base rows without look-ahead.
    """
    check_timeframes(base, target)
    ts = np.asarray(timestamps, dtype=np.int64)
    if len(ts) == 0:
        return np.zeros(0, np.int64)
    starts = bucket_start(ts, target)
    bucket_no = np.cumsum(np.r_[False, starts[1:] != starts[:-1]]).astype(np.int64)
    ends_bucket = ts + base.seconds * _NS >= starts + target.seconds * _NS
    return np.where(ends_bucket, bucket_no, bucket_no - 1)


class IncrementalResampler:
    """Builds ``target`` bars from ``base`` slices one at a time and exposes only the
    completed ones, in :attr:`history` (a kernel :class:`History` ring buffer).

    :param capacity: number of completed higher-timeframe bars kept.
    """

    __slots__ = ("base", "target", "history", "_step", "_base_ns", "_bucket", "_acc", "_symbols", "_seen")

    def __init__(self, n_symbols: int, base: Timeframe, target: Timeframe, capacity: int) -> None:
        check_timeframes(base, target)
        self.base = base
        self.target = target
        self.history = History(capacity, n_symbols)
        self._step = target.seconds * _NS
        self._base_ns = base.seconds * _NS
        self._bucket: int | None = None
        self._acc = np.full((5, n_symbols), np.nan)
        self._symbols: tuple[str, ...] = ()
        self._seen = np.zeros(n_symbols, dtype=bool)

    @property
    def count(self) -> int:
        """Number of completed higher-timeframe bars so far."""
        return self.history.count

    def update(self, market: MarketSlice) -> int:
        """Add one base slice; return how many higher-timeframe bars completed (0, 1 or 2:
        the previous bucket when this slice starts a new one, and this slice's own bucket when
        the slice ends it)."""
        self._symbols = market.symbols
        start = (market.timestamp // self._step) * self._step
        completed = 0
        if self._bucket is not None and start != self._bucket:
            self._emit()
            completed += 1
        if self._bucket is None:
            self._bucket = start
        acc = self._acc
        o, h, lo, c, v = market.open, market.high, market.low, market.close, market.volume
        first = ~self._seen & np.isfinite(o)
        acc[0] = np.where(first, o, acc[0])
        self._seen |= first
        acc[1] = np.fmax(acc[1], h)
        acc[2] = np.fmin(acc[2], lo)
        acc[3] = np.where(np.isfinite(c), c, acc[3])
        vol_ok = np.isfinite(v)
        acc[4] = np.where(vol_ok, np.nan_to_num(acc[4], nan=0.0) + np.where(vol_ok, v, 0.0), acc[4])
        if market.timestamp + self._base_ns >= start + self._step:
            self._emit()
            completed += 1
        return completed

    def _emit(self) -> None:
        assert self._bucket is not None
        acc = self._acc
        self.history.push(
            MarketSlice(
                self._bucket,
                self._symbols,
                acc[0].copy(),
                acc[1].copy(),
                acc[2].copy(),
                acc[3].copy(),
                acc[4].copy(),
            )
        )
        acc.fill(np.nan)
        self._seen[:] = False
        self._bucket = None
