"""The ``redis`` cache component: ``Cache`` protocol (get, set with TTL, publish).

Redis is never on the critical path. Every operation has short socket timeouts and no
client-side retries; a connection error or timeout turns the operation into a miss (reads) or
a no-op (writes), raises ONE alert for the outage through ``BuildContext.alert``, and opens
a back-off window (exponential, computed by tenacity) during which operations return at once
without touching the network. The first operation after the window probes the server again;
success ends the outage and re-arms the alert.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
import tenacity
from loguru import logger
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from redis.backoff import NoBackoff
from redis.retry import Retry

from ai_trading_core.clock import WallClock
from ai_trading_core.enums import AlertSeverity
from ai_trading_core.models import Alert

T = TypeVar("T")
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisCacheParams(BaseModel):
    """Parameters of the ``redis`` cache component."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(default="redis://127.0.0.1:6379/0", description="redis:// or rediss:// URL")
    password: SecretStr | None = Field(default=None, description="overrides the URL's password")
    prefix: str = Field(default="ai_trading", description="key and channel prefix")
    socket_timeout: float = Field(default=0.25, gt=0, description="seconds allowed per command")
    connect_timeout: float = Field(default=0.25, gt=0, description="seconds allowed to connect")
    backoff_initial: float = Field(default=0.5, gt=0, description="seconds before the first reconnect probe")
    backoff_max: float = Field(
        default=30.0, gt=0, description="longest wait between reconnect probes, seconds"
    )
    bar_ttl: float | None = Field(default=3600.0, description="seconds cached bars live; None = no expiry")
    indicator_ttl: float | None = Field(default=300.0, description="seconds cached indicators live")
    quote_ttl: float | None = Field(default=10.0, description="seconds a latest quote lives")
    heartbeat_ttl: float = Field(default=30.0, gt=0, description="seconds a heartbeat key lives")
    publish_events: bool = Field(default=True, description="publish orders and fills for the dashboard")
    live_feed: bool | None = Field(
        default=None,
        description="publish the live run feed (run registry, per-step equity, positions, orders, fills, "
        "alerts, risk state); default: in paper and live runs, not in backtests",
    )
    feed_maxlen: int = Field(default=200_000, gt=0, description="approximate cap of a run's event stream")
    feed_ttl: float = Field(default=7 * 86_400.0, gt=0, description="seconds a run's feed keys live after it ends")


class RedisCache:
    """See the module docstring. ``monotonic`` (seconds) times the back-off window; tests
    inject a fake. ``alert`` receives one :class:`~ai_trading_core.models.Alert` per outage."""

    def __init__(
        self,
        params: RedisCacheParams,
        *,
        alert: Callable[..., None] | None = None,
        clock: Any = None,
        monotonic: Callable[[], float] = time.monotonic,
        source: str = "redis",
    ) -> None:
        self.params = params
        self.prefix = params.prefix
        self.source = source
        self._alert = alert
        self._clock = clock if clock is not None else WallClock()
        self._monotonic = monotonic
        kwargs: dict[str, Any] = dict(
            socket_timeout=params.socket_timeout,
            socket_connect_timeout=params.connect_timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=0,
        )
        self.client: redis.Redis = redis.Redis.from_url(params.url, **kwargs)
        if params.password is not None:  # from_url lets the URL's password win over a keyword argument
            self.client.connection_pool.connection_kwargs["password"] = params.password.get_secret_value()
        self._wait = tenacity.wait_exponential(multiplier=params.backoff_initial, max=params.backoff_max)
        self._failures = 0
        self._retry_at: float | None = None
        self.alerts_sent = 0

    # ------------------------------------------------------------------ state
    @property
    def available(self) -> bool:
        """False while an outage's back-off window is open."""
        return self._retry_at is None

    def _guard(self, operation: str, call: Callable[[], T], default: T) -> T:
        if self._retry_at is not None and self._monotonic() < self._retry_at:
            return default
        try:
            result = call()
        except OUTAGE_ERRORS as exc:
            self._on_failure(operation, exc)
            return default
        if self._retry_at is not None:
            logger.info("redis {} reachable again after {} failed attempt(s)", self._where(), self._failures)
            self._failures, self._retry_at = 0, None
        return result

    def _on_failure(self, operation: str, exc: BaseException) -> None:
        self._failures += 1
        state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = self._failures
        delay = float(self._wait(state))
        self._retry_at = self._monotonic() + delay
        if self._failures == 1:
            logger.warning(
                "redis {} unavailable during {}: {}; running without cache", self._where(), operation, exc
            )
            self._send_alert(operation, exc)

    def _send_alert(self, operation: str, exc: BaseException) -> None:
        self.alerts_sent += 1
        if self._alert is None:
            return
        alert = Alert(
            severity=AlertSeverity.WARNING,
            source=self.source,
            key=f"{self.source}:outage",
            message=f"Redis at {self._where()} unavailable ({type(exc).__name__}); running without cache",
            timestamp=self._clock.now(),
            details={"operation": operation, "error": str(exc)},
        )
        try:
            self._alert(alert)
        except Exception:  # an alert channel failing must not turn a cache outage into a trading failure
            logger.exception("alert callback failed while reporting a redis outage")

    def _where(self) -> str:
        kw = self.client.connection_pool.connection_kwargs
        return f"{kw.get('host', '?')}:{kw.get('port', '?')}/{kw.get('db', 0)}"

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # ------------------------------------------------------------------ Cache protocol
    def get(self, key: str) -> bytes | None:
        value = self._guard("get", lambda: self.client.get(key), None)
        return value if isinstance(value, bytes) or value is None else bytes(value)

    def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        px = None if ttl_seconds is None else max(1, int(round(ttl_seconds * 1000)))
        self._guard("set", lambda: self.client.set(key, value, px=px), None)

    def publish(self, channel: str, message: bytes) -> None:
        self._guard("publish", lambda: self.client.publish(channel, message), 0)

    def delete(self, *keys: str) -> None:
        if keys:
            self._guard("delete", lambda: self.client.delete(*keys), 0)

    def ttl(self, key: str) -> float | None:
        """Seconds until ``key`` expires; None when it has no expiry, is missing, or Redis is down."""
        ms = self._guard("ttl", lambda: self.client.pttl(key), -2)
        return None if ms is None or int(ms) < 0 else int(ms) / 1000.0

    def close(self) -> None:
        self.client.close()
