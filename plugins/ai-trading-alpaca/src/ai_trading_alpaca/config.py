"""Parameters of the Alpaca components and how credentials are found.

Keys come, in this order, from the component's own ``api_key``/``secret_key`` parameters
(``SecretStr``), the run's credentials (``[credentials] alpaca_api_key`` /
``alpaca_secret_key``, see ``BuildContext.secret``), or the environment variables Alpaca's
own tools use, ``APCA_API_KEY_ID`` and ``APCA_API_SECRET_KEY``. They are never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ai_trading_core.errors import ConfigError
from ai_trading_core.registry import BuildContext

ENV_KEY = "APCA_API_KEY_ID"
ENV_SECRET = "APCA_API_SECRET_KEY"
CREDENTIAL_KEY = "alpaca_api_key"
CREDENTIAL_SECRET = "alpaca_secret_key"


class AlpacaCredentialsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr | None = None
    secret_key: SecretStr | None = None


class AlpacaBrokerParams(AlpacaCredentialsParams):
    """Parameters of the ``alpaca`` broker."""

    paper: bool = True
    """Trade the paper account (True) or the live account (False)."""
    base_url: str | None = None
    """Override of the REST base URL (a proxy, or a local server in tests)."""
    stream_url: str | None = None
    """Override of the trade-updates websocket URL."""
    stream: bool = True
    """Receive fills from the trade_updates websocket (REST polling always runs as well)."""
    request_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds before an unanswered REST request counts as a timeout (order UNKNOWN)."""
    max_requests_per_minute: int = Field(default=180, gt=0)
    """Client-side pacing; Alpaca allows 200 per minute per account."""
    max_rate_limit_retries: int = Field(default=3, ge=0)
    """Retries of a request answered with HTTP 429 (it was not processed)."""
    rate_limit_wait_s: float = Field(default=1.0, ge=0)
    """Wait before retrying after a 429 without ``Retry-After``, doubled per retry, seconds."""
    reconcile_every_s: float = Field(default=60.0, gt=0)
    """Seconds of clock time between reconciliations of positions against the account."""
    stale_after_s: float = Field(default=30.0, gt=0)
    """A trade-updates socket silent this long is treated as down and reconnected, seconds."""
    on_start_open_orders: Literal["cancel", "refuse"] = "cancel"
    """Open orders found at the account on connect: cancel them, or refuse to trade."""
    extended_hours: bool = False
    unknown_order_budget_s: float = Field(default=60.0, gt=0)
    """Wall-clock seconds an order whose answer was lost stays UNKNOWN (in flight, looked up
    with back-off) before it may be declared rejected, and then only if Alpaca's list of
    orders since it was sent does not hold it: Alpaca may accept an order late."""
    refused_order_retries: int = Field(default=3, ge=0)
    """Times in a row the engine decides a refused target again (403, 422, rate limited)."""
    cash_tolerance: Decimal = Field(default=Decimal("0.01"), ge=0)
    """Largest difference between the account's cash and the ledger's that still reconciles,
    currency. Beyond it trading is refused (the run halts) and a CRITICAL alert is raised."""


class AlpacaBarsParams(AlpacaCredentialsParams):
    """Parameters of the ``alpaca_bars`` data source."""

    symbols: list[str] = Field(min_length=1)
    timeframe: str = "1d"
    """Bar length: 1m, 5m, 15m, 30m, 1h, 4h or 1d."""
    adjustment: Literal["raw", "split", "dividend", "all"] = "all"
    """Price adjustment applied by Alpaca: raw prices, split-, dividend- or fully adjusted."""
    feed: Literal["iex", "sip"] | None = None
    """Stock feed: ``iex`` (free) or ``sip`` (all exchanges, needs the subscription); the
    stream uses ``iex`` when unset."""
    asset_class: Literal["stock", "crypto"] = "stock"
    """``stock`` (``StockDataStream``, market hours from Alpaca's clock and calendar) or
    ``crypto`` (``CryptoDataStream``, always open)."""
    base_url: str | None = None
    """Override of the market data base URL (a proxy, or a local server in tests)."""
    request_timeout_s: float = Field(default=30.0, gt=0)
    # ---- streaming (paper and live runs): see ai_trading_alpaca.bar_stream
    stream_url: str | None = None
    """Override of the market data websocket URL."""
    trading_url: str | None = None
    """Override of the trading API base URL, where ``/v2/clock`` and ``/v2/calendar`` live."""
    paper: bool = True
    """Which trading API host answers the clock and calendar (paper or live; same answers)."""
    calendar: Literal["alpaca", "always_open"] | None = None
    """Market hours: Alpaca's ``/v2/clock`` and ``/v2/calendar`` (default for stocks) or
    ``always_open`` (default for crypto). Outside market hours a silent feed is not stale."""
    stale_after_s: float | None = Field(default=None, gt=0)
    """Seconds of wall clock without a new bar, during market hours, after which the socket is
    recycled and a WARNING alert raised. Default: two bar lengths plus 15 s."""
    reduce_after_s: float | None = Field(default=None, gt=0)
    """Seconds without a new bar after which the run goes REDUCING (no new exposure) until
    bars flow again. Default: three times ``stale_after_s``."""
    bar_grace_s: float = Field(default=5.0, ge=0)
    """Seconds after the first bar of a minute arrives that the cross-section waits for the
    other symbols' bars (a symbol that did not trade has no bar) before it is delivered."""
    reconnect_min_s: float = Field(default=0.5, gt=0)
    """First reconnect wait after a dropped or recycled socket, seconds (doubled per attempt)."""
    reconnect_max_s: float = Field(default=30.0, gt=0)
    """Longest reconnect wait, seconds."""
    poll_s: float = Field(default=0.5, gt=0)
    """Seconds between two looks at the feed's health (staleness, market hours, REST retries)."""


def resolve_credentials(
    params: AlpacaCredentialsParams,
    ctx: BuildContext | None,
    env: Mapping[str, str] | None = None,
) -> tuple[SecretStr, SecretStr]:
    """The API key and secret, from params, then run credentials, then the environment."""
    env = os.environ if env is None else env
    key, secret = params.api_key, params.secret_key
    creds = ctx.credentials if ctx is not None else {}
    key = key or creds.get(CREDENTIAL_KEY) or (SecretStr(env[ENV_KEY]) if env.get(ENV_KEY) else None)
    secret = (
        secret
        or creds.get(CREDENTIAL_SECRET)
        or (SecretStr(env[ENV_SECRET]) if env.get(ENV_SECRET) else None)
    )
    if key is None or secret is None:
        raise ConfigError(
            f"alpaca: API key and secret are not configured (params api_key/secret_key, "
            f"[credentials] {CREDENTIAL_KEY}/{CREDENTIAL_SECRET}, or {ENV_KEY}/{ENV_SECRET})"
        )
    return key, secret
