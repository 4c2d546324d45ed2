"""Alpaca adapter: the ``alpaca`` broker (paper and live accounts) and the ``alpaca_bars``
data source, built on alpaca-py."""

from .execution import AlpacaBroker
from .feeds import StaleFeedDetector

__all__ = ["AlpacaBroker", "StaleFeedDetector"]
