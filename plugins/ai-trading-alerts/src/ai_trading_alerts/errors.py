"""Errors of the alert channels."""

from __future__ import annotations

from ai_trading_core.errors import AiTradingError


class AlertDeliveryError(AiTradingError):
    """An alert could not be delivered after all attempts. The message names the channel and
    the cause, never a credential."""
