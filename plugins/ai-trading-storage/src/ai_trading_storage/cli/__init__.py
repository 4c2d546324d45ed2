"""``ai-trading db upgrade|downgrade|current``, ``ai-trading data import|export`` and the
database audit commands (``audit verify``/``audit explain``, or ``verify-db``/``explain``
inside the kernel's own ``audit`` group when it has one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import AiTradingError
from ai_trading_core.market import to_ns

from .. import migrations
from ..audit import explain as explain_order
from ..connection import create_db_engine, safe_url
from ..ingest import read_bars, write_bars
from ..repositories import Database
from .bars_file import read_bar_file, write_bar_file

ENV_URL = "AI_TRADING_STORAGE_URL"
DEFAULT_URL = "sqlite:///.ai-trading/ai-trading.db"


class CommandFailed(click.ClickException):
    def __init__(self, error: AiTradingError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code


def url_option(func: Any) -> Any:
    return click.option(
        "--url", envvar=ENV_URL, default=DEFAULT_URL, show_default=True, help=f"database URL (or ${ENV_URL})"
    )(func)


@click.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@url_option
@click.option("--revision", default="head", show_default=True)
@click.option(
    "--timescale",
    type=click.Choice(["auto", "off"]),
    default="auto",
    show_default=True,
    help="auto: hypertables when the server has TimescaleDB; off: native partitioning",
)
def db_upgrade(url: str, revision: str, timescale: str) -> None:
    """Migrate the database up to REVISION."""
    try:
        migrations.upgrade(url, revision, timescale=timescale)  # type: ignore[arg-type]
        click.echo(f"{safe_url(url)} at revision {migrations.current(url)}")
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc


@db_group.command("downgrade")
@url_option
@click.option(
    "--revision", default="base", show_default=True, help="target revision ('base' drops everything)"
)
def db_downgrade(url: str, revision: str) -> None:
    """Migrate the database down to REVISION."""
    try:
        migrations.downgrade(url, revision)
        click.echo(f"{safe_url(url)} at revision {migrations.current(url) or 'base'}")
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc


@db_group.command("current")
@url_option
def db_current(url: str) -> None:
    """Print the database's schema revision."""
    try:
        rev = migrations.current(url)
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc
    head = migrations.head_revision()
    click.echo(f"{rev or 'base'}" + (" (head)" if rev == head else f" (head is {head})"))


@click.group("data")
def data_group() -> None:
    """Bulk bar import and export."""


@data_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@url_option
@click.option(
    "--symbol", default=None, help="symbol of the bars (required when the file has no symbol column)"
)
@click.option("--timeframe", default="1d", show_default=True)
@click.option("--replace", is_flag=True, help="overwrite bars already stored instead of failing")
@click.option("--assume-utc", is_flag=True, help="treat timestamps without an offset as UTC")
def data_import(
    file: Path, url: str, symbol: str | None, timeframe: str, replace: bool, assume_utc: bool
) -> None:
    """Import bars from a CSV or Parquet FILE (COPY on PostgreSQL)."""
    try:
        tf = _timeframe(timeframe)
        blocks = read_bar_file(file, symbol, assume_utc)
        engine = create_db_engine(url)
        try:
            migrations.upgrade(engine)
            n = write_bars(engine, blocks, tf, on_conflict="replace" if replace else "error")
        finally:
            engine.dispose()
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc
    click.echo(f"imported {n} bars ({len(blocks)} symbol(s), {tf.value}) into {safe_url(url)}")


@data_group.command("export")
@url_option
@click.option("--symbol", "symbols", multiple=True, required=True, help="symbol to export (repeatable)")
@click.option("--timeframe", default="1d", show_default=True)
@click.option("--start", default=None, help="first open time, ISO-8601 with offset")
@click.option("--end", default=None, help="last open time, ISO-8601 with offset")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def data_export(
    url: str, symbols: tuple[str, ...], timeframe: str, start: str | None, end: str | None, output: Path
) -> None:
    """Export bars to a CSV or Parquet file (long format)."""
    try:
        engine = create_db_engine(url)
        try:
            panel = read_bars(
                engine,
                symbols,
                _timeframe(timeframe),
                None if start is None else to_ns(start),
                None if end is None else to_ns(end),
            )
        finally:
            engine.dispose()
        n = write_bar_file(panel, output)
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc
    click.echo(f"exported {n} bars to {output}")


def _timeframe(text: str) -> Timeframe:
    try:
        return Timeframe.parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--timeframe") from None


@click.command("explain")
@click.argument("order_id")
@url_option
def audit_explain(order_id: str, url: str) -> None:
    """Print the decision chain behind ORDER_ID (a client order id): market data, signal,
    sizing, every risk verdict, the order, acknowledgements and fills."""
    db = Database(create_db_engine(url))
    try:
        chain = explain_order(db, order_id)
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc
    finally:
        db.dispose()
    for line in chain.lines():
        click.echo(line)


def register(cli: click.Group) -> None:
    """Attach the commands to the root group. When the kernel already has an ``audit``
    group (its JSON-lines trail), ours join it as ``verify-db`` and ``explain`` (or
    ``explain-db`` if that name is taken)."""
    cli.add_command(db_group)
    cli.add_command(data_group)
    from ..audit.commands import audit_export_heads_db, audit_verify_db

    existing = cli.commands.get("audit")
    if isinstance(existing, click.Group):
        existing.add_command(audit_verify_db, "verify-db")
        existing.add_command(audit_export_heads_db, "export-heads-db")
        existing.add_command(audit_explain, "explain-db" if "explain" in existing.commands else "explain")
        return
    group = click.Group("audit", help="The database audit trail.")
    group.add_command(audit_verify_db, "verify")
    group.add_command(audit_export_heads_db, "export-heads")
    group.add_command(audit_explain)
    cli.add_command(group)


__all__ = ["ENV_URL", "register"]
