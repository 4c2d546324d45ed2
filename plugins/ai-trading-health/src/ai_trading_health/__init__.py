"""Health endpoints for ai-trading runs: liveness and readiness."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .monitor import HealthMonitor, HealthReport
    from .params import HealthParams
    from .probes import directory_writable, sql_select_one

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "HealthMonitor": ".monitor",
        "HealthReport": ".monitor",
        "HealthParams": ".params",
        "directory_writable": ".probes",
        "sql_select_one": ".probes",
    },
)

__all__ = ["HealthMonitor", "HealthParams", "HealthReport", "directory_writable", "sql_select_one"]
