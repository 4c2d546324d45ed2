"""Feeds: where the engine's slices come from. A backtest iterates a panel synchronously;
paper over replay and live iterate an async feed through the same :class:`Engine.step`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from .market import BarPanel, MarketSlice


class ReplayFeed:
    """Replays a historical panel as an asynchronous feed, as a live source would deliver it.

    :param speed: replay speed as a multiple of real time (60 = one minute of bars per
        second); 0 replays as fast as possible, still yielding to the event loop per bar.
    """

    def __init__(self, panel: BarPanel, *, speed: float = 0.0) -> None:
        self.panel = panel
        self.speed = speed

    async def stream(self) -> AsyncIterator[MarketSlice]:
        ts = self.panel.timestamps
        for i in range(len(ts)):
            if self.speed > 0 and i:
                await asyncio.sleep((int(ts[i]) - int(ts[i - 1])) / 1e9 / self.speed)
            else:
                await asyncio.sleep(0)
            yield self.panel.slice_at(i)
