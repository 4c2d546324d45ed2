"""Routing, de-duplication and token-bucket rate limiting on a simulated clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ai_trading_alerts import AlertRoute, Deduplicator, RoutedChannel, RoutingParams, TokenBucket

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import AlertSeverity
from ai_trading_core.errors import ConfigError
from ai_trading_core.models import Alert, utc

T0 = utc(2024, 1, 2, 9, 30)


def alert(
    severity: AlertSeverity = AlertSeverity.WARNING,
    source: str = "circuit_breaker",
    key: str | None = "cb:halt",
    message: str = "daily loss 5.2% >= 5%",
) -> Alert:
    return Alert(severity=severity, source=source, message=message, timestamp=T0, key=key)


class RecordingTransport:
    """Test double: keeps what would have been delivered."""

    def __init__(self) -> None:
        self.delivered: list[Alert] = []

    def deliver(self, a: Alert) -> None:
        self.delivered.append(a)


class FailingTransport:
    def deliver(self, a: Alert) -> None:
        raise OSError("connection refused")


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(int(T0.timestamp() * 1e9))


def test_token_bucket_burst_then_refill_at_rate(clock: SimulatedClock) -> None:
    bucket = TokenBucket(capacity=3, rate_per_second=0.5, clock=clock)
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
    clock.advance(1.0)  # 0.5 token: still not enough
    assert not bucket.try_take()
    clock.advance(1.0)  # 1.0 token
    assert bucket.try_take() and not bucket.try_take()
    clock.advance(3600)  # refill is capped at the capacity
    assert bucket.tokens == pytest.approx(3.0)


def test_token_bucket_rejects_bad_parameters(clock: SimulatedClock) -> None:
    with pytest.raises(ConfigError, match="capacity"):
        TokenBucket(0, 1.0, clock)
    with pytest.raises(ConfigError, match="rate"):
        TokenBucket(1, 0.0, clock)


def test_dedup_suppresses_same_key_within_window_but_not_escalation(clock: SimulatedClock) -> None:
    d = Deduplicator(window_seconds=60, clock=clock)
    first = alert(AlertSeverity.WARNING)
    assert not d.is_duplicate(first)
    d.remember(first)
    clock.advance(59.9)
    assert d.is_duplicate(first)
    assert not d.is_duplicate(alert(AlertSeverity.CRITICAL))  # escalation under the same key
    assert not d.is_duplicate(alert(key="other"))
    clock.advance(0.1)  # window elapsed (exactly 60 s since delivery)
    assert not d.is_duplicate(first)


def test_dedup_without_key_uses_source_severity_and_message(clock: SimulatedClock) -> None:
    d = Deduplicator(window_seconds=10, clock=clock)
    a = alert(key=None)
    d.remember(a)
    assert d.is_duplicate(alert(key=None))
    assert not d.is_duplicate(alert(key=None, message="another message"))


def test_route_filters_by_severity_and_source_patterns(clock: SimulatedClock) -> None:
    params = RoutingParams(
        min_severity=AlertSeverity.WARNING,
        sources=["circuit_*", "broker"],
        exclude_sources=["circuit_test"],
        dedup_window=0,
    )
    route = AlertRoute(params, clock)
    assert route.matches(alert(source="circuit_breaker"))
    assert route.matches(alert(source="broker", severity=AlertSeverity.CRITICAL))
    assert not route.matches(alert(source="broker", severity=AlertSeverity.INFO))
    assert not route.matches(alert(source="redis"))
    assert not route.matches(alert(source="circuit_test"))


def test_routed_channel_counts_duplicates_and_rate_limit(clock: SimulatedClock) -> None:
    transport = RecordingTransport()
    params = RoutingParams(rate_per_minute=6, burst=2, dedup_window=30)  # one token per 10 s
    channel = RoutedChannel("ops", transport, AlertRoute(params, clock))
    for i in range(5):  # distinct keys: only the burst of 2 gets through
        channel.send(alert(key=f"k{i}"))
    channel.send(alert(key="k0"))  # duplicate of a delivered alert
    assert [a.key for a in transport.delivered] == ["k0", "k1"]
    assert channel.counters.rate_limited == 3 and channel.counters.duplicates == 1
    clock.advance(10)
    channel.send(alert(key="k2"))  # refilled one token; k2 was rate-limited, not delivered
    clock.advance(25)  # 35 s after k0: outside the dedup window, and a token is back
    channel.send(alert(key="k0"))
    assert [a.key for a in transport.delivered] == ["k0", "k1", "k2", "k0"]
    assert channel.counters.delivered == 4


def test_failed_delivery_raises_and_is_not_remembered(clock: SimulatedClock) -> None:
    channel = RoutedChannel("bad", FailingTransport(), AlertRoute(RoutingParams(), clock))
    with pytest.raises(OSError):
        channel.send(alert())
    with pytest.raises(OSError):  # not de-duplicated: the first one never arrived
        channel.send(alert())
    assert channel.counters.failed == 2 and channel.counters.delivered == 0


def test_alert_timestamps_do_not_drive_the_limiter(clock: SimulatedClock) -> None:
    # The limiter uses the injected clock only: alerts stamped an hour apart but emitted at
    # the same clock time share one bucket.
    transport = RecordingTransport()
    channel = RoutedChannel("x", transport, AlertRoute(RoutingParams(burst=1, dedup_window=0), clock))
    channel.send(alert(key="a"))
    channel.send(alert(key="b").model_copy(update={"timestamp": T0 + timedelta(hours=1)}))
    assert len(transport.delivered) == 1
