"""The ``redis`` cache component: the cache plus the observer hooks of the live run feed.

The object carries ``ai_trading_*`` hook implementations; the engine registers it with the run's
plugin manager for the run only. It lives apart from :mod:`.plugin` so that loading the plugin
(``ai-trading --help``, ``plugins list``) does not import the Redis client: the registration
names this module by reference and it is imported when a run builds the component.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ai_trading_core import hookimpl
from ai_trading_core.enums import RunMode
from ai_trading_core.models import Alert, Fill, Instrument, Order, RiskEvent

from .cache import RedisCacheParams
from .feed import LiveRunFeed
from .market import RedisMarketCache

if TYPE_CHECKING:
    from ai_trading_core.protocols import RiskContext
    from ai_trading_core.registry import BuildContext
    from ai_trading_core.result import RunResult, Session


class RedisCacheComponent(RedisMarketCache):
    """The cache, plus observer hooks publishing live orders and fills, and the live run
    feed when ``feed`` is given (paper and live runs unless ``live_feed = false``)."""

    def __init__(self, params: RedisCacheParams, *, feed: bool = False, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self.feed = (
            LiveRunFeed(self, maxlen=params.feed_maxlen, ttl_after_finish=params.feed_ttl) if feed else None
        )

    def describe_instruments(self, instruments: Mapping[str, Instrument]) -> None:
        if self.feed is not None:
            self.feed.describe_instruments(instruments)

    def observe_step(self, ctx: RiskContext) -> None:
        if self.feed is not None:
            self.feed.step(ctx)

    @hookimpl
    def ai_trading_session_start(self, session: Session) -> None:
        if self.feed is not None:
            self.feed.start(session)

    @hookimpl
    def ai_trading_session_finish(self, session: Session, result: RunResult) -> None:
        if self.feed is not None:
            self.feed.finish(session, result)

    @hookimpl
    def ai_trading_order(self, order: Order) -> None:
        if self.feed is not None:
            self.feed.order(order)  # publishes on <prefix>:events:order as well
        elif self.params.publish_events:
            self.publish_order(order)

    @hookimpl
    def ai_trading_fill(self, fill: Fill) -> None:
        if self.feed is not None:
            self.feed.fill(fill)
        elif self.params.publish_events:
            self.publish_fill(fill)

    @hookimpl
    def ai_trading_alert(self, alert: Alert) -> None:
        if self.feed is not None:
            self.feed.alert(alert)

    @hookimpl
    def ai_trading_risk_state(self, event: RiskEvent) -> None:
        if self.feed is not None:
            self.feed.risk_state(event)

    def close(self) -> None:
        if self.feed is not None:
            self.feed.close()
        super().close()


def build_redis_cache(params: RedisCacheParams, ctx: BuildContext) -> RedisCacheComponent:
    feed = params.live_feed if params.live_feed is not None else ctx.mode is not RunMode.BACKTEST
    return RedisCacheComponent(
        params, feed=feed and params.publish_events, alert=ctx.alert, clock=ctx.clock,
        source=ctx.component_id or "redis",
    )
