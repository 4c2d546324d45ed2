"""The circuit breaker: trips on a daily loss or a rapid loss and stays tripped until it is
re-armed explicitly.

* **Daily loss**: ``-daily_pnl / (value - daily_pnl)``, the loss as a fraction of the equity
  at the start of the current day. Trips when it reaches ``daily_loss_limit``.
* **Rapid loss**: ``(max - value) / max`` where ``max`` is the highest portfolio value seen
  in the trailing ``rapid_loss_window`` seconds (the current value included). Trips when it
  reaches ``rapid_loss_limit``.

Which state a trip asks for is configurable; by default a rapid loss asks for REDUCING (only
orders that reduce a position) and a daily loss for HALTED (no new orders, open orders
cancelled). The state only escalates (ACTIVE -> REDUCING -> HALTED); nothing but
:meth:`CircuitBreaker.rearm` brings it back to ACTIVE.

With a ``state_file`` every change of state is written atomically and a new breaker built on
the same file starts in the persisted state: a restart does not re-arm.
"""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ai_trading_core.clock import Clock, WallClock
from ai_trading_core.enums import RiskState
from ai_trading_core.errors import ConfigError, RiskError
from ai_trading_core.market import to_datetime, to_ns

from .state_file import read_state, write_state

_SEVERITY = {RiskState.ACTIVE: 0, RiskState.REDUCING: 1, RiskState.HALTED: 2}
_NS = 1_000_000_000
HISTORY_KEPT = 50  # state changes kept in the state file
MAX_WINDOW_SECONDS = 100 * 366 * 86_400.0  # a century: "since the start" in any real run


@dataclass(frozen=True, slots=True)
class BreakerTransition:
    """One change of the breaker's state, with the numbers behind it."""

    timestamp: datetime
    previous_state: RiskState
    state: RiskState
    trigger: str  # "daily_loss", "rapid_loss", "manual" or "rearm"
    reason: str
    measured: float | None = None
    limit: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp.isoformat(),
            "previous_state": self.previous_state.value,
            "state": self.state.value,
            "trigger": self.trigger,
            "reason": self.reason,
            "measured": self.measured,
            "limit": self.limit,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> BreakerTransition:
        return cls(
            timestamp=datetime.fromisoformat(doc["timestamp"]),
            previous_state=RiskState(doc["previous_state"]),
            state=RiskState(doc["state"]),
            trigger=str(doc["trigger"]),
            reason=str(doc["reason"]),
            measured=None if doc.get("measured") is None else float(doc["measured"]),
            limit=None if doc.get("limit") is None else float(doc["limit"]),
        )


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    """What the breaker says now. ``measured`` and ``limit`` are fractions of equity."""

    state: RiskState
    trigger: str | None = None
    reason: str = ""
    measured: float | None = None
    limit: float | None = None
    since: datetime | None = None
    history: tuple[BreakerTransition, ...] = field(default_factory=tuple)

    @property
    def tripped(self) -> bool:
        return self.state is not RiskState.ACTIVE

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "state": self.state.value,
            "trigger": self.trigger,
            "reason": self.reason,
            "measured": self.measured,
            "limit": self.limit,
            "since": None if self.since is None else self.since.isoformat(),
            "history": [t.to_json() for t in self.history[-HISTORY_KEPT:]],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> BreakerStatus:
        since = doc.get("since")
        return cls(
            state=RiskState(doc["state"]),
            trigger=doc.get("trigger"),
            reason=str(doc.get("reason", "")),
            measured=None if doc.get("measured") is None else float(doc["measured"]),
            limit=None if doc.get("limit") is None else float(doc["limit"]),
            since=None if since is None else datetime.fromisoformat(since),
            history=tuple(BreakerTransition.from_json(t) for t in doc.get("history", [])),
        )


def _check_fraction(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and 0.0 < float(value) <= 1.0):
        raise ConfigError(f"{name} must be a fraction in (0, 1], got {value!r}")
    return float(value)


class CircuitBreaker:
    """Daily-loss and rapid-loss circuit breaker.

    :param daily_loss_limit: loss since the start of the day that trips the breaker, as a
        fraction of the day-start equity (0.05 = 5 %).
    :param rapid_loss_limit: drop from the highest value of the trailing window that trips
        the breaker, as a fraction of that highest value (0.02 = 2 %).
    :param rapid_loss_window: length of the trailing window, in seconds.
    :param daily_loss_state: state a daily-loss trip asks for (default HALTED).
    :param rapid_loss_state: state a rapid-loss trip asks for (default REDUCING).
    :param state_file: JSON file the state is persisted to and restored from; None keeps
        the state in memory only.
    :param clock: read when ``update_portfolio_value`` or ``rearm`` get no timestamp.
    """

    def __init__(
        self,
        daily_loss_limit: float = 0.05,
        rapid_loss_limit: float = 0.02,
        rapid_loss_window: float = 900,
        *,
        daily_loss_state: RiskState = RiskState.HALTED,
        rapid_loss_state: RiskState = RiskState.REDUCING,
        state_file: str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.daily_loss_limit = _check_fraction("daily_loss_limit", daily_loss_limit)
        self.rapid_loss_limit = _check_fraction("rapid_loss_limit", rapid_loss_limit)
        # finite: the window is kept in integer nanoseconds (int(inf) would raise mid-run)
        if not (
            isinstance(rapid_loss_window, int | float)
            and math.isfinite(rapid_loss_window)
            and 0 < rapid_loss_window <= MAX_WINDOW_SECONDS
        ):
            raise ConfigError(
                f"rapid_loss_window must be a finite, positive number of seconds up to "
                f"{MAX_WINDOW_SECONDS:g}, got {rapid_loss_window!r}"
            )
        self.rapid_loss_window = float(rapid_loss_window)
        for name, st in (("daily_loss_state", daily_loss_state), ("rapid_loss_state", rapid_loss_state)):
            if st is RiskState.ACTIVE:
                raise ConfigError(f"{name} must be reducing or halted, not active")
        self.daily_loss_state = RiskState(daily_loss_state)
        self.rapid_loss_state = RiskState(rapid_loss_state)
        self.state_file = None if state_file is None else Path(state_file)
        self._clock: Clock = clock if clock is not None else WallClock()
        self._window_ns = int(self.rapid_loss_window * _NS)
        # (timestamp ns, value) with strictly decreasing values: the front is the window's max
        self._peaks: deque[tuple[int, float]] = deque()
        self._last_ns: int | None = None
        self._status = BreakerStatus(RiskState.ACTIVE)
        self._file_mtime: int | None = None
        if self.state_file is not None:
            self._load()

    # ------------------------------------------------------------------ queries
    @property
    def state(self) -> RiskState:
        return self._status.state

    def is_tripped(self) -> bool:
        """True while the breaker is in REDUCING or HALTED."""
        return self._status.state is not RiskState.ACTIVE

    def status(self) -> BreakerStatus:
        return self._status

    # ------------------------------------------------------------------ updates
    def update_portfolio_value(
        self, value: float, daily_pnl: float, timestamp: datetime | int | None = None
    ) -> RiskState:
        """Feed the current portfolio value and the profit since the start of the day.

        :param value: portfolio value (equity), currency.
        :param daily_pnl: profit since the start of the current day, currency (negative for
            a loss); the day-start equity is ``value - daily_pnl``.
        :param timestamp: aware datetime or nanoseconds since the epoch; the clock's time
            when omitted. Must not go backwards.
        :return: the state after this update.
        """
        value = float(value)
        daily_pnl = float(daily_pnl)
        if not (math.isfinite(value) and math.isfinite(daily_pnl)):
            raise RiskError(
                f"circuit breaker: portfolio value {value!r} / daily P&L {daily_pnl!r} is not finite"
            )
        ns = self._timestamp_ns(timestamp)
        if self._last_ns is not None and ns < self._last_ns:
            raise RiskError(
                f"circuit breaker: timestamp {to_datetime(ns).isoformat()} is before the previous update "
                f"{to_datetime(self._last_ns).isoformat()}"
            )
        self._last_ns = ns
        self.refresh()

        day_start = value - daily_pnl
        daily_loss = -daily_pnl / day_start if day_start > 0 else (math.inf if daily_pnl < 0 else 0.0)

        peaks = self._peaks
        while peaks and peaks[-1][1] <= value:
            peaks.pop()
        peaks.append((ns, value))
        horizon = ns - self._window_ns
        while peaks[0][0] < horizon:
            peaks.popleft()
        peak = peaks[0][1]
        rapid_loss = (peak - value) / peak if peak > 0 else 0.0

        if daily_loss >= self.daily_loss_limit:
            self._escalate(
                self.daily_loss_state,
                "daily_loss",
                f"daily loss {daily_loss:.2%} of day-start equity reached the limit "
                f"{self.daily_loss_limit:.2%}",
                daily_loss,
                self.daily_loss_limit,
                ns,
            )
        if rapid_loss >= self.rapid_loss_limit:
            self._escalate(
                self.rapid_loss_state,
                "rapid_loss",
                f"loss {rapid_loss:.2%} from the {self.rapid_loss_window:g} s high reached the limit "
                f"{self.rapid_loss_limit:.2%}",
                rapid_loss,
                self.rapid_loss_limit,
                ns,
            )
        return self._status.state

    def trip(
        self,
        state: RiskState,
        reason: str,
        *,
        measured: float | None = None,
        limit: float | None = None,
        timestamp: datetime | int | None = None,
    ) -> RiskState:
        """Trip by hand (kill switch). Only escalates; returns the state after the call."""
        if state is RiskState.ACTIVE:
            raise RiskError("trip() needs REDUCING or HALTED; use rearm() to return to ACTIVE")
        self.refresh()
        self._escalate(state, "manual", reason, measured, limit, self._timestamp_ns(timestamp))
        return self._status.state

    def rearm(self, reason: str, timestamp: datetime | int | None = None) -> BreakerStatus:
        """Return to ACTIVE. The only way out of REDUCING or HALTED.

        :param reason: why it is safe to trade again (recorded in the state file).
        """
        if not reason or not reason.strip():
            raise RiskError("re-arming the circuit breaker needs a reason")
        self.refresh()
        ns = self._timestamp_ns(timestamp)
        previous = self._status
        transition = BreakerTransition(
            to_datetime(ns), previous.state, RiskState.ACTIVE, "rearm", f"re-armed: {reason.strip()}"
        )
        self._status = BreakerStatus(
            RiskState.ACTIVE,
            "rearm",
            transition.reason,
            since=transition.timestamp,
            history=(*previous.history, transition)[-HISTORY_KEPT:],
        )
        # the loss windows restart from the re-arm: the drop that tripped is not counted twice
        self._peaks.clear()
        self._save()
        return self._status

    def refresh(self) -> None:
        """Re-read the state file if someone else (the ``ai-trading risk rearm`` command, another
        process) changed it since this breaker last read or wrote it."""
        if self.state_file is None:
            return
        try:
            mtime = self.state_file.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime != self._file_mtime:
            self._load()

    # ------------------------------------------------------------------ internals
    def _timestamp_ns(self, timestamp: datetime | int | None) -> int:
        if timestamp is None:
            return self._clock.now_ns()
        if isinstance(timestamp, datetime):
            return to_ns(timestamp)
        return int(timestamp)

    def _escalate(
        self,
        state: RiskState,
        trigger: str,
        reason: str,
        measured: float | None,
        limit: float | None,
        ns: int,
    ) -> None:
        previous = self._status
        if _SEVERITY[state] <= _SEVERITY[previous.state]:
            return
        transition = BreakerTransition(
            to_datetime(ns), previous.state, state, trigger, reason, measured, limit
        )
        self._status = BreakerStatus(
            state,
            trigger,
            reason,
            measured,
            limit,
            transition.timestamp,
            (*previous.history, transition)[-HISTORY_KEPT:],
        )
        self._save()

    def _load(self) -> None:
        assert self.state_file is not None
        doc = read_state(self.state_file)
        if doc is None:
            return
        try:
            status = BreakerStatus.from_json(doc)
        except (KeyError, ValueError, TypeError) as exc:
            raise RiskError(f"circuit breaker state file {self.state_file} is malformed: {exc}") from exc
        if status.state is RiskState.ACTIVE and self._status.state is not RiskState.ACTIVE:
            self._peaks.clear()  # re-armed elsewhere: restart the loss window
        self._status = status
        self._file_mtime = self.state_file.stat().st_mtime_ns

    def _save(self) -> None:
        if self.state_file is None:
            return
        write_state(self.state_file, self._status.to_json())
        self._file_mtime = self.state_file.stat().st_mtime_ns
