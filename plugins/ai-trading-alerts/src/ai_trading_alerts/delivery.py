"""Delivery off the engine's thread: a bounded queue and one worker thread per channel.

The engine's step only appends to the queue (microseconds). The worker delivers in order; a
failed delivery (after the transport's own retries) marks the endpoint as failing and
pauses it for ``failure_backoff`` seconds, doubling up to ``failure_backoff_max``: while
paused nothing is attempted and alerts wait in the queue, the first alert after the pause is
the probe, and a success delivers the backlog in order. The failure is logged once per outage
and kept in :meth:`AlertQueue.health`, never retried on every alert.

When the queue is full a new INFO or WARNING alert is refused (the caller counts it in the
suppression summary); a CRITICAL one takes the place of the oldest non-critical alert, and
only when every queued alert is CRITICAL does the queue grow past its bound.

Network back-off is measured on the monotonic clock: it is about a real endpoint's time,
not the run's (a backtest's simulated clock may jump days between two alerts).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger

from ai_trading_core.enums import AlertSeverity
from ai_trading_core.models import Alert

_IDLE_POLL = 0.5  # seconds between idle checks (the suppression summary on a live clock)


@dataclass
class DeliveryHealth:
    """What a channel's endpoint has done lately (plain values, for status pages)."""

    queued: int
    delivered: int
    failed_attempts: int
    consecutive_failures: int
    last_error: str | None
    retry_in_seconds: float | None  # the endpoint is paused for this long; None: not paused
    dropped: int  # alerts refused or displaced because the queue was full

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class AlertQueue:
    """A bounded FIFO of alerts delivered by one worker thread, started on the first alert.

    :param name: the channel's name (logs and the thread's name).
    :param deliver: delivers one alert or raises (the transport).
    :param capacity: alerts held at most (CRITICAL ones aside, see the module docstring).
    :param backoff: first pause after a failed delivery, seconds (doubles per failure).
    :param backoff_max: longest pause, seconds.
    :param idle: called by the worker about every half second when it has nothing to send
        (the channel emits a due suppression summary from there).
    :param monotonic: the clock of the back-off pauses, seconds (``time.monotonic``; tests
        may pass their own). Waits for :meth:`flush` and :meth:`close` are always real.
    """

    def __init__(
        self,
        name: str,
        deliver: Callable[[Alert], None],
        *,
        capacity: int = 100,
        backoff: float = 5.0,
        backoff_max: float = 300.0,
        idle: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._deliver = deliver
        self.capacity = capacity
        self.backoff = backoff
        self.backoff_max = max(backoff_max, backoff)
        self._idle = idle
        self._now = monotonic
        self._items: deque[Alert] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._in_flight = False
        self._retry_at = 0.0
        self.delivered = 0
        self.failed_attempts = 0
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.dropped = 0

    # ------------------------------------------------------------------ engine side
    def put(self, alert: Alert) -> Alert | None:
        """Queue ``alert`` without blocking. Returns the alert that did not fit (the new one,
        or a displaced non-critical one), None when nothing was lost."""
        lost: Alert | None = None
        with self._cond:
            if len(self._items) >= self.capacity:
                if alert.severity is not AlertSeverity.CRITICAL:
                    self.dropped += 1
                    return alert
                for i, queued in enumerate(self._items):
                    if queued.severity is not AlertSeverity.CRITICAL and not (i == 0 and self._in_flight):
                        lost = queued
                        del self._items[i]
                        self.dropped += 1
                        break
            self._items.append(alert)
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name=f"alerts-{self.name}", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return lost

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until every queued alert is delivered. Returns early
        (False) when the endpoint is paused after a failure: nothing more will happen soon."""
        deadline = time.monotonic() + timeout  # a real wait, whatever clock paces the back-off
        with self._cond:
            while self._items or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0 or (not self._in_flight and self._retry_at > self._now()):
                    return False
                self._cond.wait(min(left, _IDLE_POLL))
            return True

    def close(self, timeout: float) -> int:
        """Deliver what is queued within ``timeout`` seconds, then stop the worker. A paused
        endpoint is not waited for. Returns the number of alerts left undelivered."""
        self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread if not self._in_flight else None
        if thread is not None:  # idle or paused: it returns at once; a hung attempt is not waited for
            thread.join(timeout=1.0)
        with self._cond:
            left = len(self._items)
        if left:
            logger.warning(
                "alert channel {}: {} alert(s) not delivered at shutdown ({})",
                self.name,
                left,
                self.last_error or "delivery still in progress",
            )
        return left

    def health(self) -> DeliveryHealth:
        with self._cond:
            paused = self._retry_at - self._now()
            return DeliveryHealth(
                queued=len(self._items),
                delivered=self.delivered,
                failed_attempts=self.failed_attempts,
                consecutive_failures=self.consecutive_failures,
                last_error=self.last_error,
                retry_in_seconds=paused if paused > 0 else None,
                dropped=self.dropped,
            )

    # ------------------------------------------------------------------ worker side
    def _run(self) -> None:
        while True:
            alert: Alert | None = None
            with self._cond:
                while alert is None:
                    if self._stopping:
                        return  # close() has drained what it could
                    now = self._now()
                    if self._items and now >= self._retry_at:
                        alert = self._items[0]
                        self._in_flight = True
                        break
                    wait = _IDLE_POLL if not self._items else min(_IDLE_POLL, self._retry_at - now)
                    if not self._cond.wait(wait) and self._idle is not None:
                        break  # a quiet moment: let the channel look for a due summary
            if alert is None:
                try:
                    self._idle()  # type: ignore[misc]
                except Exception as exc:  # noqa: BLE001 - the worker must survive
                    logger.opt(exception=exc).error("alert channel {}: idle check failed", self.name)
                continue
            self._attempt(alert)

    def _attempt(self, alert: Alert) -> None:
        try:
            self._deliver(alert)
        except Exception as exc:  # noqa: BLE001 - any failure pauses the endpoint
            with self._cond:
                self._in_flight = False
                self.failed_attempts += 1
                self.consecutive_failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                pause = min(self.backoff * 2 ** (self.consecutive_failures - 1), self.backoff_max)
                self._retry_at = self._now() + pause
                first = self.consecutive_failures == 1
                queued = len(self._items)
                self._cond.notify_all()
            (logger.error if first else logger.debug)(
                "alert channel {} failing ({}); paused {:.3g} s, {} alert(s) queued",
                self.name,
                self.last_error,
                pause,
                queued,
            )
            return
        with self._cond:
            self._in_flight = False
            if self._items and self._items[0] is alert:
                self._items.popleft()
            recovered = self.consecutive_failures
            self.consecutive_failures = 0
            self._retry_at = 0.0
            self.delivered += 1
            self._cond.notify_all()
        if recovered:
            logger.info("alert channel {} delivering again after {} failed attempt(s)", self.name, recovered)
