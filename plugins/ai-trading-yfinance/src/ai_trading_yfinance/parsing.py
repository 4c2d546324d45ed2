"""Conversion of the DataFrames ``yfinance.download`` returns into a ``BarPanel``.

yfinance's shape (group_by="column", multi_level_index=True): columns are a MultiIndex
(Price, Ticker) with Price in Open/High/Low/Close/Volume (plus Adj Close when
``auto_adjust=False``); daily rows have a naive DatetimeIndex named "Date" (the exchange's
local date), intraday rows a tz-aware index in the exchange's timezone named "Datetime".
A ticker Yahoo does not know comes back as all-NaN columns (or an empty frame).

Bars are labelled by their open time in UTC: a daily bar of 2024-01-02 is stamped
2024-01-02T00:00Z; an intraday bar keeps its open instant, converted to UTC.

NaN rule: a row where all of a symbol's Open/High/Low/Close are NaN means "no bar" (the
symbol gets NaN there; timestamps where no symbol has a bar are dropped); a row with only
some of them NaN is a ``DataError`` naming the symbol and the row. A missing volume on a
priced row is read as 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ai_trading_core.enums import AssetClass, Timeframe
from ai_trading_core.errors import DataError, UnknownSymbolError
from ai_trading_core.market import BarPanel
from ai_trading_core.models import Instrument

PRICES = ("Open", "High", "Low", "Close")
FIELDS = (*PRICES, "Volume")


def symbol_frames(frame: pd.DataFrame | None, symbols: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """One frame per symbol with yfinance's Price columns, from yfinance's download frame."""
    if frame is None or frame.empty:
        raise UnknownSymbolError(
            f"yfinance: no data for {', '.join(symbols)} (unknown tickers or empty range)"
        )
    cols = frame.columns
    out: dict[str, pd.DataFrame] = {}
    if isinstance(cols, pd.MultiIndex):
        price_level = 0 if "Close" in cols.get_level_values(0) else 1
        ticker_level = 1 - price_level
        tickers = set(cols.get_level_values(ticker_level))
        for s in symbols:
            if s not in tickers:
                raise UnknownSymbolError(f"yfinance: {s} is missing from the download")
            out[s] = frame.xs(s, axis=1, level=ticker_level)
    elif len(symbols) == 1:
        out[symbols[0]] = frame
    else:
        raise DataError("yfinance: a download of several tickers without a (Price, Ticker) column index")
    for s, f in out.items():
        missing = [c for c in FIELDS if c not in f.columns]
        if missing:
            raise DataError(f"yfinance: {s}: missing column(s) {', '.join(missing)}")
    return out


def utc_index(index: pd.Index, timeframe: Timeframe, symbol: str) -> pd.DatetimeIndex:
    """Bar open times in UTC. Daily rows keep their exchange-local date at 00:00Z."""
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"yfinance: {symbol}: index is {type(index).__name__}, expected dates")
    if timeframe is Timeframe.D1:
        local = index.tz_localize(None) if index.tz is not None else index
        return pd.DatetimeIndex(local.normalize()).tz_localize("UTC")
    if index.tz is None:
        raise DataError(f"yfinance: {symbol}: intraday timestamps without a timezone")
    return index.tz_convert("UTC")


def frames_to_panel(
    frames: dict[str, pd.DataFrame], symbols: tuple[str, ...], timeframe: Timeframe
) -> BarPanel:
    """A (T, N) panel from per-symbol yfinance frames, by the NaN rule of this module."""
    cleaned: dict[str, pd.DataFrame] = {}
    for s in symbols:
        f = frames[s]
        f = f.set_axis(utc_index(f.index, timeframe, s), axis=0)
        prices = f[list(PRICES)].astype("float64")
        empty = prices.isna().all(axis=1)
        partial = prices.isna().any(axis=1) & ~empty
        if partial.any():
            at = prices.index[partial.to_numpy()][0]
            raise DataError(f"yfinance: {s} at {at.isoformat()}: some of open/high/low/close are missing")
        f = f[~empty.to_numpy()]
        if f.empty:
            raise UnknownSymbolError(f"yfinance: no bars for {s} (unknown ticker or empty range)")
        if f.index.has_duplicates:
            raise DataError(
                f"yfinance: {s}: duplicate timestamp {f.index[f.index.duplicated()][0].isoformat()}"
            )
        bad = (f[list(PRICES)] <= 0).any(axis=1)
        if bad.any():
            raise DataError(f"yfinance: {s} at {f.index[bad.to_numpy()][0].isoformat()}: non-positive price")
        cleaned[s] = f
    index = cleaned[symbols[0]].index
    for s in symbols[1:]:
        index = index.union(cleaned[s].index)
    index = index.sort_values()
    arrays: dict[str, np.ndarray] = {}
    for field in FIELDS:
        cols = [cleaned[s][field].astype("float64").reindex(index).to_numpy() for s in symbols]
        arr = np.column_stack(cols) if cols else np.empty((len(index), 0))
        if field == "Volume":
            priced = np.column_stack([cleaned[s]["Close"].reindex(index).notna().to_numpy() for s in symbols])
            arr = np.where(priced & np.isnan(arr), 0.0, arr)
        arrays[field.lower()] = np.ascontiguousarray(arr, dtype=np.float64)
    stamps = index.as_unit("ns").asi8.astype(np.int64)
    return BarPanel(
        symbols=symbols,
        timestamps=stamps,
        timeframe=timeframe,
        instruments={s: Instrument(symbol=s, asset_class=_asset_class(s)) for s in symbols},
        source="yfinance",
        **arrays,
    )


def _asset_class(symbol: str) -> AssetClass:
    if symbol.startswith("^"):
        return AssetClass.INDEX
    if symbol.endswith("=X"):
        return AssetClass.FX
    if symbol.endswith("=F"):
        return AssetClass.FUTURE
    return AssetClass.EQUITY
