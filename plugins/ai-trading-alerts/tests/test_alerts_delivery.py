"""Webhook and e-mail delivery to real local servers, built through the plugin registry."""

from __future__ import annotations

import email
import email.utils
import time
from email import policy
from typing import Any

import pytest
from ai_trading_alerts import AlertDeliveryError, WebhookChannelParams, WebhookTransport
from loguru import logger
from pydantic import SecretStr

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import AlertSeverity
from ai_trading_core.errors import ConfigError
from ai_trading_core.models import Alert, utc
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.registry import BuildContext

TOKEN = "whk-tok-7f3a9c1e55"  # noqa: S105 - test credential
T0 = utc(2024, 3, 1, 14, 0)


def critical(key: str = "risk-state:halted") -> Alert:
    return Alert(
        severity=AlertSeverity.CRITICAL,
        source="circuit_breaker",
        message="risk state halted: daily loss",
        timestamp=T0,
        key=key,
        details={"measured": 0.052, "limit": 0.05},
    )


class ClosingRegistry:
    """The alert channel registry; every channel built through it is closed at teardown
    (its delivery thread stopped)."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry
        self.built: list[Any] = []

    def names(self) -> Any:
        return self._registry.names()

    def get(self, name: str) -> Any:
        outer = self

        class Entry:
            def build(self, params: Any, context: BuildContext) -> Any:
                channel = outer._registry.get(name).build(params, context)
                outer.built.append(channel)
                return channel

        return Entry()


@pytest.fixture
def registry() -> Any:
    host = create_plugin_host(only=["alerts"])
    closing = ClosingRegistry(host.registries.alert_channels)
    yield closing
    for channel in closing.built:
        channel.close()


def ctx(**credentials: str) -> BuildContext:
    return BuildContext(
        component_id="ops",
        clock=SimulatedClock(int(T0.timestamp() * 1e9)),
        credentials={k: SecretStr(v) for k, v in credentials.items()},
    )


@pytest.fixture
def captured_logs() -> Any:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m) + repr(m.record["extra"])), level="DEBUG")
    yield lines
    logger.remove(sink)


def test_registry_has_the_three_channels(registry: Any) -> None:
    assert {"log", "webhook", "email"} <= set(registry.names())


def test_webhook_posts_json_with_token_header(
    registry: Any, webhook_receiver: Any, captured_logs: list[str]
) -> None:
    channel = registry.get("webhook").build(
        {"url": webhook_receiver.url, "token_credential": "hook"}, ctx(hook=TOKEN)
    )
    channel.send(critical())
    assert channel.flush(5.0)  # delivered from the channel's thread
    (req,) = webhook_receiver.requests
    assert req["path"] == "/hooks/alerts"
    assert req["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert req["headers"]["Content-Type"] == "application/json"
    (body,) = webhook_receiver.delivered()
    assert body["severity"] == "critical" and body["source"] == "circuit_breaker"
    assert body["key"] == "risk-state:halted" and body["details"] == {"measured": 0.052, "limit": 0.05}
    assert body["timestamp"].startswith("2024-03-01T14:00:00")
    assert not any(TOKEN in line for line in captured_logs)
    assert TOKEN not in repr(channel.transport.params) and TOKEN not in repr(vars(channel.transport))


def test_webhook_retries_server_errors_then_succeeds(webhook_receiver: Any) -> None:
    webhook_receiver.statuses[:] = [503, 500]
    waits: list[float] = []
    params = WebhookChannelParams(url=webhook_receiver.url, attempts=3, backoff=0.25)
    WebhookTransport(params, sleep=waits.append).deliver(critical())
    assert [r["status"] for r in webhook_receiver.requests] == [503, 500, 200]
    assert waits == [0.25, 0.5]  # exponential back-off, through the injected sleep


def test_webhook_gives_up_after_attempts_and_does_not_retry_4xx(webhook_receiver: Any) -> None:
    webhook_receiver.statuses[:] = [500, 500, 500]
    params = WebhookChannelParams(url=webhook_receiver.url, attempts=2, backoff=0)
    with pytest.raises(AlertDeliveryError, match=r"failed after 2 attempt\(s\): HTTP 500"):
        WebhookTransport(params, sleep=lambda s: None).deliver(critical())
    assert len(webhook_receiver.requests) == 2
    webhook_receiver.requests.clear()
    webhook_receiver.statuses[:] = [401]
    with pytest.raises(AlertDeliveryError, match="HTTP 401"):
        WebhookTransport(params, sleep=lambda s: None).deliver(critical())
    assert len(webhook_receiver.requests) == 1


def test_webhook_connection_refused_is_a_delivery_error_without_secret(registry: Any) -> None:
    from socket import socket

    with socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    channel = registry.get("webhook").build(
        {
            "url": f"http://127.0.0.1:{port}/x?sig={TOKEN}",
            "token_credential": "hook",
            "attempts": 2,
            "backoff": 0,
        },
        ctx(hook=TOKEN),
    )
    channel.send(critical())  # never raises on the engine's thread
    assert not channel.flush(5.0)
    health = channel.health()
    assert health["consecutive_failures"] == 1 and health["queued"] == 1  # kept for the retry
    assert health["retry_in_seconds"] is not None  # the endpoint is paused, not hammered
    error = health["last_error"]
    assert error.startswith("AlertDeliveryError") and "Connection refused" in error
    assert TOKEN not in error and f"127.0.0.1:{port}" in error


def test_webhook_config_errors(registry: Any) -> None:
    with pytest.raises(ConfigError, match="url"):
        registry.get("webhook").build({"url": "ftp://example.org"}, ctx())
    with pytest.raises(ConfigError, match="credential 'missing' is not configured"):
        registry.get("webhook").build({"url": "http://127.0.0.1:1/", "token_credential": "missing"}, ctx())
    with pytest.raises(ConfigError, match="token"):  # tokens may not be written into params
        registry.get("webhook").build({"url": "http://127.0.0.1:1/", "token": TOKEN}, ctx())


def test_email_sent_with_login(registry: Any, smtp_receiver: Any, captured_logs: list[str]) -> None:
    params = {
        "host": smtp_receiver.host,
        "port": smtp_receiver.port,
        "starttls": False,
        "sender": "ai-trading@example.org",
        "recipients": ["ops@example.org", "risk@example.org"],
        "username": "alerts",
        "password_credential": "smtp",
        "min_severity": "warning",
    }
    channel = registry.get("email").build(params, ctx(smtp="smtp-pass-123"))
    channel.send(critical())
    channel.send(Alert(severity=AlertSeverity.INFO, source="engine", message="session started", timestamp=T0))
    assert channel.flush(5.0)
    assert smtp_receiver.logins == [("alerts", "smtp-pass-123")]
    (envelope,) = smtp_receiver.messages  # the INFO alert is below min_severity
    assert envelope.mail_from == "ai-trading@example.org"
    assert envelope.rcpt_tos == ["ops@example.org", "risk@example.org"]
    msg = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert msg["Subject"] == "[ai-trading] CRITICAL circuit_breaker: risk state halted: daily loss"
    assert msg["X-AI-Trading-Severity"] == "critical"
    # Date is the wall-clock time of sending, whatever the (simulated) time of the alert
    assert abs(email.utils.parsedate_to_datetime(msg["Date"]).timestamp() - time.time()) < 300
    assert msg["X-AI-Trading-Alert-Time"] == T0.isoformat()
    body = msg.get_body().get_content()
    assert "risk state halted: daily loss" in body and '"limit": 0.05' in body
    assert not any("smtp-pass-123" in line for line in captured_logs)


def test_email_wrong_password_is_a_delivery_error(registry: Any, smtp_receiver: Any) -> None:
    params = {
        "host": smtp_receiver.host,
        "port": smtp_receiver.port,
        "starttls": False,
        "sender": "a@example.org",
        "recipients": ["b@example.org"],
        "username": "alerts",
        "password_credential": "smtp",
        "timeout": 3,
    }
    channel = registry.get("email").build(params, ctx(smtp="wrong-password-xyz"))
    channel.send(critical())
    assert not channel.flush(5.0)
    error = channel.health()["last_error"]
    assert "login refused" in error and "wrong-password-xyz" not in error
    assert smtp_receiver.messages == []


def test_email_starttls_refused_by_plain_server_fails_closed(registry: Any, smtp_receiver: Any) -> None:
    # With starttls on (the default) a server that cannot upgrade never gets the password.
    params = {
        "host": smtp_receiver.host,
        "port": smtp_receiver.port,
        "sender": "a@example.org",
        "recipients": ["b@example.org"],
        "username": "alerts",
        "password_credential": "smtp",
        "timeout": 3,
    }
    channel = registry.get("email").build(params, ctx(smtp="smtp-pass-123"))
    channel.send(critical())
    assert not channel.flush(5.0)
    assert "STARTTLS" in channel.health()["last_error"]
    assert smtp_receiver.logins == [] and smtp_receiver.messages == []


def test_log_channel_writes_at_severity_level(registry: Any) -> None:
    records: list[Any] = []
    sink = logger.add(lambda m: records.append(m.record), level="DEBUG")
    try:
        registry.get("log").build({}, ctx()).send(critical())
    finally:
        logger.remove(sink)
    (rec,) = [r for r in records if r["message"].startswith("ALERT")]
    assert rec["level"].name == "CRITICAL"
    assert rec["message"] == "ALERT [CRITICAL] circuit_breaker: risk state halted: daily loss"
    assert rec["extra"]["alert_key"] == "risk-state:halted"
