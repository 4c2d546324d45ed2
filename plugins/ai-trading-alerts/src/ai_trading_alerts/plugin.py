"""Registers the alert channels ``log``, ``webhook`` and ``email``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

if TYPE_CHECKING:
    from ai_trading_core.registry import AlertChannelRegistry


# Channels are registered by reference: their HTTP, SMTP and retry libraries are imported when a
# run builds one, not when the plugin loads.
@hookimpl
def ai_trading_register_alert_channels(registry: AlertChannelRegistry) -> None:
    registry.register(
        "log",
        "ai_trading_alerts.factories:build_log_channel",
        params="ai_trading_alerts.channels.log:LogChannelParams",
        description="alerts as structured log records at the matching level",
    )
    registry.register(
        "webhook",
        "ai_trading_alerts.factories:build_webhook_channel",
        params="ai_trading_alerts.channels.webhook:WebhookChannelParams",
        description="alerts as JSON in an HTTP POST (token header from a credential), retried",
    )
    registry.register(
        "email",
        "ai_trading_alerts.factories:build_email_channel",
        params="ai_trading_alerts.channels.email:EmailChannelParams",
        description="alerts by e-mail over SMTP (STARTTLS, login from a credential)",
    )
