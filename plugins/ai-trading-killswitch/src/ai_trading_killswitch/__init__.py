"""The kill switch: ``ai-trading halt`` / ``ai-trading resume``, a persisted halt that every
run under the same state directory honours (risk check ``kill_switch``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .check import KillSwitchCheck, KillSwitchParams
    from .state import KillSwitchState, current_state, halt, halt_request_path, request_halt, resume, state_path

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "KillSwitchCheck": ".check",
        "KillSwitchParams": ".check",
        "KillSwitchState": ".state",
        "current_state": ".state",
        "halt": ".state",
        "halt_request_path": ".state",
        "request_halt": ".state",
        "resume": ".state",
        "state_path": ".state",
    },
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
