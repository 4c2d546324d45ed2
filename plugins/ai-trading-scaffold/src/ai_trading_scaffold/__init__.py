"""``ai-trading new-plugin``: a new plugin distribution from the project's template."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .generate import ROLES, generate_plugin, template_path

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ROLES": ".generate",
        "generate_plugin": ".generate",
        "template_path": ".generate",
    },
)

__all__ = ["ROLES", "generate_plugin", "template_path"]
