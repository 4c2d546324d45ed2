"""Routing of alerts to one channel: minimum severity, source patterns, de-duplication and
rate limiting, in that order, then delivery. Every channel of this plugin is a
:class:`RoutedChannel` around a transport (log, webhook, e-mail).

A CRITICAL alert is never dropped by de-duplication or the rate limit: an escalation is
always news (it still takes a token when one is left, so it counts against the budget).
What is dropped is counted and summarised in one later message per ``summary_interval``
("12 alerts suppressed in the last minute")."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Protocol

from loguru import logger
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core import hookimpl
from ai_trading_core.clock import WallClock
from ai_trading_core.enums import AlertSeverity
from ai_trading_core.models import Alert, AlertContext

from .dedup import Deduplicator
from .delivery import AlertQueue
from .ratelimit import TokenBucket

if TYPE_CHECKING:
    from ai_trading_core.result import RunResult, Session

SEVERITY_RANK = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}
SUMMARY_SOURCE = "alerts"


class RoutingParams(BaseModel):
    """Parameters every channel shares."""

    model_config = ConfigDict(extra="forbid")

    min_severity: AlertSeverity = Field(default=AlertSeverity.INFO, description="lowest severity sent")
    sources: list[str] = Field(
        default_factory=lambda: ["*"],
        description="glob patterns of alert sources sent (e.g. 'circuit_breaker*', 'broker')",
    )
    exclude_sources: list[str] = Field(default_factory=list, description="glob patterns never sent")
    rate_per_minute: float = Field(default=30.0, gt=0, description="sustained rate, alerts per minute")
    burst: int = Field(default=10, ge=1, description="largest burst, alerts")
    dedup_window: float = Field(
        default=300.0, ge=0, description="seconds during which a repeated alert key is dropped (0: off)"
    )
    summary_interval: float = Field(
        default=60.0,
        gt=0,
        description="seconds between two summaries of suppressed alerts (one message per interval at most)",
    )


class DeliveryParams(RoutingParams):
    """Channels that talk to a remote endpoint deliver from a background thread through a
    bounded queue, so that a slow or dead endpoint never delays the engine."""

    queue_size: int = Field(default=100, ge=1, description="alerts waiting for delivery at most")
    failure_backoff: float = Field(
        default=5.0, gt=0, description="seconds the endpoint is left alone after a failed delivery (doubling)"
    )
    failure_backoff_max: float = Field(default=300.0, gt=0, description="longest such pause, seconds")
    drain_timeout: float = Field(
        default=5.0, ge=0, description="seconds the end of a run waits for queued alerts to go out"
    )


class Transport(Protocol):
    """Delivers one alert (log line, HTTP POST, e-mail). Raises on failure."""

    def deliver(self, alert: Alert) -> None: ...


@dataclass
class RoutingCounters:
    delivered: int = 0
    filtered: int = 0
    duplicates: int = 0
    rate_limited: int = 0
    failed: int = 0
    queue_full: int = 0
    summaries: int = 0


@dataclass
class _Suppressed:
    since_ns: int
    count: Counter[str]  # reason -> alerts
    severities: Counter[str]
    sources: Counter[str]
    worst: AlertSeverity


class AlertRoute:
    """Decides whether one alert goes to a channel. Stateful (the dedup memory, the token
    bucket and the suppression tally), so one instance per channel. Thread-safe: the engine
    routes while the delivery thread may ask for a due summary."""

    def __init__(self, params: RoutingParams, clock: Any | None = None) -> None:
        clock = clock if clock is not None else WallClock()
        self.params = params
        self.clock = clock
        self.dedup = Deduplicator(params.dedup_window, clock)
        self.bucket = TokenBucket(params.burst, params.rate_per_minute / 60.0, clock)
        self.counters = RoutingCounters()
        self._lock = threading.Lock()
        self._suppressed: _Suppressed | None = None
        self._summary_ns = int(params.summary_interval * 1e9)

    def matches(self, alert: Alert) -> bool:
        """Severity and source filter only (no state change)."""
        if SEVERITY_RANK[alert.severity] < SEVERITY_RANK[self.params.min_severity]:
            return False
        if not any(fnmatchcase(alert.source, p) for p in self.params.sources):
            return False
        return not any(fnmatchcase(alert.source, p) for p in self.params.exclude_sources)

    def admit(self, alert: Alert) -> bool:
        """Filter, de-duplicate, then take a rate-limit token. Counts what it drops; a
        CRITICAL that passes the filter is always admitted."""
        if not self.matches(alert):
            self.counters.filtered += 1
            return False
        with self._lock:
            if alert.severity is AlertSeverity.CRITICAL:
                self.bucket.try_take()  # counts against the budget, never refused
                return True
            if self.dedup.is_duplicate(alert):
                self.counters.duplicates += 1
                self._tally(alert, "duplicates")
                return False
            if not self.bucket.try_take():
                self.counters.rate_limited += 1
                self._tally(alert, "rate_limited")
                return False
        return True

    def remember(self, alert: Alert) -> None:
        """Note ``alert`` as sent, for de-duplication (under the lock: the delivery thread
        sends summaries while the engine routes)."""
        with self._lock:
            self.dedup.remember(alert)

    def suppressed(self, alert: Alert, reason: str) -> None:
        """Count an alert dropped after admission (``queue_full``) in the next summary."""
        with self._lock:
            if reason == "queue_full":
                self.counters.queue_full += 1
            self._tally(alert, reason)

    def _tally(self, alert: Alert, reason: str) -> None:
        s = self._suppressed
        if s is None:
            s = self._suppressed = _Suppressed(
                int(self.clock.now_ns()), Counter(), Counter(), Counter(), AlertSeverity.INFO
            )
        s.count[reason] += 1
        s.severities[alert.severity.value] += 1
        s.sources[alert.source] += 1
        if SEVERITY_RANK[alert.severity] > SEVERITY_RANK[s.worst]:
            s.worst = alert.severity

    def due_summary(self, channel: str, *, force: bool = False) -> Alert | None:
        """The summary of the alerts suppressed since the last one, once ``summary_interval``
        has passed since the first of them (at once with ``force``); None when nothing is due.
        Its severity is the highest suppressed, so that a channel's ``min_severity`` keeps it."""
        with self._lock:
            s = self._suppressed
            if s is None:
                return None
            now = int(self.clock.now_ns())
            if not force and now - s.since_ns < self._summary_ns:
                return None
            self._suppressed = None
            self.counters.summaries += 1
        n = sum(s.count.values())
        span = _span((now - s.since_ns) / 1e9)
        reasons = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(s.count.items()))
        return Alert(
            severity=s.worst,
            source=SUMMARY_SOURCE,
            message=f"{n} alert{'s' if n != 1 else ''} suppressed in the last {span} ({reasons})",
            timestamp=datetime.fromtimestamp(now / 1e9, UTC),
            key=f"alerts-suppressed:{channel}",
            details={
                "channel": channel,
                "suppressed": n,
                "reasons": dict(s.count),
                "severities": dict(s.severities),
                "sources": dict(s.sources.most_common(20)),
                "since": datetime.fromtimestamp(s.since_ns / 1e9, UTC).isoformat(),
            },
        )


def _span(seconds: float) -> str:
    """'minute', '5 minutes', '2 hours', '40 s': the period a summary covers, in words."""
    if seconds < 55:
        return f"{max(seconds, 0):.0f} s"
    minutes = seconds / 60
    if minutes < 1.5:
        return "minute"
    if minutes < 90:
        return f"{minutes:.0f} minutes"
    hours = minutes / 60
    return "hour" if hours < 1.5 else f"{hours:.0f} hours"


class RoutedChannel:
    """An ``AlertChannel``: routes, then delivers through its transport.

    With ``delivery`` (webhook, e-mail) the transport runs on a background thread behind a
    bounded queue (:class:`~.delivery.AlertQueue`): :meth:`send` returns in microseconds
    whatever the endpoint does, and failures are backed off and kept in :meth:`health`.
    Without it (the log channel) delivery happens in :meth:`send`; a failure raises (the
    kernel's AlertRouter logs it and carries on) and is not remembered for de-duplication.

    The channel carries the ``ai_trading_session_finish`` hook, so the runner registers it
    for the run and closes it at the end: the last summary goes out and the queue is drained
    for at most ``drain_timeout`` seconds.
    """

    def __init__(
        self,
        name: str,
        transport: Transport,
        route: AlertRoute,
        *,
        delivery: DeliveryParams | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.transport = transport
        self.route = route
        self.delivery = delivery
        self.queue: AlertQueue | None = None
        if delivery is not None:
            self.queue = AlertQueue(
                name,
                self._deliver,
                capacity=delivery.queue_size,
                backoff=delivery.failure_backoff,
                backoff_max=delivery.failure_backoff_max,
                idle=self._summarise_if_due,
                monotonic=monotonic,
            )
        self._closed = False
        self._context: AlertContext | None = None

    @property
    def counters(self) -> RoutingCounters:
        return self.route.counters

    def send(self, alert: Alert) -> None:
        if alert.context is not None:
            self._context = alert.context  # the run, for the summaries this channel writes
        self._summarise_if_due()
        if not self.route.admit(alert):
            logger.debug(
                "alert channel {} dropped [{}] {} ({})",
                self.name,
                alert.severity.value,
                alert.source,
                self.route.counters,
            )
            return
        self._dispatch(alert)

    def _dispatch(self, alert: Alert) -> None:
        if self.queue is None or self._closed:
            self._deliver(alert)
            self.route.remember(alert)
            return
        self.route.remember(alert)
        lost = self.queue.put(alert)
        if lost is not None:
            self.route.suppressed(lost, "queue_full")

    def _deliver(self, alert: Alert) -> None:
        try:
            self.transport.deliver(alert)
        except Exception:
            self.route.counters.failed += 1
            raise
        self.route.counters.delivered += 1

    def _summarise_if_due(self, *, force: bool = False) -> None:
        summary = self.route.due_summary(self.name, force=force)
        if summary is not None:
            if self._context is not None:
                summary = summary.model_copy(update={"context": self._context})
            try:
                self._dispatch(summary)
            except Exception as exc:  # noqa: BLE001 - an inline summary failing is only logged
                logger.opt(exception=exc).error("alert channel {}: summary not delivered", self.name)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to ``timeout`` seconds for queued alerts to be delivered (True: all were)."""
        return True if self.queue is None else self.queue.flush(timeout)

    def health(self) -> dict[str, Any]:
        """Queue length, deliveries, failures and the current pause of the endpoint."""
        if self.queue is None:
            return {"queued": 0, "delivered": self.counters.delivered, "failed_attempts": self.counters.failed}
        return self.queue.health().as_dict()

    def close(self) -> None:
        """Send the last summary, drain the queue for at most ``drain_timeout`` seconds and
        stop the delivery thread. Idempotent; alerts sent afterwards are delivered inline."""
        if self._closed:
            return
        self._summarise_if_due(force=True)
        self._closed = True
        if self.queue is not None and self.delivery is not None:
            self.queue.close(self.delivery.drain_timeout)

    @hookimpl
    def ai_trading_session_finish(self, session: Session, result: RunResult) -> None:
        self.close()
