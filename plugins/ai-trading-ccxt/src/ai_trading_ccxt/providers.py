"""Construction of ccxt exchange objects, and a caller that paces, translates and retries.

Every exchange object is built with ccxt's built-in rate limiter on (``enableRateLimit``),
a request timeout, and no automatic retries (ccxt's ``maxRetriesOnFailure`` stays 0: a
retried order submission after a lost answer could place the order twice, since Binance
refuses a repeated client order id only while the first order is still open). For binance
the adapter loads spot markets only and skips the authenticated currencies endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import ccxt
from pydantic import SecretStr

from ai_trading_core.errors import ConfigError

from .config import CcxtExchangeParams
from .errors import RateLimited, translate

T = TypeVar("T")

_DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {
        "fetchCurrencies": False,
        "fetchMarkets": {"types": ["spot"]},
        "fetchMargins": False,
        "defaultType": "spot",
    },
}


def make_exchange(
    params: CcxtExchangeParams,
    api_key: SecretStr | None = None,
    secret: SecretStr | None = None,
    password: SecretStr | None = None,
    sandbox: bool = False,
) -> Any:
    """A ccxt exchange object for ``params.exchange`` with the URL overrides applied.
    Nothing is sent over the network here."""
    cls = getattr(ccxt, params.exchange, None)
    if cls is None or params.exchange not in ccxt.exchanges:
        raise ConfigError(f"ccxt: unknown exchange {params.exchange!r}")
    options = {**_DEFAULT_OPTIONS.get(params.exchange, {}), **params.options}
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": int(params.request_timeout_s * 1000),
        "options": options,
    }
    if params.rate_limit_ms is not None:
        config["rateLimit"] = params.rate_limit_ms
    if api_key is not None:
        config["apiKey"] = api_key.get_secret_value()
    if secret is not None:
        config["secret"] = secret.get_secret_value()
    if password is not None:
        config["password"] = password.get_secret_value()
    exchange = cls(config)
    if sandbox:
        exchange.set_sandbox_mode(True)
    if params.urls:
        api = exchange.urls.get("api")
        if not isinstance(api, dict):
            raise ConfigError(f"ccxt {params.exchange}: urls['api'] is not a mapping; cannot override it")
        unknown = sorted(set(params.urls) - set(api))
        if unknown:
            raise ConfigError(
                f"ccxt {params.exchange}: unknown urls['api'] key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(api))}"
            )
        api.update(params.urls)
    return exchange


class CcxtCaller:
    """Runs ccxt calls with failures translated; a rate-limit refusal is retried after
    ``wait_s`` seconds, doubled per retry, at most ``max_retries`` times (the request was
    not processed, so even an order submission cannot be placed twice). ``sleep`` is
    injected so tests need no real waiting."""

    def __init__(
        self,
        exchange_id: str,
        max_retries: int,
        wait_s: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.exchange_id = exchange_id
        self.max_retries = max_retries
        self.wait_s = wait_s
        self._sleep = sleep
        self.rate_limited = 0

    def __call__(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        attempt = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - every failure is translated below
                error = translate(exc, what, self.exchange_id)
                if isinstance(error, RateLimited) and attempt < self.max_retries:
                    self.rate_limited += 1
                    self._sleep(self.wait_s * 2**attempt)
                    attempt += 1
                    continue
                raise error from exc
