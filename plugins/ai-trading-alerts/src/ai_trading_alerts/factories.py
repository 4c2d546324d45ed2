"""Factories turning validated parameters and the build context into routed channels."""

from __future__ import annotations

from ai_trading_core.registry import BuildContext

from .channels.email import EmailChannelParams, EmailTransport
from .channels.log import LogChannelParams, LogTransport
from .channels.webhook import WebhookChannelParams, WebhookTransport
from .routing import AlertRoute, RoutedChannel


def build_log_channel(params: LogChannelParams, ctx: BuildContext) -> RoutedChannel:
    return RoutedChannel(
        ctx.component_id or "log", LogTransport(params.logger_name), AlertRoute(params, ctx.clock)
    )


def build_webhook_channel(params: WebhookChannelParams, ctx: BuildContext) -> RoutedChannel:
    token = ctx.secret(params.token_credential) if params.token_credential else None
    return RoutedChannel(
        ctx.component_id or "webhook",
        WebhookTransport(params, token),
        AlertRoute(params, ctx.clock),
        delivery=params,
    )


def build_email_channel(params: EmailChannelParams, ctx: BuildContext) -> RoutedChannel:
    password = ctx.secret(params.password_credential) if params.password_credential else None
    return RoutedChannel(
        ctx.component_id or "email",
        EmailTransport(params, password),
        AlertRoute(params, ctx.clock),
        delivery=params,
    )
