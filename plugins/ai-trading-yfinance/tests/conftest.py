"""Recorded Yahoo payloads at the adapter boundary: yfinance cannot be pointed at a local
server, so the tests hand ``YFinanceSource`` a stand-in for ``yfinance.download`` that
returns DataFrames in exactly the shape yfinance builds (per-ticker frames concatenated
under a (Ticker, Price) MultiIndex, levels swapped to (Price, Ticker) and sorted, as
``yfinance.multi._download`` does for group_by="column")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest


def ticker_frame(
    index: pd.DatetimeIndex, close: list[float], adjusted: bool = True, adj_ratio: float = 1.0
) -> pd.DataFrame:
    """One ticker's frame as Yahoo's chart API yields it through yfinance. ``adjusted=False``
    adds the ``Adj Close`` column (``close * adj_ratio``) that yfinance keeps then."""
    c = np.asarray(close, dtype=float)
    frame = pd.DataFrame(
        {
            "Open": c - 0.5,
            "High": c + 1.0,
            "Low": c - 1.5,
            "Close": c,
            "Volume": np.arange(len(c)) * 100 + 1000,
        },
        index=index,
    )
    if not adjusted:
        frame.insert(3, "Adj Close", c * adj_ratio)
    frame.index.name = "Date" if index.tz is None else "Datetime"
    return frame


class RecordedYahooDownload:
    """Fakes ``yfinance.download`` from recorded per-ticker frames; an unknown ticker comes
    back as all-NaN columns, as yfinance reports a failed ticker. Records every call."""

    def __init__(self, recorded: dict[str, pd.DataFrame]) -> None:
        self.recorded = recorded
        self.calls: list[dict[str, Any]] = []

    def __call__(self, tickers: list[str], **kwargs: Any) -> pd.DataFrame:
        self.calls.append({"tickers": list(tickers), **kwargs})
        known = [self.recorded[t] for t in tickers if t in self.recorded]
        if not known:
            return pd.DataFrame()
        template = known[0]
        dfs = {}
        for t in tickers:
            if t in self.recorded:
                dfs[t] = self.recorded[t]
            else:
                dfs[t] = pd.DataFrame(np.nan, index=template.index, columns=template.columns)
        data = pd.concat(dfs.values(), axis=1, sort=True, keys=dfs.keys(), names=["Ticker", "Price"])
        data.columns = data.columns.swaplevel(0, 1)
        return data.sort_index(level=0, axis=1)


@pytest.fixture
def recorded_yahoo() -> type[RecordedYahooDownload]:
    return RecordedYahooDownload


@pytest.fixture
def yahoo_frame() -> Any:
    return ticker_frame
