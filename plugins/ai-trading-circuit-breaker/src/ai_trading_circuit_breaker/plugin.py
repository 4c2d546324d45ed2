"""Registers the ``circuit_breaker`` risk check and the ``ai-trading risk`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl


if TYPE_CHECKING:
    import click

    from ai_trading_core.registry import RiskCheckRegistry


@hookimpl
def ai_trading_register_risk_checks(registry: RiskCheckRegistry) -> None:
    registry.register(
        "circuit_breaker",
        "ai_trading_circuit_breaker.check:build_circuit_breaker",
        params="ai_trading_circuit_breaker.check:CircuitBreakerParams",
        description=(
            "trips on a daily loss (default: HALTED) or a rapid loss within a trailing window "
            "(default: REDUCING); persisted; re-armed only explicitly"
        ),
    )


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    from .cli import register

    register(cli)
