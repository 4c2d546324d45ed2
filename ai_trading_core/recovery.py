"""Crash recovery for paper and live runs.

A paper or live run whose storage implements
:class:`~ai_trading_core.protocols.RecoverableStorage` writes a :class:`Checkpoint` at session
start and after every step. When the process dies (``kill -9``, a power cut) and the same
config is started again, the runner asks the storage for the newest unfinished run of that
config and the engine resumes it (:meth:`~ai_trading_core.engine.Engine.restore`):

* **The ledger is rebuilt from the recorded fills**, each applied once by execution id. Fills
  are the only thing that moves money, so positions and cash come out exactly as they were.
* **Orders are taken from storage**, their filled quantity recomputed from the recorded fills
  (an order whose every unit has a recorded fill is filled, and stored so).
  Every order that may still be live or may have filled unseen (not terminal, or terminal
  with fewer recorded fills than its state implies) is put back as UNKNOWN: the engine looks
  it up by client order id before it trades, and the broker reports fills it missed. An order
  that was persisted but never reached the broker stays unknown (its symbol trades nothing)
  until the lookup budget, counted from the last checkpoint's wall-clock time, is spent and
  the broker's order list does not hold it; then it is rejected and its intent decided
  again, never resent blindly.
* **The broker reconciles** against the recovered ledger (``BrokerContext.positions``) and
  adopts the recovered orders (``BrokerContext.recovered_orders``).
* **Decisions resume after the last completed step.** Bars up to the checkpoint only warm the
  history and the strategies; the step that was cut short is decided again, against the
  recovered positions and pending orders, so an intent that already reached the broker is
  not sent twice. Client order ids of a resumed run carry the restart count, so they never
  collide with an id the broker has seen.
* The run keeps its run id, its audit chain continues at the next sequence, and the risk
  state (a HALTED circuit breaker, say) is restored as it was.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .enums import RiskState
from .models import Fill, Order


def finite_list(values: Any) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values]


@dataclass
class Checkpoint:
    """What the engine needs, beyond the recorded orders and fills, to resume a run."""

    run_id: str
    config_hash: str
    timestamp: int | None
    """The last completed step (ns since the epoch, UTC), None before the first step."""
    order_seq: int = 0
    restarts: int = 0
    combined: list[float | None] = field(default_factory=list)
    targets: dict[str, list[float | None]] = field(default_factory=dict)
    peak_equity: float = 0.0
    day_start_equity: float = 0.0
    day: int = -1
    risk_state: str = RiskState.ACTIVE.value
    risk_state_source: str = ""
    halt_reason: str = ""
    symbols: list[str] = field(default_factory=list)
    saved_at: float | None = None
    """Wall-clock seconds since the epoch when the checkpoint was written. An order the dead
    process sent was sent before it, give or take a step: the budget for looking up its
    unknown orders started then, not at the restart."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Checkpoint:
        return cls(**{k: doc[k] for k in cls.__dataclass_fields__ if k in doc})


def nan_list(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


@dataclass
class RecoveredState:
    """An unfinished run as its storage holds it."""

    checkpoint: Checkpoint
    orders: list[Order]
    fills: list[Fill]
    audit_sequence: int = 0
    """The last audit sequence recorded for the run (the chain continues after it)."""


__all__ = ["Checkpoint", "RecoveredState", "finite_list", "nan_list"]
