"""Registers the ``redis`` cache component.

The component object itself carries the observer hooks ``ai_trading_order`` and
``ai_trading_fill`` (publishing JSON to ``<prefix>:events:order|fill``) and, in paper and live
runs, the live run feed (:mod:`.feed`): run registry, per-step equity, positions, orders,
fills, alerts, risk state, heartbeats. Nothing is global:
the hooks fire only when the engine registers the configured component object with the
run's plugin manager (components that have ``ai_trading_*`` hook implementations), and stop
when it is unregistered at the end of the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ai_trading_core import hookimpl

if TYPE_CHECKING:
    from ai_trading_core.registry import CacheRegistry


@hookimpl
def ai_trading_register_caches(registry: CacheRegistry) -> None:
    registry.register(
        "redis",
        # by reference: the Redis client is imported when a run builds the cache
        "ai_trading_redis.component:build_redis_cache",
        params="ai_trading_redis.cache:RedisCacheParams",
        description="Redis cache (bars, indicators, quotes with TTLs), live order/fill pub/sub, heartbeats; "
        "an outage degrades to no cache",
    )


def __getattr__(name: str) -> Any:
    # ``from ai_trading_redis.plugin import RedisCacheComponent`` keeps working, imported on use
    if name == "RedisCacheComponent":
        from .component import RedisCacheComponent

        return RedisCacheComponent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
