"""Commands that remove data ask for intent: ``db downgrade`` needs a target and a yes, keeps
audit rows unless told, says what it drops (resume checkpoints included), and can back up
first. Run as the user runs them: the ``ai-trading`` executable in a subprocess."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import psycopg
import pytest
import sqlalchemy as sa
from ai_trading_storage import migrations
from ai_trading_storage.cli import register
from ai_trading_storage.connection import create_db_engine
from ai_trading_storage.storage import SqlStorage, SqlStorageParams
from click.testing import CliRunner

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.recovery import Checkpoint
from ai_trading_core.registry import BuildContext
from ai_trading_core.testing import random_walk_panel

CLI = shutil.which("ai-trading", path=str(Path(sys.executable).parent)) or "ai-trading"


def ai_trading(*args: str, stdin: str | None = None, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AI_TRADING_STORAGE_URL"}
    if url is not None:
        env["AI_TRADING_STORAGE_URL"] = url
    return subprocess.run(
        [CLI, *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


def invoke(*args: str, stdin: str | None = None, url: str | None = None) -> subprocess.CompletedProcess[str]:
    """The same commands in process (start-up is most of a subprocess's time); stdin empty
    unless given, like a closed terminal."""
    root = click.Group("ai-trading")
    register(root)
    env = {"AI_TRADING_STORAGE_URL": url} if url is not None else {}
    res = CliRunner().invoke(root, list(args), input=stdin, env=env)
    return subprocess.CompletedProcess(list(args), res.exit_code, res.stdout, res.stderr)


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return migrations.table_names(engine)
    finally:
        engine.dispose()


def _with_checkpoint(url: str) -> None:
    """A database at head holding one unfinished (resumable) run's checkpoint."""
    store = SqlStorage(SqlStorageParams(url=url), BuildContext(component_id="sql", clock=SimulatedClock(0)))
    try:
        store.save_checkpoint(Checkpoint(run_id="live-1", config_hash="c" * 64, timestamp=1))
    finally:
        store.close()


def _with_audit_rows(url: str) -> None:
    """One run's first audit event (a chain's first row links to the genesis hash)."""
    engine = create_db_engine(url)
    stamp: object = datetime(2026, 1, 1, tzinfo=UTC)
    if engine.dialect.name == "sqlite":
        stamp = "2026-01-01T00:00:00.000000+00:00"
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (run_id, sequence, kind, correlation_id, timestamp, payload, "
                    "prev_hash, hash) VALUES ('r1', 1, 'session', 'c1', :t, '{}', :genesis, :hash)"
                ),
                {"t": stamp, "genesis": "0" * 64, "hash": "f" * 64},
            )
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    url = f"sqlite:///{(tmp_path / 'state.db').as_posix()}"
    migrations.upgrade(url)
    return url


def test_downgrade_without_target_refuses_and_changes_nothing(sqlite_db: str) -> None:
    res = ai_trading("db", "downgrade", url=sqlite_db)
    assert res.returncode == 2
    assert "needs an explicit target revision" in res.stderr and "nothing was changed" in res.stderr
    assert migrations.current(sqlite_db) == migrations.head_revision()
    res = invoke("db", "downgrade", "0999", "--yes", url=sqlite_db)
    assert res.returncode == 2 and "unknown revision '0999'" in res.stderr
    assert migrations.current(sqlite_db) == migrations.head_revision()


def test_downgrade_without_a_terminal_or_yes_refuses(sqlite_db: str) -> None:
    _with_checkpoint(sqlite_db)
    res = ai_trading("db", "downgrade", "0002", url=sqlite_db)  # stdin is /dev/null
    assert res.returncode == 1
    assert "no confirmation (stdin is closed): pass --yes" in res.stderr
    # it said what would go, the resume checkpoints by name
    assert "drops table run_checkpoints (1 row(s)) - the resume checkpoints: 1 unfinished run(s)" in res.stderr
    assert migrations.current(sqlite_db) == migrations.head_revision()
    assert "run_checkpoints" in _tables(sqlite_db)


def test_interactive_confirmation(sqlite_db: str) -> None:
    res = invoke("db", "downgrade", "0002", stdin="n\n", url=sqlite_db)
    assert res.returncode == 1 and "downgrade cancelled" in res.stderr
    assert migrations.current(sqlite_db) == migrations.head_revision()
    res = invoke("db", "downgrade", "0002", stdin="y\n", url=sqlite_db)
    assert res.returncode == 0, res.stderr
    assert "at revision 0002" in res.stdout
    assert "run_checkpoints" not in _tables(sqlite_db)


def test_audit_rows_need_drop_audit_and_backup_keeps_them(sqlite_db: str, tmp_path: Path) -> None:
    _with_audit_rows(sqlite_db)
    res = invoke("db", "downgrade", "base", "--yes", url=sqlite_db)
    assert res.returncode == 1
    assert "refusing: the downgrade would drop" in res.stderr and "--drop-audit" in res.stderr
    assert "audit trail" in res.stderr
    assert migrations.current(sqlite_db) == migrations.head_revision()
    backup = tmp_path / "before-downgrade.db"
    res = invoke("db", "downgrade", "base", "--yes", "--drop-audit", "--backup", str(backup), url=sqlite_db)
    assert res.returncode == 0, res.stderr
    assert migrations.current(sqlite_db) is None and _tables(sqlite_db) == {"alembic_version"}
    assert backup.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT run_id, sequence FROM audit_events").fetchall() == [("r1", 1)]
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone()[0] == migrations.head_revision()
    # an existing backup file is never overwritten
    migrations.upgrade(sqlite_db)
    res = invoke("db", "downgrade", "base", "--yes", "--backup", str(backup), url=sqlite_db)
    assert res.returncode == 1 and "already exists" in res.stderr
    assert migrations.current(sqlite_db) == migrations.head_revision()


def test_db_current_does_not_create_a_missing_sqlite_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "missing.db"
    res = ai_trading("db", "current", "--url", f"sqlite:///{missing.as_posix()}")
    assert res.returncode == 0 and res.stdout.startswith("base")
    assert not missing.exists() and not missing.parent.exists()
    res = invoke("db", "downgrade", "base", "--yes", "--url", f"sqlite:///{missing.as_posix()}")
    assert res.returncode != 0 and "no database at" in res.stderr
    assert not missing.exists()


def test_export_all_symbols(tmp_path: Path, sqlite_db: str) -> None:
    from ai_trading_storage.ingest import write_bars

    engine = create_db_engine(sqlite_db)
    write_bars(engine, random_walk_panel(20, 4, seed=3))
    engine.dispose()
    out = tmp_path / "all.csv"
    res = invoke("data", "export", "--all-symbols", "-o", str(out), url=sqlite_db)
    assert res.returncode == 0, res.stderr
    assert "exported 80 bars (4 symbol(s))" in res.stdout
    back = invoke("data", "import", str(out), "--url", f"sqlite:///{(tmp_path / 'copy.db').as_posix()}")
    assert back.returncode == 0 and "imported 80 bars (4 symbol(s), 1d)" in back.stdout, back.stderr
    res = invoke("data", "export", "-o", str(out), url=sqlite_db)
    assert res.returncode == 2 and "--symbol (repeatable) or --all-symbols" in res.stderr


def test_import_replace_can_back_up_first(tmp_path: Path, sqlite_db: str) -> None:
    from ai_trading_storage.cli.bars_file import write_bar_file
    from ai_trading_storage.ingest import read_bars, write_bars

    engine = create_db_engine(sqlite_db)
    old = random_walk_panel(10, 2, seed=1)
    write_bars(engine, old)
    new = tmp_path / "new.csv"
    write_bar_file(random_walk_panel(10, 2, seed=2), new)
    backup = tmp_path / "before-replace.db"
    res = invoke("data", "import", str(new), "--replace", "--backup", str(backup), url=sqlite_db)
    assert res.returncode == 0, res.stderr
    assert "backup written to" in res.stderr
    assert read_bars(engine, old.symbols, "1d").close.tolist() != old.close.tolist()
    engine.dispose()
    kept = create_db_engine(f"sqlite:///{backup.as_posix()}")
    assert read_bars(kept, old.symbols, "1d").close.tolist() == old.close.tolist()
    kept.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump not installed (postgresql-client)")
def test_postgres_downgrade_with_pg_dump_backup(pg_empty_url: str, tmp_path: Path) -> None:
    migrations.upgrade(pg_empty_url)
    _with_audit_rows(pg_empty_url)
    backup = tmp_path / "before.dump"
    res = ai_trading("db", "downgrade", "0003", "--yes", "--drop-audit", "--backup", str(backup), url=pg_empty_url)
    assert res.returncode == 0, res.stderr
    assert "backup written to" in res.stderr
    assert migrations.current(pg_empty_url) == "0003"
    assert backup.stat().st_mode & 0o777 == 0o600
    listing = subprocess.run(["pg_restore", "--list", str(backup)], capture_output=True, text=True, check=True)
    assert "TABLE DATA public audit_events" in listing.stdout
    # restore it into a fresh database: the run row is back with the head's schema
    name = pg_empty_url.rsplit("/", 1)[1] + "_restored"
    admin_url = pg_empty_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            restored = pg_empty_url.rsplit("/", 1)[0] + "/" + name
            subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored}", str(backup)], check=True)
            assert migrations.current(restored) == migrations.head_revision()
            with psycopg.connect(restored) as conn:
                assert conn.execute("SELECT run_id, sequence FROM audit_events").fetchall() == [("r1", 1)]
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
