"""The Python API of the original design, in one import (see ``docs/python-api.md``)::

    from ai_trading_core.api import (
        load_config, setup_institutional_logging, RiskMonitor, PositionSizer, KellyCriterion,
        PerformanceCalculator, MonitoringDashboard, CircuitBreaker, TechnicalStrategy,
        StrategyType, TimeFrame, RiskLevel, Signal, run_config,
    )

Every name is the object of the plugin that owns it (listed in :data:`SOURCES`), imported on
first use, so the kernel does not depend on any plugin: a name whose plugin is not installed
raises ``ImportError`` naming the distribution to install.
"""

from __future__ import annotations

import importlib
from typing import Any

#: name -> (module, distribution that provides it)
SOURCES: dict[str, tuple[str, str]] = {
    # kernel
    "load_config": ("ai_trading_core.config", "ai-trading-core"),
    "config_from_dict": ("ai_trading_core.config", "ai-trading-core"),
    "run_config": ("ai_trading_core.runner", "ai-trading-core"),
    "create_plugin_host": ("ai_trading_core.plugins", "ai-trading-core"),
    "setup_institutional_logging": ("ai_trading_core.institutional_logging", "ai-trading-core"),
    "AuditLogger": ("ai_trading_core.institutional_logging", "ai-trading-core"),
    "Signal": ("ai_trading_core.models", "ai-trading-core"),
    "StrategyPerformance": ("ai_trading_core.models", "ai-trading-core"),
    "Position": ("ai_trading_core.models", "ai-trading-core"),
    "StrategyType": ("ai_trading_core.enums", "ai-trading-core"),
    "TimeFrame": ("ai_trading_core.enums", "ai-trading-core"),
    "RiskLevel": ("ai_trading_core.enums", "ai-trading-core"),
    # plugins
    "RiskMonitor": ("ai_trading_risk_limits.monitor_api", "ai-trading-risk-limits"),
    "SignalCheck": ("ai_trading_risk_limits.monitor_api", "ai-trading-risk-limits"),
    "PositionSizer": ("ai_trading_kelly.api", "ai-trading-kelly"),
    "KellyCriterion": ("ai_trading_kelly", "ai-trading-kelly"),
    "PerformanceCalculator": ("ai_trading_analytics", "ai-trading-analytics"),
    "MonitoringDashboard": ("ai_trading_dashboard", "ai-trading-dashboard"),
    "CircuitBreaker": ("ai_trading_circuit_breaker", "ai-trading-circuit-breaker"),
    "TechnicalStrategy": ("ai_trading_technical.seed", "ai-trading-technical"),
    "strategy_plugin": ("ai_trading_technical.seed", "ai-trading-technical"),
}

__all__ = sorted(SOURCES)


def __getattr__(name: str) -> Any:
    try:
        module_name, distribution = SOURCES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ImportError(f"{name} comes from the {distribution} plugin: pip install {distribution}") from exc
    value = getattr(module, name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
