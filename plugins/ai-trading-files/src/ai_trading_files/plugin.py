"""Registers the ``files`` data source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

from .params import FilesParams

if TYPE_CHECKING:
    from .source import FileDataSource
    from ai_trading_core.registry import BuildContext, DataSourceRegistry


def _files(params: FilesParams, ctx: BuildContext) -> FileDataSource:
    from .source import FileDataSource  # pandas: imported when the source is built

    # a relative path is the config file's neighbour, wherever ai-trading is started from
    return FileDataSource(params.model_copy(update={"path": ctx.resolve_path(params.path)}))


@hookimpl
def ai_trading_register_data_sources(registry: DataSourceRegistry) -> None:
    registry.register(
        "files", _files, params=FilesParams,
        description="OHLCV bars from CSV or Parquet files (one file or one per symbol), strictly validated",
    )
