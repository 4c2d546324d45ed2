"""Registers the ``ai-trading secrets`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

from .cli import register

if TYPE_CHECKING:
    import click


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    register(cli)
