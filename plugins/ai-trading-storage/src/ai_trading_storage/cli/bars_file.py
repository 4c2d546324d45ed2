"""Reading and writing bar files for ``ai-trading data import|export``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ai_trading_core.errors import DataError
from ai_trading_core.market import BarPanel

from ..ingest import BarColumns

REQUIRED = ("timestamp", "open", "high", "low", "close")


def read_bar_file(path: Path, symbol: str | None, assume_utc: bool = False) -> list[BarColumns]:
    """Bars from CSV or Parquet with columns timestamp, open, high, low, close[, volume][, symbol].

    ``symbol`` is required when the file has no symbol column. Timestamps must carry an
    offset unless ``assume_utc``. Bad rows raise DataError naming the file and the row.
    """
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read bar file: {exc}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    if "symbol" not in frame.columns:
        if not symbol:
            raise DataError(f"{path}: no symbol column; pass --symbol")
        frame["symbol"] = symbol
    elif symbol:
        frame = frame[frame["symbol"] == symbol]
    if "volume" not in frame.columns:
        frame["volume"] = 0.0
    try:
        stamps = pd.to_datetime(frame["timestamp"], utc=False, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: unparseable timestamp: {exc}") from None
    if getattr(stamps.dt, "tz", None) is None:
        if not assume_utc:
            raise DataError(f"{path}: timestamps have no timezone offset (add one, or pass --assume-utc)")
        stamps = stamps.dt.tz_localize("UTC")
    ns = stamps.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
    prices = {
        c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64)
        for c in ("open", "high", "low", "close", "volume")
    }
    bad = (
        ~np.isfinite(prices["open"])
        | ~np.isfinite(prices["high"])
        | ~np.isfinite(prices["low"])
        | ~np.isfinite(prices["close"])
        | (prices["close"] <= 0)
        | (prices["low"] > prices["high"])
    )
    if bad.any():
        row = int(np.argmax(bad)) + 2  # header is line 1
        raise DataError(f"{path}: line {row}: missing, non-positive or inconsistent price")
    blocks = []
    symbols = frame["symbol"].astype(str).to_numpy()
    for sym in pd.unique(symbols):
        sel = symbols == sym
        order = np.argsort(ns[sel], kind="stable")
        ts = ns[sel][order]
        if len(ts) > 1 and not np.all(np.diff(ts) > 0):
            raise DataError(f"{path}: duplicate timestamps for {sym}")
        blocks.append(
            BarColumns(
                str(sym), ts, *(prices[c][sel][order] for c in ("open", "high", "low", "close", "volume"))
            )
        )
    return blocks


def write_bar_file(panel: BarPanel, path: Path) -> int:
    """Long-format CSV (or Parquet by suffix): symbol, timestamp (ISO-8601 UTC), OHLCV."""
    frames = []
    for j, sym in enumerate(panel.symbols):
        ok = np.isfinite(panel.close[:, j])
        frames.append(
            pd.DataFrame(
                {
                    "symbol": sym,
                    "timestamp": pd.to_datetime(panel.timestamps[ok], utc=True),
                    "open": panel.open[ok, j],
                    "high": panel.high[ok, j],
                    "low": panel.low[ok, j],
                    "close": panel.close[ok, j],
                    "volume": panel.volume[ok, j],
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["symbol", "timestamp"])
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%f%z")
    return len(frame)
