"""One ``typing.Protocol`` per role. The engine calls components through these interfaces
directly, never through ``pm.hook``: per-bar work must not pay a pluggy dispatch.

Array conventions: every per-symbol array is float64 of shape (N,), aligned with
``MarketSlice.symbols``; NaN means "no value" (no bar, no opinion).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from .enums import RiskState, StrategyType, Timeframe
from .market import BarPanel, FloatArray, History, MarketSlice
from .models import Alert, Fill, Instrument, Order, OrderUpdate, RiskVerdict, StrategyPerformance

if TYPE_CHECKING:
    from .batch import BatchEvents, OrderBatch, VerdictBatch
    from .recovery import Checkpoint, RecoveredState
    from .result import RunResult


# --------------------------------------------------------------------------- data sources
@runtime_checkable
class DataSource(Protocol):
    """Historical bars. Validates what it reads: a bad file or payload raises
    :class:`~ai_trading_core.errors.DataError` naming the file or symbol and the row."""

    def load(self, start: datetime | None = None, end: datetime | None = None) -> BarPanel:
        """All subscribed symbols' bars with open time in [start, end] (inclusive)."""
        ...


@runtime_checkable
class LiveDataSource(DataSource, Protocol):
    """A source that can also stream cross-sections as bars complete (paper and live).

    Optional, read by the live loop (see :mod:`ai_trading_core.feeds`): an attribute
    ``history_is_warmup = True`` (``load()`` gave warm-up history, the stream continues
    strictly after it) and a method ``health() -> FeedHealth`` (stale feed, market closed,
    REDUCING while the feed is unreliable)."""

    def stream(self) -> AsyncIterator[MarketSlice]: ...


# --------------------------------------------------------------------------- strategies
@runtime_checkable
class Strategy(Protocol):
    """Turns market data into target signals.

    ``on_slice`` returns, per symbol, a target strength in [-1, 1] (fraction of the
    strategy's allocation; negative is short) or NaN for "no opinion, keep the previous
    target". It may only look at ``market`` and ``history`` (which already contains
    ``market`` as its newest row): that is what keeps it free of look-ahead.
    """

    strategy_id: str
    strategy_type: StrategyType
    warmup: int  # history rows needed before the first meaningful signal

    def prepare(self, symbols: tuple[str, ...], timeframe: Timeframe) -> None:
        """Called once before the first slice with the run's universe."""
        ...

    def on_slice(self, market: MarketSlice, history: History) -> FloatArray: ...


@runtime_checkable
class BlockStrategy(Strategy, Protocol):
    """A causal strategy that can also produce its signals for a whole panel at once:
    row ``t`` of the result must equal what ``on_slice`` returns at ``t``."""

    def signal_block(self, panel: BarPanel) -> FloatArray:
        """Targets of shape (T, N) for the whole panel."""
        ...


# --------------------------------------------------------------------------- sizing
@dataclass(slots=True)
class SizingContext:
    """What a sizer may look at. Prices in currency per unit; ``equity`` and ``cash`` in
    currency; ``positions`` in units (float mirror of the Decimal ledger)."""

    timestamp: int
    symbols: tuple[str, ...]
    prices: FloatArray
    equity: float
    cash: float
    positions: FloatArray
    history: History
    instruments: Sequence[Instrument]
    timeframe: Timeframe
    strategy_targets: Mapping[str, FloatArray] = field(default_factory=dict)
    performance: Mapping[str, StrategyPerformance] = field(default_factory=dict)
    confidence: FloatArray | None = None
    initial_cash: float = 0.0  # currency, at the start of the run
    cash_flows: FloatArray | None = None  # currency per symbol: -(signed fill notionals + commissions)


@runtime_checkable
class PositionSizer(Protocol):
    """Optional attributes the engine reads: ``warmup`` (history rows needed) and
    ``sizes_at_fill`` (True: increases are sent as notional orders, the quantity fixed by
    the broker at the fill price, as "invest this much cash" in other engines)."""

    def target_positions(self, targets: FloatArray, ctx: SizingContext) -> FloatArray:
        """Combined target strengths (N,) → target positions in units (N,). NaN keeps the
        current position. The engine rounds to lot sizes toward zero."""
        ...


# --------------------------------------------------------------------------- risk
@dataclass(slots=True)
class RiskContext:
    """The portfolio as a risk check sees it, before the candidate orders."""

    timestamp: int
    symbols: tuple[str, ...]
    prices: FloatArray  # last known price per symbol, currency
    positions: FloatArray  # units
    equity: float  # currency
    cash: float  # currency
    peak_equity: float  # currency, highest equity of the run so far
    day_start_equity: float  # currency, equity at the start of the current UTC day
    history: History
    state: RiskState
    symbol_index: Mapping[str, int]
    component_seconds: Mapping[str, float] | None = None
    """Per-step observers only: seconds spent in each component during the previous step
    ("broker:<name>", "strategy:<id>", "sizer:<name>", "risk:<name>"), measured when an
    observer sets ``wants_component_timings = True``."""

    def batch_index(self, batch: OrderBatch) -> npt.NDArray[np.int64]:
        """Each row's symbol of ``batch`` as an index into this context's arrays, -1 where
        the context does not know the symbol (a batch over the run's universe, the usual
        case, is answered without a lookup)."""
        if batch.symbols is self.symbols or batch.symbols == self.symbols:
            return batch.index
        lookup = np.array([self.symbol_index.get(s, -1) for s in batch.symbols], dtype=np.int64)
        return lookup[batch.index] if len(batch) else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class RiskStateRequest:
    """A risk check's request to change the risk state, with the numbers behind it."""

    state: RiskState
    reason: str
    measured: float | None = None
    limit: float | None = None


@runtime_checkable
class RiskCheck(Protocol):
    """A pre-trade check. ``check`` returns exactly one verdict per order, in order;
    a RESIZE verdict carries the approved quantity (never larger than requested). Raising
    is a failure of the decision path: the engine rejects the orders and halts.

    Optional: ``check_batch(batch: OrderBatch, ctx: RiskContext) -> VerdictBatch`` (see
    :class:`BatchRiskCheck` and :mod:`ai_trading_core.batch`), the same verdicts for a
    columnar batch of orders without building one ``Order`` and one ``RiskVerdict`` per
    order. The engine calls it when a check has it; a check with only ``check`` keeps
    working: the engine builds the orders and turns the verdicts into columns
    (:func:`~ai_trading_core.batch.verdicts_via_orders`; slower, same answer). A check that
    has both must give the same decisions, approved quantities and reasons from both
    (:class:`~ai_trading_core.testing.contracts.BatchRiskCheckContract` tests this)."""

    name: str

    def check(self, orders: Sequence[Order], ctx: RiskContext) -> Sequence[RiskVerdict]: ...

    def update(self, ctx: RiskContext) -> RiskStateRequest | None:
        """Called once per step after marking to market; may ask for REDUCING or HALTED."""
        ...


@runtime_checkable
class BatchRiskCheck(Protocol):
    """A risk check that answers a columnar batch natively. ``check_batch`` returns one row
    per order of ``batch``, in order: a decision code (APPROVE, RESIZE, REJECT of
    :mod:`ai_trading_core.batch`), for RESIZE the approved quantity in units (never larger
    than requested), and reasons, measured values and limits keyed by row. Every
    first-party check implements it next to ``check`` (:class:`RiskCheck`)."""

    name: str

    def check_batch(self, batch: OrderBatch, ctx: RiskContext) -> VerdictBatch: ...

    def update(self, ctx: RiskContext) -> RiskStateRequest | None: ...


# --------------------------------------------------------------------------- brokers
@dataclass(slots=True)
class BrokerEvents:
    fills: list[Fill] = field(default_factory=list)
    updates: list[OrderUpdate] = field(default_factory=list)
    batch: BatchEvents | None = None
    """A batch broker's columnar fills and ended rows for the orders it took with
    ``submit_batch`` (see :class:`BatchBroker`)."""


@dataclass(frozen=True, slots=True)
class BrokerContext:
    instruments: Mapping[str, Instrument]
    symbols: tuple[str, ...]
    initial_cash: Decimal
    currency: str
    timeframe: Timeframe
    clock: Any  # ai_trading_core.clock.Clock
    positions: Mapping[str, Decimal] = field(default_factory=dict)
    """Positions the engine holds at connect: empty for a new run, the recovered ledger when a
    paper or live run resumes after a restart. A reconciling broker compares the account
    with these."""
    recovered_orders: tuple[Order, ...] = ()
    """Orders this run placed before a restart that may still be live at the broker, with
    ``filled_quantity`` / ``average_fill_price`` as far as fills were recorded. A broker adopts
    them (reports their further fills and updates) instead of treating them as strangers."""
    cash: Decimal | None = None
    """Cash the engine's ledger holds at connect (the recovered ledger's cash when a run
    resumes); None means ``initial_cash``. A broker that reconciles cash compares with it."""
    adopt_account: bool = False
    """A new paper or live run: the engine takes cash and positions from the account
    (:class:`AccountState`), and the broker reconciles against the account as it is now."""


@dataclass(frozen=True, slots=True)
class AccountState:
    """A broker account's cash (currency) and positions (units, with the average entry
    price) in the run's symbols, as an account-backed broker reports it at connect."""

    cash: Decimal
    positions: Mapping[str, tuple[Decimal, Decimal]] = field(default_factory=dict)


@runtime_checkable
class OrderListing(Protocol):
    """Optional broker capability: the orders placed at the broker since a time. The engine
    uses it to decide the fate of an order whose answer was lost: it is declared rejected
    only when lookups within the budget found nothing and this list does not hold it."""

    def orders_since(self, since: datetime) -> Sequence[OrderUpdate]: ...


@runtime_checkable
class AccountBroker(Protocol):
    """Optional broker capability: the account's cash and positions at connect, taken as the
    starting ledger of a new paper or live run (never ``initial_cash`` over the broker)."""

    def account_state(self) -> AccountState | None: ...


@runtime_checkable
class Broker(Protocol):
    """Executes orders. ``submit_order`` must be idempotent by ``client_order_id``: a second
    submission of a known id returns the existing order's state instead of a new order."""

    name: str

    def connect(self, ctx: BrokerContext) -> None: ...

    def submit_order(self, order: Order) -> OrderUpdate:
        """Send an order. Raises :class:`~ai_trading_core.errors.BrokerTimeout` when the
        answer is lost (the order may exist), :class:`~ai_trading_core.errors.BrokerError`
        when refused."""
        ...

    def cancel_order(self, client_order_id: str) -> OrderUpdate: ...

    def lookup_order(self, client_order_id: str) -> OrderUpdate | None:
        """The broker's view of an order, or None when the broker has never seen it."""
        ...

    def on_market(self, market: MarketSlice) -> BrokerEvents:
        """Fills and order updates since the last call. A simulated broker matches its
        resting orders against ``market`` here."""
        ...

    def positions(self) -> Mapping[str, Decimal]: ...

    def close(self) -> None: ...


@runtime_checkable
class BatchBroker(Broker, Protocol):
    """Optional broker capability: market orders as columns. While ``accepts_batches`` is
    true the engine may send a decision's market orders with ``submit_batch(batch, rows)``
    (``rows``: the engine's row per order, echoed back) instead of one ``submit_order`` each,
    and the broker reports their fills as a :class:`~ai_trading_core.batch.FillBatch` (and
    orders that ended without a fill) in ``BrokerEvents.batch``. ``cancel_rows(rows)``
    cancels resting ones and returns the rows it cancelled. Only an in-process broker can
    offer this: nothing crosses a network, so nothing can be lost in flight."""

    @property
    def accepts_batches(self) -> bool: ...

    def submit_batch(self, batch: OrderBatch, rows: Any) -> list[str] | None:
        """Take the batch; returns the broker's order id per row, or None."""
        ...

    def cancel_rows(self, rows: Any) -> list[int]: ...


# --------------------------------------------------------------------------- reporters
@dataclass
class ReportSection:
    """A reporter's contribution to the run document: merged into ``metrics``,
    ``attribution`` and top-level ``extra`` keys."""

    metrics: dict[str, Any] = field(default_factory=dict)
    attribution: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Reporter(Protocol):
    name: str

    def report(self, result: RunResult) -> ReportSection: ...

    def render(self, result: RunResult, section: ReportSection, console: Any) -> None:
        """Print a summary to a ``rich.console.Console``."""
        ...


# --------------------------------------------------------------------------- services
@runtime_checkable
class Storage(Protocol):
    """Durable state. ``record_order`` returns only once the order is durable: the engine
    calls it before the broker and halts trading when it raises."""

    def record_order(self, order: Order) -> None: ...

    def record_order_update(self, order: Order) -> None: ...

    def record_fill(self, fill: Fill) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class RecoverableStorage(Storage, Protocol):
    """Storage that lets a paper or live run resume after a crash (see
    :mod:`ai_trading_core.recovery`). ``save_checkpoint`` is called at session start and after
    every step; ``finish_run`` when the run ends normally."""

    def save_checkpoint(self, checkpoint: Checkpoint) -> None: ...

    def recover(self, config_hash: str) -> RecoveredState | None:
        """The newest unfinished run of this config: its checkpoint, every order and fill it
        recorded and its last audit sequence; None when there is nothing to resume."""
        ...

    def finish_run(self, run_id: str) -> None: ...


@runtime_checkable
class Cache(Protocol):
    """A key-value cache with TTLs and pub/sub. Outages degrade to misses, never block."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None: ...

    def publish(self, channel: str, message: bytes) -> None: ...


@runtime_checkable
class AlertChannel(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...
