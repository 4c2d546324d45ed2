"""Translation of alpaca-py and transport failures into the framework's error hierarchy.

What a failure means for an order that was being placed:

* a timeout, a dropped connection, HTTP 5xx: the order may exist -> ``BrokerTimeout``
  (the engine marks it UNKNOWN and looks it up by client order id, never resends);
* HTTP 422 "client_order_id must be unique": the order exists -> look it up;
* HTTP 429: the request was refused before it was processed -> safe to retry after a wait;
* any other 4xx: refused -> ``BrokerError``.
"""

from __future__ import annotations

import json

import requests
from alpaca.common.exceptions import APIError

from ai_trading_core.errors import BrokerError, BrokerTimeout, TradingHalted


class DuplicateClientOrderId(BrokerError):
    """Alpaca already has an order with this client order id (HTTP 422)."""


class RateLimited(BrokerError):
    """HTTP 429: the request was not processed. ``retry_after`` in seconds when given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotReconciled(TradingHalted):
    """The account does not match what the engine believes; no order is sent until it does."""


class OrderNotFound(BrokerError):
    """HTTP 404 for an order lookup."""


def api_message(exc: APIError) -> str:
    """The ``message`` of an Alpaca error body, or the raw body when it is not JSON."""
    try:
        return str(json.loads(str(exc._error)).get("message", exc._error))
    except (ValueError, AttributeError):
        return str(exc)


def translate(exc: BaseException, what: str) -> BrokerError:
    """Map a failure of ``what`` (e.g. "submit ait-123") to a framework error."""
    if isinstance(exc, requests.exceptions.Timeout):
        return BrokerTimeout(f"alpaca: {what}: no answer in time")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return BrokerTimeout(f"alpaca: {what}: connection lost ({type(exc).__name__})")
    if isinstance(exc, APIError):
        status = exc.status_code or 0
        message = api_message(exc)
        if status == 429:
            retry_after = None
            response = exc.response
            if response is not None:
                try:
                    retry_after = float(response.headers.get("Retry-After", ""))
                except ValueError:
                    retry_after = None
            return RateLimited(f"alpaca: {what}: rate limited", retry_after)
        if status >= 500:
            return BrokerTimeout(f"alpaca: {what}: HTTP {status} {message}")
        if status == 422 and "client_order_id must be unique" in message:
            return DuplicateClientOrderId(f"alpaca: {what}: {message}")
        if status == 404:
            return OrderNotFound(f"alpaca: {what}: not found")
        return BrokerError(f"alpaca: {what}: HTTP {status} {message}")
    if isinstance(exc, requests.exceptions.RequestException):
        return BrokerTimeout(f"alpaca: {what}: {type(exc).__name__}")
    return BrokerError(f"alpaca: {what}: {type(exc).__name__}: {exc}")
