"""The kill switch as the dashboard triggers it: a halt request written where the trading
process watches for it.

When the ``ai-trading-killswitch`` plugin is installed, its API writes the request.
Otherwise the dashboard writes ``<state_dir>/kill-switch/halt-request.json`` atomically (a
temporary file, ``fsync``, ``os.replace``): ``{"requested_at", "requested_by", "reason"}``.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

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
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"requested_at": now.isoformat(), "requested_by": requested_by, "reason": reason}
    fd, tmp = tempfile.mkstemp(prefix=".halt-request.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
