"""De-duplication of repeated alerts within a time window."""

from __future__ import annotations

from typing import Any

from ai_trading_core.models import Alert


def dedup_key(alert: Alert) -> str:
    """``Alert.key`` when the emitter set one; otherwise source, severity and message, so
    an identical alert repeated every bar is still recognised."""
    if alert.key:
        return alert.key
    return f"{alert.source}\x1f{alert.severity.value}\x1f{alert.message}"


class Deduplicator:
    """Suppresses an alert whose key was *delivered* less than ``window_seconds`` ago.

    A higher severity under the same key is never suppressed (an escalation is news). Time
    comes from the injected clock's ``now_ns()``.

    :param window_seconds: suppression window, seconds (0 disables de-duplication).
    """

    def __init__(self, window_seconds: float, clock: Any) -> None:
        self.window_ns = int(window_seconds * 1e9)
        self._clock = clock
        self._seen: dict[str, tuple[int, int]] = {}  # key -> (delivered at ns, severity rank)

    def is_duplicate(self, alert: Alert) -> bool:
        if self.window_ns <= 0:
            return False
        key = dedup_key(alert)
        now = int(self._clock.now_ns())
        seen = self._seen.get(key)
        if seen is None:
            return False
        at, rank = seen
        return now - at < self.window_ns and _rank(alert) <= rank

    def remember(self, alert: Alert) -> None:
        now = int(self._clock.now_ns())
        self._seen[dedup_key(alert)] = (now, _rank(alert))
        if len(self._seen) > 10_000:  # bound memory: drop entries older than the window
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.window_ns}


def _rank(alert: Alert) -> int:
    return {"info": 0, "warning": 1, "critical": 2}[alert.severity.value]
