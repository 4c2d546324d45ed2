"""Builders for sizing contexts over a real ring-buffered History."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ai_trading_core.market import BarPanel, History
from ai_trading_core.protocols import SizingContext
from ai_trading_core.testing import random_walk_panel

ContextAt = Callable[..., SizingContext]


def history_through(panel: BarPanel, last_row: int, capacity: int = 400) -> History:
    """A History holding the panel's rows up to and including ``last_row``."""
    history = History(capacity, len(panel.symbols))
    for i in range(last_row + 1):
        history.push(panel.slice_at(i))
    return history


def context_at(panel: BarPanel, history: History, row: int, equity: float = 1_000_000.0) -> SizingContext:
    prices = panel.close[row].copy()
    return SizingContext(
        timestamp=int(panel.timestamps[row]),
        symbols=panel.symbols,
        prices=prices,
        equity=equity,
        cash=equity,
        positions=np.zeros(len(panel.symbols)),
        history=history,
        instruments=[panel.instrument(s) for s in panel.symbols],
        timeframe=panel.timeframe,
    )


@pytest.fixture(name="history_through")
def history_through_fixture() -> Callable[..., History]:
    return history_through


@pytest.fixture(name="context_at")
def context_at_fixture() -> ContextAt:
    return context_at


@pytest.fixture(scope="module")
def panel() -> BarPanel:
    """Four symbols with very different volatilities (1 % to 4 % per bar)."""
    base = [
        random_walk_panel(400, 1, seed=10 + k, volatility=v, symbols=[f"V{k}"])
        for k, v in enumerate((0.01, 0.02, 0.03, 0.04))
    ]
    return BarPanel(
        symbols=tuple(p.symbols[0] for p in base),
        timestamps=base[0].timestamps,
        **{f: np.hstack([getattr(p, f) for p in base]) for f in ("open", "high", "low", "close", "volume")},
        timeframe=base[0].timeframe,
        instruments={p.symbols[0]: p.instruments[p.symbols[0]] for p in base},
    )
