"""Monitoring dashboard for ai-trading (Dash): portfolio, risk, strategy attribution, trade
analytics and system health over stored runs and a running engine's live events."""

from .app import create_app
from .auth import BasicAuth, hash_password, is_loopback, verify_password
from .compat import MonitoringDashboard
from .feed import LiveRun, RedisRunFeed
from .killswitch import halt_request_path, request_halt
from .live import EventBuffer, RedisEventFeed
from .redact import redact
from .security import LoginThrottle
from .server import DashboardServer
from .sources import JsonRunSource, RunSource, StorageRunSource
from .views import RunView, build_view

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
