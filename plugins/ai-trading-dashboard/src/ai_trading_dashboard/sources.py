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

    def load(self, run_id: str) -> dict[str, Any]:
        if run_id not in self.run_ids():
            raise DataError(f"run {run_id!r} is not in {self.path.name}")
        return self._doc

    def decision_prices(self, run_id: str) -> dict[str, float]:
        return {}


class StorageRunSource:
    """Runs stored by the ``sql`` storage component (SQLite or PostgreSQL, by URL). Read
    only: the schema is never migrated from here."""

    def __init__(self, url: str) -> None:
        try:
            from ai_trading_storage.connection import create_db_engine, safe_url
            from ai_trading_storage.repositories import Database
        except ImportError as exc:  # pragma: no cover - the dependency is declared
            raise ConfigError("reading runs from a database needs ai-trading-storage") from exc
        self.label = safe_url(url)
        self.engine = create_db_engine(url)
        self.db = Database(self.engine)

    def run_ids(self) -> list[str]:
        return self.db.runs.ids()

    def load(self, run_id: str) -> dict[str, Any]:
        return self.db.runs.load(run_id)

    def decision_prices(self, run_id: str) -> dict[str, float]:
        prices: dict[str, float] = {}
        for row in self.db.audit.rows(run_id):
            if row.kind != "decision":
                continue
            payload = json.loads(row.payload) if isinstance(row.payload, str) else row.payload
            close = (payload.get("market") or {}).get("close")
            if close:
                prices[row.correlation_id] = float(close)
        return prices

    def close(self) -> None:
        self.db.dispose()
