"""Monitoring dashboard for ai-trading (Dash): portfolio, risk, strategy attribution, trade
analytics and system health over stored runs and a running engine's live events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .app import create_app
    from .auth import BasicAuth, hash_password, is_loopback, verify_password
    from .compat import MonitoringDashboard
    from .feed import LiveRun, RedisRunFeed
    from .killswitch import halt_request_path, request_halt
    from .live import EventBuffer, RedisEventFeed
    from .security import LoginThrottle
    from .server import DashboardServer
    from .sources import JsonRunSource, RunSource, StorageRunSource
    from .views import RunView, build_view

# ``redact`` shares its submodule's name, which the import system would set over a lazy export.
from .redact import redact  # noqa: E402 - light (the kernel's redaction only)

# Dash, Flask and plotly are imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "create_app": ".app",
        "BasicAuth": ".auth",
        "hash_password": ".auth",
        "is_loopback": ".auth",
        "verify_password": ".auth",
        "MonitoringDashboard": ".compat",
        "LiveRun": ".feed",
        "RedisRunFeed": ".feed",
        "halt_request_path": ".killswitch",
        "request_halt": ".killswitch",
        "EventBuffer": ".live",
        "RedisEventFeed": ".live",
        "LoginThrottle": ".security",
        "DashboardServer": ".server",
        "JsonRunSource": ".sources",
        "RunSource": ".sources",
        "StorageRunSource": ".sources",
        "RunView": ".views",
        "build_view": ".views",
    },
)

__all__ = [
    "BasicAuth",
    "DashboardServer",
    "EventBuffer",
    "JsonRunSource",
    "LiveRun",
    "LoginThrottle",
    "MonitoringDashboard",
    "RedisEventFeed",
    "RedisRunFeed",
    "RunSource",
    "RunView",
    "StorageRunSource",
    "build_view",
    "create_app",
    "halt_request_path",
    "hash_password",
    "is_loopback",
    "redact",
    "request_halt",
    "verify_password",
]
