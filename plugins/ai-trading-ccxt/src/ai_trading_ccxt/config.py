"""Parameters of the ccxt components and how credentials are found.

Keys come from the component's own ``api_key``/``secret`` parameters (``SecretStr``), else
from the run's credentials (``[credentials] ccxt_api_key`` / ``ccxt_secret``, see
``BuildContext.secret``). They are handed to ccxt only when the exchange object is built and
never logged: ccxt itself logs request headers (which carry the API key on some exchanges)
at DEBUG level on the ``ccxt.base.exchange`` logger, so keep that logger above DEBUG.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ai_trading_core.errors import ConfigError
from ai_trading_core.registry import BuildContext

CREDENTIAL_KEY = "ccxt_api_key"
CREDENTIAL_SECRET = "ccxt_secret"


class CcxtExchangeParams(BaseModel):
    """What every ccxt component needs to build its exchange object."""

    model_config = ConfigDict(extra="forbid")

    exchange: str = "binance"
    """ccxt exchange id, e.g. "binance", "kraken", "bybit"."""
    urls: dict[str, str] = Field(default_factory=dict)
    """Overrides of the exchange's ``urls['api']`` entries (for binance spot: "public" and
    "private"), e.g. a proxy or a local server in tests."""
    rate_limit_ms: float | None = Field(default=None, gt=0)
    """Milliseconds between requests of unit cost for ccxt's built-in rate limiter (always
    enabled); None keeps the exchange's own figure (binance: 50 ms)."""
    request_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds before an unanswered request counts as a timeout."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Extra ccxt ``options`` merged over the adapter's defaults."""
    api_key: SecretStr | None = None
    secret: SecretStr | None = None
    password: SecretStr | None = None
    """Passphrase, for the exchanges that use one (e.g. OKX, KuCoin)."""


class CcxtOhlcvParams(CcxtExchangeParams):
    """Parameters of the ``ccxt_ohlcv`` data source."""

    symbols: list[str] = Field(min_length=1)
    """Unified ccxt symbols, e.g. "BTC/USDT"."""
    timeframe: str = "1d"
    """Bar length: 1m, 5m, 15m, 30m, 1h, 4h or 1d."""
    since: str | None = None
    """ISO date or datetime (UTC when no offset) of the first bar's open; overridden by the
    run's start when given."""
    until: str | None = None
    """ISO date or datetime of the last bar's open (inclusive). Without it the newest candle,
    possibly still forming, is included."""
    page_limit: int = Field(default=1000, gt=0)
    """Candles requested per page (binance spot serves at most 1000)."""
    max_pages: int = Field(default=10_000, gt=0)
    """Safety bound on the number of pages per symbol."""
    poll_s: float = Field(default=10.0, gt=0)
    """Streaming (paper and live runs): seconds between two ``fetch_ohlcv`` polls for new candles."""
    stale_after_s: float | None = Field(default=None, gt=0)
    """Streaming: seconds without a new candle after which ``health()`` reports STALE (crypto
    trades around the clock: two or three bar lengths is a reasonable choice)."""


class CcxtBrokerParams(CcxtExchangeParams):
    """Parameters of the ``ccxt`` spot broker."""

    sandbox: bool = False
    """Use the exchange's testnet (``set_sandbox_mode``) when it has one."""
    client_order_id_param: str | None = None
    """Name of the client order id parameter of ``create_order``; None picks
    "newClientOrderId" for binance and ccxt's unified "clientOrderId" elsewhere."""
    max_rate_limit_retries: int = Field(default=3, ge=0)
    """Retries of a request refused for rate limiting (it was not processed)."""
    rate_limit_wait_s: float = Field(default=1.0, ge=0)
    """First wait after a rate-limit refusal, doubled per retry, seconds."""
    reconcile_every_s: float = Field(default=60.0, gt=0)
    """Seconds of clock time between reconciliations of balances against the fills."""
    on_start_open_orders: Literal["cancel", "refuse"] = "cancel"
    """Open orders in the run's symbols found on connect: cancel them, or refuse to trade."""
    trades_page_limit: int = Field(default=500, gt=0)
    """Trades requested per ``fetch_my_trades`` page."""
    unknown_order_budget_s: float = Field(default=60.0, gt=0)
    """Wall-clock seconds an order whose answer was lost stays UNKNOWN (in flight, looked up
    by client order id with back-off) before it may be declared rejected, and then only if
    the exchange's list of orders since it was sent does not hold it."""
    refused_order_retries: int = Field(default=3, ge=0)
    """Times in a row the engine decides a refused target again (insufficient balance, ...)."""


def resolve_credentials(
    params: CcxtExchangeParams, ctx: BuildContext | None, required: bool
) -> tuple[SecretStr | None, SecretStr | None, SecretStr | None]:
    """API key, secret and passphrase, from params, then the run's credentials."""
    creds = ctx.credentials if ctx is not None else {}
    key = params.api_key or creds.get(CREDENTIAL_KEY)
    secret = params.secret or creds.get(CREDENTIAL_SECRET)
    password = params.password or creds.get("ccxt_password")
    if required and (key is None or secret is None):
        raise ConfigError(
            f"ccxt: API key and secret are not configured (params api_key/secret or "
            f"[credentials] {CREDENTIAL_KEY}/{CREDENTIAL_SECRET})"
        )
    return key, secret, password
