"""Registers the ``ai-trading secrets`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

from .cli import register
from .credentials import credentials_from_environment

if TYPE_CHECKING:
    from collections.abc import Mapping

    import click
    from pydantic import SecretStr

    from ai_trading_core.config import AppConfig


@hookimpl
def ai_trading_load_credentials(config: AppConfig) -> Mapping[str, SecretStr] | None:
    """The secrets file named by ``AI_TRADING_SECRETS_FILE`` (key from
    ``AI_TRADING_SECRETS_KEY`` or ``AI_TRADING_SECRETS_KEY_FILE``); None when unset."""
    return credentials_from_environment() or None


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    register(cli)
