"""The ``kill_switch`` risk check: the persisted halt, seen by a running engine.

``update`` asks for HALTED on every step while the state file says halted, and the engine
then cancels open orders and refuses new ones. ``check`` rejects every order while halted (a
second line of defence, should a halt land between ``update`` and ``check``), and the
around-order wrapper in :mod:`.plugin` refuses a submission that got past both.

The files are re-read only when one of them changes (a ``stat`` of each per call, no
parsing), so the check costs next to nothing per step. A change is a different modification
time, inode or size: every write replaces the file, so a new version is a new inode.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ai_trading_core.batch import OrderBatch, VerdictBatch
from ai_trading_core.enums import RiskDecision, RiskLevel, RiskState
from ai_trading_core.errors import TradingHalted
from ai_trading_core.market import to_datetime
from ai_trading_core.models import Order, RiskVerdict
from ai_trading_core.protocols import RiskContext, RiskStateRequest

from .state import ARMED, KillSwitchState, current_state, halt_request_path, state_path

_Signature = tuple[int, int, int] | None


class KillSwitchParams(BaseModel):
    """The kill switch takes no parameters: its files live under ``run.state_dir``."""

    model_config = ConfigDict(extra="forbid")


def _signature(path: Path) -> _Signature:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_ino, st.st_size)


class KillSwitchCheck:
    """Watches ``<state_dir>/kill-switch/`` and refuses to trade while it says halted."""

    def __init__(self, state_dir: str | Path, name: str = "kill_switch") -> None:
        self.name = name
        self.state_dir = Path(state_dir)
        self._paths = (state_path(self.state_dir), halt_request_path(self.state_dir))
        self._seen: tuple[_Signature, _Signature] | None = None
        self._state = ARMED

    def state(self) -> KillSwitchState:
        """The current state; the files are parsed again only when one of them changed.

        :raises RiskError: a file cannot be read or understood (the engine fails closed).
        """
        seen = (_signature(self._paths[0]), _signature(self._paths[1]))
        if seen != self._seen:
            self._state = current_state(self.state_dir)
            # The signatures from before the read: a write that lands during the read (or the
            # request just applied to state.json) shows as a change next time, never as seen.
            self._seen = seen
        return self._state

    def refuse_if_halted(self) -> None:
        """:raises TradingHalted: while the kill switch is halted."""
        st = self.state()
        if st.halted:
            raise TradingHalted(f"kill switch: {st.reason} (halted by {st.by or '?'} since {st.since})")

    # ------------------------------------------------------------------ RiskCheck
    def update(self, ctx: RiskContext) -> RiskStateRequest | None:
        st = self.state()
        if not st.halted:
            if ctx.state is RiskState.HALTED and st.reason:
                # An operator resumed (`ai-trading resume`): ask the engine to re-arm. The engine
                # honours this only when the kill switch is what halted it.
                return RiskStateRequest(RiskState.ACTIVE, f"kill switch resumed: {st.reason}")
            return None
        return RiskStateRequest(
            RiskState.HALTED, f"kill switch: {st.reason} (by {st.by or '?'} since {st.since})"
        )

    def check(self, orders: Sequence[Order], ctx: RiskContext) -> Sequence[RiskVerdict]:
        st = self.state()
        approve = not st.halted
        # One decision for every order: validate it once, copy it per order.
        common = RiskVerdict(
            check=self.name,
            decision=RiskDecision.APPROVE if approve else RiskDecision.REJECT,
            reason=_reason(st),
            level=RiskLevel.LOW if approve else RiskLevel.CRITICAL,
            timestamp=to_datetime(ctx.timestamp),
        )
        return [
            common.model_copy(
                update={
                    "client_order_id": o.client_order_id,
                    "symbol": o.symbol,
                    "correlation_id": o.correlation_id,
                    "requested_quantity": o.quantity,
                    "approved_quantity": o.quantity if approve else Decimal(0),
                }
            )
            for o in orders
        ]

    def check_batch(self, batch: OrderBatch, ctx: RiskContext) -> VerdictBatch:
        """:meth:`check`'s one decision for every row of a columnar batch."""
        st = self.state()
        if st.halted:
            return VerdictBatch.reject_all(self.name, len(batch), _reason(st))
        return VerdictBatch.approve_all(self.name, len(batch), _reason(st))


def _reason(st: KillSwitchState) -> str:
    return f"kill switch halted: {st.reason}" if st.halted else "kill switch armed"
