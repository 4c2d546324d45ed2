"""Where finished runs come from: the storage plugin's database or a run document file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ai_trading_core.errors import ConfigError, DataError


@runtime_checkable
class RunSource(Protocol):
    """Finished runs, newest last."""

    def run_ids(self) -> list[str]: ...

    def load(self, run_id: str) -> dict[str, Any]: ...

    def decision_prices(self, run_id: str) -> dict[str, float]:
        """``correlation_id -> close at decision time`` from the audit trail (empty when the
        source has no audit trail). Used to measure slippage."""
        ...


class JsonRunSource:
    """One run document written by ``ai-trading run --json-out PATH``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"run document not found: {self.path}")
        try:
            self._doc: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{self.path}: not a JSON run document: {exc}") from None
        if not isinstance(self._doc, dict) or "equity_curve" not in self._doc:
            raise DataError(f"{self.path}: not a run document (no equity_curve)")

    def run_ids(self) -> list[str]:
        return [str(self._doc.get("run_id", self.path.stem))]

    def summaries(self) -> list[dict[str, Any]]:
        doc = self._doc
        return [
            {
                "run_id": self.run_ids()[0],
                "name": doc.get("name") or self.path.stem,
                "mode": doc.get("mode") or "",
                "started_at": doc.get("start"),
                "status": "stored",
            }
        ]

    def load(self, run_id: str) -> dict[str, Any]:
        if run_id not in self.run_ids():
            raise DataError(f"run {run_id!r} is not in {self.path.name}")
        return self._doc

    def decision_prices(self, run_id: str) -> dict[str, float]:
        return {}


class StorageRunSource:
    """Runs stored by the ``sql`` storage component (SQLite or PostgreSQL, by URL). Read
    only: the schema is never migrated from here, and a SQLite file that does not exist is
    not created. A fresh install (no database file, no tables yet, server unreachable) lists
    no runs and says why in :attr:`problem`, so the dashboard shows an empty state."""

    def __init__(self, url: str) -> None:
        try:
            from ai_trading_storage.connection import create_db_engine, normalize_url, safe_url
            from ai_trading_storage.repositories import Database
        except ImportError as exc:  # pragma: no cover - the dependency is declared
            raise ConfigError("reading runs from a database needs ai-trading-storage") from exc
        self.label = safe_url(url)
        self.problem: str | None = None
        parsed = normalize_url(url)
        database = parsed.database or ""
        self._missing_file: Path | None = None
        if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not database.startswith(
            "file:"
        ):
            path = Path(database).expanduser()
            if not path.is_file():
                self._missing_file = path
        self.engine = None if self._missing_file is not None else create_db_engine(url)
        self.db = None if self.engine is None else Database(self.engine)

    def _ready(self) -> bool:
        """True when the database exists and has the runs table; otherwise sets :attr:`problem`."""
        import sqlalchemy as sa

        if self._missing_file is not None:
            if not self._missing_file.is_file():
                self.problem = f"no database yet at {self._missing_file}"
                return False
            from ai_trading_storage.connection import create_db_engine
            from ai_trading_storage.repositories import Database

            self.engine = create_db_engine(f"sqlite:///{self._missing_file.as_posix()}")
            self.db = Database(self.engine)
            self._missing_file = None
        assert self.engine is not None
        try:
            has_runs = sa.inspect(self.engine).has_table("runs")
        except sa.exc.SQLAlchemyError as exc:
            self.problem = f"database {self.label} unreachable: {str(getattr(exc, 'orig', exc)).strip()[:200]}"
            return False
        if not has_runs:
            self.problem = f"database {self.label} has no runs table yet (no run has been stored)"
            return False
        self.problem = None
        return True

    def run_ids(self) -> list[str]:
        return [s["run_id"] for s in self.summaries()][::-1]

    def summaries(self) -> list[dict[str, Any]]:
        """``{run_id, name, mode, started_at, status}`` of every stored run, newest first.
        Stored runs carry the time they were stored (the end of the run) as ``started_at``
        is not kept in the table."""
        import sqlalchemy as sa
        from ai_trading_storage.models import RunRow

        if not self._ready():
            return []
        assert self.engine is not None
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(RunRow.run_id, RunRow.name, RunRow.mode, RunRow.stored_at).order_by(
                        RunRow.stored_at.desc(), RunRow.run_id
                    )
                ).all()
        except sa.exc.SQLAlchemyError as exc:
            self.problem = f"listing runs failed on {self.label}: {str(getattr(exc, 'orig', exc)).strip()[:200]}"
            return []
        return [
            {
                "run_id": r.run_id,
                "name": r.name,
                "mode": r.mode,
                "started_at": r.stored_at.isoformat() if r.stored_at else None,
                "status": "stored",
            }
            for r in rows
        ]

    def load(self, run_id: str) -> dict[str, Any]:
        if not self._ready() or self.db is None:
            raise DataError(self.problem or "no database")
        return self.db.runs.load(run_id)

    def decision_prices(self, run_id: str) -> dict[str, float]:
        prices: dict[str, float] = {}
        if self.db is None or not sa_has_table(self.engine, "audit_events"):
            return prices
        for row in self.db.audit.rows(run_id):
            if row.kind != "decision":
                continue
            payload = json.loads(row.payload) if isinstance(row.payload, str) else row.payload
            close = (payload.get("market") or {}).get("close")
            if close:
                prices[row.correlation_id] = float(close)
        return prices

    def close(self) -> None:
        if self.db is not None:
            self.db.dispose()


def sa_has_table(engine: Any, name: str) -> bool:
    import sqlalchemy as sa

    try:
        return bool(sa.inspect(engine).has_table(name))
    except sa.exc.SQLAlchemyError:
        return False
