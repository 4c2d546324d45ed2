"""The ``files`` data source: OHLCV bars from CSV and Parquet files, strictly validated."""

from __future__ import annotations

from .params import FilesParams
from .source import FileDataSource

__all__ = ["FileDataSource", "FilesParams"]
