"""Pre-trade portfolio limits for ai-trading: exposures, leverage, drawdown, concentration,
VaR and CVaR (historical and parametric), correlation clusters; and a live ``RiskMonitor``."""

from __future__ import annotations

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
