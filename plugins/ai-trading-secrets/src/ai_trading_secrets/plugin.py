"""Registers the ``ai-trading secrets`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

if TYPE_CHECKING:
    from collections.abc import Mapping

    import click
    from pydantic import SecretStr

    from ai_trading_core.config import AppConfig


@hookimpl
def ai_trading_load_credentials(config: AppConfig) -> Mapping[str, SecretStr] | None:
    """The secrets file named by ``AI_TRADING_SECRETS_FILE`` (key from
    ``AI_TRADING_SECRETS_KEY`` or ``AI_TRADING_SECRETS_KEY_FILE``); None when unset."""
    from .credentials import credentials_from_environment  # cryptography: only when a run asks

    return credentials_from_environment() or None


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    """``ai-trading secrets``, imported (with cryptography) when it is run."""
    from ai_trading_core.cli import LazyCommand

    if "secrets" in cli.commands:
        raise RuntimeError("the 'secrets' command is already registered by another plugin")
    cli.add_command(LazyCommand("secrets", "ai_trading_secrets.cli:secrets_group",
                                "Credentials encrypted at rest: keys, secrets, rotation."))
