"""Pydantic v2 models used at the boundaries: configuration, orders, fills, positions, audit
records and API payloads. None of these is constructed per bar in the hot loop; market data
travels as NumPy arrays (:mod:`ai_trading_core.market`).

Money and quantities are :class:`~decimal.Decimal`; JSON carries them as strings so that no
digit is lost. Every timestamp is timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from .enums import (
    AlertSeverity,
    AssetClass,
    OrderStatus,
    OrderType,
    RiskDecision,
    RiskLevel,
    RiskState,
    Side,
    StrategyType,
    TimeInForce,
)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware timestamp, normalised to UTC. Naive datetimes are rejected."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Instrument(Frozen):
    """A tradable instrument and its increments.

    ``tick_size`` is the price increment (currency), ``lot_size`` the quantity increment
    (units), ``min_quantity`` the smallest order (units).
    """

    symbol: str
    asset_class: AssetClass = AssetClass.EQUITY
    currency: str = "USD"
    exchange: str | None = None
    tick_size: Decimal = Decimal("0.01")
    lot_size: Decimal = Decimal("1")
    min_quantity: Decimal = Decimal("0")
    description: str | None = None

    @model_validator(mode="after")
    def _positive_increments(self) -> Instrument:
        if self.tick_size <= 0 or self.lot_size <= 0:
            raise ValueError(f"{self.symbol}: tick_size and lot_size must be positive")
        return self

    def round_quantity(self, quantity: Decimal) -> Decimal:
        """Round a quantity toward zero to a whole number of lots."""
        lots = (quantity / self.lot_size).to_integral_value(rounding=ROUND_DOWN)
        return lots * self.lot_size

    def round_price(self, price: Decimal, side: Side | None = None) -> Decimal:
        """Round a price to the tick: against the trader for fills (buys up, sells down),
        to nearest when no side is given."""
        ticks = price / self.tick_size
        if side is Side.BUY:
            ticks = ticks.to_integral_value(rounding=ROUND_CEILING)
        elif side is Side.SELL:
            ticks = ticks.to_integral_value(rounding=ROUND_FLOOR)
        else:
            ticks = ticks.to_integral_value()
        return (ticks * self.tick_size).normalize() if ticks else Decimal(0)


class Bar(Frozen):
    """One OHLCV bar, labelled by its open time."""

    symbol: str
    timestamp: UtcDatetime
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0


class Signal(Frozen):
    """A strategy's opinion on one symbol: ``strength`` in [-1, 1] (target exposure as a
    fraction of the strategy's allocation), ``confidence`` in [0, 1]."""

    strategy_id: str
    symbol: str
    timestamp: UtcDatetime
    strength: float = Field(ge=-1.0, le=1.0)
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    correlation_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Order(BaseModel):
    """An order intent. ``client_order_id`` is deterministic for the decision that made it,
    so a retry after a lost answer finds the original instead of placing a second order."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal = Field(gt=0)
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    strategy_id: str = ""
    correlation_id: str = ""
    created_at: UtcDatetime
    status: OrderStatus = OrderStatus.NEW
    broker_order_id: str | None = None
    filled_quantity: Decimal = Decimal(0)
    average_fill_price: Decimal | None = None
    reason: str | None = None
    parent_id: str | None = None
    reduce_only: bool = False
    notional: Decimal | None = Field(default=None, gt=0)
    """Market orders only: currency to spend (buy) or raise (sell). The broker fixes the
    quantity at the fill price, rounded down to the lot; ``quantity`` is then the estimate
    made at decision time and is replaced by the filled quantity."""

    @model_validator(mode="after")
    def _prices_for_type(self) -> Order:
        if self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and self.limit_price is None:
            raise ValueError(f"{self.order_type} order needs limit_price")
        if self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and self.stop_price is None:
            raise ValueError(f"{self.order_type} order needs stop_price")
        if self.notional is not None and self.order_type is not OrderType.MARKET:
            raise ValueError("notional orders must be market orders")
        return self

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side is Side.BUY else -self.quantity

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity

    def __setattr__(self, name: str, value: Any) -> None:
        # Assignment is not validated (validate_assignment=False); an order changes state
        # several times in its life, so store a field as pydantic would, without its
        # generic dispatch.
        if name in _ORDER_FIELDS:
            self.__dict__[name] = value
            self.__pydantic_fields_set__.add(name)
        else:
            super().__setattr__(name, value)


_ORDER_FIELDS = frozenset(Order.model_fields)


class OrderUpdate(Frozen):
    """A broker's answer about one order (acknowledgement, rejection, cancel, lookup)."""

    client_order_id: str
    status: OrderStatus
    timestamp: UtcDatetime
    broker_order_id: str | None = None
    filled_quantity: Decimal | None = None
    reason: str | None = None


class Fill(Frozen):
    """An execution. ``execution_id`` is unique per broker: a fill seen twice is applied once."""

    execution_id: str
    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal = Field(gt=0)
    price: Decimal = Field(gt=0)
    commission: Decimal = Decimal(0)
    timestamp: UtcDatetime
    strategy_id: str = ""
    correlation_id: str = ""
    venue: str = "sim"

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side is Side.BUY else -self.quantity

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.price


class Position(Frozen):
    symbol: str
    quantity: Decimal
    average_price: Decimal
    realized_pnl: Decimal = Decimal(0)
    market_price: Decimal | None = None

    @property
    def market_value(self) -> Decimal:
        price = self.market_price if self.market_price is not None else self.average_price
        return self.quantity * price


class PortfolioState(Frozen):
    timestamp: UtcDatetime
    cash: Decimal
    equity: Decimal
    positions: tuple[Position, ...] = ()
    currency: str = "USD"

    @property
    def gross_exposure(self) -> Decimal:
        return sum((abs(p.market_value) for p in self.positions), Decimal(0))

    @property
    def net_exposure(self) -> Decimal:
        return sum((p.market_value for p in self.positions), Decimal(0))


class Trade(Frozen):
    """A round trip on one symbol: from flat to flat (or to a reversal)."""

    symbol: str
    side: Side  # direction of the opening fill
    quantity: Decimal  # largest absolute position held during the trade
    entry_time: UtcDatetime
    entry_price: Decimal  # volume-weighted average entry price
    exit_time: UtcDatetime | None = None
    exit_price: Decimal | None = None  # volume-weighted average exit price
    pnl: Decimal = Decimal(0)  # realised, net of commissions
    commission: Decimal = Decimal(0)
    strategy_id: str = ""
    is_open: bool = False


class RiskVerdict(Frozen):
    """One risk check's decision about one order, with the numbers behind it."""

    check: str
    decision: RiskDecision
    client_order_id: str | None = None
    symbol: str | None = None
    limit: float | None = None
    measured: float | None = None
    requested_quantity: Decimal | None = None
    approved_quantity: Decimal | None = None
    reason: str = ""
    level: RiskLevel = RiskLevel.LOW
    timestamp: UtcDatetime
    correlation_id: str = ""


class RiskEvent(Frozen):
    """A change of the risk state (trip, reduce, halt, re-arm)."""

    timestamp: UtcDatetime
    source: str
    previous_state: RiskState
    state: RiskState
    reason: str
    measured: float | None = None
    limit: float | None = None


class StrategyPerformance(BaseModel):
    """Closed-trade statistics of one strategy, used by sizers such as Kelly."""

    strategy_id: str
    strategy_type: StrategyType = StrategyType.OTHER
    trade_returns: list[float] = Field(default_factory=list)  # per closed trade, fraction
    trade_pnls: list[float] = Field(default_factory=list)  # per closed trade, currency
    total_pnl: float = 0.0

    @property
    def trade_count(self) -> int:
        return len(self.trade_returns)


class AlertContext(Frozen):
    """The run an alert comes from, as the engine saw it when the alert was raised: ``mode``
    is ``backtest``, ``paper`` or ``live``; ``equity`` in the run's currency."""

    run_id: str
    run_name: str = ""
    mode: str
    equity: Decimal | None = None
    risk_state: RiskState | None = None


class Alert(Frozen):
    severity: AlertSeverity
    source: str
    message: str
    timestamp: UtcDatetime
    key: str | None = None  # de-duplication key
    details: dict[str, Any] = Field(default_factory=dict)
    context: AlertContext | None = None  # filled in by the engine's AlertRouter


class AuditEvent(Frozen):
    """One entry of the audit trail. ``kind`` is one of: market, signal, sizing, risk_verdict,
    risk_state, order, order_update, fill, session. Linked by ``correlation_id``."""

    sequence: int
    run_id: str
    kind: str
    correlation_id: str
    timestamp: UtcDatetime
    payload: dict[str, Any]


M = TypeVar("M", bound=BaseModel)
_Plan = tuple[dict[str, Any], frozenset[str], frozenset[str], tuple[tuple[str, Any], ...]]
_PLAN: dict[type[BaseModel], _Plan] = {}


def _plan(cls: type[BaseModel]) -> _Plan:
    plan = _PLAN.get(cls)
    if plan is None:
        defaults: dict[str, Any] = {}
        factories: list[tuple[str, Any]] = []
        required = set()
        for name, info in cls.model_fields.items():
            if info.is_required():
                required.add(name)
            elif info.default_factory is not None:
                factories.append((name, info.default_factory))
            else:
                defaults[name] = info.default
        plan = _PLAN[cls] = (defaults, frozenset(required), frozenset(cls.model_fields), tuple(factories))
    return plan


def trusted(cls: type[M], checked: bool = True, /, **values: Any) -> M:
    """An instance of ``cls`` built without validation, for values the kernel or a plugin has
    just computed and checked itself, on the hot path of a backtest (an order the engine
    sized, a fill the simulated broker priced; see ``benchmarks/bench_models.py``). The caller
    guarantees what validation would check (types, bounds, aware UTC timestamps) and passes
    ``checked=False`` when its own checks failed: then ``cls(**values)`` validates (and
    raises, or normalises) as usual. Anything that crosses a process or network boundary is
    validated. A missing required field is still an error."""
    if not checked:
        return cls(**values)
    defaults, required, fields, factories = _plan(cls)
    if not (required.issubset(values) and fields.issuperset(values)):
        missing, unknown = sorted(required.difference(values)), sorted(set(values).difference(fields))
        raise TypeError(f"{cls.__name__}: missing fields {missing}, unknown fields {unknown}")
    data = dict(defaults)
    for name, factory in factories:
        data[name] = factory()
    data.update(values)
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", data)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def utc(
    year: int, month: int = 1, day: int = 1, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> datetime:
    """Shorthand for a UTC datetime, for configs and tests."""
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)
