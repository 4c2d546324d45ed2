"""The kill switch: ``ai-trading halt`` / ``ai-trading resume``, a persisted halt that every
run under the same state directory honours (risk check ``kill_switch``)."""

from __future__ import annotations

from .check import KillSwitchCheck, KillSwitchParams
from .state import (
    KillSwitchState,
    current_state,
    halt,
    halt_request_path,
    request_halt,
    resume,
    state_path,
)

__all__ = [
    "KillSwitchCheck",
    "KillSwitchParams",
    "KillSwitchState",
    "current_state",
    "halt",
    "halt_request_path",
    "request_halt",
    "resume",
    "state_path",
]
