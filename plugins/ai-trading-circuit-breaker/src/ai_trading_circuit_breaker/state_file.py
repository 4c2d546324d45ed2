"""Atomic JSON state files: written to a temporary file in the same directory, flushed to
disk, then moved over the old file with ``os.replace``, so a reader (or a restart after a
crash) sees either the old state or the new one, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ai_trading_core.errors import RiskError

STATE_SUBDIR = "circuit-breaker"


def state_path(state_dir: Path, component_id: str) -> Path:
    """Where the breaker named ``component_id`` keeps its state under ``state_dir``."""
    return Path(state_dir) / STATE_SUBDIR / f"{component_id}.json"


def write_state(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_state(path: Path) -> dict[str, Any] | None:
    """The persisted document, or None when there is no file yet. A file that exists but
    cannot be parsed raises :class:`RiskError`: the breaker must not start ACTIVE on a state
    it cannot read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RiskError(f"circuit breaker state file {path} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise RiskError(f"circuit breaker state file {path} does not hold a JSON object")
    return doc


def list_states(state_dir: Path) -> list[Path]:
    folder = Path(state_dir) / STATE_SUBDIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith("."))
