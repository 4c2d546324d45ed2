"""Construction of alpaca-py clients with the guarantees alpaca-py does not give itself.

alpaca-py's ``RESTClient`` sends every request through one ``requests.Session`` with no
timeout, and retries HTTP 429 and 504 three times with a fixed 3 s sleep on every method,
order submission included. We mount a transport adapter that imposes a timeout on that
session and turn the built-in retry off, so that each call is exactly one HTTP request and
the adapter decides what a failure means (see :mod:`ai_trading_alpaca.errors`). The two
attributes touched (``_session``, ``_retry``) are alpaca-py's own; the tests run against the
installed version and fail if they change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter

from ai_trading_core.errors import BrokerError

from .errors import RateLimited, translate

T = TypeVar("T")


class TimeoutHTTPAdapter(HTTPAdapter):
    """A ``requests`` transport adapter that applies ``timeout`` (seconds) to every request
    sent without one."""

    def __init__(self, timeout: float, **kwargs: Any) -> None:
        self.timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def harden(client: Any, timeout: float) -> Any:
    """Give an alpaca-py REST client a request timeout (seconds) and no hidden retries."""
    session = getattr(client, "_session", None)
    if not isinstance(session, requests.Session) or not hasattr(client, "_retry"):
        raise BrokerError("alpaca-py's REST client changed shape: cannot impose a request timeout")
    adapter = TimeoutHTTPAdapter(timeout)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    client._retry = 0
    return client


class RequestPacer:
    """Client-side rate limiting: at most ``per_minute`` requests in any 60 s window
    (a token bucket refilled continuously). ``monotonic`` and ``sleep`` are injected so tests
    need no real waiting; they measure elapsed seconds, not the trading clock."""

    def __init__(
        self,
        per_minute: int,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self._tokens = self.capacity
        self._last: float | None = None
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def acquire(self) -> None:
        with self._lock:
            now = self._monotonic()
            if self._last is not None:
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1.0:
                wait = (1.0 - self._tokens) / self.rate
                self._sleep(wait)
                self.waited_s += wait
                self._tokens = 1.0
                self._last = now + wait
            self._tokens -= 1.0


class AlpacaCaller:
    """Runs alpaca-py calls paced, with failures translated and 429s retried with backoff
    (honouring ``Retry-After``). A 429 means the request was not processed, so retrying
    even an order submission cannot place it twice (and its client order id guards anyway)."""

    def __init__(
        self,
        pacer: RequestPacer,
        max_retries: int,
        wait_s: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.pacer = pacer
        self.max_retries = max_retries
        self.wait_s = wait_s
        self._sleep = sleep
        self.rate_limited = 0

    def __call__(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        attempt = 0
        while True:
            self.pacer.acquire()
            try:
                return fn(*args)
            except Exception as exc:  # noqa: BLE001 - every failure is translated below
                error = translate(exc, what)
                if isinstance(error, RateLimited) and attempt < self.max_retries:
                    self.rate_limited += 1
                    wait = error.retry_after if error.retry_after is not None else self.wait_s * 2**attempt
                    self._sleep(wait)
                    attempt += 1
                    continue
                raise error from exc
