"""Stale-feed detection. A connected socket that delivers nothing for too long is treated as
down: vendor clients notice a silent socket late or never (alpaca-py: ~190 s when pings stop
being answered, never while they are), so the adapter keeps its own watch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class StaleFeedDetector:
    """Tracks the time of the last message of a feed.

    ``now`` returns seconds on any monotonic scale (injected: a test clock, or
    ``loop.time``); ``stale_after_s`` is the longest silence tolerated, in seconds.
    """

    def __init__(self, stale_after_s: float, now: Callable[[], float]) -> None:
        if stale_after_s <= 0:
            raise ValueError("stale_after_s must be positive")
        self.stale_after_s = stale_after_s
        self._now = now
        self._last = now()
        self.stale_count = 0

    def beat(self) -> None:
        """A message (or a successful connection) was seen."""
        self._last = self._now()

    def silence_s(self) -> float:
        return self._now() - self._last

    def is_stale(self) -> bool:
        return self.silence_s() > self.stale_after_s

    async def watch(
        self,
        on_stale: Callable[[], Awaitable[None]],
        poll_s: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Call ``on_stale`` each time the feed has been silent too long (then restart the
        silence count). Runs until cancelled."""
        poll = poll_s if poll_s is not None else self.stale_after_s / 4
        while True:
            await sleep(poll)
            if self.is_stale():
                self.stale_count += 1
                self.beat()
                await on_stale()
