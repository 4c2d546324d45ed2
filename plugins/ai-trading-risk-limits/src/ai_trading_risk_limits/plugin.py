"""Registers the ``portfolio_limits`` risk check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

if TYPE_CHECKING:
    from ai_trading_core.registry import RiskCheckRegistry


@hookimpl
def ai_trading_register_risk_checks(registry: RiskCheckRegistry) -> None:
    registry.register(
        "portfolio_limits",
        # by reference: SciPy is imported when the check is built, not when the plugin loads
        "ai_trading_risk_limits.limits:build_portfolio_limits",
        params="ai_trading_risk_limits.params:PortfolioLimitsParams",
        description=(
            "pre-trade gross/net exposure, leverage, drawdown, concentration, VaR 95/99 and CVaR "
            "(historical or parametric) and correlation-cluster limits, evaluated with the order "
            "included; approve, resize to the largest allowed lot count, or reject"
        ),
    )
