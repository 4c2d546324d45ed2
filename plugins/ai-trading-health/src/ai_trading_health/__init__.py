"""Health endpoints for ai-trading runs: liveness and readiness."""

from .monitor import HealthMonitor, HealthReport
from .params import HealthParams
from .probes import directory_writable, sql_select_one

__all__ = ["HealthMonitor", "HealthParams", "HealthReport", "directory_writable", "sql_select_one"]
