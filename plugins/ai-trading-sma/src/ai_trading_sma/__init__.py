"""SMA crossover strategy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .strategy import SmaCrossover, SmaCrossoverParams

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SmaCrossover": ".strategy",
        "SmaCrossoverParams": ".strategy",
    },
)

__all__ = ["SmaCrossover", "SmaCrossoverParams"]
