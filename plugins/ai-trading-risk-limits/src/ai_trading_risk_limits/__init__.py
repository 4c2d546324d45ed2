"""Pre-trade portfolio limits for ai-trading: exposures, leverage, drawdown, concentration,
VaR and CVaR (historical and parametric), correlation clusters; and a live ``RiskMonitor``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .book import Measure, RiskBook
    from .limits import PortfolioLimits, build_portfolio_limits, lot_of
    from .measures import (
        correlation_clusters,
        historical_cvar,
        historical_var,
        parametric_cvar,
        parametric_var,
        signed_correlation_clusters,
        simple_returns,
    )
    from .monitor import RiskFigures, RiskMonitor, TradeCheck
    from .params import PortfolioLimitsParams

# SciPy (the measures) is imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Measure": ".book",
        "RiskBook": ".book",
        "PortfolioLimits": ".limits",
        "build_portfolio_limits": ".limits",
        "lot_of": ".limits",
        "correlation_clusters": ".measures",
        "historical_cvar": ".measures",
        "historical_var": ".measures",
        "parametric_cvar": ".measures",
        "parametric_var": ".measures",
        "signed_correlation_clusters": ".measures",
        "simple_returns": ".measures",
        "RiskFigures": ".monitor",
        "RiskMonitor": ".monitor",
        "TradeCheck": ".monitor",
        "PortfolioLimitsParams": ".params",
    },
)

__all__ = [
    "Measure",
    "PortfolioLimits",
    "PortfolioLimitsParams",
    "RiskBook",
    "RiskFigures",
    "RiskMonitor",
    "TradeCheck",
    "build_portfolio_limits",
    "correlation_clusters",
    "historical_cvar",
    "historical_var",
    "lot_of",
    "parametric_cvar",
    "parametric_var",
    "signed_correlation_clusters",
    "simple_returns",
]
