"""Slicing a parent order into child quantities, bar by bar.

Every algorithm answers one question per bar: how many more units to send now. TWAP and
VWAP fix a cumulative schedule when the parent starts; a slice that could not be sent (no
venue took it, or a venue rejected it later) is caught up on the next bar, and after the
horizon whatever is left goes at once. Quantities are whole lots, and the cumulative
schedule ends at exactly the parent's quantity, so child orders sum to the parent.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from ai_trading_core.models import Instrument

from .params import AlgoBrokerParams


def cumulative_schedule(quantity: Decimal, weights: Sequence[float], inst: Instrument) -> list[Decimal]:
    """Cumulative units to have sent after each bar, proportional to ``weights`` (relative,
    any positive scale), rounded down to the lot; the last entry is ``quantity`` itself."""
    w = [Decimal(repr(float(x))) for x in weights]
    total = sum(w, Decimal(0))
    if total <= 0:
        raise ValueError("schedule weights must have a positive sum")
    out: list[Decimal] = []
    acc = Decimal(0)
    for x in w[:-1]:
        acc += x
        out.append(inst.round_quantity(quantity * acc / total))
    out.append(quantity)
    return out


class VolumeProfile:
    """Average volume per symbol at each time of day, from the bars seen so far."""

    def __init__(self, n_symbols: int, bar_seconds: int) -> None:
        self._n = n_symbols
        self._bar_ns = bar_seconds * 1_000_000_000
        self._sum: dict[int, np.ndarray] = {}
        self._count: dict[int, np.ndarray] = {}

    @staticmethod
    def _bucket(ts: int) -> int:
        return int(ts % (86_400 * 1_000_000_000))

    def add(self, ts: int, volume: np.ndarray) -> None:
        b = self._bucket(ts)
        if b not in self._sum:
            self._sum[b] = np.zeros(self._n)
            self._count[b] = np.zeros(self._n)
        ok = np.isfinite(volume) & (volume >= 0)
        self._sum[b][ok] += volume[ok]
        self._count[b][ok] += 1

    def expected(self, i: int, ts: int) -> float:
        """Average volume of symbol ``i`` at the time of day of ``ts`` over the bars added so
        far (units); NaN when none was seen at that time of day."""
        b = self._bucket(ts)
        c = self._count.get(b)
        if c is None or c[i] <= 0:
            return float("nan")
        return float(self._sum[b][i] / c[i])

    def weights(self, i: int, start_ts: int, bars: int) -> list[float]:
        """Expected volume of symbol ``i`` over ``bars`` bars from ``start_ts``; bars with no
        history get the average of the others (all equal when nothing is known)."""
        expected = []
        for k in range(bars):
            b = self._bucket(start_ts + k * self._bar_ns)
            c = self._count.get(b)
            expected.append(float(self._sum[b][i] / c[i]) if c is not None and c[i] > 0 else float("nan"))
        arr = np.array(expected)
        known = np.isfinite(arr) & (arr > 0)
        if not known.any():
            return [1.0] * bars
        arr[~known] = arr[known].mean()
        return [float(x) for x in arr]


def slice_quantity(
    params: AlgoBrokerParams,
    *,
    unsent: Decimal,
    sent: Decimal,
    bar: int,
    schedule: Sequence[Decimal] | None,
    volume: float,
    child_open: bool,
    inst: Instrument,
) -> Decimal:
    """Units to send at ``bar`` (0 = first bar after acceptance).

    :param unsent: units of the parent not yet sent to any venue.
    :param sent: units sent so far (net of slices the venues rejected).
    :param schedule: TWAP/VWAP cumulative schedule (see :func:`cumulative_schedule`).
    :param volume: volume forecast for the bar, units (POV): observed before the bar trades,
        never the bar's own volume (see the module docstring).
    :param child_open: whether a child of this parent is still working (iceberg).
    """
    if unsent <= 0:
        return Decimal(0)
    algo = params.algorithm
    if algo == "direct":
        return unsent
    if algo in ("twap", "vwap"):
        assert schedule is not None
        target = schedule[min(bar, len(schedule) - 1)]
        return max(min(target - sent, unsent), Decimal(0))
    if algo == "pov":
        if not np.isfinite(volume) or volume <= 0:
            return Decimal(0)
        allowed = inst.round_quantity(Decimal(repr(params.participation)) * Decimal(repr(float(volume))))
        return min(allowed, unsent)
    # iceberg: one visible slice at a time
    if child_open:
        return Decimal(0)
    assert params.display_qty is not None
    return min(params.display_qty, unsent)
