"""Routing of alerts to one channel: minimum severity, source patterns, de-duplication and
rate limiting, in that order. Every channel of this plugin is a :class:`RoutedChannel`
around a transport (log, webhook, e-mail)."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from loguru import logger
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.clock import WallClock
from ai_trading_core.enums import AlertSeverity
from ai_trading_core.models import Alert

from .dedup import Deduplicator
from .ratelimit import TokenBucket

SEVERITY_RANK = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}


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


class AlertRoute:
    """Decides whether one alert goes to a channel. Stateful (the dedup memory and the
    token bucket), so one instance per channel."""

    def __init__(self, params: RoutingParams, clock: Any | None = None) -> None:
        clock = clock if clock is not None else WallClock()
        self.params = params
        self.dedup = Deduplicator(params.dedup_window, clock)
        self.bucket = TokenBucket(params.burst, params.rate_per_minute / 60.0, clock)
        self.counters = RoutingCounters()

    def matches(self, alert: Alert) -> bool:
        """Severity and source filter only (no state change)."""
        if SEVERITY_RANK[alert.severity] < SEVERITY_RANK[self.params.min_severity]:
            return False
        if not any(fnmatchcase(alert.source, p) for p in self.params.sources):
            return False
        return not any(fnmatchcase(alert.source, p) for p in self.params.exclude_sources)

    def admit(self, alert: Alert) -> bool:
        """Filter, de-duplicate, then take a rate-limit token. Counts what it drops."""
        if not self.matches(alert):
            self.counters.filtered += 1
            return False
        if self.dedup.is_duplicate(alert):
            self.counters.duplicates += 1
            return False
        if not self.bucket.try_take():
            self.counters.rate_limited += 1
            return False
        return True


class RoutedChannel:
    """An ``AlertChannel``: routes, then delivers through its transport.

    A failed delivery raises (the kernel's AlertRouter logs it and carries on with the other
    channels); it is not remembered for de-duplication, so the next occurrence is tried again.
    """

    def __init__(self, name: str, transport: Transport, route: AlertRoute) -> None:
        self.name = name
        self.transport = transport
        self.route = route

    @property
    def counters(self) -> RoutingCounters:
        return self.route.counters

    def send(self, alert: Alert) -> None:
        if not self.route.admit(alert):
            logger.debug(
                "alert channel {} dropped [{}] {} ({})",
                self.name,
                alert.severity.value,
                alert.source,
                self.route.counters,
            )
            return
        try:
            self.transport.deliver(alert)
        except Exception:
            self.route.counters.failed += 1
            raise
        self.route.dedup.remember(alert)
        self.route.counters.delivered += 1
