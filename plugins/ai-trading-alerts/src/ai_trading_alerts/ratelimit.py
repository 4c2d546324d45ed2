"""Token-bucket rate limiting on an injected clock."""

from __future__ import annotations

from typing import Any

from ai_trading_core.errors import ConfigError


class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``rate_per_second``; each admitted alert
    takes one. The time comes from ``clock.now_ns()`` (a simulated clock in backtests and
    tests, the wall clock live), so the limiter never reads the system time itself.

    :param capacity: largest burst, alerts (>= 1).
    :param rate_per_second: sustained rate, alerts per second (> 0).
    """

    __slots__ = ("capacity", "rate_per_second", "_clock", "_tokens", "_last_ns")

    def __init__(self, capacity: float, rate_per_second: float, clock: Any) -> None:
        if capacity < 1:
            raise ConfigError(f"token bucket capacity must be at least 1, got {capacity}")
        if rate_per_second <= 0:
            raise ConfigError(f"token bucket rate must be positive, got {rate_per_second}")
        self.capacity = float(capacity)
        self.rate_per_second = float(rate_per_second)
        self._clock = clock
        self._tokens = float(capacity)
        self._last_ns: int | None = None

    def _refill(self) -> None:
        now = int(self._clock.now_ns())
        if self._last_ns is not None and now > self._last_ns:
            elapsed = (now - self._last_ns) / 1e9
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate_per_second)
        if self._last_ns is None or now > self._last_ns:
            self._last_ns = now

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens

    def try_take(self) -> bool:
        """Take one token if available; ``False`` means the alert is rate-limited."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
