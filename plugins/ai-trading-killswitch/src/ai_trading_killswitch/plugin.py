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
    """``halt`` and ``resume``, imported when one is run."""
    from ai_trading_core.cli import LazyCommand

    commands = {
        "halt": ("halt_command", "Halt trading: cancel open orders and refuse new ones until `ai-trading resume`."),
        "resume": ("resume_command", "Re-arm the kill switch after a halt (explicit; never automatic)."),
    }
    for name, (attr, short_help) in commands.items():
        if name in cli.commands:
            raise RuntimeError(f"'{name}' is already registered by another plugin")
        cli.add_command(LazyCommand(name, f"ai_trading_killswitch.cli:{attr}", short_help))
