"""The live run feed: what a running engine publishes for a dashboard to watch.

Keys (``prefix`` defaults to ``ai_trading``)::

    <prefix>:runs                sorted set: run ids scored by their wall-clock start (epoch seconds)
    <prefix>:run:<id>            JSON: run_id, name, mode, status (running | finished | stopped),
                                 started_at, finished_at, timeframe, currency, initial_cash,
                                 symbols, ticks {symbol: tick size}, risk_state
    <prefix>:run:<id>:events     stream, one entry per event: fields ``kind`` and ``data`` (JSON);
                                 kinds step, order, fill, alert, risk_state, run
    <prefix>:run:<id>:snapshot   JSON: the latest step (equity, cash, peak, drawdown, risk
                                 state), positions (quantity, average price, price, market
                                 value, unrealised P&L, weight), open orders, data-feed and
                                 broker status, event counts
    <prefix>:heartbeat:<id>      the run's heartbeat (ISO time), TTL ``heartbeat_ttl``

Every event is also published on ``<prefix>:events:<kind>`` (orders and fills as the order or
fill JSON, as before; other kinds carry ``run_id``). The stream lets a dashboard that starts
late, or reloads, read the run from its beginning; the snapshot is written at most every
``snapshot_interval`` seconds while the run trades (and at once on a risk-state change).

Redis is off the engine's thread: the hooks only update the feed's own state and put a
write into a bounded queue (``queue_size``); a writer thread, started with the run and
stopped at its end, sends whatever has queued up in one pipelined round trip. A full queue
or an outage drops writes (counted in the snapshot's ``dropped``), never delays a step; an
outage raises one alert through the cache, from the engine's thread, at the next step.

Times: ``started_at``/``received_at``/heartbeats are wall-clock (:class:`WallClock`);
``timestamp`` of a step is the bar's time. Money and quantities are decimal strings (exact);
equity and cash per step are floats, as the engine's curve holds them.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from loguru import logger

from ai_trading_core.clock import WallClock
from ai_trading_core.enums import OrderStatus
from ai_trading_core.market import to_datetime

from .cache import OUTAGE_ERRORS

if TYPE_CHECKING:
    from ai_trading_core.models import Alert, Fill, Instrument, Order, RiskEvent
    from ai_trading_core.protocols import RiskContext
    from ai_trading_core.result import RunResult, Session

    from .market import RedisMarketCache

_CLOSED = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


_BATCH = 2_000  # writes sent in one pipeline at most
_POLL = 0.05  # seconds the writer sleeps when nothing is queued (the engine never waits on a lock)


def _dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), default=str)


class _Holding:
    """Average-cost position of one symbol, from fills (exact decimals)."""

    __slots__ = ("quantity", "average_price")

    def __init__(self) -> None:
        self.quantity = Decimal(0)
        self.average_price = Decimal(0)

    def apply(self, signed_quantity: Decimal, price: Decimal) -> None:
        q = self.quantity
        new = q + signed_quantity
        if q == 0 or (q > 0) == (signed_quantity > 0):  # opening or adding
            self.average_price = (
                (q * self.average_price + signed_quantity * price) / new if new else Decimal(0)
            )
        elif new == 0:
            self.average_price = Decimal(0)
        elif (new > 0) != (q > 0):  # crossed through flat: the rest opens at this price
            self.average_price = price
        self.quantity = new


class LiveRunFeed:
    """Publishes one run to Redis (see the module docstring). Owned by the ``redis`` cache
    component, which calls it from its observer hooks and ``observe_step``.

    :param maxlen: approximate length cap of the run's event stream (entries).
    :param ttl_after_finish: seconds the run's keys live after it ends.
    :param snapshot_interval: shortest time between two snapshots while trading, seconds.
    :param heartbeat_interval: shortest time between two heartbeats, seconds.
    :param queue_size: writes waiting for the writer thread at most (then dropped and counted).
    """

    def __init__(
        self,
        cache: RedisMarketCache,
        *,
        maxlen: int = 200_000,
        ttl_after_finish: float = 7 * 86_400.0,
        snapshot_interval: float = 0.25,
        heartbeat_interval: float = 1.0,
        queue_size: int = 100_000,
        wall_clock: Any = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
        self.queue_size = queue_size
        self.maxlen = maxlen
        self.ttl_after_finish = ttl_after_finish
        self.snapshot_interval = snapshot_interval
        self.heartbeat_interval = heartbeat_interval
        self.wall = wall_clock if wall_clock is not None else WallClock()
        self._monotonic = monotonic
        self.run_id: str | None = None
        self.meta: dict[str, Any] = {}
        self.ticks: dict[str, str] = {}
        self.holdings: dict[str, _Holding] = {}
        self.open_orders: dict[str, Order] = {}
        self.counts = {"steps": 0, "orders": 0, "fills": 0, "alerts": 0, "risk_events": 0}
        self.current_state = "active"
        self.last_step: dict[str, Any] | None = None
        self._prices: dict[str, float] = {}
        self._broker_at: str | None = None  # wall-clock time of the step after the last order update or fill
        self._broker_seen = False
        self._dirty = True
        self._snapshot_at = float("-inf")
        self._beat_at = float("-inf")
        self._queue: deque[Callable[[Any], None]] | None = None
        self._writer: threading.Thread | None = None
        self._stopping = threading.Event()
        self.dropped = 0  # writes lost to a full queue (engine thread)
        self.dropped_in_outage = 0  # writes lost while Redis was unreachable (writer thread)
        self._failures = 0
        self._retry_at: float | None = None
        self._outage: BaseException | None = None  # set by the writer, reported by the engine thread
        self._outage_reported = False  # one alert per outage, until Redis answers again
        self._outage_lock = threading.Lock()

    # ------------------------------------------------------------------ keys
    def key(self, *parts: str) -> str:
        return self.cache.key(*parts)

    @property
    def runs_key(self) -> str:
        return self.key("runs")

    def run_key(self, suffix: str = "") -> str:
        assert self.run_id is not None
        return self.key("run", self.run_id, suffix) if suffix else self.key("run", self.run_id)

    def _send(self, build: Callable[[Any], None]) -> None:
        """Queue a write for the writer thread (never blocks: a deque append, no lock); without
        a running writer, send it now through the cache's outage guard."""
        q = self._queue
        if q is None:
            if self._outage_reported or self._outage is not None:
                self.dropped_in_outage += 1  # known down: no second attempt (and no second alert)
                return
            pipe = self.cache.client.pipeline(transaction=False)
            build(pipe)
            self.cache._guard("live feed", pipe.execute, None)
        elif len(q) >= self.queue_size:
            self.dropped += 1
        else:
            q.append(build)

    # ------------------------------------------------------------------ writer thread
    def _start_writer(self) -> None:
        self._queue = deque()
        self._stopping.clear()
        self._writer = threading.Thread(
            target=self._write_loop, args=(self._queue,), name=f"live-feed-{(self.run_id or '')[:8]}", daemon=True
        )
        self._writer.start()

    def _stop_writer(self, timeout: float = 30.0) -> None:
        """Send what is queued (waiting ``timeout`` seconds at most), then end the writer."""
        q, writer = self._queue, self._writer
        self._queue, self._writer = None, None
        if q is None or writer is None:
            return
        self._stopping.set()
        writer.join(timeout=timeout)
        if writer.is_alive():
            logger.warning("live feed: the writer is behind; {} queued write(s) abandoned", len(q))

    def _write_loop(self, q: deque[Callable[[Any], None]]) -> None:
        while True:
            stopping = self._stopping.is_set()  # read before draining: nothing queued earlier is lost
            batch = []
            while q and len(batch) < _BATCH:
                batch.append(q.popleft())
            if batch:
                self._write(batch)
            elif stopping:
                return
            else:
                time.sleep(_POLL)

    def _write(self, writes: list[Callable[[Any], None]]) -> None:
        if self._retry_at is not None and self._monotonic() < self._retry_at:
            self.dropped_in_outage += len(writes)
            return
        pipe = self.cache.client.pipeline(transaction=False)
        try:
            for build in writes:
                build(pipe)
            pipe.execute()
        except OUTAGE_ERRORS as exc:
            self._failures += 1
            params = self.cache.params
            delay = min(params.backoff_max, params.backoff_initial * 2 ** (self._failures - 1))
            self._retry_at = self._monotonic() + delay
            self.dropped_in_outage += len(writes)
            if self._failures == 1:
                self._outage = exc
            return
        except Exception:  # noqa: BLE001 - a bad write must not end the feed; the engine is unaffected
            logger.exception("live feed: a write to Redis failed")
            return
        if self._retry_at is not None:
            logger.info("live feed: Redis reachable again after {} failed attempt(s)", self._failures)
            self._failures, self._retry_at = 0, None
            self._outage_reported = False

    def _report_outage(self) -> None:
        with self._outage_lock:  # the last step and the end of the run may both get here
            exc, self._outage = self._outage, None
            if exc is None or self._outage_reported:
                return
            self._outage_reported = True
        logger.warning("live feed: Redis unavailable ({}); writes are dropped until it is back", exc)
        if not self.cache._failures:  # one alert per outage: the cache may have raised it already
            self.cache._send_alert("live feed", exc)

    def _event(self, pipe: Any, kind: str, data: Mapping[str, Any] | str) -> None:
        text = data if isinstance(data, str) else _dumps(data)
        pipe.xadd(self.run_key("events"), {"kind": kind, "data": text}, maxlen=self.maxlen, approximate=True)
        pipe.publish(self.cache.channel(kind), text)

    def _model_event(self, pipe: Any, kind: str, model: Order | Fill) -> None:
        """Orders and fills go out as their own JSON, on the stream and the channel alike."""
        self._event(pipe, kind, model.model_dump_json())

    # ------------------------------------------------------------------ lifecycle
    def describe_instruments(self, instruments: Mapping[str, Instrument]) -> None:
        """The run's instruments: prices are shown to each one's tick."""
        self.ticks = {s: str(i.tick_size) for s, i in instruments.items()}

    def start(self, session: Session) -> None:
        self.run_id = session.run_id
        self._start_writer()
        now = self.wall.now()
        self.meta = {
            "run_id": session.run_id,
            "name": session.name,
            "mode": session.mode.value,
            "status": "running",
            "started_at": now.isoformat(),
            "finished_at": None,
            "timeframe": session.timeframe.value,
            "currency": session.currency,
            "initial_cash": str(session.initial_cash),
            "symbols": list(session.symbols),
            "strategies": list(getattr(session, "strategies", ()) or ()),
            "ticks": self.ticks,
            "risk_state": self.current_state,
        }
        meta = _dumps(self.meta)

        def build(pipe: Any) -> None:
            pipe.zadd(self.runs_key, {session.run_id: now.timestamp()})
            pipe.set(self.run_key(), meta)
            for key in (self.run_key(), self.run_key("events"), self.run_key("snapshot")):
                pipe.persist(key)
            pipe.set(self.key("heartbeat", session.run_id), now.isoformat(), px=self._heartbeat_ms())
            self._event(pipe, "run", {"run_id": session.run_id, "status": "running", "at": now.isoformat()})

        self._send(build)
        self._beat_at = self._monotonic()

    def step(self, ctx: RiskContext) -> None:
        if self.run_id is None:
            return
        if self._outage is not None:
            self._report_outage()
        now = self.wall.now()
        if self._broker_seen:
            self._broker_at, self._broker_seen = now.isoformat(), False
        peak = ctx.peak_equity or ctx.equity
        self.counts["steps"] += 1
        self.last_step = {
            "run_id": self.run_id,
            "timestamp": to_datetime(int(ctx.timestamp)).isoformat(),
            "equity": float(ctx.equity),
            "cash": float(ctx.cash),
            "peak_equity": float(peak),
            "drawdown": float(ctx.equity / peak - 1.0) if peak else 0.0,
            "state": ctx.state.value,
            "received_at": now.isoformat(),
        }
        for symbol in self.holdings:
            i = ctx.symbol_index.get(symbol)
            if i is not None:
                self._prices[symbol] = float(ctx.prices[i])
        mono = self._monotonic()
        snapshot = self._dirty and mono - self._snapshot_at >= self.snapshot_interval
        snapshot = snapshot or mono - self._snapshot_at >= 4 * self.snapshot_interval
        beat = mono - self._beat_at >= self.heartbeat_interval
        step = self.last_step
        snap = _dumps(self.snapshot()) if snapshot else None  # here: the engine thread owns the state

        def build(pipe: Any) -> None:
            self._event(pipe, "step", step)
            if snap is not None:
                pipe.set(self.run_key("snapshot"), snap)
            if beat:
                pipe.set(self.key("heartbeat", self.run_id or ""), now.isoformat(), px=self._heartbeat_ms())

        self._send(build)
        if snapshot:
            self._snapshot_at, self._dirty = mono, False
        if beat:
            self._beat_at = mono

    def order(self, order: Order) -> None:
        if self.run_id is None:
            return
        self.counts["orders"] += 1
        if order.status in _CLOSED:
            self.open_orders.pop(order.client_order_id, None)
        else:
            self.open_orders[order.client_order_id] = order
        self._broker_seen = True  # timed at the next step: no clock read per order
        self._dirty = True
        # the engine hands observers a copy: it is serialised on the writer thread
        self._send(lambda pipe: self._model_event(pipe, "order", order))

    def fill(self, fill: Fill) -> None:
        if self.run_id is None:
            return
        self.counts["fills"] += 1
        self.holdings.setdefault(fill.symbol, _Holding()).apply(fill.signed_quantity, fill.price)
        self._prices.setdefault(fill.symbol, float(fill.price))
        self._broker_seen = True  # timed at the next step: no clock read per order
        self._dirty = True
        self._send(lambda pipe: self._model_event(pipe, "fill", fill))

    def alert(self, alert: Alert) -> None:
        if self.run_id is None:
            return
        body = {"run_id": self.run_id, **alert.model_dump(mode="json")}
        self.counts["alerts"] += 1
        self._send(lambda pipe: self._event(pipe, "alert", body))

    def risk_state(self, event: RiskEvent) -> None:
        if self.run_id is None:
            return
        body = {"run_id": self.run_id, **event.model_dump(mode="json")}
        self.counts["risk_events"] += 1
        self.current_state = str(body.get("state") or self.current_state)
        self.meta["risk_state"] = self.current_state
        if self.last_step is not None:
            self.last_step = {**self.last_step, "state": self.current_state}
        snap, meta = _dumps(self.snapshot()), _dumps(self.meta)

        def build(pipe: Any) -> None:
            self._event(pipe, "risk_state", body)
            pipe.set(self.run_key("snapshot"), snap)
            pipe.set(self.run_key(), meta)

        self._send(build)
        self._snapshot_at, self._dirty = self._monotonic(), False

    def finish(self, session: Session, result: RunResult) -> None:
        self._end("finished", final_equity=str(result.final_equity))

    def close(self) -> None:
        """End of the run's registration: a run that did not finish is marked ``stopped``."""
        if self.run_id is not None and self.meta.get("status") == "running":
            self._end("stopped")
        self._stop_writer()

    def _end(self, status: str, **extra: Any) -> None:
        if self.run_id is None:
            return
        now = self.wall.now()
        self.meta.update(status=status, finished_at=now.isoformat(), **extra)
        meta, snap = _dumps(self.meta), _dumps(self.snapshot())
        ttl = max(1, int(self.ttl_after_finish))
        keys = (self.run_key(), self.run_key("events"), self.run_key("snapshot"))

        def build(pipe: Any) -> None:
            pipe.set(self.run_key(), meta)
            pipe.set(self.run_key("snapshot"), snap)
            self._event(pipe, "run", {"run_id": self.run_id, "status": status, "at": now.isoformat()})
            for key in keys:
                pipe.expire(key, ttl)
            pipe.delete(self.key("heartbeat", self.run_id or ""))

        self._send(build)
        self._stop_writer()
        # an outage the writer met after the last step is still reported, once
        self._report_outage()

    # ------------------------------------------------------------------ snapshot
    def _heartbeat_ms(self) -> int:
        return max(1, int(self.cache.params.heartbeat_ttl * 1000))

    def snapshot(self) -> dict[str, Any]:
        """Positions, open orders and status as of the last step."""
        step = self.last_step or {}
        equity = float(step.get("equity") or 0.0)
        positions = []
        for symbol, h in sorted(self.holdings.items()):
            if h.quantity == 0:
                continue
            price = self._prices.get(symbol)
            value = float(h.quantity) * price if price is not None else None
            positions.append(
                {
                    "symbol": symbol,
                    "quantity": str(h.quantity),
                    "average_price": str(h.average_price),
                    "price": price,
                    "market_value": value,
                    "unrealised_pnl": (price - float(h.average_price)) * float(h.quantity)
                    if price is not None
                    else None,
                    "weight": value / equity if value is not None and equity else None,
                }
            )
        return {
            "run_id": self.run_id,
            "step": step,
            "risk_state": self.current_state,
            "positions": positions,
            "open_orders": [o.model_dump(mode="json") for o in self.open_orders.values()],
            "feed": {"last_bar": step.get("timestamp"), "received_at": step.get("received_at")},
            "broker": {"last_update_at": self._broker_at, "open_orders": len(self.open_orders)},
            "counts": dict(self.counts),
            "dropped": self.dropped + self.dropped_in_outage,
            "written_at": self.wall.now().isoformat(),
        }
