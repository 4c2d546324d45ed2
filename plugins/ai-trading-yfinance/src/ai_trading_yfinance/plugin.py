"""Registers the ``yfinance`` data source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl
from ai_trading_core.registry import BuildContext, DataSourceRegistry

from .config import YFinanceParams

if TYPE_CHECKING:
    from .data import YFinanceSource


def _source(params: YFinanceParams, ctx: BuildContext) -> YFinanceSource:
    from .data import YFinanceSource  # yfinance and pandas: imported when the source is built

    return YFinanceSource(params, cache_dir=ctx.state_dir / "yfinance-cache", clock=ctx.clock)


@hookimpl
def ai_trading_register_data_sources(registry: DataSourceRegistry) -> None:
    registry.register(
        "yfinance",
        _source,
        params=YFinanceParams,
        description="Yahoo Finance daily and intraday bars through yfinance, cached as parquet "
        "(auto_adjust: split- and dividend-adjusted, or traded prices)",
    )
