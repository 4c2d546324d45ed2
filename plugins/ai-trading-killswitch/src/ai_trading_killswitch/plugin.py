"""Registers the ``kill_switch`` risk check and the ``ai-trading halt`` / ``resume`` commands.

The check's object also wraps ``ai_trading_submit_order``; the runner registers it with the
run's plugin manager for the run only, so every order, whichever broker is active, passes
the kill switch right before it is sent.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

from .check import KillSwitchCheck, KillSwitchParams
from .cli import register

if TYPE_CHECKING:
    import click

    from ai_trading_core.models import Order, OrderUpdate
    from ai_trading_core.protocols import Broker
    from ai_trading_core.registry import BuildContext, RiskCheckRegistry


class KillSwitchComponent(KillSwitchCheck):
    """The risk check plus its around-order wrapper."""

    @hookimpl(wrapper=True)
    def ai_trading_submit_order(
        self, order: Order, broker: Broker
    ) -> Generator[None, OrderUpdate | None, OrderUpdate | None]:
        self.refuse_if_halted()  # raises TradingHalted before the broker sees the order
        return (yield)


def build_kill_switch(params: KillSwitchParams, ctx: BuildContext) -> KillSwitchComponent:
    return KillSwitchComponent(ctx.state_dir, name=ctx.component_id or "kill_switch")


@hookimpl
def ai_trading_register_risk_checks(registry: RiskCheckRegistry) -> None:
    registry.register(
        "kill_switch",
        build_kill_switch,
        params=KillSwitchParams,
        description=(
            "halts while <run.state_dir>/kill-switch/ says so (ai-trading halt, the dashboard); "
            "refuses every submission while halted; re-armed only by ai-trading resume"
        ),
    )


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    register(cli)
