"""Storage reachability probes: each returns ``None`` when reachable, else a short reason."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

StorageProbe = Callable[[], str | None]


def directory_writable(path: Path) -> StorageProbe:
    """Reachable when a file can be created and removed in ``path``."""

    def probe() -> str | None:
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path, prefix=".health-", delete=True):
                pass
        except OSError as exc:
            return f"state directory {path} not writable: {exc.strerror or exc}"
        return None

    return probe


def sql_select_one(url: str) -> StorageProbe:
    """Reachable when ``SELECT 1`` succeeds on a fresh connection to ``url`` (SQLAlchemy)."""

    def probe() -> str | None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import SQLAlchemyError

        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return f"database not reachable: {type(exc).__name__}"
        finally:
            engine.dispose()
        return None

    return probe
