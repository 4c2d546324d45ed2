"""The engine: one step per clock tick, the same code in backtest, paper and live.

Per step (a cross-section of every subscribed symbol at one timestamp)::

    broker events (fills, updates) -> history -> mark to market -> risk state updates
    -> strategies -> combination -> sizer -> orders -> risk checks -> persist -> submit

Components are called directly through their protocols; pluggy hooks are used only for
observers (on changes, not per bar), the audit trail and the around-order hook. The
decision path fails closed: an exception in a sizer, a risk check, storage or submission
rejects the orders concerned and halts (or flattens, per ``run.on_error``).
"""

from __future__ import annotations

import hashlib
import math
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal
from typing import Any

import numpy as np
from loguru import logger

from .batch import (
    APPROVE,
    DECISIONS,
    REJECT,
    RESIZE,
    OrderBatch,
    VerdictBatch,
    check_batch,
    decimal_places,
    notional_decimal,
    plain,
)
from .clock import Clock, SimulatedClock
from .enums import AlertSeverity, OrderStatus, OrderType, RiskDecision, RiskLevel, RiskState, RunMode, Side, TimeInForce
from .errors import AiTradingError, BrokerError, BrokerTimeout, InvalidOrderTransition, TradingHalted
from .ledger import Portfolio
from .market import FloatArray, History, MarketSlice, to_datetime
from .models import (
    Alert,
    AlertContext,
    AuditEvent,
    Fill,
    Instrument,
    Order,
    OrderUpdate,
    RiskEvent,
    RiskVerdict,
    Signal,
    trusted,
)
from .order_table import CANCELLED, FILLED, OPEN, REJECTED, LazyRows, OrderTable
from .orders import OrderBook, is_stale, transition
from .plugins import PluginHost
from .protocols import (
    Broker,
    BrokerContext,
    PositionSizer,
    RiskCheck,
    RiskContext,
    RiskStateRequest,
    SizingContext,
    Storage,
    Strategy,
)
from .recovery import Checkpoint, RecoveredState, finite_list, nan_list
from .result import RunResult, Session

_DAY_NS = 86_400 * 1_000_000_000
_LOOKUP_BACKOFF_S = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)  # then every 10 s until the budget is spent


@dataclass(slots=True)
class _Lookup:
    """The search for one order whose fate is unknown: since when (monotonic seconds), the
    broker time it was sent (for listing the broker's orders since then), and the next try."""

    since: float
    sent_at: Any
    attempts: int = 0
    next_at: float = 0.0
_ESCALATION = {RiskState.ACTIVE: 0, RiskState.REDUCING: 1, RiskState.HALTED: 2}
#: decisions in a row in which strategies want a position, none is held, and the sizer sizes
#: every one of them to zero, before the engine warns (once per run) that nothing will trade
SILENT_SIZER_DECISIONS = 20


class _Series:
    """A growable array (amortised O(1) append, no Python objects kept per element)."""

    __slots__ = ("_buf", "n")

    def __init__(self, capacity: int = 1024, dtype: Any = np.float64) -> None:
        self._buf = np.empty(max(capacity, 16), dtype=dtype)
        self.n = 0

    def _grow(self, need: int) -> None:
        size = len(self._buf)
        while size < need:
            size *= 2
        if size != len(self._buf):
            buf = np.empty(size, dtype=self._buf.dtype)
            buf[: self.n] = self._buf[: self.n]
            self._buf = buf

    def append(self, value: float) -> None:
        if self.n == len(self._buf):
            self._grow(self.n + 1)
        self._buf[self.n] = value
        self.n += 1

    def extend(self, values: Any) -> None:
        k = len(values)
        self._grow(self.n + k)
        self._buf[self.n : self.n + k] = values
        self.n += k

    def last(self) -> float:
        return float(self._buf[self.n - 1])

    def array(self) -> Any:
        return self._buf[: self.n].copy()


class _Curve:
    """The per-step record (timestamp, equity, cash, gross and net exposure): one call per
    step appends all five."""

    __slots__ = ("timestamps", "equity", "cash", "gross", "net")

    def __init__(self, capacity: int) -> None:
        self.timestamps = _Series(capacity, np.int64)
        self.equity = _Series(capacity)
        self.cash = _Series(capacity)
        self.gross = _Series(capacity)
        self.net = _Series(capacity)

    def append(self, timestamp: int, equity: float, cash: float, gross: float, net: float) -> None:
        n = self.equity.n
        if n == len(self.equity._buf):
            for series in (self.timestamps, self.equity, self.cash, self.gross, self.net):
                series._grow(n + 1)
        self.timestamps._buf[n] = timestamp
        self.equity._buf[n] = equity
        self.cash._buf[n] = cash
        self.gross._buf[n] = gross
        self.net._buf[n] = net
        self.timestamps.n = self.equity.n = self.cash.n = self.gross.n = self.net.n = n + 1

    def extend(self, timestamps: Any, equity: Any, cash: Any, gross: Any, net: Any) -> None:
        for series, values in zip(
            (self.timestamps, self.equity, self.cash, self.gross, self.net),
            (timestamps, equity, cash, gross, net),
            strict=True,
        ):
            series.extend(values)


def combine_targets(targets: Sequence[FloatArray], weights: FloatArray) -> FloatArray:
    """Weighted sum of the strategies' targets, for one cross-section (N,) or a block (T, N).
    NaN means "no opinion": it adds nothing, and the result is NaN only where no strategy
    has an opinion."""
    if len(targets) == 1:
        single: FloatArray = targets[0] * weights[0]
        return single
    stack = np.stack(targets) * weights.reshape((-1,) + (1,) * targets[0].ndim)
    combined: FloatArray = np.nansum(stack, axis=0)
    combined[~np.isfinite(stack).any(axis=0)] = np.nan
    return combined


class AlertRouter:
    """Sends alerts to the ``ai_trading_alert`` observers and the configured channels.
    Created before the components so that they can be handed its :meth:`emit`."""

    def __init__(self) -> None:
        self.host: PluginHost | None = None
        self.channels: list[Any] = []
        self.sent: list[Alert] = []
        # describes the run at the moment of an alert (set by the Engine); called per alert only
        self.context: Callable[[], AlertContext] | None = None

    def emit(self, alert: Alert) -> None:
        if alert.context is None and self.context is not None:
            try:
                alert = alert.model_copy(update={"context": self.context()})
            except Exception as exc:  # noqa: BLE001 - an alert is never lost for want of context
                logger.opt(exception=exc).error("alert context failed")
        self.sent.append(alert)
        log = logger.warning if alert.severity is not AlertSeverity.INFO else logger.info
        log("alert [{}] {}: {}", alert.severity.value, alert.source, alert.message)
        if self.host is not None:
            self.host.notify("ai_trading_alert", alert=alert)
        for channel in self.channels:
            try:
                channel.send(alert)
            except Exception as exc:  # noqa: BLE001 - a failing channel must not stop the others
                logger.opt(exception=exc).error("alert channel {} failed", getattr(channel, "name", channel))


@dataclass
class EngineComponents:
    strategies: list[tuple[Strategy, float]]
    sizer: PositionSizer
    broker: Broker
    risk_checks: list[RiskCheck] = field(default_factory=list)
    storage: Storage | None = None
    sizer_name: str = "sizer"
    step_observers: list[Any] = field(default_factory=list)
    """Components with ``observe_step(ctx: RiskContext)``, called directly once per step
    (metrics, health, live feeds); a failure is logged and alerted, never stops the run."""


class Engine:
    """Runs the pipeline one cross-section at a time. Build it, call :meth:`start`, then
    :meth:`step` for every slice, then :meth:`finish`."""

    COLUMNAR_MIN_SYMBOLS = 64
    """Runs of fewer symbols keep one object per order even where the columnar path could be
    used: a columnar decision pays a fixed cost of NumPy calls (about 0.1 ms a bar) that only
    pays off when decisions carry many orders (measured: the two break even at 50 to 100
    symbols of one-minute-like random walks; at 500 symbols columns are 3× faster). Both
    paths give identical results (``tests/test_columnar_orders.py``)."""

    def __init__(
        self,
        session: Session,
        components: EngineComponents,
        host: PluginHost,
        instruments: Mapping[str, Instrument],
        clock: Clock,
        *,
        on_error: str = "halt",
        rebalance: str = "on_signal",
        alerts: AlertRouter | None = None,
        history_capacity: int | None = None,
        expected_steps: int = 1024,
    ) -> None:
        self.session = session
        self.c = components
        self.host = host
        self.symbols = session.symbols
        n = len(self.symbols)
        self.instruments = [instruments.get(s) or Instrument(symbol=s) for s in self.symbols]
        self.clock = clock
        self._sim_clock = clock if isinstance(clock, SimulatedClock) else None
        self.on_error = on_error
        self.every_bar = rebalance == "every_bar"
        self.alerts = alerts or AlertRouter()
        self.alerts.host = host
        # Weakly: the router outlives nothing of the engine's, and a strong bound method would
        # put the engine (and a whole run's orders and fills) in a reference cycle.
        context = weakref.WeakMethod(self._alert_context)
        self.alerts.context = lambda: context()()  # type: ignore[misc]
        self.tf_ns = session.timeframe.seconds * 1_000_000_000

        warmups = [getattr(s, "warmup", 0) for s, _ in components.strategies]
        warmups += [getattr(components.sizer, "warmup", 0)] + [getattr(r, "warmup", 0) for r in components.risk_checks]
        self.history = History(history_capacity or max(max(warmups, default=0) + 1, 2), n)

        self.portfolio = Portfolio(
            self.symbols,
            session.initial_cash,
            qty_scale=max((decimal_places(i.lot_size) for i in self.instruments), default=0),
            price_scale=max((decimal_places(i.tick_size) for i in self.instruments), default=2),
        )
        self.book = OrderBook()
        self.state = RiskState.ACTIVE
        self._state_source = ""
        self.risk_events: list[RiskEvent] = []
        self.verdicts: list[RiskVerdict] = []
        self.fills: list[Fill] = []
        self._seen_exec: set[str] = set()
        self._targets = {s.strategy_id: np.full(n, np.nan) for s, _ in components.strategies}
        self._weights = np.array([w for _, w in components.strategies], dtype=float)
        self._combined = np.full(n, np.nan)
        self._pending = np.zeros(n)
        self._curve = _Curve(expected_steps)
        self.peak_equity = float(session.initial_cash)
        self.day_start_equity = float(session.initial_cash)
        self._day = -1
        self._audit_seq = 0
        self.audit_head = ""  # hash of the last audit event, as the sinks computed it
        self._audit_disagreed = False
        self._order_seq = 0
        # Client order ids derive from the run id: a new run of the same config never reuses an
        # id the broker has seen (Alpaca refuses a reused id even after the first order closed);
        # a resumed run keeps its run id and adds its restart count (restore).
        self._id_tag = session.run_id
        self._id_digest = ("", "")  # (tag, its digest): ids are the digest's head and the order's number
        self.last_market: MarketSlice | None = None
        self.halt_reason = ""
        self.failure = ""  # why the run failed closed on an error (empty: it did not)
        self._has = {
            name: host.has_implementations(name)
            for name in ("ai_trading_signal", "ai_trading_order", "ai_trading_fill", "ai_trading_risk_verdict")
        }
        self._sizes_at_fill = bool(getattr(components.sizer, "sizes_at_fill", False))
        # With no wrapper around submission (kill switch, audit) the pluggy call would only
        # reach the kernel's default, which calls the broker: call it directly then.
        from .builtin import defaults

        impls = host.pm.hook.ai_trading_submit_order.get_hookimpls()
        self._direct_submit = len(impls) == 1 and impls[0].function is defaults.ai_trading_submit_order
        # Component timings only when an observer asks for them (a metrics exporter): the
        # per-bar path pays nothing otherwise. perf_counter measures durations, never the time.
        wants = any(getattr(o, "wants_component_timings", False) for o in components.step_observers)
        self._timings: dict[str, float] | None = {} if wants else None
        self._step_timings: dict[str, float] = {}
        self._audit_on = host.has_implementations("ai_trading_audit_event") or hasattr(
            components.storage, "record_audit"
        )
        # Paper and live runs checkpoint after every step when their storage can resume them.
        saver = getattr(components.storage, "save_checkpoint", None)
        self._save_checkpoint = saver if session.mode is not RunMode.BACKTEST and callable(saver) else None
        self._restarts = 0  # > 0: a resumed run (restore)
        self._resume_after: int | None = None
        # Orders whose fate is unknown (a lost answer): looked up with back-off until the broker
        # proves what happened, within a wall-clock budget (seconds) the broker may set.
        # perf-style monotonic seconds measure elapsed time only, never the trading time.
        self._monotonic: Callable[[], float] = time.monotonic
        # wall-clock seconds, only to carry the age of a checkpoint across a restart
        self._wall: Callable[[], float] = time.time
        self._recovered_age_s = 0.0
        budget = getattr(components.broker, "unknown_order_budget_s", None)
        self.unknown_order_budget_s = float(budget) if budget is not None else 60.0
        self._lookups: dict[str, _Lookup] = {}
        # Orders the broker refused: alerted, counted, and the target decided again on the
        # next step, at most this many times in a row per symbol.
        retries = getattr(components.broker, "refused_order_retries", None)
        self.refused_order_retries = int(retries) if retries is not None else 3
        self._refusals = np.zeros(n, dtype=np.int64)
        self._silent_decisions = 0  # see SILENT_SIZER_DECISIONS
        self._refused_at = np.full(n, np.nan)  # the combined target that was refused
        self.refused_orders: list[dict[str, str]] = []
        self.storage_lost = False
        # Columnar orders: a backtest whose broker takes batches and where nothing needs one
        # object per order (storage, the audit trail, order or fill observers, a wrapper
        # around submission) sends each decision's orders as one OrderBatch; see batch.py.
        self._table = OrderTable(n)
        self._columnar = (
            n >= self.COLUMNAR_MIN_SYMBOLS
            and bool(getattr(components.broker, "accepts_batches", False))
            and session.mode is RunMode.BACKTEST
            and components.storage is None
            and not self._audit_on
            and not self._has["ai_trading_order"]
            and not self._has["ai_trading_fill"]
            and self._direct_submit
        )
        self.approved_verdicts = 0  # columnar approvals, counted, not kept as objects
        qs = self.portfolio.qty_scale
        self._qty_scale = qs
        self._lot_units = np.array([int(i.lot_size.scaleb(qs)) for i in self.instruments], dtype=np.int64)
        self._lot_f = np.array([float(i.lot_size) for i in self.instruments])
        self._min_units = np.array(
            [int(i.min_quantity.scaleb(qs).to_integral_value(rounding="ROUND_CEILING")) for i in self.instruments],
            dtype=np.int64,
        )
        self._strategy_ids = tuple(st.strategy_id for st, _ in components.strategies) + ("engine",)

    # ================================================================== lifecycle
    def start(self) -> None:
        self.c.broker.connect(
            BrokerContext(
                instruments={i.symbol: i for i in self.instruments},
                symbols=self.symbols,
                initial_cash=self.session.initial_cash,
                currency=self.session.currency,
                timeframe=self.session.timeframe,
                clock=self.clock,
                positions={s: q for s, q in self.portfolio.positions().items() if q != 0},
                recovered_orders=tuple(self.book.unknown_orders()),
                cash=self.portfolio.cash,
                adopt_account=self._adopts_account(),
            )
        )
        if self._adopts_account():
            self._adopt_account()
        for strategy, _ in self.c.strategies:
            strategy.prepare(self.symbols, self.session.timeframe)
        self._audit(
            "session",
            "session",
            {
                "event": "resume" if self._restarts else "start",
                "restarts": self._restarts,
                "resume_after": None if self._resume_after is None else to_datetime(self._resume_after).isoformat(),
                "mode": self.session.mode.value,
                "config_hash": self.session.config_hash,
                "symbols": list(self.symbols),
                "initial_cash": str(self.session.initial_cash),
                "plugins": [f"{p.name}=={p.version}" for p in self.session.plugins],
            },
        )
        self.host.notify("ai_trading_session_start", session=self.session)
        self._checkpoint(self._resume_after)

    def _adopts_account(self) -> bool:
        return (
            self.session.mode is not RunMode.BACKTEST
            and not self._restarts
            and callable(getattr(self.c.broker, "account_state", None))
        )

    def _adopt_account(self) -> None:
        """A new paper or live run against a broker account starts from the account's cash
        and positions, never from ``initial_cash`` over the broker."""
        account = self.c.broker.account_state()  # type: ignore[attr-defined]
        if account is None:
            return
        if account.cash != self.portfolio.cash or any(q != 0 for q, _ in account.positions.values()):
            held = ", ".join(f"{s} {q}" for s, (q, _) in sorted(account.positions.items()) if q != 0)
            logger.warning(
                "starting from the account: cash {} (configured initial_cash {}){}",
                account.cash,
                self.session.initial_cash,
                f", positions {held}" if held else "",
            )
        self.portfolio.adopt_account(account.cash, account.positions, self.clock.now_ns())
        held_value = sum((q * a for q, a in account.positions.values()), Decimal(0))
        self.peak_equity = self.day_start_equity = float(account.cash + held_value)

    def step(self, m: MarketSlice, targets: list[FloatArray] | None = None, *, push_history: bool = True) -> None:
        """Process one cross-section. ``targets`` (block mode) are the strategies' targets
        for this timestamp, computed beforehand by ``signal_block``."""
        if self._resume_after is not None and m.timestamp <= self._resume_after:
            self._warm(m)
            return
        self._step(m, targets, push_history)
        if self._save_checkpoint is not None:
            self._checkpoint(m.timestamp)

    def _step(self, m: MarketSlice, targets: list[FloatArray] | None, push_history: bool) -> None:
        if self._sim_clock is not None:
            self._sim_clock.set(m.timestamp)
        self.last_market = m
        if self._timings is not None:
            # observers see the previous step's complete timings (this step's strategies,
            # sizer and risk checks run after they are told about the step)
            self._step_timings, self._timings = self._timings, {}
        t0 = self._tick()
        try:
            events = self.c.broker.on_market(m)
            if t0:
                self._took(f"broker:{self.c.broker.name}", t0)
            if events.batch is not None:
                self._apply_batch_events(events.batch)
            if events.updates or events.fills:
                self._apply_broker_events(events)
        except Exception as exc:  # noqa: BLE001 - fail closed: a fill that cannot be booked halts
            self._halt_on_fill_error(exc)
        if self.book._open and self.book.unknown_orders():
            self._resolve_unknown()
        if push_history:
            self.history.push(m)
        if self._sim_clock is not None:
            self._sim_clock.set(m.timestamp + self.tf_ns)  # decisions happen at the bar's close

        equity, gross, net = self.portfolio.mark(m.close)
        day = m.timestamp // _DAY_NS
        if day != self._day:
            self._day = day
            self.day_start_equity = self._curve.equity.last() if self._curve.equity.n else equity
        if equity > self.peak_equity:
            self.peak_equity = equity
        self._curve.append(m.timestamp, equity, self.portfolio.cash_f, gross, net)

        if self.c.risk_checks:
            self._update_risk(m, equity)
        if self.c.step_observers:
            self._observe_step(m, equity)

        combined = self._run_strategies(m) if targets is None else self._use_targets(targets)
        if self.state is RiskState.HALTED:
            return
        changed = np.isfinite(combined)
        if not self.every_bar:
            changed &= combined != self._combined
        if changed.any():
            self._decide(m, combined, changed, equity)

    def has_open_orders(self) -> bool:
        return bool(self.book._open) or self._table.open_count > 0

    def mark_segment(self, timestamps: Any, close_filled: FloatArray) -> None:
        """Block mode: record bars on which nothing happens in one vectorised pass. Positions
        and cash are constant over the segment; ``close_filled`` is forward-filled (k, N)."""
        p = self.portfolio
        values = close_filled * p.qty_f
        values[values != values] = 0.0  # no price yet: nothing held there (NaN * 0 is still NaN)
        net = values.sum(axis=1)
        equity = p.cash_f + net
        self._curve.extend(timestamps, equity, np.full(len(equity), p.cash_f), np.abs(values).sum(axis=1), net)
        last = close_filled[-1]
        finite = np.isfinite(last)
        np.copyto(p.last_price, last, where=finite)
        np.copyto(p._mark_price, last, where=finite)
        self.peak_equity = max(self.peak_equity, float(equity.max()))

    def drain_broker(self) -> None:
        """Take the broker's pending events and poll its open orders once more, so that a fill
        that arrives on the last bar is recorded (paper and live). The broker is shown the last
        timestamp with no prices: a simulated broker matches nothing against it (an order
        decided at the last close has no bar to fill in), a venue reports what happened."""
        if self.session.mode is RunMode.BACKTEST or self.last_market is None:
            return
        last = self.last_market
        nan = np.full(len(self.symbols), np.nan)
        try:
            events = self.c.broker.on_market(MarketSlice(last.timestamp, last.symbols, nan, nan, nan, nan, nan))
            if events.updates or events.fills:
                self._apply_broker_events(events)
            if self.book.unknown_orders():
                self._resolve_unknown(final=True)
        except (BrokerError, TradingHalted) as exc:
            logger.warning("final poll of the broker failed: {}", exc)

    def health(self) -> dict[str, Any]:
        """How the run ended, for the run document and the exit code: a run that halted, did
        not reconcile with its broker or lost its storage did not end well."""
        mismatch = getattr(self.c.broker, "mismatch", None)
        return {
            "risk_state": self.state.value,
            "risk_state_source": self._state_source or None,
            "halt_reason": self.halt_reason or None,
            "reconciled": mismatch is None,
            "reconcile_problem": mismatch,
            "storage_lost": self.storage_lost,
            "refused_orders": len(self.refused_orders),
            "refusals": self.refused_orders,
            "unresolved_orders": [o.client_order_id for o in self.book.unknown_orders()],
            "open_orders": [o.client_order_id for o in self.book.open_orders()],
        }

    def finish(self) -> RunResult:
        self.drain_broker()
        if self.last_market is not None:
            self._audit("session", "session", {"event": "finish", "equity": str(self.portfolio.equity_decimal())})
        result = RunResult(
            session=self.session,
            timestamps=self._curve.timestamps.array(),
            equity=self._curve.equity.array(),
            cash=self._curve.cash.array(),
            gross_exposure=self._curve.gross.array(),
            net_exposure=self._curve.net.array(),
            final_cash=self.portfolio.cash,
            final_equity=self.portfolio.equity_decimal(),
            final_positions=self.portfolio.positions(),
            trades=self._trade_rows(),  # type: ignore[arg-type]
            orders=LazyRows(len(self._table), self._table_order, list(self.book), self._order_columns),  # type: ignore[arg-type]
            fills=LazyRows(self._table.fill_count, self._fill_at(), self.fills, self._fill_columns),  # type: ignore[arg-type]
            risk_events=self.risk_events,
            risk_verdicts=self.verdicts,
            instruments={i.symbol: i for i in self.instruments},
        )
        if self.session.mode is not RunMode.BACKTEST:
            result.extra["health"] = self.health()
        self.host.notify("ai_trading_session_finish", session=self.session, result=result)
        return result

    # ------------------------------------------------------------------ columnar views
    def _trade_rows(self) -> LazyRows[Any]:
        """Closed round trips, then the open ones: built when read."""
        open_trades = self.portfolio.open_trades()
        closed = self.portfolio.closed_trade_count

        def make(k: int) -> Any:
            return self.portfolio.trades[k] if k < closed else open_trades[k - closed]

        return LazyRows(closed + len(open_trades), make, (), self.portfolio.trade_columns)

    def _row_ids(self) -> tuple[list[str], list[str]]:
        """(client order ids, correlation ids) of the columnar order table, computed once."""
        t = self._table
        cached = getattr(self, "_ids_cache", None)
        if cached is not None and len(cached[0]) == len(t):
            return cached
        pairs = [self._ids(seq) for seq in t.seq.view.tolist()]
        clients = [p[0] for p in pairs]
        correlations = [p[1] for p in pairs]
        self._ids_cache = (clients, correlations)
        return clients, correlations

    def _order_columns(self) -> dict[str, Any]:
        """The columnar orders as run-document columns (field → values), no objects: decimals
        as exact integers with their scale (``{"scale": s, "units": [...]}``)."""
        t = self._table
        n = len(t)
        clients, correlations = self._row_ids()
        status = t.status.view
        names = (OrderStatus.ACCEPTED.value, OrderStatus.FILLED.value, OrderStatus.REJECTED.value, OrderStatus.CANCELLED.value)
        units = t.units.view
        filled = status == FILLED
        scales = t.price_scale.view
        price_scale = int(scales[filled].max()) if filled.any() else 0
        # fill prices on one grid (the finest a bar used); unfilled orders have none
        prices = t.price.view * 10 ** (price_scale - scales.astype(np.int64))
        nv = t.notional.view
        has = nv == nv
        from .batch import NOTIONAL_PLACES, notional_units

        notional = np.zeros(n, dtype=np.int64)
        if has.any():
            notional[has] = notional_units(nv[has])
        symbols = self.symbols
        ids = t.strategy_ids
        created = t.created.view + (self.tf_ns if self._sim_clock is not None else 0)
        return {
            "client_order_id": clients,
            "symbol": [symbols[i] for i in t.index.view.tolist()],
            "side": ["buy" if s > 0 else "sell" for s in t.side.view.tolist()],
            "quantity": {"scale": t.qty_scale, "units": units},
            "order_type": [OrderType.MARKET.value] * n,
            "limit_price": [None] * n,
            "stop_price": [None] * n,
            "time_in_force": [TimeInForce.DAY.value] * n,
            "strategy_id": [ids[k] for k in t.strategy.view.tolist()],
            "correlation_id": correlations,
            "created_at": created,
            "status": [names[k] for k in status.tolist()],
            "broker_order_id": [t.broker_ids.get(r) for r in range(n)] if t.broker_ids else [None] * n,
            "filled_quantity": {"scale": t.qty_scale, "units": np.where(filled, units, 0)},
            "average_fill_price": {"scale": price_scale, "units": _with_nulls(prices, filled)},
            "reason": [t.reasons.get(r) for r in range(n)] if t.reasons else [None] * n,
            "parent_id": [None] * n,
            "reduce_only": [False] * n,
            "notional": {"scale": NOTIONAL_PLACES, "units": _with_nulls(notional, has)},
        }

    def _fill_columns(self) -> dict[str, Any]:
        """The columnar fills as run-document columns, no objects (decimals as scaled
        integers)."""
        t = self._table
        clients, correlations = self._row_ids()
        batches = t.fills
        if not batches:
            names = ("execution_id", "client_order_id", "symbol", "side", "quantity", "price", "commission",
                     "timestamp", "strategy_id", "correlation_id", "venue")
            return {k: [] for k in names}
        rows = np.concatenate([f.row for f in batches]).tolist()
        index = np.concatenate([f.index for f in batches]).tolist()
        sides = np.concatenate([f.side for f in batches]).tolist()
        stamps = np.concatenate([np.full(len(f), f.timestamp, dtype=np.int64) for f in batches])

        def on_one_grid(values: list[Any], scales: list[int]) -> dict[str, Any]:
            top = max(scales)
            if top == min(scales):
                return {"scale": top, "units": values}
            out: list[int] = []
            for f, scale in zip(batches, scales, strict=True):
                out.extend(values[len(out) : len(out) + len(f)] if scale == top else
                           [v * 10 ** (top - scale) for v in values[len(out) : len(out) + len(f)]])
            return {"scale": top, "units": out}

        units = np.concatenate([f.units for f in batches]).tolist()
        prices = np.concatenate([f.price for f in batches]).tolist()
        commissions = [c for f in batches for c in f.commission]
        symbols = self.symbols
        names = t.strategy_ids
        strategy = t.strategy.data[np.asarray(rows, dtype=np.int64)].tolist()
        venues = [f.venue for f in batches]
        return {
            "execution_id": [f"sim-{clients[r]}-x{n}" for n, r in enumerate(rows, 1)],
            "client_order_id": [clients[r] for r in rows],
            "symbol": [symbols[i] for i in index],
            "side": ["buy" if s > 0 else "sell" for s in sides],
            "quantity": on_one_grid(units, [f.qty_scale for f in batches]),
            "price": on_one_grid(prices, [f.price_scale for f in batches]),
            "commission": on_one_grid(commissions, [f.money_scale for f in batches]),
            "timestamp": stamps,
            "strategy_id": [names[k] for k in strategy],
            "correlation_id": [correlations[r] for r in rows],
            "venue": venues[0:1] * len(rows) if len(set(venues)) == 1 else [f.venue for f in batches for _ in range(len(f))],
        }

    def _table_order(self, row: int) -> Order:
        """Row ``row`` of the columnar order table as an ``Order`` with its final state."""
        t = self._table
        i = int(t.index.data[row])
        clients, correlations = self._row_ids()
        client, correlation = clients[row], correlations[row]
        status = int(t.status.data[row])
        qty = t.quantity(row)
        price = None
        filled = Decimal(0)
        if status == FILLED:
            price = plain(Decimal(int(t.price.data[row])).scaleb(-int(t.price_scale.data[row])))
            filled = qty
        notional = t.notional.data[row]
        return trusted(
            Order,
            qty > 0,
            client_order_id=client,
            symbol=self.symbols[i],
            side=Side.BUY if t.side.data[row] > 0 else Side.SELL,
            quantity=qty,
            order_type=OrderType.MARKET,
            strategy_id=t.strategy_ids[int(t.strategy.data[row])],
            correlation_id=correlation,
            created_at=to_datetime(int(t.created.data[row]) + (self.tf_ns if self._sim_clock is not None else 0)),
            status=(OrderStatus.ACCEPTED, OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED)[status],
            filled_quantity=filled,
            average_fill_price=price,
            reason=t.reasons.get(row),
            broker_order_id=t.broker_ids.get(row),
            notional=None if notional != notional else notional_decimal(float(notional)),
        )

    def _fill_at(self) -> Callable[[int], Fill]:
        """A factory of the columnar fills as ``Fill`` objects, in booking order."""
        t = self._table
        where: list[tuple[int, int]] = []
        for b, fills in enumerate(t.fills):
            where.extend((b, k) for k in range(len(fills)))

        def make(n: int) -> Fill:
            b, k = where[n]
            fills = t.fills[b]
            row = int(fills.row[k])
            i = int(fills.index[k])
            clients, correlations = self._row_ids()
            client, correlation = clients[row], correlations[row]
            return trusted(
                Fill,
                execution_id=f"sim-{client}-x{n + 1}",
                client_order_id=client,
                symbol=self.symbols[i],
                side=Side.BUY if fills.side[k] > 0 else Side.SELL,
                quantity=Decimal(int(fills.units[k])).scaleb(-fills.qty_scale),
                price=plain(Decimal(int(fills.price[k])).scaleb(-fills.price_scale)),
                commission=plain(Decimal(fills.commission[k]).scaleb(-fills.money_scale)),
                timestamp=to_datetime(fills.timestamp),
                strategy_id=t.strategy_ids[int(t.strategy.data[row])],
                correlation_id=correlation,
                venue=fills.venue,
            )

        return make

    # ================================================================== recovery
    def restore(self, state: RecoveredState) -> None:
        """Resume an unfinished paper or live run (see :mod:`ai_trading_core.recovery`). Call
        before :meth:`start`."""
        cp = state.checkpoint
        if list(cp.symbols) and tuple(cp.symbols) != self.symbols:
            raise AiTradingError(
                f"cannot resume run {cp.run_id}: it traded {', '.join(cp.symbols)}, the data now has "
                f"{', '.join(self.symbols)}"
            )
        recorded: dict[str, list[Fill]] = {}
        for fill in sorted(state.fills, key=lambda f: f.timestamp):
            if fill.execution_id in self._seen_exec:
                continue
            self._seen_exec.add(fill.execution_id)
            self.portfolio.apply_fill(fill)
            self.fills.append(fill)
            recorded.setdefault(fill.client_order_id, []).append(fill)
        for order in state.orders:
            fills = recorded.get(order.client_order_id, [])
            filled = sum((f.quantity for f in fills), Decimal(0))
            order.filled_quantity = filled
            order.average_fill_price = sum((f.notional for f in fills), Decimal(0)) / filled if filled else None
            if filled >= order.quantity and order.status not in (OrderStatus.FILLED, OrderStatus.REJECTED):
                # every unit's fill is recorded: the order is done, whatever state the crash
                # left on its row (the fill is written before the order's new state)
                order.status = OrderStatus.FILLED
                self._record("record_order_update", order)
            settled = order.status is OrderStatus.REJECTED or (
                order.status is OrderStatus.FILLED and filled >= order.quantity
            )
            if not settled:
                # may be live, or may have filled while nobody listened: look it up before trading
                order.status = OrderStatus.UNKNOWN
            self.book.add(order)
            self.book.settle(order)
            if not order.status.is_terminal and order.symbol in self.portfolio.index:
                self._pending[self.portfolio.index[order.symbol]] += float(order.remaining_quantity * order.side.sign)
        self._restarts = cp.restarts + 1
        if cp.saved_at is not None:
            self._recovered_age_s = max(0.0, self._wall() - cp.saved_at)
        self._order_seq = cp.order_seq
        self._id_tag = f"{self._id_tag}|r{self._restarts}"
        self._audit_seq = state.audit_sequence
        self._resume_after = cp.timestamp
        if len(cp.combined) == len(self.symbols):
            self._combined = np.array(nan_list(cp.combined))
        for sid, values in cp.targets.items():
            if sid in self._targets and len(values) == len(self.symbols):
                self._targets[sid] = np.array(nan_list(values))
        self.peak_equity = max(cp.peak_equity, float(self.session.initial_cash))
        self.day_start_equity = cp.day_start_equity or float(self.session.initial_cash)
        self._day = cp.day
        self.state = RiskState(cp.risk_state)
        self._state_source = cp.risk_state_source
        self.halt_reason = cp.halt_reason
        logger.warning(
            "resuming run {} after restart {}: {} orders ({} to look up), {} fills, last step {}",
            cp.run_id,
            self._restarts,
            len(state.orders),
            len(self.book.unknown_orders()),
            len(self.fills),
            "none" if cp.timestamp is None else to_datetime(cp.timestamp).isoformat(),
        )

    def warm(self, m: MarketSlice) -> None:
        """A warm-up bar of a live run (history loaded before the stream starts): history and
        strategies only, nothing is decided or recorded on it. Call after :meth:`start`."""
        self._warm(m)

    def _warm(self, m: MarketSlice) -> None:
        """A bar the resumed run had already stepped through: history and strategies only."""
        self.last_market = m
        self.history.push(m)
        self.portfolio.mark(m.close)
        for strategy, _ in self.c.strategies:
            strategy.on_slice(m, self.history)

    def _checkpoint(self, timestamp: int | None) -> None:
        if self._save_checkpoint is None or self.storage_lost:
            return
        try:
            self._save_checkpoint(self._make_checkpoint(timestamp))
        except Exception as exc:  # noqa: BLE001 - storage lost: halt, exit non-zero at the end
            self._storage_failed(f"checkpoint could not be saved: {type(exc).__name__}: {exc}")

    def _make_checkpoint(self, timestamp: int | None) -> Checkpoint:
        return Checkpoint(
            run_id=self.session.run_id,
            config_hash=self.session.config_hash,
            timestamp=timestamp,
            order_seq=self._order_seq,
            restarts=self._restarts,
            combined=finite_list(self._combined),
            targets={k: finite_list(v) for k, v in self._targets.items()},
            peak_equity=self.peak_equity,
            day_start_equity=float(self.day_start_equity),
            day=int(self._day),
            risk_state=self.state.value,
            risk_state_source=self._state_source,
            halt_reason=self.halt_reason,
            symbols=list(self.symbols),
            saved_at=self._wall(),
        )

    def rearm(self, reason: str) -> None:
        """Return to ACTIVE. Only ever explicit (API or CLI), never automatic."""
        self._change_state(RiskState.ACTIVE, "operator", f"re-armed: {reason}", force=True)

    # ================================================================== broker events
    def _apply_broker_events(self, events: Any) -> None:
        # fills first: an order's final state (filled, cancelled with a partial fill) then
        # finds every execution it reports already booked
        for fill in events.fills:
            self._apply_fill(fill)
        for upd in events.updates:
            self._apply_update(upd)

    def _apply_fill(self, fill: Fill) -> None:
        if fill.execution_id in self._seen_exec:
            # the stream and REST both reported it, or a redelivery: an expected race
            logger.debug("fill {} already applied", fill.execution_id)
            return
        self._seen_exec.add(fill.execution_id)
        order = self.book.get(fill.client_order_id)
        i = self.portfolio.index[fill.symbol]
        # A late fill on a cancelled or expired order (it filled as the cancel went out): the
        # money moved, so the fill counts, but the order's remainder already left the pending
        # quantity when it closed, and it stays closed as the broker said.
        late = order is not None and order.status.is_terminal and order.status is not OrderStatus.FILLED
        if order is not None and order.notional is not None and order.filled_quantity == 0 and not late:
            # the broker fixed the quantity at the fill price: replace the decision-time estimate
            self._pending[i] -= float(order.signed_quantity - fill.signed_quantity)
            order.quantity = fill.quantity
        if order is not None and (not fill.strategy_id or not fill.correlation_id):
            fill = fill.model_copy(update={"strategy_id": order.strategy_id, "correlation_id": order.correlation_id})
        # The fill is recorded before the order's new state: after a crash between the two,
        # recovery recomputes the order from its recorded fills and looks up the rest.
        self._record("record_fill", fill)
        contradiction = ""
        if order is not None:
            prev_value = (order.average_fill_price or Decimal(0)) * order.filled_quantity
            order.filled_quantity += fill.quantity
            order.average_fill_price = (prev_value + fill.notional) / order.filled_quantity
            if late:
                logger.info("fill {} on {} order {}", fill.execution_id, order.status.value, order.client_order_id)
                self._record("record_order_update", order)
                if order.status is OrderStatus.REJECTED:
                    contradiction = f"fill {fill.execution_id} on order {order.client_order_id}, which was rejected"
            elif order.status is not OrderStatus.FILLED:  # (a FILLED update may come before its fills)
                full = order.filled_quantity >= order.quantity
                self._lookups.pop(order.client_order_id, None)
                self._set_status(order, OrderStatus.FILLED if full else OrderStatus.PARTIALLY_FILLED)
        if not late:
            self._pending[i] -= float(fill.signed_quantity)
        self.portfolio.apply_fill(fill)
        self.fills.append(fill)
        if self._audit_on:
            self._audit("fill", fill.correlation_id, fill.model_dump(mode="json"))
        if self._has["ai_trading_fill"]:
            self.host.notify("ai_trading_fill", fill=fill)
        if contradiction:
            self._order_state_broken(contradiction)

    def _apply_update(self, upd: OrderUpdate) -> None:
        order = self.book.get(upd.client_order_id)
        if order is None:
            logger.warning("update for unknown order {} ignored", upd.client_order_id)
            return
        if upd.broker_order_id:
            order.broker_order_id = upd.broker_order_id
        if is_stale(order.status, upd.status):
            logger.debug(
                "stale update {} for {} order {} ignored", upd.status.value, order.status.value, order.client_order_id
            )
            return
        was_open = not order.status.is_terminal
        try:
            self._set_status(order, upd.status, upd.reason)
        except InvalidOrderTransition as exc:
            # The broker contradicts what the engine recorded (a rejected order accepted, a
            # filled one cancelled): the books can no longer be trusted. Halt, never carry on.
            self._order_state_broken(str(exc))
            return
        if order.status is not OrderStatus.UNKNOWN:
            self._lookups.pop(order.client_order_id, None)
        if was_open and order.status.is_terminal and order.status is not OrderStatus.FILLED:
            i = self.portfolio.index[order.symbol]
            self._pending[i] -= float(order.remaining_quantity * order.side.sign)

    def _order_state_broken(self, reason: str) -> None:
        logger.error("order state contradiction: {}", reason)
        self._change_state(RiskState.HALTED, "orders", f"order state contradiction: {reason}")

    def _resolve_unknown(self, *, final: bool = False) -> None:
        """Look up every order whose fate is unknown, with back-off. "Not found" is not
        "rejected": brokers accept late. An order is declared rejected only when the lookups
        of ``unknown_order_budget_s`` (wall clock) found nothing and the broker's list of
        orders since it was sent does not hold it either. ``final``: one more look, now."""
        now = self._monotonic()
        for order in self.book.unknown_orders():
            look = self._lookups.get(order.client_order_id)
            if look is None:  # recovered after a restart: its budget started by the last checkpoint
                since = now - self._recovered_age_s
                look = self._lookups[order.client_order_id] = _Lookup(since, order.created_at, next_at=now)
            if now < look.next_at and not final:
                continue
            look.attempts += 1
            backoff = _LOOKUP_BACKOFF_S[look.attempts] if look.attempts < len(_LOOKUP_BACKOFF_S) else 10.0
            look.next_at = now + backoff
            try:
                upd = self.c.broker.lookup_order(order.client_order_id)
            except BrokerError as exc:  # a hung or failed lookup proves nothing
                logger.warning("lookup of {} failed: {}", order.client_order_id, exc)
                continue
            if upd is None:
                upd = self._find_in_order_list(order, look)
            if upd is None:
                spent = self._monotonic() - look.since
                if spent < self.unknown_order_budget_s:
                    logger.info(
                        "order {} not found yet ({:.1f} s of {:.0f} s): still unknown",
                        order.client_order_id,
                        spent,
                        self.unknown_order_budget_s,
                    )
                    continue
                upd = OrderUpdate(
                    client_order_id=order.client_order_id,
                    status=OrderStatus.REJECTED,
                    timestamp=self.clock.now(),
                    reason=f"unknown to the broker {spent:.0f} s after the lost answer, and not in its order list",
                )
                self.alerts.emit(
                    Alert(
                        severity=AlertSeverity.WARNING,
                        source="broker",
                        timestamp=self.clock.now(),
                        message=f"order {order.client_order_id} never reached the broker: rejected after "
                        f"{spent:.0f} s of lookups",
                        key=f"unknown:{order.client_order_id}",
                    )
                )
                if order.symbol in self.portfolio.index:  # the intent was never placed: decide it again
                    self._combined[self.portfolio.index[order.symbol]] = np.nan
            self._apply_update(upd)

    def _find_in_order_list(self, order: Order, look: _Lookup) -> OrderUpdate | None:
        listing = getattr(self.c.broker, "orders_since", None)
        if listing is None:
            return None
        try:
            for upd in listing(look.sent_at):
                if upd.client_order_id == order.client_order_id:
                    return upd  # type: ignore[no-any-return]
        except BrokerError as exc:
            logger.warning("order list since {} failed: {}", look.sent_at, exc)
        return None

    def _set_status(self, order: Order, status: OrderStatus, reason: str | None = None) -> None:
        transition(order, status, reason=reason)
        self.book.settle(order)
        self._record("record_order_update", order)
        if self._has["ai_trading_order"]:
            self.host.notify("ai_trading_order", order=order.model_copy())

    def _record(self, method: str, obj: Any) -> Any:
        """Write to storage (returning what the storage returns); a failure halts the run
        (storage lost), once."""
        if self.c.storage is None:
            return None
        try:
            return getattr(self.c.storage, method)(obj)
        except Exception as exc:  # noqa: BLE001 - storage lost: halt, keep the books in memory
            if self.storage_lost:
                logger.error("storage still unreachable ({}): {}", method, exc)
                return None
            self._storage_failed(f"{method} failed: {type(exc).__name__}: {exc}")
            return None

    # ================================================================== risk state
    def _risk_context(self, m: MarketSlice, equity: float) -> RiskContext:
        return RiskContext(
            timestamp=m.timestamp,
            symbols=self.symbols,
            prices=self.portfolio.last_price,
            positions=self.portfolio.qty_f + self._pending,
            equity=equity,
            cash=self.portfolio.cash_f,
            peak_equity=self.peak_equity,
            day_start_equity=float(self.day_start_equity),
            history=self.history,
            state=self.state,
            symbol_index=self.portfolio.index,
        )

    def _update_risk(self, m: MarketSlice, equity: float) -> None:
        ctx = self._risk_context(m, equity)
        for check in self.c.risk_checks:
            try:
                t0 = self._tick()
                request: RiskStateRequest | None = check.update(ctx)
                if t0:
                    self._took(f"risk:{check.name}", t0)
            except Exception as exc:  # noqa: BLE001 - fail closed
                self._fail_closed(f"risk check {check.name} failed in update: {type(exc).__name__}: {exc}", exc)
                return
            if request is None:
                continue
            if _ESCALATION[request.state] > _ESCALATION[self.state]:
                self._change_state(request.state, check.name, request.reason, request.measured, request.limit)
            elif (
                request.state is RiskState.ACTIVE
                and self.state is not RiskState.ACTIVE
                and self._state_source == check.name
            ):
                # Only the check that tripped the state may lift it, and only on an explicit
                # operator re-arm it reports (e.g. `ai-trading resume` for the kill switch).
                self._change_state(RiskState.ACTIVE, check.name, request.reason, force=True)

    def _tick(self) -> int:
        return time.perf_counter_ns() if self._timings is not None else 0

    def _took(self, key: str, t0: int) -> None:
        if self._timings is not None:
            self._timings[key] = self._timings.get(key, 0.0) + (time.perf_counter_ns() - t0) / 1e9

    def _observe_step(self, m: MarketSlice, equity: float) -> None:
        ctx = self._risk_context(m, equity)
        ctx.component_seconds = self._step_timings if self._timings is not None else None
        for observer in self.c.step_observers:
            try:
                observer.observe_step(ctx)
            except Exception as exc:  # noqa: BLE001 - observers are isolated
                logger.opt(exception=exc).error("observe_step of {} failed", type(observer).__name__)
                self.alerts.emit(
                    Alert(
                        severity=AlertSeverity.WARNING,
                        source=type(observer).__name__,
                        message=f"observe_step failed: {type(exc).__name__}: {exc}",
                        timestamp=self.clock.now(),
                        key=f"observe-step:{type(observer).__name__}",
                    )
                )

    def _alert_context(self) -> AlertContext:
        """Run id, name, mode, equity and risk state, carried by every alert of the run."""
        return AlertContext(
            run_id=self.session.run_id,
            run_name=self.session.name,
            mode=self.session.mode.value,
            equity=self.portfolio.equity_decimal(),
            risk_state=self.state,
        )

    def _change_state(
        self,
        state: RiskState,
        source: str,
        reason: str,
        measured: float | None = None,
        limit: float | None = None,
        *,
        force: bool = False,
    ) -> None:
        if state is self.state or (not force and _ESCALATION[state] < _ESCALATION[self.state]):
            return
        event = RiskEvent(
            timestamp=self.clock.now(),
            source=source,
            previous_state=self.state,
            state=state,
            reason=reason,
            measured=measured,
            limit=limit,
        )
        self.state = state
        self._state_source = source
        self.risk_events.append(event)
        self._audit("risk_state", f"risk:{len(self.risk_events)}", event.model_dump(mode="json"))
        self.host.notify("ai_trading_risk_state", event=event)
        severity = (
            AlertSeverity.INFO
            if state is RiskState.ACTIVE
            else (AlertSeverity.CRITICAL if state is RiskState.HALTED else AlertSeverity.WARNING)
        )
        self.alerts.emit(
            Alert(
                severity=severity,
                source=source,
                message=f"risk state {state.value}: {reason}",
                timestamp=event.timestamp,
                key=f"risk-state:{state.value}",
            )
        )
        if state is RiskState.HALTED:
            self.halt_reason = reason
            self._cancel_open_orders(reason)

    def _cancel_open_orders(self, reason: str) -> None:
        t = self._table
        if t.open_count:
            rows = self.c.broker.cancel_rows(t.open_rows())  # type: ignore[attr-defined]
            if rows:
                rows_a = np.array(rows, dtype=np.int64)
                np.subtract.at(self._pending, t.index.data[rows_a], t.close(rows_a, CANCELLED))
                for r in rows:
                    t.reasons[r] = reason
        for order in self.book.open_orders():
            try:
                upd = self.c.broker.cancel_order(order.client_order_id)
            except Exception as exc:  # noqa: BLE001 - keep cancelling the rest
                logger.error("cancel of {} failed: {}", order.client_order_id, exc)
                continue
            self._apply_update(upd.model_copy(update={"reason": upd.reason or reason}))

    def _halt_on_fill_error(self, exc: Exception) -> None:
        """A price or fill the broker or the ledger cannot book (a fill price rounded to zero,
        a fill that fails validation): HALTED whatever ``on_error`` says, since flattening
        would need fills on the same data. Open orders are cancelled; the run goes on to its
        end without trading and its document is written (see docs/research-guards.md)."""
        deliberate = isinstance(exc, AiTradingError)
        reason = f"fill could not be booked: {exc if deliberate else f'{type(exc).__name__}: {exc}'}"
        reason = " ".join(reason.split())  # one line
        logger.opt(exception=None if deliberate else exc).error("failed closed: {}", reason)
        self.failure = self.failure or reason
        self._change_state(RiskState.HALTED, "engine", reason)

    def _fail_closed(self, reason: str, exc: BaseException | None = None) -> None:
        logger.opt(exception=exc).error("decision path failed closed: {}", reason)
        self.failure = self.failure or reason
        if self.on_error == "flatten" and self.state is not RiskState.HALTED:
            self._change_state(RiskState.REDUCING, "engine", reason)
            self._flatten(reason)
        else:
            self._change_state(RiskState.HALTED, "engine", reason)

    def _flatten(self, reason: str) -> None:
        orders = []
        for i, qty in enumerate(self.portfolio.quantities):
            if qty != 0:
                side = Side.SELL if qty > 0 else Side.BUY
                orders.append(
                    self._new_order(i, side, abs(qty), "engine", reduce_only=True, reason=f"flatten: {reason}")
                )
        for order in orders:
            self._submit(order)

    # ================================================================== decisions
    def _use_targets(self, rows: list[FloatArray]) -> FloatArray:
        for (strategy, _), row in zip(self.c.strategies, rows, strict=True):
            target = self._targets[strategy.strategy_id]
            np.copyto(target, row, where=np.isfinite(row))
        return self._combine()

    def _run_strategies(self, m: MarketSlice) -> FloatArray:
        for strategy, _ in self.c.strategies:
            t0 = self._tick()
            out = strategy.on_slice(m, self.history)
            if t0:
                self._took(f"strategy:{strategy.strategy_id}", t0)
            target = self._targets[strategy.strategy_id]
            np.copyto(target, out, where=np.isfinite(out))
        return self._combine()

    def _combine(self) -> FloatArray:
        return combine_targets(list(self._targets.values()), self._weights)

    def _decide(self, m: MarketSlice, combined: FloatArray, changed: Any, equity: float) -> None:
        ctx = SizingContext(
            timestamp=m.timestamp,
            symbols=self.symbols,
            prices=self.portfolio.last_price,
            equity=equity,
            cash=self.portfolio.cash_f,
            # in-flight exposure counts: an open or unknown order may still execute
            positions=self.portfolio.qty_f + self._pending if self.book._open else self.portfolio.qty_f,
            history=self.history,
            instruments=self.instruments,
            timeframe=self.session.timeframe,
            strategy_targets=self._targets,
            performance=self.portfolio.performance,
            initial_cash=float(self.session.initial_cash),
            cash_flows=self.portfolio.cash_flows,
        )
        try:
            t0 = self._tick()
            target_units = self.c.sizer.target_positions(combined, ctx)
            if t0:
                self._took(f"sizer:{self.c.sizer_name}", t0)
        except Exception as exc:  # noqa: BLE001 - fail closed
            self._fail_closed(f"sizer {self.c.sizer_name} failed: {type(exc).__name__}: {exc}", exc)
            return
        if self._silent_decisions >= 0:
            self._watch_silent_sizer(m, combined, target_units)
        acted = changed & np.isfinite(target_units)
        idx = np.flatnonzero(acted)
        self._combined[idx] = combined[idx]
        if not len(idx):
            return
        if not self._columnar:
            # one object per order: built directly (a batch's NumPy calls cost more than a
            # few orders do), by the same rule as _order_batch
            orders = self._order_objects(m, idx.tolist(), combined, target_units, ctx.prices)
            if orders:
                if self._audit_on or self._has["ai_trading_signal"]:
                    self._announce_orders(m, orders, combined, target_units, equity)
                self._process_orders(orders, m, equity)
            return
        batch = self._order_batch(m, idx, combined, target_units, ctx.prices)
        if batch is None:
            return
        if self._audit_on or self._has["ai_trading_signal"]:
            self._announce_decisions(m, batch, combined, target_units, equity)
        self._process_batch(batch, m, equity)

    def _order_objects(
        self, m: MarketSlice, rows: list[int], combined: FloatArray, target_units: FloatArray, prices: FloatArray
    ) -> list[Order]:
        """:meth:`_order_batch`'s rule, order by order in Python floats (the same IEEE
        operations: ``round`` and ``np.rint`` both round half to even), as ``Order`` objects."""
        held_all = self.portfolio.qty_f + self._pending
        lot_f, lot_units, min_units = self._lot_f, self._lot_units, self._min_units
        scale = self._qty_scale
        retries = self.refused_order_retries
        orders: list[Order] = []
        for i in rows:
            held = float(held_all[i])
            delta = float(target_units[i]) - held
            lots_f = abs(delta) / float(lot_f[i])
            near = round(lots_f)
            lots = near if abs(lots_f - near) <= 1e-9 * max(lots_f, 1.0) else math.floor(lots_f)
            units = lots * int(lot_units[i])
            if units <= 0 or units < min_units[i]:
                continue
            if self._refusals[i] > retries and self._refused_at[i] == combined[i]:
                continue  # refused too often for this target: wait for a new one
            side = Side.BUY if delta > 0 else Side.SELL
            if self.book._open and self._in_flight_blocks(i, side):
                # decided again on the next step, once the broker has settled what is in flight
                self._combined[i] = np.nan
                continue
            notional = None
            if self._sizes_at_fill and (held == 0 or (held > 0) == (delta > 0)):
                # increasing exposure: let the broker fix the quantity at the fill price
                notional = notional_decimal(abs(delta * float(prices[i])))
            self._order_seq += 1
            client, correlation = self._ids(self._order_seq)
            qty = Decimal(units).scaleb(-scale)
            now = self.clock.now()
            orders.append(
                trusted(
                    Order,
                    now.tzinfo is UTC and (notional is None or notional > 0),
                    client_order_id=client,
                    symbol=self.symbols[i],
                    side=side,
                    quantity=qty,
                    order_type=OrderType.MARKET,
                    strategy_id=self._responsible_strategy(i),
                    correlation_id=correlation,
                    created_at=now,
                    reduce_only=False,
                    reason=None,
                    notional=notional,
                )
            )
        return orders

    def _announce_orders(
        self, m: MarketSlice, orders: list[Order], combined: FloatArray, target_units: FloatArray, equity: float
    ) -> None:
        """The audit trail's decision records and the signal observers, per order."""
        held = self.portfolio.qty_f + self._pending
        delta = target_units - held
        for order in orders:
            i = self.portfolio.index[order.symbol]
            if self._audit_on:
                self._audit("decision", order.correlation_id, self._decision_payload(m, i, combined, target_units, delta, equity))
            if self._has["ai_trading_signal"]:
                self.host.notify(
                    "ai_trading_signal",
                    signal=Signal(
                        strategy_id=order.strategy_id,
                        symbol=order.symbol,
                        timestamp=self.clock.now(),
                        strength=float(np.clip(combined[i], -1, 1)),
                        correlation_id=order.correlation_id,
                    ),
                )

    def _order_batch(
        self, m: MarketSlice, idx: Any, combined: FloatArray, target_units: FloatArray, prices: FloatArray
    ) -> OrderBatch | None:
        """The decision's orders as columns: the change from held (with what is in flight) to
        the target, rounded toward zero to whole lots (float noise within 1e-9 of a lot
        snaps to it), sides, notionals for increases sized at the fill; rows that round to
        nothing, were refused too often for this target, or meet an order in flight the same
        way are left out."""
        held = self.portfolio.qty_f + self._pending
        delta = target_units[idx] - held[idx]
        lots_f = np.abs(delta) / self._lot_f[idx]
        near = np.rint(lots_f)
        snapped = np.abs(lots_f - near) <= 1e-9 * np.maximum(lots_f, 1.0)
        lots = np.where(snapped, near, np.floor(lots_f)).astype(np.int64)
        units = lots * self._lot_units[idx]
        keep = (units > 0) & (units >= self._min_units[idx])
        refused = (self._refusals[idx] > self.refused_order_retries) & (self._refused_at[idx] == combined[idx])
        keep &= ~refused  # refused too often for this target: wait for a new one
        side = np.where(delta > 0, 1, -1).astype(np.int8)
        if self.book._open or self._table.open_count:
            blocked = keep & self._in_flight_mask(idx, side)
            if blocked.any():
                # decided again on the next step, once the broker has settled what is in flight
                self._combined[idx[blocked]] = np.nan
                keep &= ~blocked
        if not keep.any():
            return None
        idx, side, units, delta = idx[keep], side[keep], units[keep], delta[keep]
        k = len(idx)
        notional = np.full(k, np.nan)
        if self._sizes_at_fill:
            h = held[idx]
            increasing = (h == 0) | ((h > 0) == (delta > 0))
            # increasing exposure: let the broker fix the quantity at the fill price
            notional[increasing] = np.abs(delta[increasing] * prices[idx[increasing]])
        if len(self.c.strategies) == 1:
            strategy = np.zeros(k, dtype=np.int16)
        else:
            names = self._strategy_ids
            strategy = np.array([names.index(self._responsible_strategy(i)) for i in idx.tolist()], dtype=np.int16)
        seq = self._order_seq + np.arange(1, k + 1, dtype=np.int64)
        self._order_seq += k
        return OrderBatch(
            symbols=self.symbols,
            index=idx.astype(np.int64),
            side=side,
            quantity=(units / 10**self._qty_scale) if self._qty_scale else units.astype(np.float64),
            units=units,
            qty_scale=self._qty_scale,
            notional=notional,
            reduce_only=np.zeros(k, dtype=bool),
            seq=seq,
            strategy=strategy,
            strategy_ids=self._strategy_ids,
            timestamp=m.timestamp,
        )

    def _in_flight_mask(self, idx: Any, side: Any) -> Any:
        """Per row, whether an order in flight blocks it (see :meth:`_in_flight_blocks`)."""
        t = self._table
        blocked = np.where(side > 0, t.open_buys[idx] > 0, t.open_sells[idx] > 0)
        if self.book._open:
            for r, i in enumerate(idx.tolist()):
                if not blocked[r] and self._in_flight_blocks(i, Side.BUY if side[r] > 0 else Side.SELL):
                    blocked[r] = True
        return blocked

    def _ids(self, seq: int) -> tuple[str, str]:
        """(client order id, correlation id) of the run's order number ``seq``: the head of a
        digest of the run's id (and a resumed run's restart count), which no other run shares,
        then the order's number, which no other order of the run has. 28 characters: within
        every venue's limit on client order ids."""
        tag = self._id_digest
        if tag[0] != self._id_tag:
            tag = self._id_digest = (self._id_tag, hashlib.sha256(self._id_tag.encode()).hexdigest())
        return f"ait-{tag[1][:16]}{seq:08x}", f"dec-{tag[1][16:24]}{seq:08x}"

    def _batch_order(self, batch: OrderBatch, row: int) -> Order:
        """Row ``row`` of ``batch`` as a new ``Order`` (the object boundary)."""
        i = int(batch.index[row])
        client, correlation = self._ids(int(batch.seq[row]))
        notional = batch.notional[row]
        qty = batch.quantity_decimal(row)
        fields: dict[str, Any] = {
            "client_order_id": client,
            "symbol": self.symbols[i],
            "side": Side.BUY if batch.side[row] > 0 else Side.SELL,
            "quantity": qty,
            "order_type": OrderType.MARKET,
            "strategy_id": batch.strategy_ids[int(batch.strategy[row])],
            "correlation_id": correlation,
            "created_at": to_datetime(batch.timestamp) if self._sim_clock is None else self.clock.now(),
            "reduce_only": bool(batch.reduce_only[row]),
            "reason": None,
            "notional": None if notional != notional else notional_decimal(float(notional)),
        }
        if self._sim_clock is None:
            fields["created_at"] = self.clock.now()
        checked = qty > 0 and fields["created_at"].tzinfo is UTC
        return trusted(Order, checked, **fields)

    def _announce_decisions(
        self, m: MarketSlice, batch: OrderBatch, combined: FloatArray, target_units: FloatArray, equity: float
    ) -> None:
        """The audit trail's decision records and the signal observers: one object each."""
        held = self.portfolio.qty_f + self._pending
        delta = target_units - held
        for row in range(len(batch)):
            i = int(batch.index[row])
            _, correlation = self._ids(int(batch.seq[row]))
            if self._audit_on:
                self._audit("decision", correlation, self._decision_payload(m, i, combined, target_units, delta, equity))
            if self._has["ai_trading_signal"]:
                self.host.notify(
                    "ai_trading_signal",
                    signal=Signal(
                        strategy_id=batch.strategy_ids[int(batch.strategy[row])],
                        symbol=self.symbols[i],
                        timestamp=self.clock.now(),
                        strength=float(np.clip(combined[i], -1, 1)),
                        correlation_id=correlation,
                    ),
                )

    def _process_batch(self, batch: OrderBatch, m: MarketSlice, equity: float) -> None:
        """Risk checks, then submission. The columnar path keeps the batch as columns to the
        broker; otherwise (a live broker, storage, observers of orders, a risk state other
        than ACTIVE) the orders are built as objects and go the per-order way."""
        if not self._columnar or self.state is not RiskState.ACTIVE:
            self._process_orders(batch.to_orders(self._batch_order), m, equity)
            return
        if self.c.risk_checks:
            ctx = self._risk_context(m, equity)
            for check in self.c.risk_checks:
                built: list[Order] = []

                def orders(batch: OrderBatch = batch, built: list[Order] = built) -> list[Order]:
                    if not built:
                        built.extend(batch.to_orders(self._batch_order))
                    return built

                try:
                    t0 = self._tick()
                    verdicts = check_batch(check, batch, ctx, orders)
                    if t0:
                        self._took(f"risk:{check.name}", t0)
                except Exception as exc:  # noqa: BLE001 - fail closed: nothing passes
                    self._table.append(batch, REJECTED, f"risk check {check.name} failed")
                    self._fail_closed(f"risk check {check.name} failed: {type(exc).__name__}: {exc}", exc)
                    return
                batch = self._apply_verdict_batch(check.name, batch, verdicts, m)
                if not len(batch):
                    return
        if self.state is RiskState.HALTED:
            self._table.append(batch, REJECTED, f"trading halted: {self.halt_reason}")
            return
        self._submit_columns(batch)

    def _apply_verdict_batch(self, check: str, batch: OrderBatch, v: VerdictBatch, m: MarketSlice) -> OrderBatch:
        """Keep approved rows, shrink resized ones, record rejected ones; verdict objects are
        built for the rows that were not approved (and for verdict observers)."""
        decision = v.decision
        keep = decision == APPROVE
        self.approved_verdicts += int(keep.sum())
        notable = np.flatnonzero(decision != APPROVE).tolist()
        if self._has["ai_trading_risk_verdict"]:
            notable = list(range(len(batch)))
        reject_reason: dict[int, str] = {}
        resized = batch.units.copy()
        for row in notable:
            code = int(decision[row])
            reason = v.reasons.get(row, "")
            if code == RESIZE:
                exact = v.approved_exact.get(row)
                approved = v.approved[row]
                if exact is not None:
                    units = int(exact.scaleb(batch.qty_scale).to_integral_value(rounding="ROUND_DOWN"))
                elif approved == approved:
                    units = int(np.floor(approved * 10**batch.qty_scale + 1e-9))
                else:
                    units = 0
                if units <= 0:
                    reject_reason[row] = f"{check}: resized to nothing: {reason}"
                elif units > batch.units[row]:
                    reject_reason[row] = f"{check}: resize larger than request refused"
                else:
                    resized[row] = units
                    keep[row] = True
            elif code == REJECT:
                reject_reason[row] = f"{check}: {reason}"
            self._verdict_object(check, batch, row, v, code, resized[row])
        if reject_reason:
            rows = np.array(sorted(reject_reason), dtype=np.int64)
            out = batch.take(rows)
            table_rows = self._table.append(out, REJECTED)
            for r, row in zip(table_rows.tolist(), rows.tolist(), strict=True):
                self._table.reasons[r] = reject_reason[row]
        batch.units = resized
        batch.quantity = resized / 10**batch.qty_scale if batch.qty_scale else resized.astype(np.float64)
        return batch.take(keep) if not keep.all() else batch

    def _verdict_object(self, check: str, batch: OrderBatch, row: int, v: VerdictBatch, code: int, units: int) -> None:
        i = int(batch.index[row])
        client, correlation = self._ids(int(batch.seq[row]))
        verdict = RiskVerdict(
            check=check,
            decision=DECISIONS[code],
            client_order_id=client,
            symbol=self.symbols[i],
            limit=v.limits.get(row),
            measured=v.measured.get(row),
            requested_quantity=batch.quantity_decimal(row),
            approved_quantity=self._approved_view(batch, row, v, code, units),
            reason=v.reasons.get(row, ""),
            level=v.levels.get(row, RiskLevel.LOW),
            timestamp=to_datetime(batch.timestamp),
            correlation_id=correlation,
        )
        self.verdicts.append(verdict)
        if self._has["ai_trading_risk_verdict"]:
            self.host.notify("ai_trading_risk_verdict", verdict=verdict)

    @staticmethod
    def _approved_view(batch: OrderBatch, row: int, v: VerdictBatch, code: int, units: int) -> Decimal | None:
        """A verdict record's approved quantity: the request when approved, the resize when
        resized, what the check said otherwise."""
        if code == APPROVE:
            return batch.quantity_decimal(row)
        if code == RESIZE and units > 0:
            return v.approved_exact.get(row) or Decimal(int(units)).scaleb(-batch.qty_scale)
        return v.approved_exact.get(row)

    def _submit_columns(self, batch: OrderBatch) -> None:
        rows = self._table.append(batch, OPEN)
        self._pending[batch.index] += batch.quantity * batch.side  # one order per symbol in a batch
        self._refusals[batch.index] = 0
        ids = self.c.broker.submit_batch(batch, rows)  # type: ignore[attr-defined]
        if ids is not None:
            self._table.broker_ids.update(zip(rows.tolist(), ids, strict=True))

    def _apply_batch_events(self, ev: Any) -> None:
        t = self._table
        fills = ev.fills
        if fills is not None and len(fills):
            in_flight = t.close(fills.row, FILLED)
            np.subtract.at(self._pending, fills.index, in_flight)
            t.record_fills(fills)
            strategy = t.strategy.data[fills.row]
            names = t.strategy_ids
            self.portfolio.apply_fills(fills, [names[k] for k in strategy.tolist()])
        if ev.rejected:
            rows = np.array(sorted(ev.rejected), dtype=np.int64)
            in_flight = t.close(rows, REJECTED)
            np.subtract.at(self._pending, t.index.data[rows], in_flight)
            t.reasons.update(ev.rejected)

    def _watch_silent_sizer(self, m: MarketSlice, combined: FloatArray, target_units: FloatArray) -> None:
        """Warn once when the sizer keeps turning wanted positions into nothing (a Kelly sizer
        without closed trades and without a prior, a zero budget, a cap of 0): a run that can
        never trade should say so instead of ending with 0 trades and no word."""
        wants = np.isfinite(combined) & (combined != 0.0)
        if not wants.any():
            return  # nothing wanted: says nothing about the sizer
        if np.any(self.portfolio.qty_f[wants] != 0.0):
            self._silent_decisions = 0
            return
        sized = target_units[wants]
        if np.any(np.isfinite(sized) & (sized != 0.0)):
            self._silent_decisions = 0
            return
        self._silent_decisions += 1
        if self._silent_decisions < SILENT_SIZER_DECISIONS:
            return
        self._silent_decisions = -1  # warned: stop watching
        message = (
            f"sizer {self.c.sizer_name!r} sized every wanted position to zero for {SILENT_SIZER_DECISIONS} "
            "decisions in a row: this run will not trade (see the sizer's parameters; a kelly sizer "
            "needs closed trades or its cold_start_fraction)"
        )
        logger.warning(message)
        self.alerts.emit(
            Alert(
                severity=AlertSeverity.WARNING,
                source=f"sizer:{self.c.sizer_name}",
                message=message,
                timestamp=to_datetime(m.timestamp),
                key="sizer:silent",
            )
        )

    def _in_flight_blocks(self, i: int, side: Side) -> bool:
        """Idempotency per intent: no new order for a symbol and side while one is in flight
        (open, or unknown after a lost answer), whatever the rebalance mode; nothing at all
        while one is unknown or being cancelled (the next order is sized against what it
        really did). An open order the other way does not block: its quantity is netted in
        the decision, and if the broker refuses the new order because of it, it is cancelled
        first (:meth:`_refused`: cancel-then-replace)."""
        for order in self.book.in_flight(self.symbols[i]):
            if order.side is side or order.status in (OrderStatus.UNKNOWN, OrderStatus.CANCEL_PENDING):
                return True
        return False

    def _cancel(self, order: Order, reason: str) -> None:
        try:
            upd = self.c.broker.cancel_order(order.client_order_id)
        except (BrokerError, TradingHalted) as exc:
            logger.warning("cancel of {} failed: {}", order.client_order_id, exc)
            return
        if self._audit_on:
            self._audit("order_update", order.correlation_id, upd.model_dump(mode="json"))
        self._apply_update(upd.model_copy(update={"reason": upd.reason or reason}))

    def _responsible_strategy(self, i: int) -> str:
        if len(self.c.strategies) == 1:
            return self.c.strategies[0][0].strategy_id
        best, best_w = "", -1.0
        for strategy, w in self.c.strategies:
            v = self._targets[strategy.strategy_id][i]
            score = abs(w * v) if np.isfinite(v) else -1.0
            if score > best_w:
                best, best_w = strategy.strategy_id, score
        return best

    def _new_order(
        self,
        i: int,
        side: Side,
        qty: Decimal,
        strategy_id: str,
        *,
        reduce_only: bool = False,
        reason: str | None = None,
        notional: Decimal | None = None,
    ) -> Order:
        self._order_seq += 1
        client, correlation = self._ids(self._order_seq)
        now = self.clock.now()
        fields: dict[str, Any] = {
            "client_order_id": client,
            "symbol": self.symbols[i],
            "side": side,
            "quantity": qty,
            "order_type": OrderType.MARKET,
            "strategy_id": strategy_id,
            "correlation_id": correlation,
            "created_at": now,
            "reduce_only": reduce_only,
            "reason": reason,
            "notional": notional,
        }
        checked = qty.is_finite() and qty > 0 and now.tzinfo is UTC
        checked = checked and (notional is None or (notional.is_finite() and notional > 0))
        return trusted(Order, checked, **fields)

    def _decision_payload(
        self, m: MarketSlice, i: int, combined: FloatArray, units: FloatArray, delta: FloatArray, equity: float
    ) -> dict[str, Any]:
        def f(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {
            "symbol": self.symbols[i],
            "market": {
                "timestamp": to_datetime(m.timestamp).isoformat(),
                "open": f(m.open[i]),
                "high": f(m.high[i]),
                "low": f(m.low[i]),
                "close": f(m.close[i]),
                "volume": f(m.volume[i]),
            },
            "signal": {"targets": {k: f(v[i]) for k, v in self._targets.items()}, "combined": f(combined[i])},
            "sizing": {
                "sizer": self.c.sizer_name,
                "equity": equity,
                "target_units": f(units[i]),
                "position": float(self.portfolio.qty_f[i]),
                "pending": float(self._pending[i]),
                "delta": f(delta[i]),
            },
        }

    def _process_orders(self, orders: list[Order], m: MarketSlice, equity: float) -> None:
        orders = self._gate_by_state(orders)
        if self.c.risk_checks and orders:
            ctx = self._risk_context(m, equity)
            for check in self.c.risk_checks:
                try:
                    t0 = self._tick()
                    verdicts = list(check.check(orders, ctx))
                    if t0:
                        self._took(f"risk:{check.name}", t0)
                    if len(verdicts) != len(orders):
                        raise RuntimeError(f"returned {len(verdicts)} verdicts for {len(orders)} orders")
                except Exception as exc:  # noqa: BLE001 - fail closed: nothing passes
                    for order in orders:
                        self._reject(order, f"risk check {check.name} failed")
                    self._fail_closed(f"risk check {check.name} failed: {type(exc).__name__}: {exc}", exc)
                    return
                orders = self._apply_verdicts(check.name, orders, verdicts)
                if not orders:
                    return
        for order in orders:
            if self.state is RiskState.HALTED:
                self._reject(order, f"trading halted: {self.halt_reason}")
                continue
            self._submit(order)

    def _gate_by_state(self, orders: list[Order]) -> list[Order]:
        if self.state is RiskState.ACTIVE:
            return orders
        allowed = []
        for order in orders:
            i = self.portfolio.index[order.symbol]
            current = self.portfolio.quantities[i] + Decimal(repr(float(self._pending[i])))
            signed = order.signed_quantity
            reduces = current != 0 and (signed > 0) != (current > 0)
            if self.state is RiskState.REDUCING and reduces:
                if abs(signed) > abs(current):  # would flip: close only
                    order.quantity = self.instruments[i].round_quantity(abs(current))
                    order.reduce_only = True
                if order.quantity > 0:
                    allowed.append(order)
                    continue
            allowed_now = "risk-reducing orders" if self.state is RiskState.REDUCING else "cancels"
            self._reject(order, f"risk state {self.state.value}: only {allowed_now} allowed")
        return allowed

    def _apply_verdicts(self, check: str, orders: list[Order], verdicts: Sequence[RiskVerdict]) -> list[Order]:
        kept = []
        for order, verdict in zip(orders, verdicts, strict=True):
            if not verdict.correlation_id:
                verdict = verdict.model_copy(
                    update={"correlation_id": order.correlation_id, "client_order_id": order.client_order_id}
                )
            self.verdicts.append(verdict)
            if self._audit_on:
                self._audit("risk_verdict", order.correlation_id, verdict.model_dump(mode="json"))
            if self._has["ai_trading_risk_verdict"]:
                self.host.notify("ai_trading_risk_verdict", verdict=verdict)
            if verdict.decision is RiskDecision.REJECT:
                self._reject(order, f"{check}: {verdict.reason}")
            elif verdict.decision is RiskDecision.RESIZE:
                approved = verdict.approved_quantity
                if approved is None or approved <= 0:
                    self._reject(order, f"{check}: resized to nothing: {verdict.reason}")
                elif approved > order.quantity:
                    self._reject(order, f"{check}: resize larger than request refused")
                else:
                    order.quantity = approved
                    kept.append(order)
            else:
                kept.append(order)
        return kept

    def _reject(self, order: Order, reason: str) -> None:
        if self.book.get(order.client_order_id) is None:
            self.book.add(order)
        transition(order, OrderStatus.REJECTED, reason=reason)
        self.book.settle(order)
        if self._audit_on:
            self._audit("order", order.correlation_id, order.model_dump(mode="json"))
        if self._has["ai_trading_order"]:
            self.host.notify("ai_trading_order", order=order.model_copy())

    def _submit(self, order: Order) -> None:
        self.book.add(order)
        # Persist before sending: an order that cannot be recorded is never sent.
        try:
            if self.c.storage is not None:
                self.c.storage.record_order(order)
            if self._audit_on:
                self._audit("order", order.correlation_id, order.model_dump(mode="json"))
        except Exception as exc:  # noqa: BLE001 - fail closed
            transition(order, OrderStatus.REJECTED, reason=f"not recorded: {exc}")
            self.book.settle(order)
            self._storage_failed(f"order could not be recorded, nothing sent: {type(exc).__name__}: {exc}")
            return
        if self.storage_lost:  # its audit record failed: never sent
            transition(order, OrderStatus.REJECTED, reason="not recorded: storage unreachable")
            self.book.settle(order)
            return
        if self._has["ai_trading_order"]:
            self.host.notify("ai_trading_order", order=order.model_copy())
        i = self.portfolio.index[order.symbol]
        self._pending[i] += float(order.signed_quantity)
        try:
            if self._direct_submit:
                upd = self.c.broker.submit_order(order)
            else:
                upd = self.host.hook.ai_trading_submit_order(order=order, broker=self.c.broker)
        except BrokerTimeout as exc:
            # The order may exist: it stays UNKNOWN and in flight until the broker proves
            # otherwise (_resolve_unknown); never resent.
            self._set_status(order, OrderStatus.SUBMITTED)
            self._set_status(order, OrderStatus.UNKNOWN, f"no answer from broker: {exc}")
            now = self._monotonic()
            self._lookups[order.client_order_id] = _Lookup(now, order.created_at, next_at=now)
            self.alerts.emit(
                Alert(
                    severity=AlertSeverity.WARNING,
                    source="broker",
                    timestamp=self.clock.now(),
                    message=f"order {order.client_order_id} state unknown after timeout; will look it up",
                    key=f"unknown:{order.client_order_id}",
                )
            )
            return
        except TradingHalted as exc:
            self._pending[i] -= float(order.signed_quantity)
            self._set_status(order, OrderStatus.REJECTED, str(exc))
            self._change_state(RiskState.HALTED, "kill_switch", str(exc))
            return
        except BrokerError as exc:
            self._pending[i] -= float(order.signed_quantity)
            self._set_status(order, OrderStatus.REJECTED, str(exc))
            self._refused(order, i, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - fail closed
            self._pending[i] -= float(order.signed_quantity)
            self._set_status(order, OrderStatus.REJECTED, f"submission failed: {type(exc).__name__}: {exc}")
            self._fail_closed(f"order submission failed: {type(exc).__name__}: {exc}", exc)
            return
        self._refusals[i] = 0
        if order.status is OrderStatus.NEW:
            self._set_status(order, OrderStatus.SUBMITTED)
        if upd is not None:
            if self._audit_on:
                self._audit("order_update", order.correlation_id, upd.model_dump(mode="json"))
            self._apply_update(upd)

    def _refused(self, order: Order, i: int, reason: str) -> None:
        """The broker refused an order (insufficient buying power or quantity, 422, rate limited
        after retries): a WARNING, counted in the run document, and the target is decided
        again on the next step, at most ``refused_order_retries`` times in a row."""
        self._refusals[i] += 1
        retry = self._refusals[i] <= self.refused_order_retries
        # An exit refused because an entry is still open the other way ("insufficient qty
        # available": a stale, partially filled buy holds the shares): cancel its remainder,
        # and the exit goes out on the next decision, sized against what it really filled.
        for other in self.book.in_flight(order.symbol):
            if other.side is not order.side and other.status is not OrderStatus.CANCEL_PENDING:
                self._cancel(other, f"cancelled so that {order.client_order_id} can be replaced: {reason}")
        if retry:
            self._combined[i] = np.nan
        else:
            self._refused_at[i] = self._combined[i]
        self.refused_orders.append(
            {
                "client_order_id": order.client_order_id,
                "symbol": order.symbol,
                "side": order.side.value,
                "quantity": str(order.quantity),
                "reason": reason,
                "retried": "yes" if retry else "no: retry budget spent",
            }
        )
        self.alerts.emit(
            Alert(
                severity=AlertSeverity.WARNING,
                source="broker",
                timestamp=self.clock.now(),
                message=f"order {order.client_order_id} ({order.side.value} {order.quantity} {order.symbol}) refused: "
                f"{reason}; "
                + (
                    f"retrying on the next decision ({self._refusals[i]}/{self.refused_order_retries})"
                    if retry
                    else "retry budget spent, waiting for a new target"
                ),
                key=f"refused:{order.symbol}",
            )
        )

    def _storage_failed(self, reason: str) -> None:
        """Storage is unreachable: nothing more is sent (an order that cannot be recorded is
        never sent), the run halts with a CRITICAL alert and ends with a non-zero exit."""
        logger.error("storage failed: {}", reason)
        self.storage_lost = True
        self._change_state(RiskState.HALTED, "storage", reason)

    # ================================================================== audit
    def _audit(self, kind: str, correlation_id: str, payload: dict[str, Any]) -> None:
        if not self._audit_on:
            return
        self._audit_seq += 1
        event = AuditEvent(
            sequence=self._audit_seq,
            run_id=self.session.run_id,
            kind=kind,
            correlation_id=correlation_id,
            timestamp=self.clock.now(),
            payload=payload,
        )
        hashes = self.host.hook.ai_trading_audit_event(event=event)
        if hasattr(self.c.storage, "record_audit"):
            hashes.append(self._record("record_audit", event))
        # Sinks return the event's chain hash; keyed alike, they agree. The last one is what
        # the seal closes and the run document records.
        found = {h for h in hashes if isinstance(h, str)}
        if len(found) > 1 and not self._audit_disagreed:
            self._audit_disagreed = True
            logger.error("audit sinks disagree on the chain hash of {}#{}: keyed differently?", kind, self._audit_seq)
        if found:
            self.audit_head = sorted(found)[0]

    def adopt_audit_tail(self, events: Sequence[tuple[AuditEvent, str]]) -> None:
        """After a restart: events the audit file holds beyond what storage recorded (the
        process was killed between the two writes of one event) are recorded in storage now,
        in order, so both chains hold the same events and the sequence goes on after them.
        Each is the same event, so storage computes the same chain hash the file holds."""
        record = getattr(self.c.storage, "record_audit", None)
        for event, digest in events:
            if event.sequence != self._audit_seq + 1:
                break
            if record is not None:
                stored = record(event)
                if stored != digest:
                    logger.error("audit event {}#{} re-recorded with another hash", event.kind, event.sequence)
            self._audit_seq = event.sequence
            self.audit_head = digest
            logger.info("audit event #{} ({}) recorded after the restart", event.sequence, event.kind)

    def seal_audit(self) -> tuple[str, int] | None:
        """Close the audit chain of a cleanly stopped run: a ``seal`` event holding the number of
        events before it and the last hash (see :mod:`ai_trading_core.audit`). Returns the
        seal's hash and the chain's event count (seal included); None without an audit trail."""
        if not (self._audit_on and self._audit_seq):
            return None
        self._audit("seal", "session", {"events": self._audit_seq, "last_hash": self.audit_head})
        return (self.audit_head, self._audit_seq) if self.audit_head else None


def _with_nulls(values: Any, present: Any) -> list[int | None]:
    """``values`` as a list with None where ``present`` is False."""
    out: list[int | None] = values.tolist()
    if not present.all():
        for k in np.flatnonzero(~present).tolist():
            out[k] = None
    return out


def make_alert_callable(router: AlertRouter) -> Callable[[Alert], None]:
    return router.emit


__all__ = ["AlertRouter", "Engine", "EngineComponents", "AiTradingError"]
