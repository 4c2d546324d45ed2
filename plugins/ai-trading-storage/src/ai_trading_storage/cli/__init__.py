"""``ai-trading db upgrade|downgrade|current|backup``, ``ai-trading data import|export`` and the
database audit commands (``audit verify``/``audit explain``, or ``verify-db``/``explain``
inside the kernel's own ``audit`` group when it has one)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import AiTradingError, StorageError
from ai_trading_core.market import to_ns

from .. import migrations
from ..audit import explain as explain_order
from ..backup import backup_database
from ..connection import create_db_engine, safe_url, sqlite_file
from ..ingest import list_symbols, prefetched, read_bars, write_bar_chunks
from ..repositories import Database
from ..timescale import TIMESCALE_MODES, TimescaleMode
from .bars_file import BarFileReader, write_bar_file

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


def _timescale_option(func: Any) -> Any:
    return click.option(
        "--timescale",
        type=click.Choice(TIMESCALE_MODES),
        default="auto",
        show_default=True,
        help="bars layout when the schema is created: auto = a TimescaleDB hypertable when the server "
        "can load the extension, else native partitions (with a warning if it is installed but not "
        "preloaded); on = TimescaleDB or fail; off = native partitions",
    )(func)


def _warn(notes: tuple[str, ...]) -> None:
    for note in notes:
        click.echo(f"warning: {note}", err=True)


@click.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@url_option
@click.option("--revision", default="head", show_default=True)
@_timescale_option
def db_upgrade(url: str, revision: str, timescale: TimescaleMode) -> None:
    """Migrate the database up to REVISION."""
    try:
        _warn(migrations.upgrade(url, revision, timescale=timescale))
        click.echo(f"{safe_url(url)} at revision {migrations.current(url)}")
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc


@db_group.command("downgrade")
@click.argument("target", required=False)
@url_option
@click.option("--revision", "revision_option", default=None, help="same as TARGET")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.option("--drop-audit", is_flag=True, help="allow dropping audit trail rows (tables or columns)")
@click.option(
    "--backup",
    "backup_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="first write a backup to this new file (pg_dump custom format, or a SQLite copy)",
)
def db_downgrade(
    target: str | None,
    url: str,
    revision_option: str | None,
    yes: bool,
    drop_audit: bool,
    backup_file: Path | None,
) -> None:
    """Migrate the database down to TARGET: 'base' (drops every table) or an older revision.

    Shows what the downgrade drops (found by running it in a transaction that is rolled
    back), then asks for confirmation unless --yes; refuses when there is no answer (no
    terminal), and refuses to drop audit trail rows without --drop-audit.
    """
    revision = target or revision_option
    if target and revision_option and target != revision_option:
        raise click.UsageError("TARGET and --revision differ")
    if not revision:
        known = migrations.revisions()
        raise click.UsageError(
            "db downgrade needs an explicit target revision: 'base' (drops every table) or one of "
            f"{', '.join(known[:-1]) or '(none older)'}; nothing was changed"
        )
    try:
        plan = migrations.plan_downgrade(url, revision)
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc
    for line in plan.lines():
        click.echo(line, err=True)
    if plan.audit_rows and not drop_audit:
        raise CommandFailed(
            StorageError(
                f"refusing: the downgrade would drop {plan.audit_rows} row(s) of audit trail; pass --drop-audit "
                "(and --backup FILE to keep a copy) if that is intended; nothing was changed"
            )
        )
    if not yes:
        try:
            confirmed = click.confirm("Proceed with the downgrade?", default=False, err=True)
        except click.Abort:
            raise CommandFailed(
                StorageError("no confirmation (stdin is closed): pass --yes to downgrade; nothing was changed")
            ) from None
        if not confirmed:
            raise CommandFailed(StorageError("downgrade cancelled; nothing was changed"))
    try:
        if backup_file is not None:
            backup_database(url, backup_file)
            click.echo(f"backup written to {backup_file}", err=True)
        migrations.downgrade(url, revision)
        click.echo(f"{safe_url(url)} at revision {migrations.current(url) or 'base'}")
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc


@db_group.command("current")
@url_option
def db_current(url: str) -> None:
    """Print the database's schema revision (a SQLite file that does not exist is reported
    as 'base', not created)."""
    try:
        rev = migrations.current(url)
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc
    head = migrations.head_revision()
    click.echo(f"{rev or 'base'}" + (" (head)" if rev == head else f" (head is {head})"))


@db_group.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@url_option
def db_backup(file: Path, url: str) -> None:
    """Write a backup of the database to the new FILE (pg_dump custom format for PostgreSQL,
    restore with pg_restore; a SQLite database file for SQLite)."""
    try:
        path = sqlite_file(url)
        if path is not None and not path.is_file():
            raise StorageError(f"no database at {path}")
        backup_database(url, file)
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc
    click.echo(f"backup of {safe_url(url)} written to {file}")


@click.group("data")
def data_group() -> None:
    """Bulk bar import and export."""


@data_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@url_option
@click.option("--symbol", default=None, help="symbol of the bars (required when the file has no symbol column)")
@click.option("--timeframe", default="1d", show_default=True)
@click.option("--replace", is_flag=True, help="overwrite bars already stored instead of failing")
@click.option(
    "--backup",
    "backup_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="first write a backup of the database to this new file (worth it with --replace)",
)
@click.option("--assume-utc", is_flag=True, help="treat timestamps without an offset as UTC")
@_timescale_option
@click.option(
    "--progress/--no-progress",
    default=None,
    help="progress bar on stderr (default: when stderr is a terminal)",
)
def data_import(
    file: Path,
    url: str,
    symbol: str | None,
    timeframe: str,
    replace: bool,
    assume_utc: bool,
    timescale: TimescaleMode,
    progress: bool | None,
    backup_file: Path | None,
) -> None:
    """Import bars from a CSV or Parquet FILE (COPY on PostgreSQL), all or nothing.

    Columns: timestamp (ISO-8601 with offset), open, high, low, close[, volume][, symbol].
    Every row is checked (positive prices, low <= open/close <= high, volume >= 0, no
    duplicates, a complete last line) and the file is parsed while the database stores
    what was already parsed.
    """
    started = time.perf_counter()
    tf = _timeframe(timeframe)
    try:
        reader = BarFileReader(file, symbol, assume_utc)
        if backup_file is not None:
            path = sqlite_file(url)
            if path is None or path.is_file():  # nothing to back up in a database not yet created
                backup_database(url, backup_file)
                click.echo(f"backup written to {backup_file}", err=True)
        engine = create_db_engine(url)
        try:
            _warn(migrations.upgrade(engine, timescale=timescale))
            with _progress_bar(progress, reader, f"importing {file.name}") as advance:
                n = write_bar_chunks(
                    engine,
                    prefetched(reader),
                    tf,
                    on_conflict="replace" if replace else "error",
                    on_chunk=lambda chunk: advance(chunk.position, len(chunk)),
                )
        finally:
            engine.dispose()
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc
    seconds = time.perf_counter() - started
    click.echo(
        f"imported {n} bars ({len(reader.symbols)} symbol(s), {tf.value}) into {safe_url(url)} "
        f"in {seconds:.2f} s ({n / max(seconds, 1e-9):,.0f} bars/s)"
    )


@contextmanager
def _progress_bar(enabled: bool | None, reader: BarFileReader, label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr over the reader's ``total`` (bytes of a CSV file, rows of
    a Parquet file); yields ``advance(position, rows)``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    show = console.is_terminal if enabled is None else enabled
    if not show:
        yield lambda position, rows: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[rows]:,} bars"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(label, total=reader.total, rows=0)
        state = {"rows": 0}

        def advance(position: int, rows: int) -> None:
            state["rows"] += rows
            bar.update(task, total=reader.total, completed=position, rows=state["rows"])

        yield advance
        bar.update(task, total=reader.total, completed=reader.total or 0, rows=state["rows"])


@data_group.command("export")
@url_option
@click.option("--symbol", "symbols", multiple=True, help="symbol to export (repeatable)")
@click.option("--all-symbols", is_flag=True, help="every symbol stored for the timeframe")
@click.option("--timeframe", default="1d", show_default=True)
@click.option("--start", default=None, help="first open time, ISO-8601 with offset")
@click.option("--end", default=None, help="last open time, ISO-8601 with offset")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def data_export(
    url: str,
    symbols: tuple[str, ...],
    all_symbols: bool,
    timeframe: str,
    start: str | None,
    end: str | None,
    output: Path,
) -> None:
    """Export bars to a CSV or Parquet file (long format, grouped by symbol)."""
    if bool(symbols) == all_symbols:
        raise click.UsageError("pass --symbol (repeatable) or --all-symbols")
    tf = _timeframe(timeframe)
    try:
        engine = create_db_engine(url, must_exist=True)
        try:
            wanted = list_symbols(engine, tf) if all_symbols else list(symbols)
            if not wanted:
                raise StorageError(f"no {tf.value} bars stored in {safe_url(url)}")
            panel = read_bars(
                engine,
                wanted,
                tf,
                None if start is None else to_ns(start),
                None if end is None else to_ns(end),
            )
        finally:
            engine.dispose()
        n = write_bar_file(panel, output)
    except AiTradingError as exc:
        raise CommandFailed(exc) from exc
    click.echo(f"exported {n} bars ({len(wanted)} symbol(s)) to {output}")


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
