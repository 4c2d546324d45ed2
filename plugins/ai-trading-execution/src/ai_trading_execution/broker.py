"""The ``algo`` broker: works the engine's parent orders as child orders on venue brokers.

The engine sees one broker. Each parent order it submits is accepted here and worked over
the following bars: at every ``on_market`` the algorithm decides the slice for the bar, the
router sends it to a venue as a child order (``parent_id`` = the parent's client order id,
ids ``{parent}-c{n}``), the venues match it, and every child fill comes back to the engine
as a fill of the parent (execution id ``{venue}:{venue execution id}``, unique and stable)
with a parent status update. Cancelling the parent cancels its working children.

A notional parent (quantity fixed at the fill price) goes as one child carrying the
notional, whatever the algorithm: its quantity is only known once it fills.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from loguru import logger

from ai_trading_core.enums import OrderStatus
from ai_trading_core.errors import BrokerError
from ai_trading_core.market import MarketSlice, to_datetime
from ai_trading_core.models import Fill, Instrument, Order, OrderUpdate
from ai_trading_core.protocols import BrokerContext, BrokerEvents

from .algorithms import VolumeProfile, cumulative_schedule, slice_quantity
from .params import AlgoBrokerParams
from .routing import Venue, VenueRouter
from .tracking import (
    ChildRecord,
    ParentRecord,
    by_strategy,
    by_venue,
    child_row,
    overall,
    parent_row,
    shadow_row,
    shadow_summary,
)


class AlgoBroker:
    name = "algo"

    def __init__(self, params: AlgoBrokerParams, venues: list[Venue], shadow: Any | None = None) -> None:
        """:param venues: built venue brokers in config order.
        :param shadow: a simulated broker run beside the venues on the same parent orders."""
        self.params = params
        self.router = VenueRouter(venues)
        self.venues = venues
        self.shadow = shadow
        self.parents: dict[str, ParentRecord] = {}
        self.children: dict[str, ChildRecord] = {}
        self.refusals: list[dict[str, str]] = []
        self.shadow_compared: list[dict[str, Any]] = []  # live vs paper, as each parent completes
        self._child_venue: dict[str, Venue] = {}
        self._index: dict[str, int] = {}
        self._instruments: Mapping[str, Instrument] = {}
        self._positions: dict[str, Decimal] = {}
        self._last_close: np.ndarray | None = None
        self._last_volume: np.ndarray | None = None  # each symbol's last observed bar volume, units
        self._profile: VolumeProfile | None = None
        self._clock: Any = None

    # ------------------------------------------------------------------ lifecycle
    def connect(self, ctx: BrokerContext) -> None:
        self._index = {s: i for i, s in enumerate(ctx.symbols)}
        self._instruments = ctx.instruments
        self._clock = ctx.clock
        self._profile = VolumeProfile(len(ctx.symbols), ctx.timeframe.seconds)
        for v in self.venues:
            v.broker.connect(ctx)
        if self.shadow is not None:
            self.shadow.connect(ctx)

    def close(self) -> None:
        for v in self.venues:
            v.broker.close()
        if self.shadow is not None:
            self.shadow.close()

    def positions(self) -> Mapping[str, Decimal]:
        return {k: v for k, v in self._positions.items() if v != 0}

    # ------------------------------------------------------------------ requests
    def submit_order(self, order: Order) -> OrderUpdate:
        known = self.parents.get(order.client_order_id)
        if known is not None:  # idempotent by client order id
            return self._parent_update(known)
        if order.symbol not in self._index:
            raise BrokerError(f"algo: unknown symbol {order.symbol!r}")
        decision = None
        if self._last_close is not None:
            c = float(self._last_close[self._index[order.symbol]])
            decision = Decimal(repr(c)) if np.isfinite(c) else None
        copy = order.model_copy(
            update={"status": OrderStatus.ACCEPTED, "broker_order_id": f"algo-{len(self.parents) + 1}"}
        )
        parent = ParentRecord(order=copy, accepted_at=self._now(), decision_price=decision)
        self.parents[order.client_order_id] = parent
        if self.shadow is not None:
            try:
                self.shadow.submit_order(order)
            except BrokerError as exc:
                parent.shadow_reason = f"shadow refused: {exc}"
        return self._parent_update(parent)

    def cancel_order(self, client_order_id: str) -> OrderUpdate:
        parent = self.parents.get(client_order_id)
        if parent is None:
            raise BrokerError(f"algo: no order {client_order_id}")
        if parent.is_open:
            for cid in parent.children:
                child = self.children[cid]
                if child.order.status.is_terminal:
                    continue
                upd = self._child_venue[cid].broker.cancel_order(cid)
                if upd.status is OrderStatus.CANCELLED or upd.status is OrderStatus.CANCEL_PENDING:
                    child.order.status = upd.status
            parent.status = OrderStatus.CANCELLED
            parent.reason = "cancelled"
            if self.shadow is not None and self.shadow.lookup_order(client_order_id) is not None:
                self.shadow.cancel_order(client_order_id)
        return self._parent_update(parent)

    def lookup_order(self, client_order_id: str) -> OrderUpdate | None:
        parent = self.parents.get(client_order_id)
        return None if parent is None else self._parent_update(parent)

    # ------------------------------------------------------------------ per bar
    def on_market(self, market: MarketSlice) -> BrokerEvents:
        events = BrokerEvents()
        changed: dict[str, ParentRecord] = {}
        for parent in list(self.parents.values()):
            if parent.is_open:
                self._work(parent, market, events, changed)
        for v in self.venues:
            self._collect(v, v.broker.on_market(market), events, changed)
        if self.shadow is not None:
            self._collect_shadow(self.shadow.on_market(market))
            self._compare_completed()
        for parent in changed.values():
            events.updates.append(self._parent_update(parent))
        assert self._profile is not None
        self._profile.add(market.timestamp, market.volume)
        self._last_close = np.array(market.close, dtype=float)
        vol = np.asarray(market.volume, dtype=float)
        if self._last_volume is None:
            self._last_volume = np.full(len(vol), np.nan)
        seen = np.isfinite(vol)  # a symbol without a bar keeps its last known volume
        self._last_volume[seen] = vol[seen]
        return events

    def _work(
        self, parent: ParentRecord, m: MarketSlice, events: BrokerEvents, changed: dict[str, ParentRecord]
    ) -> None:
        i = self._index[parent.order.symbol]
        o = float(m.open[i])
        if not np.isfinite(o):
            return  # no bar for the symbol: nothing trades, the schedule waits
        inst = self._instrument(parent.order.symbol)
        if parent.start_ts is None:
            parent.start_ts = m.timestamp
            parent.arrival_price = Decimal(repr(o))
            parent.schedule = self._schedule(parent, i, inst)
        bar = parent.bars
        parent.bars += 1
        if parent.order.notional is not None:
            qty = parent.unsent if parent.sent == 0 else Decimal(0)
        else:
            child_open = any(not self.children[c].order.status.is_terminal for c in parent.children)
            qty = slice_quantity(
                self.params,
                unsent=parent.unsent,
                sent=parent.sent,
                bar=bar,
                schedule=parent.schedule,
                volume=self._volume_forecast(i, m.timestamp),
                child_open=child_open,
                inst=inst,
            )
        if qty <= 0:
            return
        n = len(parent.children) + 1
        notional = parent.order.notional
        child = parent.order.model_copy(
            update={
                "client_order_id": f"{parent.order.client_order_id}-c{n}",
                "quantity": qty,
                "parent_id": parent.order.client_order_id,
                "status": OrderStatus.NEW,
                "broker_order_id": None,
                "filled_quantity": Decimal(0),
                "average_fill_price": None,
                "created_at": self._now(),
                "notional": notional,
            }
        )
        outcome = self.router.route(child, parent.arrival_price, bar)
        for r in outcome.refusals:
            self.refusals.append({"child": child.client_order_id, **r})
        if outcome.venue is None or outcome.update is None:
            parent.route_failures += 1
            if parent.route_failures >= self.params.max_route_failures:
                parent.status = OrderStatus.CANCELLED
                parent.reason = f"no venue took a slice for {parent.route_failures} bars"
                self._cancel_children(parent)
                changed[parent.order.client_order_id] = parent
            return
        parent.route_failures = 0
        child.status = outcome.update.status
        child.broker_order_id = outcome.update.broker_order_id
        parent.children.append(child.client_order_id)
        parent.sent += qty
        self.children[child.client_order_id] = ChildRecord(child, outcome.venue.name, bar, self._now())
        self._child_venue[child.client_order_id] = outcome.venue

    def _volume_forecast(self, i: int, ts: int) -> float:
        """POV's volume for symbol ``i`` at the bar ``ts``, from bars before it only (units):
        the bar being worked has not traded yet when its child is sent."""
        if self.params.algorithm != "pov":
            return float("nan")
        if self.params.pov_volume == "time_of_day" and self._profile is not None:
            v = self._profile.expected(i, ts)
            if np.isfinite(v):
                return v
        if self._last_volume is None:
            return float("nan")
        return float(self._last_volume[i])

    def _schedule(self, parent: ParentRecord, i: int, inst: Instrument) -> list[Decimal] | None:
        p = self.params
        if p.algorithm not in ("twap", "vwap") or parent.order.notional is not None:
            return None
        if p.algorithm == "twap":
            weights = [1.0] * p.horizon_bars
        elif p.volume_profile is not None:
            weights = list(p.volume_profile)
        else:
            assert self._profile is not None and parent.start_ts is not None
            weights = self._profile.weights(i, parent.start_ts, p.horizon_bars)
        return cumulative_schedule(parent.order.quantity, weights, inst)

    def _cancel_children(self, parent: ParentRecord) -> None:
        for cid in parent.children:
            child = self.children[cid]
            if not child.order.status.is_terminal:
                upd = self._child_venue[cid].broker.cancel_order(cid)
                child.order.status = upd.status

    def _collect(
        self, venue: Venue, ev: BrokerEvents, events: BrokerEvents, changed: dict[str, ParentRecord]
    ) -> None:
        for upd in ev.updates:
            child = self.children.get(upd.client_order_id)
            if child is None:
                continue
            if upd.status in (OrderStatus.REJECTED, OrderStatus.EXPIRED, OrderStatus.CANCELLED):
                if not child.order.status.is_terminal:
                    parent = self.parents[child.order.parent_id or ""]
                    # what the venue did not fill goes back to the schedule
                    parent.sent -= child.order.quantity - child.order.filled_quantity
                child.order.status = upd.status
                child.order.reason = upd.reason
        for fill in ev.fills:
            child = self.children.get(fill.client_order_id)
            if child is None:
                logger.warning(
                    "algo: fill {} for unknown child {} ignored", fill.execution_id, fill.client_order_id
                )
                continue
            parent = self.parents[child.order.parent_id or ""]
            if child.order.notional is not None and child.order.filled_quantity == 0:
                # the venue fixed the quantity at the fill price
                child.order.quantity = fill.quantity
                parent.order.quantity = fill.quantity
                parent.sent = fill.quantity
            child.add_fill(fill.quantity, fill.price, fill.commission)
            parent.filled += fill.quantity
            parent.value += fill.quantity * fill.price
            parent.commission += fill.commission
            if parent.status is not OrderStatus.CANCELLED:
                parent.status = (
                    OrderStatus.FILLED if parent.filled >= parent.quantity else OrderStatus.PARTIALLY_FILLED
                )
            self._positions[fill.symbol] = self._positions.get(fill.symbol, Decimal(0)) + fill.signed_quantity
            events.fills.append(
                Fill(
                    execution_id=f"{venue.name}:{fill.execution_id}",
                    client_order_id=parent.order.client_order_id,
                    symbol=fill.symbol,
                    side=fill.side,
                    quantity=fill.quantity,
                    price=fill.price,
                    commission=fill.commission,
                    timestamp=fill.timestamp,
                    strategy_id=parent.order.strategy_id,
                    correlation_id=parent.order.correlation_id,
                    venue=venue.name,
                )
            )
            changed[parent.order.client_order_id] = parent

    def _collect_shadow(self, ev: BrokerEvents) -> None:
        for fill in ev.fills:
            parent = self.parents.get(fill.client_order_id)
            if parent is None:
                continue
            parent.shadow_filled += fill.quantity
            parent.shadow_value += fill.quantity * fill.price
            parent.shadow_commission += fill.commission
        for upd in ev.updates:
            parent = self.parents.get(upd.client_order_id)
            if parent is not None and upd.status.is_terminal and upd.status is not OrderStatus.FILLED:
                parent.shadow_reason = f"shadow {upd.status.value}: {upd.reason or ''}".strip()

    def _compare_completed(self) -> None:
        """Log live against paper for each parent once both sides are done."""
        for p in self.parents.values():
            if p.shadow_done or p.is_open:
                continue
            if not self._shadow_finished(p):
                continue
            p.shadow_done = True
            row = shadow_row(p)
            self.shadow_compared.append(row)
            logger.info(
                "shadow {} {}: live {} @ {}, paper {} @ {} ({} bps)",
                row["client_order_id"],
                row["symbol"],
                row["live_filled_quantity"],
                row["live_average_price"],
                row["shadow_filled_quantity"],
                row["shadow_average_price"],
                row["price_difference_bps"],
            )

    # ------------------------------------------------------------------ report
    def execution_report(self) -> dict[str, Any]:
        """Parent and child orders, shortfall and slippage per order, strategy and venue,
        routing refusals and, in shadow mode, live against paper fills (see
        :mod:`ai_trading_execution.tracking` for the definitions). Plain JSON values."""
        parents = list(self.parents.values())
        report: dict[str, Any] = {
            "algorithm": self.params.algorithm,
            "params": self.params.model_dump(mode="json", exclude={"venues", "shadow_params"}),
            "venues": [
                {"name": v.name, "broker": v.config.broker, "cost_bps": v.config.cost_bps}
                for v in self.venues
            ],
            "parents": [parent_row(p) for p in parents],
            "children": [child_row(c) for c in self.children.values()],
            "by_strategy": by_strategy(parents),
            "total": overall(parents),
            "by_venue": by_venue(self.children.values(), self.parents),
            "routing_refusals": list(self.refusals),
        }
        if self.shadow is not None:
            rows = [shadow_row(p, self._shadow_finished(p)) for p in parents]
            report["shadow"] = {"orders": rows, "summary": shadow_summary(rows)}
        return report

    def _shadow_finished(self, p: ParentRecord) -> bool:
        """Both the parent and its shadow order are terminal (or the shadow never took it)."""
        if p.is_open:
            return False
        shadow = self.shadow.lookup_order(p.order.client_order_id) if self.shadow is not None else None
        return shadow is None or shadow.status.is_terminal

    # ------------------------------------------------------------------ helpers
    def _instrument(self, symbol: str) -> Instrument:
        return self._instruments.get(symbol) or Instrument(symbol=symbol)

    def _parent_update(self, p: ParentRecord) -> OrderUpdate:
        return OrderUpdate(
            client_order_id=p.order.client_order_id,
            status=p.status,
            timestamp=self._now(),
            broker_order_id=p.order.broker_order_id,
            filled_quantity=p.filled,
            reason=p.reason,
        )

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else to_datetime(0)
