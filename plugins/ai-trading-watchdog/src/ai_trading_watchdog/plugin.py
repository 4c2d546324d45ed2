"""Registers the ``heartbeat`` risk check and the ``ai-trading watchdog`` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl
from ai_trading_core.clock import WallClock

from .heartbeat import Heartbeat, HeartbeatParams, heartbeat_path

if TYPE_CHECKING:
    import click

    from ai_trading_core.registry import BuildContext, RiskCheckRegistry


def build_heartbeat(params: HeartbeatParams, ctx: BuildContext) -> Heartbeat:
    """The check; with ``redis_url``, its Redis writer too (imports the redis client, which
    raises a ``ConfigError`` naming ``ai-trading-watchdog[redis]`` when it is missing)."""
    writer = None
    if params.redis_url:
        from .redis_heartbeat import RedisHeartbeatWriter, redis_key

        password = (ctx.secret(params.redis_password_credential).get_secret_value()
                    if params.redis_password_credential else None)
        writer = RedisHeartbeatWriter(params.redis_url, redis_key(params.redis_prefix, params.redis_process),
                                      ttl_s=params.redis_ttl_s, password=password)
    # Liveness is wall-clock time whatever the run's clock (a replay's bar time is no sign of life).
    return Heartbeat(heartbeat_path(ctx.state_dir) if params.write_file else None, WallClock(),
                     interval_s=params.interval_s, name=ctx.component_id or "heartbeat", redis=writer,
                     alert=ctx.alert, bar_clock=ctx.clock)


@hookimpl
def ai_trading_register_risk_checks(registry: RiskCheckRegistry) -> None:
    registry.register(
        "heartbeat", build_heartbeat, params=HeartbeatParams,
        description="approves every order; writes <run.state_dir>/heartbeat.json and/or a Redis key "
                    "(redis_url) for ai-trading watchdog",
    )


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    """``ai-trading watchdog``, imported (with the broker machinery) when it is run."""
    from ai_trading_core.cli import LazyCommand

    cli.add_command(LazyCommand(
        "watchdog", "ai_trading_watchdog.cli:watchdog_command",
        "Cancel the trader's open orders and halt the kill switch when its heartbeat stops.",
    ))
