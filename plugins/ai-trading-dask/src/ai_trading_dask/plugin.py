"""Registers the ``ai-trading sweep`` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    from ai_trading_core.cli import LazyCommand

    cli.add_command(LazyCommand(
        "sweep", "ai_trading_dask.cli:sweep_command",
        "Run CONFIG once per point of a parameter grid on Dask, and rank the runs.",
    ))
