"""``ai-trading secrets``: ``init-key``, ``set``, ``list``, ``remove`` and ``rotate``.

Values are read from standard input or a hidden prompt, never from the command line (where
shell history and process listings would keep them). Nothing here prints a value or a key.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .credentials import ENV_FILE
from .keys import ENV_KEY_FILE, generate_key, read_key_file, resolve_keys, write_key_file
from .store import SecretsFile, check_name

DEFAULT_FILE = Path(".ai-trading") / "secrets.json"
F = TypeVar("F", bound=Callable[..., Any])


def _file_option(fn: F) -> F:
    return click.option(
        "--file",
        "secrets_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_FILE,
        show_default=True,
        envvar=ENV_FILE,
        help=f"the secrets file (or {ENV_FILE})",
    )(fn)


def _key_file_option(fn: F) -> F:
    return click.option(
        "--key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        envvar=ENV_KEY_FILE,
        help=f"key file, mode 0600 (default: AI_TRADING_SECRETS_KEY, then {ENV_KEY_FILE})",
    )(fn)


@click.command("init-key")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="where to create the key file (mode 0600); never overwritten",
)
def init_key_command(key_file: Path) -> None:
    """Create a new random encryption key in a key file."""
    write_key_file(key_file, generate_key())
    click.echo(f"wrote a new key to {key_file} (mode 0600)")


@click.command("set")
@click.argument("name")
@_file_option
@_key_file_option
def set_command(name: str, secrets_path: Path, key_file: Path | None) -> None:
    """Store secret NAME; the value is read from standard input, or prompted for (hidden)."""
    check_name(name)
    ring = resolve_keys(key_file)
    if sys.stdin.isatty():
        value = click.prompt(f"value of {name}", hide_input=True, confirmation_prompt=True)
    else:
        value = sys.stdin.read()
        if value.endswith("\n"):
            value = value[:-1]
            if value.endswith("\r"):
                value = value[:-1]
    SecretsFile(secrets_path).set(name, value, ring)
    click.echo(f"stored {name} in {secrets_path}")


@click.command("list")
@_file_option
@_key_file_option
@click.option("--verify", is_flag=True, help="also check that every secret decrypts with the key")
def list_command(secrets_path: Path, key_file: Path | None, verify: bool) -> None:
    """List the names of the stored secrets (never their values)."""
    store = SecretsFile(secrets_path)
    names = store.names()
    if verify:
        store.decrypt_all(resolve_keys(key_file))
    for name in names:
        click.echo(name)
    if verify:
        click.echo(f"{len(names)} secret(s), all decrypt with the key", err=True)


@click.command("remove")
@click.argument("name")
@_file_option
@_key_file_option
def remove_command(name: str, secrets_path: Path, key_file: Path | None) -> None:
    """Delete secret NAME (needs the key: every secret must decrypt with it first)."""
    SecretsFile(secrets_path).remove(name, resolve_keys(key_file))
    click.echo(f"removed {name} from {secrets_path}")


@click.command("rotate")
@_file_option
@_key_file_option
@click.option(
    "--new-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="key file holding the new key (create it with 'init-key')",
)
def rotate_command(secrets_path: Path, key_file: Path | None, new_key_file: Path) -> None:
    """Re-encrypt every secret under the key in --new-key-file.

    Processes that hold both keys (AI_TRADING_SECRETS_KEY=new,old) read the file before,
    during and after the rotation; once all of them use the new key, retire the old one.
    """
    old = resolve_keys(key_file)
    new = read_key_file(new_key_file)
    count = SecretsFile(secrets_path).rotate(old, new)
    click.echo(f"re-encrypted {count} secret(s) in {secrets_path} under the key in {new_key_file}")


SECRETS_HELP = "Credentials encrypted at rest: keys, secrets, rotation."

secrets_group = click.Group("secrets", help=SECRETS_HELP)
for _command in (init_key_command, set_command, list_command, remove_command, rotate_command):
    secrets_group.add_command(_command)


def register(cli: click.Group) -> None:
    """Add the ``secrets`` group to the root CLI."""
    if "secrets" in cli.commands:
        raise click.UsageError("the 'secrets' command is already registered by another plugin")
    cli.add_command(secrets_group)
