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
``snapshot_interval`` seconds while the run trades (and at once on a risk-state change), so
the per-step cost is one pipelined round trip.

Times: ``started_at``/``received_at``/heartbeats are wall-clock (:class:`WallClock`);
``timestamp`` of a step is the bar's time. Money and quantities are decimal strings (exact);
equity and cash per step are floats, as the engine's curve holds them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ai_trading_core.clock import WallClock
from ai_trading_core.enums import OrderStatus
from ai_trading_core.market import to_datetime

if TYPE_CHECKING:
    from ai_trading_core.models import Alert, Fill, Instrument, Order, RiskEvent
    from ai_trading_core.protocols import RiskContext
    from ai_trading_core.result import RunResult, Session

    from .market import RedisMarketCache

_CLOSED = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


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
    """

    def __init__(
        self,
        cache: RedisMarketCache,
        *,
        maxlen: int = 200_000,
        ttl_after_finish: float = 7 * 86_400.0,
        snapshot_interval: float = 0.25,
        heartbeat_interval: float = 1.0,
        wall_clock: Any = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
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
        self.open_orders: dict[str, dict[str, Any]] = {}
        self.counts = {"steps": 0, "orders": 0, "fills": 0, "alerts": 0, "risk_events": 0}
        self.current_state = "active"
        self.last_step: dict[str, Any] | None = None
        self._prices: dict[str, float] = {}
        self._broker_at: str | None = None
        self._dirty = True
        self._snapshot_at = float("-inf")
        self._beat_at = float("-inf")

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
        """One pipelined round trip, through the cache's outage guard."""
        pipe = self.cache.client.pipeline(transaction=False)
        build(pipe)
        self.cache._guard("live feed", pipe.execute, None)

    def _event(self, pipe: Any, kind: str, data: Mapping[str, Any], channel_body: Any = None) -> None:
        text = _dumps(data)
        pipe.xadd(self.run_key("events"), {"kind": kind, "data": text}, maxlen=self.maxlen, approximate=True)
        body = text if channel_body is None else _dumps(channel_body)
        pipe.publish(self.cache.channel(kind), body)

    # ------------------------------------------------------------------ lifecycle
    def describe_instruments(self, instruments: Mapping[str, Instrument]) -> None:
        """The run's instruments: prices are shown to each one's tick."""
        self.ticks = {s: str(i.tick_size) for s, i in instruments.items()}

    def start(self, session: Session) -> None:
        self.run_id = session.run_id
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
        now = self.wall.now()
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

        def build(pipe: Any) -> None:
            self._event(pipe, "step", step)
            if snapshot:
                pipe.set(self.run_key("snapshot"), _dumps(self.snapshot()))
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
        body = order.model_dump(mode="json")
        self.counts["orders"] += 1
        if order.status in _CLOSED:
            self.open_orders.pop(order.client_order_id, None)
        else:
            self.open_orders[order.client_order_id] = body
        self._broker_at = self.wall.now().isoformat()
        self._dirty = True
        self._send(lambda pipe: self._event(pipe, "order", body, body))

    def fill(self, fill: Fill) -> None:
        if self.run_id is None:
            return
        body = fill.model_dump(mode="json")
        self.counts["fills"] += 1
        self.holdings.setdefault(fill.symbol, _Holding()).apply(fill.signed_quantity, fill.price)
        self._prices.setdefault(fill.symbol, float(fill.price))
        self._broker_at = self.wall.now().isoformat()
        self._dirty = True
        self._send(lambda pipe: self._event(pipe, "fill", body, body))

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
            "open_orders": list(self.open_orders.values()),
            "feed": {"last_bar": step.get("timestamp"), "received_at": step.get("received_at")},
            "broker": {"last_update_at": self._broker_at, "open_orders": len(self.open_orders)},
            "counts": dict(self.counts),
            "written_at": self.wall.now().isoformat(),
        }
