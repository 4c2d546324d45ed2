"""pandas views of a case for the single-asset peers (imported only in the peers' venv)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from benchmarks.data import OHLCV


def symbol_frames(case: OHLCV, columns: tuple[str, str, str, str, str]) -> Iterator[pd.DataFrame]:
    """One OHLCV DataFrame per symbol with a naive UTC DatetimeIndex; ``columns`` names the
    open, high, low, close and volume columns as the peer expects them."""
    index = pd.to_datetime(case.timestamps, utc=True).tz_localize(None)
    fields = (case.open, case.high, case.low, case.close, case.volume)
    for j in range(case.shape[1]):
        yield pd.DataFrame({name: arr[:, j] for name, arr in zip(columns, fields, strict=True)}, index=index)
