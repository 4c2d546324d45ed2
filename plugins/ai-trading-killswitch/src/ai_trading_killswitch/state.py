"""The kill switch's persisted state, shared by every process under one state directory.

Two files under ``<state_dir>/kill-switch/``, both written atomically
(:mod:`ai_trading_core.files`):

* ``state.json``: ``{"halted", "reason", "since", "by"}``, the one source of truth;
* ``halt-request.json``: ``{"requested_at", "requested_by", "reason"}``, a request to halt
  as the dashboard writes it. A request is honoured as soon as anyone reads the state: it is
  applied to ``state.json`` (halted, with the request's reason, time and author) and stays
  in place as the record of who asked, until an explicit :func:`resume` removes it.

Trading stays halted while either file says so; only :func:`resume` re-arms.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ai_trading_core.errors import RiskError
from ai_trading_core.files import atomic_write_json, read_json

SUBDIR = "kill-switch"
STATE_FILE = "state.json"
HALT_REQUEST_FILE = "halt-request.json"


def state_path(state_dir: str | Path) -> Path:
    """``<state_dir>/kill-switch/state.json``."""
    return Path(state_dir) / SUBDIR / STATE_FILE


def halt_request_path(state_dir: str | Path) -> Path:
    """``<state_dir>/kill-switch/halt-request.json``."""
    return Path(state_dir) / SUBDIR / HALT_REQUEST_FILE


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    """Whether trading is halted, why, since when (ISO 8601, UTC) and on whose word."""

    halted: bool
    reason: str = ""
    since: str | None = None
    by: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"halted": self.halted, "reason": self.reason, "since": self.since, "by": self.by}

    @classmethod
    def from_json(cls, doc: Any, path: Path) -> KillSwitchState:
        if not isinstance(doc, dict) or not isinstance(doc.get("halted"), bool):
            raise RiskError(f"kill switch state file {path} must hold an object with a boolean 'halted'")
        since = doc.get("since")
        return cls(
            doc["halted"],
            str(doc.get("reason") or ""),
            None if since is None else str(since),
            str(doc.get("by") or ""),
        )

    def describe(self) -> str:
        word = "HALTED" if self.halted else "active"
        if self.since is None:
            return f"{word} (never halted)" if not self.halted else word
        return f"{word} since {self.since} by {self.by or '?'}: {self.reason}"


ARMED = KillSwitchState(False)


def _read_request(state_dir: str | Path) -> dict[str, Any] | None:
    path = halt_request_path(state_dir)
    doc = read_json(path, None, what="kill switch halt request", error=RiskError)
    if doc is not None and (not isinstance(doc, dict) or not isinstance(doc.get("reason"), str)):
        raise RiskError(f"kill switch halt request {path} must hold an object with a 'reason'")
    return doc


def current_state(state_dir: str | Path) -> KillSwitchState:
    """The state, with a pending halt request applied to ``state.json`` first.

    :raises RiskError: a file exists but cannot be read or understood (callers fail closed).
    """
    path = state_path(state_dir)
    doc = read_json(path, None, what="kill switch state file", error=RiskError)
    state = ARMED if doc is None else KillSwitchState.from_json(doc, path)
    if state.halted:
        return state
    request = _read_request(state_dir)
    if request is None:
        return state
    state = KillSwitchState(
        True,
        request["reason"],
        str(request.get("requested_at") or "") or None,
        str(request.get("requested_by") or "halt request"),
    )
    atomic_write_json(path, state.to_json())
    return state


def halt(
    state_dir: str | Path, *, reason: str, by: str, now: datetime
) -> tuple[KillSwitchState, KillSwitchState]:
    """Halt trading. Returns ``(previous, current)``; halting an already halted switch keeps
    the first halt's reason, author and time."""
    if not reason.strip():
        raise RiskError("a halt needs a reason")
    previous = current_state(state_dir)
    if previous.halted:
        return previous, previous
    state = KillSwitchState(True, reason.strip(), now.isoformat(), by)
    atomic_write_json(state_path(state_dir), state.to_json())
    return previous, state


def resume(
    state_dir: str | Path, *, reason: str, by: str, now: datetime
) -> tuple[KillSwitchState, KillSwitchState]:
    """Re-arm (the only way back from a halt). Removes a pending halt request, then records
    the resume. Returns ``(previous, current)``; resuming an armed switch changes nothing."""
    if not reason.strip():
        raise RiskError("a resume needs a reason")
    previous = current_state(state_dir)
    if not previous.halted:
        return previous, previous
    # The request goes first: a reader in between still sees state.json halted, never an
    # armed state next to a request it would apply again.
    with contextlib.suppress(FileNotFoundError):
        halt_request_path(state_dir).unlink()
    state = KillSwitchState(False, f"resumed: {reason.strip()}", now.isoformat(), by)
    atomic_write_json(state_path(state_dir), state.to_json())
    return previous, state


def request_halt(state_dir: str | Path, *, requested_by: str, reason: str, now: datetime) -> Path:
    """Ask every trading process under ``state_dir`` to halt (the dashboard's kill switch).

    Sets ``state.json`` halted, then leaves the request itself in ``halt-request.json`` as the
    record of who asked. Returns the state file's path.
    """
    halt(state_dir, reason=reason, by=requested_by, now=now)
    atomic_write_json(
        halt_request_path(state_dir),
        {"requested_at": now.isoformat(), "requested_by": requested_by, "reason": reason},
    )
    return state_path(state_dir)
