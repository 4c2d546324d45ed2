"""The ``heartbeat`` risk check: approves every order and, on every step, writes
``<state_dir>/heartbeat.json`` (at most once per ``interval_s`` of the engine's clock)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.clock import WallClock
from ai_trading_core.enums import RiskDecision
from ai_trading_core.files import atomic_write_json
from ai_trading_core.models import Order, RiskVerdict
from ai_trading_core.protocols import RiskContext, RiskStateRequest

HEARTBEAT_FILE = "heartbeat.json"


def heartbeat_path(state_dir: str | Path) -> Path:
    """``<state_dir>/heartbeat.json``."""
    return Path(state_dir) / HEARTBEAT_FILE


class HeartbeatParams(BaseModel):
    """Parameters of the ``heartbeat`` risk check."""

    model_config = ConfigDict(extra="forbid")

    interval_s: float = Field(default=5.0, ge=0.0,
                              description="seconds of clock time between two writes; 0 = every step")


class Heartbeat:
    """Writes ``{"pid", "ts", "ts_ns", "beats"}`` atomically (a reader never sees half a
    file). ``ts`` is the engine clock: wall time in live mode, which is what the watchdog
    compares against; in backtests it is bar time and the file is only informative."""

    def __init__(
        self, path: Path, clock: Any, *, interval_s: float, name: str = "heartbeat", pid: int | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.clock = clock if clock is not None else WallClock()
        self.interval_ns = int(interval_s * 1e9)
        self.pid = os.getpid() if pid is None else pid
        self.beats = 0
        self._last_ns: int | None = None

    def check(self, orders: Sequence[Order], ctx: RiskContext) -> list[RiskVerdict]:
        now = self.clock.now()
        return [RiskVerdict(check=self.name, decision=RiskDecision.APPROVE, client_order_id=o.client_order_id,
                            symbol=o.symbol, requested_quantity=o.quantity, approved_quantity=o.quantity,
                            reason="heartbeat approves every order", timestamp=now) for o in orders]

    def update(self, ctx: RiskContext) -> RiskStateRequest | None:
        self.beat()
        return None

    def beat(self) -> bool:
        """Write the heartbeat if ``interval_s`` has passed since the last write; True if written."""
        now_ns = int(self.clock.now_ns())
        if self._last_ns is not None and now_ns - self._last_ns < self.interval_ns:
            return False
        self.beats += 1
        atomic_write_json(self.path, {"pid": self.pid, "ts": self.clock.now().isoformat(), "ts_ns": now_ns,
                                      "beats": self.beats})
        self._last_ns = now_ns
        return True
