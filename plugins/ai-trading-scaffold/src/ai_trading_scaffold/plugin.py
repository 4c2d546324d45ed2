"""Registers the ``ai-trading new-plugin`` command."""

from __future__ import annotations

from pathlib import Path

import click

from ai_trading_core import hookimpl

from .generate import ROLES, generate_plugin


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="strategy",
    show_default=True,
    help="Role of the generated component.",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder in which ai-trading-NAME is created.",
)
@click.option("--description", help="One line for pyproject.toml and the README.")
def new_plugin(name: str, role: str, output_dir: Path, description: str | None) -> None:
    """Create the plugin distribution ai-trading-NAME from the project's template."""
    target = generate_plugin(name, role, output_dir, description)
    click.echo(f"created {target}")
    click.echo(f'next: cd {target} && pip install -e ".[test]" && pytest -q')


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    cli.add_command(new_plugin)
