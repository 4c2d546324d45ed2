"""The kill switch as the dashboard triggers it: a halt request written where the trading
process watches for it.

When the ``ai-trading-killswitch`` plugin is installed, its API writes the request.
Otherwise the dashboard writes ``<state_dir>/kill-switch/halt-request.json`` atomically (a
temporary file, ``fsync``, ``os.replace``): ``{"requested_at", "requested_by", "reason"}``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ai_trading_core.files import atomic_write_json

HALT_REQUEST = Path("kill-switch") / "halt-request.json"


def halt_request_path(state_dir: Path) -> Path:
    return Path(state_dir) / HALT_REQUEST


def request_halt(state_dir: Path, *, requested_by: str, reason: str, now: datetime) -> Path:
    """Ask the trading process to halt. Returns the file written (or the plugin's)."""
    try:  # the dedicated plugin, when present, owns the mechanism
        from ai_trading_killswitch import request_halt as plugin_request_halt  # type: ignore[import-not-found]
    except ImportError:
        plugin_request_halt = None
    if plugin_request_halt is not None:
        result: Any = plugin_request_halt(state_dir, requested_by=requested_by, reason=reason, now=now)
        return Path(result) if result is not None else halt_request_path(state_dir)
    path = halt_request_path(state_dir)
    doc = {"requested_at": now.isoformat(), "requested_by": requested_by, "reason": reason}
    atomic_write_json(path, doc, indent=None)
    return path
