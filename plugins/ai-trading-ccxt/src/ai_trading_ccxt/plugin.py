"""Registers the ``ccxt`` broker and the ``ccxt_ohlcv`` data source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl
from ai_trading_core.registry import BrokerRegistry, BuildContext, DataSourceRegistry

from .config import CcxtBrokerParams, CcxtOhlcvParams, resolve_credentials

if TYPE_CHECKING:
    from .data import CcxtOhlcvSource
    from .execution import CcxtBroker

# ccxt itself is imported when a component is built, not when the plugin loads.


def _broker(params: CcxtBrokerParams, ctx: BuildContext) -> CcxtBroker:
    from .execution import CcxtBroker

    key, secret, password = resolve_credentials(params, ctx, required=True)
    return CcxtBroker(params, key, secret, password, alert=ctx.alert)


def _ohlcv(params: CcxtOhlcvParams, ctx: BuildContext) -> CcxtOhlcvSource:
    from .data import CcxtOhlcvSource

    return CcxtOhlcvSource(params, clock=ctx.clock)


@hookimpl
def ai_trading_register_brokers(registry: BrokerRegistry) -> None:
    registry.register(
        "ccxt",
        _broker,
        params=CcxtBrokerParams,
        description="Spot account at a ccxt exchange: client order ids, lookup after timeouts, "
        "fills once by trade id, balances reconciled",
    )


@hookimpl
def ai_trading_register_data_sources(registry: DataSourceRegistry) -> None:
    registry.register(
        "ccxt_ohlcv",
        _ohlcv,
        params=CcxtOhlcvParams,
        description="Exchange candles through ccxt (paginated by since/limit, rate limited)",
    )
