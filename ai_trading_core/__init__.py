"""ai-trading kernel: hook specs, protocols, models, engine, configuration and CLI.

Plugins import the markers from here::

    from ai_trading_core import hookimpl
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "ai_trading"
"""The pluggy project name, the entry-point group and the hook prefix."""

__version__ = "0.1.0"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "__version__", "hookimpl", "hookspec"]
