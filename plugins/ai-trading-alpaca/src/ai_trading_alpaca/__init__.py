"""Alpaca adapter: the ``alpaca`` broker (paper and live accounts) and the ``alpaca_bars``
data source, built on alpaca-py."""

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .execution import AlpacaBroker
    from .feeds import StaleFeedDetector

__getattr__, __dir__ = lazy_exports(__name__, {"AlpacaBroker": ".execution", "StaleFeedDetector": ".feeds"})

__all__ = ["AlpacaBroker", "StaleFeedDetector"]
