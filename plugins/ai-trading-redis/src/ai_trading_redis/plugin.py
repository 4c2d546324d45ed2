"""Registers the ``redis`` cache component.

The component object itself carries the observer hooks ``ai_trading_order`` and
``ai_trading_fill`` (publishing JSON to ``<prefix>:events:order|fill``). Nothing is global:
the hooks fire only when the engine registers the configured component object with the
run's plugin manager (components that have ``ai_trading_*`` hook implementations), and stop
when it is unregistered at the end of the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl
from ai_trading_core.models import Fill, Order

from .cache import RedisCacheParams
from .market import RedisMarketCache

if TYPE_CHECKING:
    from ai_trading_core.registry import BuildContext, CacheRegistry


class RedisCacheComponent(RedisMarketCache):
    """The cache, plus observer hooks publishing live orders and fills."""

    @hookimpl
    def ai_trading_order(self, order: Order) -> None:
        if self.params.publish_events:
            self.publish_order(order)

    @hookimpl
    def ai_trading_fill(self, fill: Fill) -> None:
        if self.params.publish_events:
            self.publish_fill(fill)


def _redis(params: RedisCacheParams, ctx: BuildContext) -> RedisCacheComponent:
    return RedisCacheComponent(params, alert=ctx.alert, clock=ctx.clock, source=ctx.component_id or "redis")


@hookimpl
def ai_trading_register_caches(registry: CacheRegistry) -> None:
    registry.register(
        "redis",
        _redis,
        params=RedisCacheParams,
        description="Redis cache (bars, indicators, quotes with TTLs), live order/fill pub/sub, heartbeats; "
        "an outage degrades to no cache",
    )
