"""Registers the alert channels ``log``, ``webhook`` and ``email``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

from .channels.email import EmailChannelParams
from .channels.log import LogChannelParams
from .channels.webhook import WebhookChannelParams
from .factories import build_email_channel, build_log_channel, build_webhook_channel

if TYPE_CHECKING:
    from ai_trading_core.registry import AlertChannelRegistry


@hookimpl
def ai_trading_register_alert_channels(registry: AlertChannelRegistry) -> None:
    registry.register(
        "log",
        build_log_channel,
        params=LogChannelParams,
        description="alerts as structured log records at the matching level",
    )
    registry.register(
        "webhook",
        build_webhook_channel,
        params=WebhookChannelParams,
        description="alerts as JSON in an HTTP POST (token header from a credential), retried",
    )
    registry.register(
        "email",
        build_email_channel,
        params=EmailChannelParams,
        description="alerts by e-mail over SMTP (STARTTLS, login from a credential)",
    )
