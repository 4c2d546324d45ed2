"""Where the breakers keep their state, written with the kernel's atomic files (a reader, or a
restart after a crash, sees either the old state or the new one, never half of one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_trading_core.errors import RiskError
from ai_trading_core.files import atomic_write_json, read_json

STATE_SUBDIR = "circuit-breaker"


def state_path(state_dir: Path, component_id: str) -> Path:
    """Where the breaker named ``component_id`` keeps its state under ``state_dir``."""
    return Path(state_dir) / STATE_SUBDIR / f"{component_id}.json"


def write_state(path: Path, doc: dict[str, Any]) -> None:
    atomic_write_json(path, doc)


def read_state(path: Path) -> dict[str, Any] | None:
    """The persisted document, or None when there is no file yet. A file that exists but
    cannot be parsed raises :class:`RiskError`: the breaker must not start ACTIVE on a state
    it cannot read."""
    doc = read_json(path, None, what="circuit breaker state file", error=RiskError)
    if doc is not None and not isinstance(doc, dict):
        raise RiskError(f"circuit breaker state file {path} does not hold a JSON object")
    return doc


def list_states(state_dir: Path) -> list[Path]:
    folder = Path(state_dir) / STATE_SUBDIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith("."))
