"""A copy of the whole database before a command removes data: ``pg_dump`` (custom format,
restore with ``pg_restore``) for PostgreSQL, SQLite's online backup API for SQLite (the
copy is itself a SQLite database). The file is created new (never overwritten) with mode
0600: it holds the audit trail and every order."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL

from ai_trading_core.errors import StorageError

from .connection import normalize_url, safe_url, sqlite_file

PG_DUMP_HINT = "install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client)"


def backup_database(url: str | URL, path: Path) -> Path:
    """Write a backup of the database at ``url`` to the new file ``path``; returns it."""
    parsed = normalize_url(url)
    path = Path(path).expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StorageError(f"backup file {path} already exists: choose a new name") from None
    except OSError as exc:
        raise StorageError(f"cannot create backup file {path}: {exc.strerror}") from None
    os.close(fd)
    try:
        if parsed.get_backend_name() == "sqlite":
            _sqlite_backup(parsed, path)
        else:
            _pg_dump(parsed, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _sqlite_backup(url: URL, path: Path) -> None:
    source_path = sqlite_file(url)
    if source_path is None:
        raise StorageError("an in-memory SQLite database cannot be backed up")
    try:
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(path)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise StorageError(f"backup of {source_path} to {path} failed: {exc}") from exc


def _pg_dump(url: URL, path: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise StorageError(f"pg_dump not found: {PG_DUMP_HINT}")
    params = {k: v for k, v in url.query.items() if isinstance(v, str)}
    params.update(host=url.host or "", port=str(url.port or ""), dbname=url.database or "", user=url.username or "")
    conninfo = make_conninfo("", **{k: v for k, v in params.items() if v})
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)  # not on the command line, where ps shows it
    result = subprocess.run(
        [pg_dump, "--format=custom", "--no-password", f"--file={path}", f"--dbname={conninfo}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise StorageError(f"pg_dump of {safe_url(url)} failed: {detail}")
