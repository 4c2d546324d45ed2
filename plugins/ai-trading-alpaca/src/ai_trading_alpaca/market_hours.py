"""When the US equity market is open, from Alpaca's ``/v2/clock`` and ``/v2/calendar``.

The clock says whether the market is open now and when that changes next (``next_open`` /
``next_close``); until then its answer stands without asking again. The calendar lists the
sessions of the coming days (early closes included, times in New York time), so that a
long-running stream knows the next sessions without polling the clock, and the clock is
asked again after each transition. A closed market is not a stale feed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from ai_trading_core.errors import DataError

from .parsing import timestamp

NEW_YORK = ZoneInfo("America/New_York")
REFRESH_AT_MOST_EVERY_S = 3600.0  # ask the clock again at least this often


class MarketHours(Protocol):
    def is_open(self, now: datetime) -> bool: ...

    def due(self, now: datetime) -> bool:
        """True when :meth:`refresh` should be called (blocking REST; call it off the loop)."""
        ...

    def refresh(self, now: datetime) -> None: ...


class AlwaysOpen:
    """Crypto: the market never closes."""

    def is_open(self, now: datetime) -> bool:
        return True

    def due(self, now: datetime) -> bool:
        return False

    def refresh(self, now: datetime) -> None:
        return None


def _hhmm(text: str, where: str) -> time:
    text = str(text).replace(":", "")
    if len(text) != 4 or not text.isdigit():
        raise DataError(f"alpaca calendar: bad time {text!r} in {where}")
    return time(int(text[:2]), int(text[2:]))


def parse_calendar(raw: list[dict[str, Any]]) -> list[tuple[datetime, datetime]]:
    """Regular sessions ``[(open, close), ...]`` in UTC from ``/v2/calendar`` rows
    ``{"date": "2024-01-02", "open": "09:30", "close": "16:00", ...}`` (New York time)."""
    out = []
    for row in raw:
        try:
            day = date.fromisoformat(str(row["date"]))
        except (KeyError, ValueError) as exc:
            raise DataError(f"alpaca calendar: bad row {row!r}: {exc}") from None
        where = f"the {day} session"
        opens = datetime.combine(day, _hhmm(row["open"], where), NEW_YORK)
        closes = datetime.combine(day, _hhmm(row["close"], where), NEW_YORK)
        out.append((opens, closes))
    return sorted(out)


class AlpacaMarketHours:
    """Market hours from Alpaca. ``fetch_clock()`` returns ``/v2/clock``'s JSON;
    ``fetch_calendar(start, end)`` returns ``/v2/calendar``'s rows for those dates."""

    def __init__(
        self,
        fetch_clock: Callable[[], dict[str, Any]],
        fetch_calendar: Callable[[date, date], list[dict[str, Any]]],
    ) -> None:
        self._fetch_clock = fetch_clock
        self._fetch_calendar = fetch_calendar
        self._open = False
        self._until: datetime | None = None  # the clock's answer holds until then
        self._asked: datetime | None = None
        self.sessions: list[tuple[datetime, datetime]] = []
        self.refreshes = 0

    def refresh(self, now: datetime) -> None:
        clock = self._fetch_clock()
        try:
            self._open = bool(clock["is_open"])
            self._until = timestamp(clock["next_close"] if self._open else clock["next_open"])
        except (KeyError, ValueError) as exc:
            raise DataError(f"alpaca clock: unexpected answer {clock!r}: {exc}") from None
        today = now.astimezone(NEW_YORK).date()
        self.sessions = parse_calendar(self._fetch_calendar(today - timedelta(days=1), today + timedelta(days=10)))
        self._asked = now
        self.refreshes += 1

    def due(self, now: datetime) -> bool:
        return (
            self._asked is None
            or (self._until is not None and now >= self._until)
            or (now - self._asked).total_seconds() >= REFRESH_AT_MOST_EVERY_S
        )

    def is_open(self, now: datetime) -> bool:
        if self._until is not None and now < self._until:
            return self._open
        # Past the clock's next transition and not yet asked again: the calendar answers.
        return any(opens <= now < closes for opens, closes in self.sessions)
