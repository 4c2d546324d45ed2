"""Clocks. Anything that reads the time takes one of these; nothing reads the wall clock
directly. Backtests and replays use :class:`SimulatedClock`, advanced by the engine to each
bar's decision time; live runs use :class:`WallClock`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from .market import to_datetime


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    def now_ns(self) -> int:
        """Current time in nanoseconds since the epoch."""
        ...


class SimulatedClock:
    """A clock that only moves when told to (backtests, replays, tests)."""

    __slots__ = ("_ns", "_dt", "_dt_ns")

    def __init__(self, start_ns: int = 0) -> None:
        self._ns = start_ns
        self._dt_ns = -1
        self._dt = to_datetime(0)

    def set(self, ns: int) -> None:
        if ns < self._ns:
            raise ValueError("simulated clock cannot move backwards")
        self._ns = ns

    def advance(self, seconds: float) -> None:
        self._ns += int(seconds * 1_000_000_000)

    def now(self) -> datetime:
        # the engine asks several times per order within one bar: convert once per tick
        if self._dt_ns != self._ns:
            self._dt, self._dt_ns = to_datetime(self._ns), self._ns
        return self._dt

    def now_ns(self) -> int:
        return self._ns


class WallClock:
    """The real time. The only place in the framework that reads the system clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def now_ns(self) -> int:
        import time

        return time.time_ns()
