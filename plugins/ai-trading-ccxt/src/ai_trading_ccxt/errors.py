"""Translation of ccxt's exceptions into the framework's error hierarchy.

What a failure means for an order being placed (measured with ccxt 4.5 against a server
speaking Binance's spot format):

* ``RequestTimeout``, ``ExchangeNotAvailable`` (HTTP 5xx, dropped connection) and any other
  ``OperationFailed`` (Binance -1000/-1001/-1006 "execution status unknown"): the order may
  exist -> ``BrokerTimeout``; the engine marks it UNKNOWN and looks it up by client order id,
  never resends it;
* ``DuplicateOrderId``, and Binance's ``InvalidOrder`` "Duplicate order sent." (-2010, which
  ccxt does not map to ``DuplicateOrderId``): an open order has this id -> look it up;
* ``RateLimitExceeded`` / ``DDoSProtection`` (Binance HTTP 429/418 arrive as the latter):
  refused before processing -> wait and retry;
* ``InvalidOrder``, ``InsufficientFunds`` and every other ``ExchangeError``: refused ->
  ``BrokerError``.
"""

from __future__ import annotations

import ccxt

from ai_trading_core.errors import BrokerError, BrokerTimeout, TradingHalted


class DuplicateClientOrderId(BrokerError):
    """The exchange already has an open order with this client order id."""


class RateLimited(BrokerError):
    """The exchange refused the request for rate limiting; it was not processed."""


class OrderNotFound(BrokerError):
    """The exchange does not know the order."""


class NotReconciled(TradingHalted):
    """The account does not match what the engine believes; no order is sent until it does."""


def translate(exc: BaseException, what: str, exchange: str) -> BrokerError:
    """Map a failure of ``what`` (e.g. "submit ait-1") to a framework error. Messages carry
    ccxt's text (method, URL without credentials, response body), never the keys."""
    where = f"ccxt {exchange}: {what}"
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return RateLimited(f"{where}: rate limited ({type(exc).__name__})")
    if isinstance(exc, ccxt.DuplicateOrderId) or (
        isinstance(exc, ccxt.InvalidOrder) and "Duplicate order sent" in str(exc)
    ):
        return DuplicateClientOrderId(f"{where}: {exc}")
    if isinstance(exc, ccxt.OrderNotFound):
        return OrderNotFound(f"{where}: not found")
    if isinstance(exc, ccxt.InvalidNonce):  # timestamp outside the receive window: not processed
        return BrokerError(f"{where}: {type(exc).__name__}: {exc}")
    if isinstance(exc, ccxt.OperationFailed):
        return BrokerTimeout(f"{where}: outcome unknown ({type(exc).__name__}: {exc})")
    if isinstance(exc, ccxt.BaseError):
        return BrokerError(f"{where}: {type(exc).__name__}: {exc}")
    return BrokerError(f"{where}: {type(exc).__name__}: {exc}")
