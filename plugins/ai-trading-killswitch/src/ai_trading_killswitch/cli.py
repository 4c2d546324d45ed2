"""``ai-trading halt`` and ``ai-trading resume``: the kill switch from a shell.

Both act on ``<state dir>/kill-switch/`` (``run.state_dir`` of the config, by default
``.ai-trading``); every run under that directory with the ``kill_switch`` risk check halts
at its next step, cancels its open orders and refuses new ones until an explicit resume.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from ai_trading_core.clock import WallClock
from ai_trading_core.errors import ConfigError

from .state import current_state, halt, resume

_state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".ai-trading"),
    show_default=True,
    envvar="AI_TRADING_RUN__STATE_DIR",
    help="the runs' state directory (run.state_dir)",
)


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment
        return "cli"


_by_option = click.option("--by", default=None, help="who is acting (recorded); default cli:<user name>")


@click.command("halt")
@click.option("--reason", default=None, help="why trading must stop (recorded; required unless --status)")
@click.option("--status", "show_status", is_flag=True, help="show the kill switch state and change nothing")
@click.option("--json", "as_json", is_flag=True, help="with --status: print the state as JSON")
@_state_dir_option
@_by_option
def halt_command(
    reason: str | None, show_status: bool, as_json: bool, state_dir: Path, by: str | None
) -> None:
    """Halt trading: cancel open orders and refuse new ones until `ai-trading resume`."""
    if show_status:
        if reason is not None:
            raise ConfigError("--status shows the state; it takes no --reason")
        state = current_state(state_dir)
        click.echo(
            json.dumps(state.to_json(), sort_keys=True) if as_json else f"kill switch: {state.describe()}"
        )
        return
    if not reason or not reason.strip():
        raise ConfigError("ai-trading halt needs --reason TEXT (or --status)")
    previous, state = halt(state_dir, reason=reason, by=by or _operator(), now=WallClock().now())
    if previous.halted:
        click.echo(f"kill switch already {previous.describe()}")
    else:
        click.echo(f"kill switch: {state.describe()}")


@click.command("resume")
@click.option("--reason", required=True, help="why it is safe to trade again (recorded)")
@_state_dir_option
@_by_option
def resume_command(reason: str, state_dir: Path, by: str | None) -> None:
    """Re-arm the kill switch after a halt (explicit; never automatic)."""
    if not reason.strip():
        raise ConfigError("--reason must not be empty")
    previous, state = resume(state_dir, reason=reason, by=by or _operator(), now=WallClock().now())
    click.echo(f"previous: {previous.describe()}")
    if previous.halted:
        click.echo(f"kill switch: {state.describe()}")
    else:
        click.echo("kill switch was not halted; nothing changed")


def register(cli: click.Group) -> None:
    """Add ``halt`` and ``resume`` to ``cli``."""
    for command in (halt_command, resume_command):
        if command.name in cli.commands:
            raise click.UsageError(f"'{command.name}' is already registered by another plugin")
        cli.add_command(command)
