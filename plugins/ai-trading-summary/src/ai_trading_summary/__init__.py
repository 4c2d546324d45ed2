"""Basic run summary reporter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .reporter import SummaryReporter

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SummaryReporter": ".reporter",
    },
)

__all__ = ["SummaryReporter"]
