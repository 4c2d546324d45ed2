"""The simulated broker.

Fill rules (bars labelled by open time; an order decided at a bar's close rests until the
next bar):

* market: fills at the next bar's open, moved against the trader by ``slippage_bps``;
* limit: fills when the bar trades through the limit, at the better of open and limit;
* stop: triggers when the bar trades through the stop, at the worse of open and stop plus
  slippage; stop-limit triggers then behaves as a limit within the same bar;
* DAY limit/stop orders live for one bar; GTC until filled or cancelled;
* a notional market order (``Order.notional``) buys or sells as many lots as the notional
  pays for at the fill price (rounded down); less than one lot rejects it;
* ``max_participation`` (fraction of the bar's volume) caps what market orders on one symbol
  may take from one bar, all orders on that symbol together, in submission order: the
  remainder rests as PARTIALLY_FILLED and continues on the next bar at that bar's open. A
  bar without volume (NaN or 0) fills nothing under a cap. Notional orders are not capped:
  their quantity is fixed once, at the first fill.

Fill prices are rounded to the instrument's tick against the trader (buys up, sells down);
commission is ``notional × commission_bps / 10,000 + per_unit × quantity``, at least
``commission_minimum``, in exact ``Decimal``. A symbol without a bar (NaN open) leaves its
orders resting. The broker does not check buying power: leverage is a risk check's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from decimal import Decimal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.enums import OrderStatus, OrderType, Side, TimeInForce
from ai_trading_core.errors import BrokerError
from ai_trading_core.market import MarketSlice, to_datetime
from ai_trading_core.models import Fill, Instrument, Order, OrderUpdate, trusted
from ai_trading_core.protocols import BrokerContext, BrokerEvents

_BPS = Decimal(10_000)


class SimulatedBrokerParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    commission_bps: Decimal = Field(default=Decimal(0), ge=0, description="commission, bps of notional")
    commission_per_unit: Decimal = Field(default=Decimal(0), ge=0, description="commission, currency per unit")
    commission_minimum: Decimal = Field(default=Decimal(0), ge=0, description="minimum commission per fill, currency")
    slippage_bps: Decimal = Field(default=Decimal(0), ge=0, description="adverse move of market/stop fills, bps")
    max_participation: float | None = Field(
        default=None, gt=0, le=1,
        description="fraction of a bar's volume that market orders on one symbol may take; None: no cap",
    )


class SimulatedBroker:
    name = "sim"

    def __init__(self, params: SimulatedBrokerParams | None = None) -> None:
        self.params = params or SimulatedBrokerParams()
        self._orders: dict[str, Order] = {}
        self._resting: list[Order] = []
        self._age: dict[str, int] = {}
        self._index: dict[str, int] = {}
        self._instruments: Mapping[str, Instrument] = {}
        self._positions: dict[str, Decimal] = {}
        self._exec_seq = 0
        self._clock = None

    def connect(self, ctx: BrokerContext) -> None:
        self._index = {s: i for i, s in enumerate(ctx.symbols)}
        self._instruments = ctx.instruments
        self._clock = ctx.clock

    # ------------------------------------------------------------------ requests
    def submit_order(self, order: Order) -> OrderUpdate:
        known = self._orders.get(order.client_order_id)
        if known is not None:  # idempotent by client order id
            return self._update(known, known.status)
        if order.symbol not in self._index:
            raise BrokerError(f"sim: unknown symbol {order.symbol!r}")
        copy = order.model_copy(update={"status": OrderStatus.ACCEPTED, "broker_order_id": f"sim-{len(self._orders) + 1}"})
        self._orders[order.client_order_id] = copy
        self._resting.append(copy)
        self._age[order.client_order_id] = 0
        return self._update(copy, OrderStatus.ACCEPTED)

    def cancel_order(self, client_order_id: str) -> OrderUpdate:
        order = self._orders.get(client_order_id)
        if order is None:
            raise BrokerError(f"sim: no order {client_order_id}")
        if not order.status.is_terminal:
            order.status = OrderStatus.CANCELLED
            self._resting = [o for o in self._resting if o.client_order_id != client_order_id]
        return self._update(order, order.status)

    def lookup_order(self, client_order_id: str) -> OrderUpdate | None:
        order = self._orders.get(client_order_id)
        return None if order is None else self._update(order, order.status)

    def positions(self) -> Mapping[str, Decimal]:
        return {k: v for k, v in self._positions.items() if v != 0}

    def close(self) -> None:
        self._resting.clear()

    def _update(self, order: Order, status: OrderStatus, reason: str | None = None) -> OrderUpdate:
        now = self._now()
        fields = dict(
            client_order_id=order.client_order_id, status=status, timestamp=now,
            broker_order_id=order.broker_order_id, filled_quantity=order.filled_quantity, reason=reason,
        )
        # built from the broker's own order: only a clock's time could need normalising
        return trusted(OrderUpdate, now.tzinfo is UTC, **fields)

    def _now(self):  # type: ignore[no-untyped-def]
        return self._clock.now() if self._clock is not None else to_datetime(0)

    # ------------------------------------------------------------------ matching
    def on_market(self, market: MarketSlice) -> BrokerEvents:
        events = BrokerEvents()
        if not self._resting:
            return events
        cap = self.params.max_participation
        taken: dict[str, Decimal] = {}  # units filled per symbol in this bar, under the cap
        still: list[Order] = []
        for order in self._resting:
            i = self._index[order.symbol]
            o = market.open[i]
            if not np.isfinite(o):
                still.append(order)
                continue
            price = self._match(order, float(o), float(market.high[i]), float(market.low[i]))
            if price is None:
                self._age[order.client_order_id] += 1
                if order.time_in_force is TimeInForce.GTC:
                    still.append(order)
                else:
                    order.status = OrderStatus.EXPIRED
                    events.updates.append(self._update(order, OrderStatus.EXPIRED, "not filled within its bar"))
                continue
            qty: Decimal | None = None
            if cap is not None and order.order_type is OrderType.MARKET and order.notional is None:
                qty = self._capped_quantity(order, cap, float(market.volume[i]), taken)
                if qty <= 0:
                    still.append(order)
                    continue
            fill = self._fill(order, price, market.timestamp, qty)
            if fill is not None and order.status is OrderStatus.PARTIALLY_FILLED:
                still.append(order)
                events.updates.append(self._update(order, OrderStatus.PARTIALLY_FILLED, "participation cap"))
                events.fills.append(fill)
            elif fill is None:
                order.status = OrderStatus.REJECTED
                events.updates.append(self._update(order, OrderStatus.REJECTED, "notional buys less than one lot"))
            else:
                events.fills.append(fill)
        self._resting = still
        return events

    def _match(self, order: Order, o: float, h: float, lo: float) -> Decimal | None:
        slip = self.params.slippage_bps / _BPS
        buy = order.side is Side.BUY
        kind = order.order_type
        if kind is OrderType.MARKET:
            px = Decimal(repr(o))
            return px * (1 + slip) if buy else px * (1 - slip)
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT):
            stop = order.stop_price
            assert stop is not None
            triggered = h >= float(stop) if buy else lo <= float(stop)
            if not triggered:
                return None
            if kind is OrderType.STOP:
                base = max(Decimal(repr(o)), stop) if buy else min(Decimal(repr(o)), stop)
                return base * (1 + slip) if buy else base * (1 - slip)
        limit = order.limit_price
        assert limit is not None
        if buy and lo <= float(limit):
            return min(Decimal(repr(o)), limit)
        if not buy and h >= float(limit):
            return max(Decimal(repr(o)), limit)
        return None

    def _capped_quantity(self, order: Order, cap: float, volume: float, taken: dict[str, Decimal]) -> Decimal:
        """Units ``order`` may fill in this bar: ``cap × volume`` (rounded down to the lot)
        less what earlier orders on the symbol took from the same bar; at most its remainder."""
        if not np.isfinite(volume) or volume <= 0:
            return Decimal(0)
        inst = self._instruments.get(order.symbol) or Instrument(symbol=order.symbol)
        limit = inst.round_quantity(Decimal(repr(cap)) * Decimal(repr(volume)))
        used = taken.get(order.symbol, Decimal(0))
        qty = min(order.remaining_quantity, limit - used)
        if qty > 0:
            taken[order.symbol] = used + qty
        return qty

    def _fill(self, order: Order, raw_price: Decimal, ts: int,
              quantity: Decimal | None = None) -> Fill | None:
        inst = self._instruments.get(order.symbol) or Instrument(symbol=order.symbol)
        price = inst.round_price(raw_price, order.side)
        qty = order.remaining_quantity if quantity is None else quantity
        if order.notional is not None:
            # quantity fixed now, at the fill price: as many lots as the notional buys
            qty = inst.round_quantity(order.notional / price)
            if qty <= 0:
                return None
            order.quantity = qty
        p = self.params
        commission = qty * price * p.commission_bps / _BPS + p.commission_per_unit * qty
        commission = max(commission, p.commission_minimum) if commission or p.commission_minimum else commission
        self._exec_seq += 1
        order.filled_quantity += qty
        done = order.filled_quantity >= order.quantity
        order.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        self._positions[order.symbol] = self._positions.get(order.symbol, Decimal(0)) + (qty if order.side is Side.BUY else -qty)
        fields = dict(
            # unique across runs and restarts sharing one database: the order's id, then a count
            execution_id=f"sim-{order.client_order_id}-x{self._exec_seq}",
            client_order_id=order.client_order_id, symbol=order.symbol,
            side=order.side, quantity=qty, price=price, commission=commission, timestamp=to_datetime(ts),
            strategy_id=order.strategy_id, correlation_id=order.correlation_id, venue="sim",
        )
        # what validation would check, checked here; a non-positive price fails validation
        return trusted(Fill, qty > 0 and price > 0 and price.is_finite(), **fields)
