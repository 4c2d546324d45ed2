"""The local cache of yfinance downloads.

One parquet file per symbol and request: ``<cache_dir>/<symbol>/<interval>_<start>_<end>_<adj|raw>.parquet``
(the symbol percent-encoded, so "^GSPC" and "EURUSD=X" are safe file names). It holds the
symbol's frame exactly as yfinance returned it, ``Adj Close`` included when present, so a
cache hit goes through the same parsing as a fresh download. Files are written to a
temporary name and renamed, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from ai_trading_core.errors import DataError


class DownloadCache:
    """Per-symbol parquet files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits = 0
        self.misses = 0

    def path(self, symbol: str, interval: str, start: str, end: str, auto_adjust: bool) -> Path:
        name = f"{interval}_{start}_{end}_{'adj' if auto_adjust else 'raw'}.parquet".replace(":", "")
        return self.root / quote(symbol, safe="") / name

    def get(self, path: Path) -> pd.DataFrame | None:
        if not path.exists():
            self.misses += 1
            return None
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - a damaged cache file is named and refused
            raise DataError(f"yfinance cache file {path.name} is unreadable: {exc}; delete it") from exc
        self.hits += 1
        return frame

    def put(self, path: Path, frame: pd.DataFrame) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        frame.to_parquet(tmp)
        os.replace(tmp, path)
