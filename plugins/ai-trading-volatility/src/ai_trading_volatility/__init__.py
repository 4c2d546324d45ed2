"""Volatility-aware position sizing for ai-trading: volatility targeting (EWMA or GARCH),
ATR risk sizing, and risk parity on a Ledoit-Wolf covariance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .atr_sizer import AtrParams, AtrSizer
    from .covariance import ledoit_wolf
    from .estimators import ewma_variance, lambda_from_halflife, log_returns, wilder_atr
    from .risk_budget import erc_weights, inverse_vol_weights, risk_contributions
    from .risk_parity import RiskParityParams, RiskParitySizer
    from .vol_target import VolTargetParams, VolTargetSizer

# Imported on first use: loading the plugin must not pull in its heavy dependencies.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AtrParams": ".atr_sizer",
        "AtrSizer": ".atr_sizer",
        "ledoit_wolf": ".covariance",
        "ewma_variance": ".estimators",
        "lambda_from_halflife": ".estimators",
        "log_returns": ".estimators",
        "wilder_atr": ".estimators",
        "erc_weights": ".risk_budget",
        "inverse_vol_weights": ".risk_budget",
        "risk_contributions": ".risk_budget",
        "RiskParityParams": ".risk_parity",
        "RiskParitySizer": ".risk_parity",
        "VolTargetParams": ".vol_target",
        "VolTargetSizer": ".vol_target",
    },
)

__all__ = [
    "AtrParams",
    "AtrSizer",
    "RiskParityParams",
    "RiskParitySizer",
    "VolTargetParams",
    "VolTargetSizer",
    "erc_weights",
    "ewma_variance",
    "inverse_vol_weights",
    "lambda_from_halflife",
    "ledoit_wolf",
    "log_returns",
    "risk_contributions",
    "wilder_atr",
]
