"""CRITICAL alerts always go out, suppressed ones are summarised, and delivery never holds
up the engine: a bounded queue per channel, a paused (not hammered) failing endpoint, a
bounded drain at shutdown. Endpoints are local servers on 127.0.0.1."""

from __future__ import annotations

import time
from typing import Any

import pytest
from ai_trading_alerts import AlertRoute, RoutedChannel, RoutingParams, WebhookChannelParams, WebhookTransport

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import AlertSeverity
from ai_trading_core.models import Alert, utc
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.registry import BuildContext

T0 = utc(2024, 5, 6, 14, 30)


def alert(severity: AlertSeverity, key: str, source: str = "engine", message: str = "") -> Alert:
    return Alert(severity=severity, source=source, message=message or key, timestamp=T0, key=key)


class RecordingTransport:
    """Test double: keeps what would have been delivered."""

    def __init__(self) -> None:
        self.delivered: list[Alert] = []

    def deliver(self, a: Alert) -> None:
        self.delivered.append(a)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(int(T0.timestamp() * 1e9))


def webhook_channel(url: str, clock: SimulatedClock, **params: Any) -> RoutedChannel:
    p = WebhookChannelParams(url=url, **params)
    return RoutedChannel("ops", WebhookTransport(p), AlertRoute(p, clock), delivery=p)


# --------------------------------------------------------------------------- routing
def test_a_critical_after_a_burst_of_info_is_delivered(webhook_receiver: Any, clock: SimulatedClock) -> None:
    registry = create_plugin_host(only=["alerts"]).registries.alert_channels
    # the defaults: burst 10, 30 per minute, 300 s de-duplication
    channel = registry.get("webhook").build({"url": webhook_receiver.url}, BuildContext("ops", clock=clock))
    try:
        for i in range(10):
            channel.send(alert(AlertSeverity.INFO, f"fill:{i}"))
        channel.send(alert(AlertSeverity.CRITICAL, "risk-state:halted", "circuit_breaker", "risk state halted"))
        channel.send(alert(AlertSeverity.INFO, "fill:10"))  # the bucket is empty: this one waits
        assert channel.flush(10.0)
    finally:
        channel.close()
    keys = [b["key"] for b in webhook_receiver.delivered()]
    assert keys[:11] == [f"fill:{i}" for i in range(10)] + ["risk-state:halted"]
    assert channel.counters.rate_limited == 1
    # the suppressed INFO is summarised at close, the last message of the run
    assert keys[11:] == ["alerts-suppressed:ops"]


def test_a_repeated_critical_is_never_deduplicated(clock: SimulatedClock) -> None:
    transport = RecordingTransport()
    channel = RoutedChannel("x", transport, AlertRoute(RoutingParams(burst=1, dedup_window=300), clock))
    for _ in range(3):
        channel.send(alert(AlertSeverity.CRITICAL, "risk-state:halted"))
    channel.send(alert(AlertSeverity.WARNING, "risk-state:halted"))  # below the critical: a repeat
    assert [a.severity for a in transport.delivered] == [AlertSeverity.CRITICAL] * 3
    assert channel.counters.duplicates == 1


def test_suppressed_alerts_are_summarised_in_one_later_message(clock: SimulatedClock) -> None:
    transport = RecordingTransport()
    params = RoutingParams(burst=2, rate_per_minute=1, dedup_window=600, summary_interval=60)
    channel = RoutedChannel("ops", transport, AlertRoute(params, clock))
    channel.send(alert(AlertSeverity.WARNING, "feed:stale", "feed"))
    for _ in range(5):
        channel.send(alert(AlertSeverity.WARNING, "feed:stale", "feed"))  # duplicates
    for i in range(8):
        channel.send(alert(AlertSeverity.INFO, f"fill:{i}"))  # 1 token left, then rate-limited
        clock.advance(5)
    assert [a.key for a in transport.delivered] == ["feed:stale", "fill:0"]
    clock.advance(30)  # 70 s after the first suppression
    channel.send(alert(AlertSeverity.INFO, "fill:late"))
    summary = transport.delivered[2]
    assert summary.source == "alerts" and summary.key == "alerts-suppressed:ops"
    assert summary.message == "12 alerts suppressed in the last minute (duplicates 5, rate limited 7)"
    assert summary.severity is AlertSeverity.WARNING  # the worst suppressed
    assert summary.details["sources"] == {"feed": 5, "engine": 7}
    # one summary per interval: nothing more is due until new alerts are suppressed
    channel.send(alert(AlertSeverity.INFO, "fill:later"))
    assert sum(a.source == "alerts" for a in transport.delivered) == 1


# --------------------------------------------------------------------------- threads
def test_a_hung_webhook_never_delays_the_caller(hanging_endpoint: str, clock: SimulatedClock) -> None:
    channel = webhook_channel(hanging_endpoint, clock, timeout=10.0, attempts=1, drain_timeout=0.2)
    took = []
    try:
        for i in range(20):
            t0 = time.perf_counter()
            channel.send(alert(AlertSeverity.CRITICAL if i % 5 == 0 else AlertSeverity.WARNING, f"k{i}"))
            took.append(time.perf_counter() - t0)
    finally:
        t0 = time.perf_counter()
        channel.close()
        closing = time.perf_counter() - t0
    assert max(took) < 0.05, took
    assert closing < 2.0  # a bounded wait, not the endpoint's 10 s timeout
    assert channel.health()["queued"] > 0  # undelivered and reported, not silently dropped


def test_a_failing_endpoint_is_paused_not_retried_on_every_alert(webhook_receiver: Any, clock: SimulatedClock) -> None:
    webhook_receiver.statuses[:] = [500]
    now = [1_000.0]
    p = WebhookChannelParams(url=webhook_receiver.url, attempts=1, failure_backoff=30.0)
    channel = RoutedChannel("ops", WebhookTransport(p), AlertRoute(p, clock), delivery=p, monotonic=lambda: now[0])
    try:
        for i in range(5):
            channel.send(alert(AlertSeverity.WARNING, f"k{i}"))
        assert not channel.flush(5.0)
        assert len(webhook_receiver.requests) == 1  # one attempt, then the endpoint is left alone
        health = channel.health()
        assert health["consecutive_failures"] == 1 and health["queued"] == 5
        assert health["retry_in_seconds"] == pytest.approx(30.0) and "HTTP 500" in health["last_error"]
        now[0] += 31.0  # the pause is over: the head alert is the probe, then the backlog follows
        assert channel.flush(5.0)
    finally:
        channel.close()
    assert [b["key"] for b in webhook_receiver.delivered()] == [f"k{i}" for i in range(5)]
    assert channel.health()["consecutive_failures"] == 0


def test_the_queue_is_bounded_and_a_critical_displaces_the_oldest_info(
    webhook_receiver: Any, clock: SimulatedClock
) -> None:
    webhook_receiver.statuses[:] = [500]
    now = [0.0]
    p = WebhookChannelParams(url=webhook_receiver.url, attempts=1, queue_size=3, failure_backoff=60.0)
    channel = RoutedChannel("ops", WebhookTransport(p), AlertRoute(p, clock), delivery=p, monotonic=lambda: now[0])
    try:
        channel.send(alert(AlertSeverity.INFO, "a1"))
        channel.flush(5.0)  # a1 failed: the endpoint is paused, a1 waits at the head
        for key in ("a2", "a3", "a4"):
            channel.send(alert(AlertSeverity.INFO, key))  # a4 finds the queue full
        channel.send(alert(AlertSeverity.CRITICAL, "halted"))  # takes a1's place
        assert channel.health()["queued"] == 3 and channel.health()["dropped"] == 2
        assert channel.counters.queue_full == 2
        now[0] += 61.0
        assert channel.flush(5.0)
    finally:
        channel.close()
    keys = [b["key"] for b in webhook_receiver.delivered()]
    assert keys[:3] == ["a2", "a3", "halted"]
    assert keys[3] == "alerts-suppressed:ops"  # a1 and a4, summarised at close
    summary = webhook_receiver.delivered()[3]
    assert summary["details"]["reasons"] == {"queue_full": 2}


def test_shutdown_drains_the_queue(webhook_receiver: Any, clock: SimulatedClock) -> None:
    channel = webhook_channel(webhook_receiver.url, clock, burst=50, drain_timeout=10.0)
    for i in range(30):
        channel.send(alert(AlertSeverity.INFO, f"k{i}"))
    channel.close()  # returns once the 30 are out
    assert [b["key"] for b in webhook_receiver.delivered()] == [f"k{i}" for i in range(30)]
    channel.send(alert(AlertSeverity.CRITICAL, "after"))  # after close: delivered inline
    assert webhook_receiver.delivered()[-1]["key"] == "after"


def test_a_summary_carries_the_run_context_of_the_alerts_it_follows(clock: SimulatedClock) -> None:
    from decimal import Decimal

    from ai_trading_core.enums import RiskState
    from ai_trading_core.models import AlertContext

    transport = RecordingTransport()
    channel = RoutedChannel("ops", transport, AlertRoute(RoutingParams(burst=1, dedup_window=0), clock))
    run = AlertContext(
        run_id="r-1", run_name="nightly", mode="paper", equity=Decimal("99500.25"), risk_state=RiskState.REDUCING
    )
    for i in range(3):
        channel.send(alert(AlertSeverity.INFO, f"k{i}").model_copy(update={"context": run}))
    channel.close()
    summary = transport.delivered[-1]
    assert summary.key == "alerts-suppressed:ops" and summary.details["suppressed"] == 2
    assert summary.context == run
