"""``ai-trading risk status`` and ``ai-trading risk rearm``: read and re-arm the persisted
circuit breakers under a state directory (``run.state_dir`` of the config, by default
``.ai-trading``). A running process picks up a re-arm at its next step."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ai_trading_core.clock import WallClock
from ai_trading_core.enums import RiskState
from ai_trading_core.errors import RiskError

from .breaker import BreakerStatus, BreakerTransition
from .state_file import list_states, read_state, write_state

DEFAULT_STATE_DIR = Path(".ai-trading")
_state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_STATE_DIR,
    show_default=True,
    envvar="AI_TRADING_RUN__STATE_DIR",
    help="the run's state directory (run.state_dir)",
)


def _load(path: Path) -> BreakerStatus:
    doc = read_state(path)
    if doc is None:
        raise click.ClickException(f"no circuit breaker state at {path}")
    try:
        return BreakerStatus.from_json(doc)
    except (KeyError, ValueError, TypeError) as exc:
        raise click.ClickException(f"circuit breaker state file {path} is malformed: {exc}") from exc


@click.command("status")
@_state_dir_option
@click.option("--json", "as_json", is_flag=True, help="print the state documents as JSON")
def status_command(state_dir: Path, as_json: bool) -> None:
    """Show the persisted circuit breaker states."""
    try:
        states = {p.stem: _load(p) for p in list_states(state_dir)}
    except RiskError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({k: v.to_json() for k, v in states.items()}, indent=2, sort_keys=True))
        return
    if not states:
        click.echo(f"no circuit breaker state under {state_dir} (every breaker is armed)")
        return
    for name, st in states.items():
        since = st.since.isoformat() if st.since else "-"
        line = f"{name}: {st.state.value} since {since}"
        if st.reason:
            line += f" ({st.reason})"
        click.echo(line)


@click.command("rearm")
@_state_dir_option
@click.option("--reason", required=True, help="why it is safe to trade again (recorded)")
@click.option(
    "--id", "component_id", default=None, help="the breaker's component id; needed when there are several"
)
def rearm_command(state_dir: Path, reason: str, component_id: str | None) -> None:
    """Re-arm a tripped circuit breaker (return it to ACTIVE)."""
    if not reason.strip():
        raise click.ClickException("--reason must not be empty")
    paths = list_states(state_dir)
    if component_id is not None:
        paths = [p for p in paths if p.stem == component_id]
        if not paths:
            raise click.ClickException(f"no circuit breaker {component_id!r} under {state_dir}")
    elif not paths:
        raise click.ClickException(f"no circuit breaker state under {state_dir}")
    elif len(paths) > 1:
        names = ", ".join(p.stem for p in paths)
        raise click.ClickException(f"several circuit breakers ({names}): choose one with --id")
    path = paths[0]
    try:
        previous = _load(path)
    except RiskError as exc:
        raise click.ClickException(str(exc)) from exc
    now = WallClock().now()
    transition = BreakerTransition(
        now, previous.state, RiskState.ACTIVE, "rearm", f"re-armed: {reason.strip()}"
    )
    status = BreakerStatus(
        RiskState.ACTIVE,
        "rearm",
        transition.reason,
        since=now,
        history=(*previous.history, transition),
    )
    write_state(path, status.to_json())
    click.echo(f"{path.stem}: {previous.state.value} -> active ({reason.strip()})")


def register(cli: click.Group) -> None:
    """Add ``status`` and ``rearm`` to the ``risk`` group of ``cli``, creating the group when
    no other plugin did."""
    group = cli.commands.get("risk")
    if group is None:
        group = click.Group("risk", help="Risk state: circuit breakers and limits.")
        cli.add_command(group)
    elif not isinstance(group, click.Group):
        raise click.UsageError("the 'risk' command of the CLI is not a group; cannot add risk sub-commands")
    for command in (status_command, rearm_command):
        if command.name in group.commands:
            raise click.UsageError(f"'risk {command.name}' is already registered by another plugin")
        group.add_command(command)
