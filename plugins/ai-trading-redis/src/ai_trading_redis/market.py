"""Market-data caching, live events and heartbeats on top of :class:`RedisCache`.

Keys (``prefix`` defaults to ``ai_trading``)::

    <prefix>:bars:<timeframe>:<name>               BarPanel (codec.encode_panel), TTL bar_ttl
    <prefix>:indicator:<timeframe>:<name>:<symbol>  NumPy array (codec.encode_array), TTL indicator_ttl
    <prefix>:quote:<symbol>                        JSON {"bid", "ask", "last", "timestamp"}, TTL quote_ttl
    <prefix>:heartbeat:<process>                   ISO-8601 UTC time of the last beat, TTL heartbeat_ttl
                                                   (or the JSON heartbeat of ai-trading-watchdog)

Channels: ``<prefix>:events:<kind>`` carry one JSON object per message (``order``, ``fill``,
or any kind given to :meth:`RedisMarketCache.publish_event`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy.typing as npt
from pydantic import BaseModel

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import DataError
from ai_trading_core.market import BarPanel
from ai_trading_core.models import Fill, Order

from .cache import RedisCache
from .codec import decode_array, decode_panel, encode_array, encode_panel


class RedisMarketCache(RedisCache):
    # ------------------------------------------------------------------ bars and indicators
    def set_bars(self, name: str, panel: BarPanel, ttl_seconds: float | None = None) -> None:
        """Cache ``panel`` under ``name`` (e.g. a universe name); default TTL ``bar_ttl``."""
        self.set(
            self.key("bars", panel.timeframe.value, name),
            encode_panel(panel),
            ttl_seconds if ttl_seconds is not None else self.params.bar_ttl,
        )

    def get_bars(self, name: str, timeframe: Timeframe | str) -> BarPanel | None:
        data = self.get(self.key("bars", Timeframe.parse(str(timeframe)).value, name))
        return None if data is None else _decoded(decode_panel, data)

    def set_indicator(
        self,
        name: str,
        symbol: str,
        timeframe: Timeframe | str,
        values: npt.NDArray[Any],
        ttl_seconds: float | None = None,
    ) -> None:
        self.set(
            self.key("indicator", Timeframe.parse(str(timeframe)).value, name, symbol),
            encode_array(values),
            ttl_seconds if ttl_seconds is not None else self.params.indicator_ttl,
        )

    def get_indicator(self, name: str, symbol: str, timeframe: Timeframe | str) -> npt.NDArray[Any] | None:
        data = self.get(self.key("indicator", Timeframe.parse(str(timeframe)).value, name, symbol))
        return None if data is None else _decoded(decode_array, data)

    # ------------------------------------------------------------------ quotes
    def set_quote(
        self,
        symbol: str,
        timestamp: datetime,
        last: float,
        bid: float | None = None,
        ask: float | None = None,
    ) -> None:
        """The latest quote of ``symbol`` (prices in currency per unit); TTL ``quote_ttl``."""
        body = {"symbol": symbol, "timestamp": timestamp.isoformat(), "last": last, "bid": bid, "ask": ask}
        self.set(self.key("quote", symbol), json.dumps(body).encode(), self.params.quote_ttl)

    def get_quote(self, symbol: str) -> dict[str, Any] | None:
        data = self.get(self.key("quote", symbol))
        if data is None:
            return None
        quote: dict[str, Any] = json.loads(data)
        quote["timestamp"] = datetime.fromisoformat(quote["timestamp"])
        return quote

    # ------------------------------------------------------------------ heartbeats
    def heartbeat(self, process: str) -> None:
        """Mark ``process`` alive now; the key expires after ``heartbeat_ttl`` seconds."""
        self.set(
            self.key("heartbeat", process), self._clock.now().isoformat().encode(), self.params.heartbeat_ttl
        )

    def last_heartbeat(self, process: str) -> datetime | None:
        """When ``process`` last beat; None when the key is missing (expired), foreign, or Redis
        is down. Reads both forms of the key: the ISO time :meth:`heartbeat` writes and the JSON
        object (``{"pid", "ts", "ts_ns", "beats"}``) of the watchdog plugin's ``heartbeat``
        risk check."""
        data = self.get(self.key("heartbeat", process))
        return None if data is None else _decoded(_heartbeat_time, data)

    # ------------------------------------------------------------------ live events
    def channel(self, kind: str) -> str:
        return self.key("events", kind)

    def publish_event(self, kind: str, body: BaseModel | dict[str, Any]) -> None:
        payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        self.publish(self.channel(kind), json.dumps(payload, separators=(",", ":"), default=str).encode())

    def publish_order(self, order: Order) -> None:
        self.publish_event("order", order)

    def publish_fill(self, fill: Fill) -> None:
        self.publish_event("fill", fill)


def _heartbeat_time(data: bytes) -> datetime:
    text = data.decode("utf-8")
    if text.startswith("{"):
        text = json.loads(text)["ts"]
    return datetime.fromisoformat(text)


def _decoded(decode: Any, data: bytes) -> Any:
    try:
        return decode(data)
    except (DataError, ValueError, KeyError, TypeError) as exc:  # a foreign or truncated value is a miss, not a crash
        del exc
        return None


__all__ = ["RedisMarketCache"]
