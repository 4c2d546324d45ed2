"""The ``files`` data source: OHLCV bars from CSV and Parquet files, strictly validated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .params import FilesParams
    from .source import FileDataSource

# Imported on first use: loading the plugin must not pull in its heavy dependencies.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "FilesParams": ".params",
        "FileDataSource": ".source",
    },
)

__all__ = ["FileDataSource", "FilesParams"]
