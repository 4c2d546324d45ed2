"""Registers the ``ai-trading sweep`` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    from .cli import sweep_command

    cli.add_command(sweep_command)
