"""Volatility-aware position sizing for ai-trading: volatility targeting (EWMA or GARCH),
ATR risk sizing, and risk parity on a Ledoit-Wolf covariance."""

from __future__ import annotations

from .atr_sizer import AtrParams, AtrSizer
from .covariance import ledoit_wolf
from .estimators import ewma_variance, lambda_from_halflife, log_returns, wilder_atr
from .risk_budget import erc_weights, inverse_vol_weights, risk_contributions
from .risk_parity import RiskParityParams, RiskParitySizer
from .vol_target import VolTargetParams, VolTargetSizer

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
