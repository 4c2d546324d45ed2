"""Live events for the dashboard: a bounded, thread-safe buffer fed in process (observer
hooks of the running engine) or from Redis pub/sub (``<prefix>:events:<kind>``, as the
``redis`` cache component publishes them)."""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from loguru import logger


class EventBuffer:
    """The last ``capacity`` events, each ``{"seq", "kind", "data"}`` with an increasing
    sequence number, so a browser asks only for what it has not seen."""

    def __init__(self, capacity: int = 5000) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._seq = 0

    def push(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            self._events.append({"seq": self._seq, "kind": kind, "data": data})

    def since(self, seq: int) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._events if e["seq"] > seq]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq


class RedisEventFeed:
    """Subscribes to ``<prefix>:events:*`` and pushes every JSON message into a buffer, on a
    daemon thread started by :meth:`start` and ended by :meth:`stop`."""

    def __init__(
        self, buffer: EventBuffer, url: str = "redis://127.0.0.1:6379/0", prefix: str = "ai_trading"
    ) -> None:
        import redis

        self.buffer = buffer
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=5.0, socket_connect_timeout=2.0)
        self._pubsub: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self._pubsub.psubscribe(f"{self.prefix}:events:*")
        self._thread = threading.Thread(target=self._run, name="dashboard-redis-feed", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        head = f"{self.prefix}:events:"
        while not self._stop.is_set():
            try:
                message = self._pubsub.get_message(timeout=0.2)
            except Exception as exc:  # noqa: BLE001 - an outage must not kill the feed thread
                logger.warning("dashboard redis feed: {}", exc)
                self._stop.wait(1.0)
                continue
            if not message or message.get("type") != "pmessage":
                continue
            channel = (
                message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            )
            try:
                data = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            self.buffer.push(channel.removeprefix(head), data if isinstance(data, dict) else {"value": data})

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._pubsub is not None:
            self._pubsub.close()
        self.client.close()
