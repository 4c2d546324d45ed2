"""The ``webhook`` channel: the alert as JSON in an HTTP POST, retried with back-off."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from ai_trading_core.models import Alert

from ..errors import AlertDeliveryError
from ..payload import alert_json
from ..routing import DeliveryParams


class WebhookChannelParams(DeliveryParams):
    """Parameters of the ``webhook`` channel. The token is never written in the config: it
    names an entry of ``[credentials]`` (or ``AI_TRADING_CREDENTIALS__<NAME>``)."""

    url: str = Field(description="http:// or https:// endpoint receiving the POST")
    token_credential: str | None = Field(default=None, description="name of the credential sent as the token")
    token_header: str = Field(default="Authorization", description="header carrying the token")
    token_scheme: str = Field(
        default="Bearer", description="prefix of the header value ('' for the bare token)"
    )
    timeout: float = Field(default=3.0, gt=0, description="seconds per attempt (connect and read)")
    attempts: int = Field(default=3, ge=1, le=10, description="attempts in total, including the first")
    backoff: float = Field(default=0.5, ge=0, description="first wait between attempts, seconds, doubling")
    backoff_max: float = Field(default=5.0, ge=0, description="longest wait between attempts, seconds")

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return v


class _Retryable(Exception):
    """A failure worth another attempt: connection error, timeout, 429 or 5xx."""


def endpoint_label(url: str) -> str:
    """``scheme://host:port`` only: webhook paths and queries often embed secrets."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"


class WebhookTransport:
    """POSTs ``application/json``; a 2xx answer is success. Connection errors, timeouts,
    429 and 5xx are retried up to ``attempts`` times with exponential back-off; other 4xx
    fail at once. Worst case a delivery takes ``attempts × timeout`` plus the back-off: the
    channel calls it from its delivery thread, never from the engine's.

    :param sleep: how to wait between attempts (``time.sleep`` by default; tests pass a
        function that records the waits instead).
    """

    def __init__(
        self,
        params: WebhookChannelParams,
        token: SecretStr | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.params = params
        self._token = token
        self._sleep = sleep
        self.endpoint = endpoint_label(params.url)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "ai-trading-alerts/0.1"}
        if self._token is not None:
            scheme = self.params.token_scheme
            secret = self._token.get_secret_value()
            headers[self.params.token_header] = f"{scheme} {secret}" if scheme else secret
        return headers

    def _post_once(self, body: bytes) -> None:
        request = urllib.request.Request(self.params.url, data=body, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.params.timeout) as response:  # noqa: S310 - scheme checked
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise _Retryable(f"HTTP {exc.code}") from None
            raise AlertDeliveryError(f"webhook {self.endpoint} refused the alert: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Retryable(f"{type(exc).__name__}: {reason}") from None

    def deliver(self, alert: Alert) -> None:
        body = alert_json(alert)
        p = self.params
        retrying = Retrying(
            stop=stop_after_attempt(p.attempts),
            wait=wait_exponential(multiplier=p.backoff, min=p.backoff, max=max(p.backoff_max, p.backoff)),
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )
        if self._sleep is not None:
            retrying = retrying.copy(sleep=self._sleep)
        try:
            retrying(self._post_once, body)
        except _Retryable as exc:
            raise AlertDeliveryError(
                f"webhook {self.endpoint} failed after {p.attempts} attempt(s): {exc}"
            ) from None
