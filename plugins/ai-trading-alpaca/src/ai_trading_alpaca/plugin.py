"""Registers the ``alpaca`` broker and the ``alpaca_bars`` data source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl
from ai_trading_core.registry import BrokerRegistry, BuildContext, DataSourceRegistry

from .config import AlpacaBarsParams, AlpacaBrokerParams, resolve_credentials

if TYPE_CHECKING:
    from .data import AlpacaBarsSource
    from .execution import AlpacaBroker

# alpaca-py, pandas and the websocket stack are imported when a component is built, not when
# the plugin loads (ai-trading --help, plugins list).


def _broker(params: AlpacaBrokerParams, ctx: BuildContext) -> AlpacaBroker:
    from .execution import AlpacaBroker

    key, secret = resolve_credentials(params, ctx)
    return AlpacaBroker(params, key, secret, alert=ctx.alert)


def _bars(params: AlpacaBarsParams, ctx: BuildContext) -> AlpacaBarsSource:
    from .data import AlpacaBarsSource

    key, secret = resolve_credentials(params, ctx)
    return AlpacaBarsSource(
        params, key, secret, clock=ctx.clock, alert=ctx.alert, name=ctx.component_id or "alpaca_bars"
    )


@hookimpl
def ai_trading_register_brokers(registry: BrokerRegistry) -> None:
    registry.register(
        "alpaca",
        _broker,
        params=AlpacaBrokerParams,
        description="Alpaca paper/live account: client order ids, lookup after timeouts, fills once, "
        "positions reconciled",
    )


@hookimpl
def ai_trading_register_data_sources(registry: DataSourceRegistry) -> None:
    registry.register(
        "alpaca_bars",
        _bars,
        params=AlpacaBarsParams,
        description="Alpaca stock or crypto bars: history over REST, and in paper/live runs minute bars "
        "streamed from the market data websocket (gaps backfilled, stale feed recycled, market hours)",
    )
