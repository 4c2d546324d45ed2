"""Alert channels for ai-trading: ``log``, ``webhook`` and ``email``, each behind a routing
layer (minimum severity, source patterns), de-duplication by ``Alert.key`` within a window
and a token-bucket rate limit on the run's clock."""

from .channels.email import EmailChannelParams, EmailTransport
from .channels.log import LogChannelParams, LogTransport
from .channels.webhook import WebhookChannelParams, WebhookTransport
from .dedup import Deduplicator, dedup_key
from .errors import AlertDeliveryError
from .ratelimit import TokenBucket
from .routing import AlertRoute, RoutedChannel, RoutingParams

__all__ = [
    "AlertDeliveryError",
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
