"""Enumerations shared by every role. Values are stable strings: they appear in configs,
run documents, audit rows and database columns."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class AssetClass(StrEnum):
    EQUITY = "equity"
    INDEX = "index"
    ETF = "etf"
    FUTURE = "future"
    FX = "fx"
    CRYPTO = "crypto"
    OPTION = "option"


class Timeframe(StrEnum):
    """Bar lengths from one minute to one day.

    Bars are labelled by their *open* time (see docs/concepts.md, "Bar convention").
    """

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"
    # The original design's member names, aliases of the members above (same objects):
    # ``TimeFrame.MINUTE_5 is Timeframe.M5``.
    MINUTE_1 = "1m"
    MINUTE_5 = "5m"
    MINUTE_15 = "15m"
    MINUTE_30 = "30m"
    HOUR_1 = "1h"
    HOUR_4 = "4h"
    DAY_1 = "1d"
    DAILY = "1d"

    @property
    def seconds(self) -> int:
        return _TIMEFRAME_SECONDS[self]

    @property
    def periods_per_year(self) -> float:
        """Annualisation factor: 252 trading days; intraday bars assume 6.5 h equity sessions
        except for 4h bars, which assume 24 h markets (crypto)."""
        if self is Timeframe.D1:
            return 252.0
        if self is Timeframe.H4:
            return 365.0 * 6
        return 252.0 * 6.5 * 3600 / self.seconds

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        aliases = {
            "1min": "1m",
            "5min": "5m",
            "15min": "15m",
            "30min": "30m",
            "60m": "1h",
            "1d": "1d",
            "d": "1d",
            "day": "1d",
            "daily": "1d",
            "1day": "1d",
        }
        key = aliases.get(text.strip().lower(), text.strip().lower())
        try:
            return cls(key)
        except ValueError:
            allowed = ", ".join(t.value for t in cls)
            raise ValueError(f"unknown timeframe {text!r}; expected one of {allowed}") from None


#: The original design's spelling of :class:`Timeframe`.
TimeFrame = Timeframe

_TIMEFRAME_SECONDS = {
    Timeframe.M1: 60,
    Timeframe.M5: 300,
    Timeframe.M15: 900,
    Timeframe.M30: 1800,
    Timeframe.H1: 3600,
    Timeframe.H4: 14400,
    Timeframe.D1: 86400,
}


class StrategyType(StrEnum):
    TECHNICAL = "technical"
    MACHINE_LEARNING = "machine_learning"
    STATISTICAL = "statistical"
    ENSEMBLE = "ensemble"
    OTHER = "other"
    # the original design's finer technical families
    MOMENTUM = "momentum"
    MEAN_REVERSION = "mean_reversion"
    TREND_FOLLOWING = "trend_following"
    BREAKOUT = "breakout"
    ARBITRAGE = "arbitrage"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class OrderStatus(StrEnum):
    """Order lifecycle. ``UNKNOWN`` means the broker's answer was lost (timeout, dropped
    connection): the order must be looked up by client order id, never resubmitted."""

    NEW = "new"  # created and persisted, not yet sent
    SUBMITTED = "submitted"  # handed to the broker, no acknowledgement yet
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCEL_PENDING = "cancel_pending"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


class RiskState(StrEnum):
    """Trading permission. ACTIVE: everything; REDUCING: only orders that reduce exposure;
    HALTED: only cancels. Leaving REDUCING or HALTED needs an explicit re-arm."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class RiskDecision(StrEnum):
    APPROVE = "approve"
    RESIZE = "resize"
    REJECT = "reject"


class RunMode(StrEnum):
    BACKTEST = "backtest"
    PAPER = "paper"
    LIVE = "live"


class Role(StrEnum):
    DATA_SOURCE = "data_source"
    STRATEGY = "strategy"
    SIZER = "sizer"
    RISK_CHECK = "risk_check"
    BROKER = "broker"
    REPORTER = "reporter"
    STORAGE = "storage"
    CACHE = "cache"
    ALERT_CHANNEL = "alert_channel"
    COMMAND = "command"
