"""Alert channels for ai-trading: ``log``, ``webhook`` and ``email``, each behind a routing
layer (minimum severity, source patterns), de-duplication by ``Alert.key`` within a window
and a token-bucket rate limit on the run's clock (CRITICAL alerts pass both; what is dropped
is summarised later), delivering webhooks and e-mails from a background thread through a
bounded queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .channels.email import EmailChannelParams, EmailTransport
    from .channels.log import LogChannelParams, LogTransport
    from .channels.webhook import WebhookChannelParams, WebhookTransport
    from .dedup import Deduplicator, dedup_key
    from .delivery import AlertQueue, DeliveryHealth
    from .errors import AlertDeliveryError
    from .ratelimit import TokenBucket
    from .routing import AlertRoute, DeliveryParams, RoutedChannel, RoutingParams

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "EmailChannelParams": ".channels.email",
        "EmailTransport": ".channels.email",
        "LogChannelParams": ".channels.log",
        "LogTransport": ".channels.log",
        "WebhookChannelParams": ".channels.webhook",
        "WebhookTransport": ".channels.webhook",
        "Deduplicator": ".dedup",
        "dedup_key": ".dedup",
        "AlertQueue": ".delivery",
        "DeliveryHealth": ".delivery",
        "AlertDeliveryError": ".errors",
        "TokenBucket": ".ratelimit",
        "AlertRoute": ".routing",
        "DeliveryParams": ".routing",
        "RoutedChannel": ".routing",
        "RoutingParams": ".routing",
    },
)

__all__ = [
    "AlertDeliveryError",
    "AlertQueue",
    "DeliveryHealth",
    "DeliveryParams",
    "AlertRoute",
    "Deduplicator",
    "EmailChannelParams",
    "EmailTransport",
    "LogChannelParams",
    "LogTransport",
    "RoutedChannel",
    "RoutingParams",
    "TokenBucket",
    "WebhookChannelParams",
    "WebhookTransport",
    "dedup_key",
]
