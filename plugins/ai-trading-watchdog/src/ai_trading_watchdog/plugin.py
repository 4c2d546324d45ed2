"""Registers the ``heartbeat`` risk check and the ``ai-trading watchdog`` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

from .heartbeat import Heartbeat, HeartbeatParams, heartbeat_path

if TYPE_CHECKING:
    import click

    from ai_trading_core.registry import BuildContext, RiskCheckRegistry


def build_heartbeat(params: HeartbeatParams, ctx: BuildContext) -> Heartbeat:
    return Heartbeat(heartbeat_path(ctx.state_dir), ctx.clock, interval_s=params.interval_s,
                     name=ctx.component_id or "heartbeat")


@hookimpl
def ai_trading_register_risk_checks(registry: RiskCheckRegistry) -> None:
    registry.register(
        "heartbeat", build_heartbeat, params=HeartbeatParams,
        description="approves every order; writes <run.state_dir>/heartbeat.json for ai-trading watchdog",
    )


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    from .cli import watchdog_command

    cli.add_command(watchdog_command)
