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

Fill prices are rounded to the tick against the trader (buys up, sells down), then kept
inside the bar's range (below). Commission is ``notional × commission_bps / 10,000 + per_unit × quantity``, at least
``commission_minimum``, in exact ``Decimal``. A symbol without a bar (NaN open) leaves its
orders resting. The broker does not check buying power: leverage is a risk check's job.

Price guards (see the research-guards page of the documentation):

* **tick**: the instrument's ``tick_size`` when the data source configured one; otherwise
  the finer of 0.01 and the decimal places of the prices being filled (the bar's OHLC and
  the order's limit or stop, at most ``MAX_TICK_DECIMALS``), so a 0.004 open is filled to
  0.001, not rounded to zero. The tick is a function of the fill's own bar: the same fill
  in per-bar and in block mode, whatever bars the broker saw before;
* **bar range**: the rounded price is clamped to the bar's ``[low, high]`` snapped inward
  to the tick (as backtrader's ``slip_match``): slippage and rounding never fill at a price
  the bar did not trade. When no tick price lies inside the range (a bar narrower than one
  tick) the rounded price stands, outside the range by less than one tick;
* **sanity**: a fill price that is zero or moves more than ``max_fill_move`` (fraction)
  from its reference (the open, or the limit/stop base, before slippage) raises
  :class:`FillPriceError` before anything is filled in that bar; the engine halts the run
  with that one-line reason (fail-closed) instead of booking a price the data cannot
  support.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ai_trading_core.batch import OrderBatch, decimal_places, to_scaled
from ai_trading_core.enums import OrderStatus, OrderType, Side, TimeInForce
from ai_trading_core.errors import BrokerError
from ai_trading_core.market import MarketSlice, to_datetime
from ai_trading_core.models import Fill, Instrument, Order, OrderUpdate, trusted
from ai_trading_core.protocols import BrokerContext, BrokerEvents

from .columns import Resting, match

_BPS = Decimal(10_000)
_DEFAULT_TICK = Decimal("0.01")
MAX_TICK_DECIMALS = 10
"""Finest tick inferred from the data: 1e-10 (a float's repr may carry 17 digits)."""


class FillPriceError(BrokerError):
    """A fill price the data cannot support: rounded to zero, or moved more than
    ``max_fill_move`` from its reference. The engine halts the run with this message."""


def data_tick(*prices: float | Decimal | None) -> Decimal:
    """The tick for prices of unknown increment: the finer of 0.01 and the finest decimal
    place among ``prices`` (their shortest ``repr``), at most ``MAX_TICK_DECIMALS`` places.
    Non-finite and missing prices are ignored."""
    places = 2
    for x in prices:
        if x is None:
            continue
        d = x if isinstance(x, Decimal) else Decimal(repr(float(x)))
        if not d.is_finite():
            continue
        exponent = d.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            places = -exponent
    return _DEFAULT_TICK if places == 2 else Decimal(1).scaleb(-min(places, MAX_TICK_DECIMALS))


def _to_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).to_integral_value(rounding=rounding) * tick


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
    max_fill_move: float = Field(
        default=0.05, gt=0, le=1,
        description="largest move of a fill price from its reference (open, limit or stop before slippage), "
        "fraction; a larger move (or a price rounded to zero) halts the run",
    )

    @model_validator(mode="after")
    def _slippage_within_move(self) -> SimulatedBrokerParams:
        if self.slippage_bps / _BPS >= Decimal(repr(self.max_fill_move)):
            raise ValueError(
                f"slippage_bps ({self.slippage_bps}) must be below max_fill_move ({self.max_fill_move:g} "
                f"= {Decimal(repr(self.max_fill_move)) * _BPS:g} bps): every slipped fill would halt the run"
            )
        return self


class SimulatedBroker:
    name = "sim"
    unknown_order_budget_s = 0.0
    """In-process: an order it has not seen was never placed (it cannot accept late), so the
    engine need not wait before declaring an unknown order rejected."""

    def __init__(self, params: SimulatedBrokerParams | None = None) -> None:
        self.params = params or SimulatedBrokerParams()
        self._orders: dict[str, Order] = {}
        self._resting: list[Order] = []
        self._age: dict[str, int] = {}
        self._index: dict[str, int] = {}
        self._instruments: Mapping[str, Instrument] = {}
        self._positions: dict[str, Decimal] = {}
        self._exec_seq = 0
        self._order_count = 0  # orders taken, one by one or as columns: their ids' numbers
        self._clock = None
        self._columns = Resting()  # market orders taken as columns (submit_batch)
        self._configured_ticks: list[Decimal | None] = []
        self._column_positions = np.zeros(0, dtype=np.int64)  # units at _column_qty_scale
        self._column_qty_scale = 0
        self._lot_arrays: dict[int, Any] = {}

    @property
    def accepts_batches(self) -> bool:
        """Market orders may come as columns (:meth:`submit_batch`) unless a participation
        cap is set (the cap shares a bar's volume among orders in submission order, which the
        object path does) or a subclass changes how orders are submitted or matched (it
        expects them one by one)."""
        cls = type(self)
        plain = cls.submit_order is SimulatedBroker.submit_order and cls.on_market is SimulatedBroker.on_market
        return plain and self.params.max_participation is None

    def submit_batch(self, batch: OrderBatch, rows: Any) -> list[str]:
        """Accept the market orders of ``batch``; ``rows`` are the engine's row numbers for
        them, echoed in the fills. Returns the broker's order ids (numbered with the orders
        taken one by one). Unknown symbols cannot occur: the batch indexes the run's universe,
        which :meth:`connect` received."""
        self._columns.add(rows, batch)
        start = self._order_count
        self._order_count += len(batch)
        return [f"sim-{n}" for n in range(start + 1, start + len(batch) + 1)]

    def cancel_rows(self, rows: Any) -> list[int]:
        """Cancel resting columnar orders by engine row; returns the rows that were still
        resting (the others had filled or ended)."""
        mask = np.isin(self._columns.row, np.asarray(rows, dtype=np.int64))
        gone = self._columns.row[mask].tolist()
        self._columns.keep(~mask)
        return gone

    def connect(self, ctx: BrokerContext) -> None:
        self._index = {s: i for i, s in enumerate(ctx.symbols)}
        self._instruments = ctx.instruments
        self._clock = ctx.clock
        self._symbols = ctx.symbols
        self._configured_ticks = [
            inst.tick_size if inst is not None and "tick_size" in inst.model_fields_set else None
            for inst in (ctx.instruments.get(s) for s in ctx.symbols)
        ]
        self._column_positions = np.zeros(len(ctx.symbols), dtype=np.int64)
        # configured ticks as integers on the finest configured grid; -1 places: inferred
        self._tick_places = np.array(
            [-1 if t is None else decimal_places(t) for t in self._configured_ticks], dtype=np.int64
        )
        self._tick_scale = int(self._tick_places.max(initial=0))
        self._all_configured = bool((self._tick_places >= 0).all())
        self._tick_units = np.array(
            [0 if t is None else to_scaled(t, self._tick_scale) for t in self._configured_ticks], dtype=np.int64
        )

    # ------------------------------------------------------------------ requests
    def submit_order(self, order: Order) -> OrderUpdate:
        known = self._orders.get(order.client_order_id)
        if known is not None:  # idempotent by client order id
            return self._update(known, known.status)
        if order.symbol not in self._index:
            raise BrokerError(f"sim: unknown symbol {order.symbol!r}")
        self._order_count += 1
        copy = order.model_copy(update={"status": OrderStatus.ACCEPTED, "broker_order_id": f"sim-{self._order_count}"})
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
        held = dict(self._positions)
        for i in np.flatnonzero(self._column_positions).tolist():
            symbol = self._symbols[i]
            units = Decimal(int(self._column_positions[i])).scaleb(-self._column_qty_scale)
            held[symbol] = held.get(symbol, Decimal(0)) + units
        return {k: v for k, v in held.items() if v != 0}

    # ------------------------------------------------------------------ columnar helpers
    def _column_ticks(self, idx: Any, o: Any, h: Any, lo: Any, c: Any) -> tuple[int, Any]:
        """(P, ticks): the grid of one bar's columnar orders (``10^-P``: at least the finest
        configured tick of the universe) and each order's tick as an integer at P places: the
        instrument's configured tick, else the one inferred from the bar's prices
        (:func:`data_tick`, vectorised)."""
        if self._all_configured:
            return self._tick_scale, self._tick_units[idx]
        from .columns import shortest_places

        places = self._tick_places[idx]
        inferred = places < 0
        scale = self._tick_scale
        if inferred.any():
            data = np.maximum.reduce([shortest_places(a[inferred], MAX_TICK_DECIMALS) for a in (o, h, lo, c)])
            places = places.copy()
            places[inferred] = np.clip(data, 2, MAX_TICK_DECIMALS)
            scale = max(scale, int(places.max()))
        tick = self._tick_units[idx] * 10 ** (scale - self._tick_scale)
        if inferred.any():
            tick[inferred] = 10 ** (scale - places[inferred])
        return scale, tick

    def _lot_array(self, qty_scale: int) -> Any:
        """Per symbol, the lot size in units at ``qty_scale`` decimal places (int64, kept)."""
        cached = self._lot_arrays.get(qty_scale)
        if cached is None:
            cached = self._lot_arrays[qty_scale] = np.array(
                [int((self._instruments.get(s) or Instrument(symbol=s)).lot_size.scaleb(qty_scale)) for s in self._symbols],
                dtype=np.int64,
            )
        return cached

    def _book_positions(self, index: Any, signed_units: Any, qty_scale: int) -> None:
        if qty_scale > self._column_qty_scale:
            self._column_positions *= 10 ** (qty_scale - self._column_qty_scale)
            self._column_qty_scale = qty_scale
        signed_units = signed_units * 10 ** (self._column_qty_scale - qty_scale)
        np.add.at(self._column_positions, index, signed_units)

    def _row_order(self, i: int, buy: bool, units: int, qty_scale: int) -> Order:
        """A stand-in ``Order`` for one columnar row, for the exact object-path pricing."""
        quantity = Decimal(int(units)).scaleb(-qty_scale) or Decimal(1)
        return trusted(
            Order, client_order_id="columnar", symbol=self._symbols[i], side=Side.BUY if buy else Side.SELL,
            quantity=quantity, created_at=self._now(),
        )

    def _price_columnar_row(self, market: MarketSlice, i: int, buy: bool, units: int, qty_scale: int) -> Decimal:
        price = self._price(self._row_order(i, buy, units, qty_scale), market)
        assert price is not None  # a market order with an open always prices
        return price

    def _check_price_columnar(
        self, market: MarketSlice, i: int, buy: bool, price: Decimal, open_: float, tick: Decimal, units: int,
        qty_scale: int,
    ) -> None:
        order = self._row_order(i, buy, units, qty_scale)
        self._check_price(order, price.normalize() if price else Decimal(0), Decimal(repr(open_)), tick, market.timestamp)

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
        if len(self._columns):
            # priced and sanity-checked before any fill of this bar, as the object path does
            events.batch = match(self, self._columns, market)
        if not self._resting:
            return events
        cap = self.params.max_participation
        taken: dict[str, Decimal] = {}  # units filled per symbol in this bar, under the cap
        still: list[Order] = []
        # Price every order first: a price that fails the sanity check raises before anything
        # in this bar is filled, so the broker's state and the engine's ledger stay in step.
        priced = [(order, self._price(order, market)) for order in self._resting]
        for order, price in priced:
            i = self._index[order.symbol]
            if not np.isfinite(market.open[i]):
                still.append(order)
                continue
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

    def _price(self, order: Order, market: MarketSlice) -> Decimal | None:
        """The fill price of ``order`` in this bar (tick-rounded, within the bar's range), or
        None when it does not fill here. Raises :class:`FillPriceError` (see the module doc)."""
        i = self._index[order.symbol]
        o, h, lo = float(market.open[i]), float(market.high[i]), float(market.low[i])
        if not np.isfinite(o):
            return None
        matched = self._match(order, o, h, lo)
        if matched is None:
            return None
        raw, reference = matched
        inst = self._instruments.get(order.symbol) or Instrument(symbol=order.symbol)
        if "tick_size" in inst.model_fields_set:
            tick = inst.tick_size
        else:
            tick = data_tick(o, h, lo, float(market.close[i]), order.limit_price, order.stop_price)
        buy = order.side is Side.BUY
        price = _to_tick(raw, tick, ROUND_CEILING if buy else ROUND_FLOOR)
        limit = order.limit_price
        if limit is not None and order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            # rounding never crosses the limit: a buy pays at most it, a sell gets at least it
            if buy:
                price = min(price, _to_tick(limit, tick, ROUND_FLOOR))
            else:
                price = max(price, _to_tick(limit, tick, ROUND_CEILING))
        if np.isfinite(h) and np.isfinite(lo) and lo <= h:
            floor = _to_tick(Decimal(repr(lo)), tick, ROUND_CEILING)
            ceiling = _to_tick(Decimal(repr(h)), tick, ROUND_FLOOR)
            if floor <= ceiling:
                price = min(max(price, floor), ceiling)
        price = price.normalize() if price else Decimal(0)
        self._check_price(order, price, reference, tick, market.timestamp)
        return price

    def _check_price(self, order: Order, price: Decimal, reference: Decimal, tick: Decimal, ts: int) -> None:
        what = f"{order.side.value} {order.quantity} {order.symbol} at {to_datetime(ts).isoformat()}"
        if price <= 0 or reference <= 0:
            raise FillPriceError(
                f"sim: fill price {price} for {what} rounds to zero (reference {reference.normalize()}, "
                f"tick {tick}); configure the instrument's tick_size to the data's increment"
            )
        move = abs(price - reference) / reference
        limit = Decimal(repr(self.params.max_fill_move))
        if move > limit:
            raise FillPriceError(
                f"sim: fill price {price} for {what} moves {float(move):.2%} from the reference "
                f"{reference.normalize()} (tick {tick}, slippage {self.params.slippage_bps} bps), more than "
                f"max_fill_move {float(limit):.2%}; configure the instrument's tick_size or max_fill_move"
            )

    def _match(self, order: Order, o: float, h: float, lo: float) -> tuple[Decimal, Decimal] | None:
        """(price after slippage, reference before it), or None when the bar does not fill
        the order."""
        slip = self.params.slippage_bps / _BPS
        buy = order.side is Side.BUY
        kind = order.order_type
        if kind is OrderType.MARKET:
            px = Decimal(repr(o))
            return (px * (1 + slip) if buy else px * (1 - slip)), px
        if kind in (OrderType.STOP, OrderType.STOP_LIMIT):
            stop = order.stop_price
            assert stop is not None
            triggered = h >= float(stop) if buy else lo <= float(stop)
            if not triggered:
                return None
            if kind is OrderType.STOP:
                base = max(Decimal(repr(o)), stop) if buy else min(Decimal(repr(o)), stop)
                return (base * (1 + slip) if buy else base * (1 - slip)), base
        limit = order.limit_price
        assert limit is not None
        if buy and lo <= float(limit):
            px = min(Decimal(repr(o)), limit)
            return px, px
        if not buy and h >= float(limit):
            px = max(Decimal(repr(o)), limit)
            return px, px
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

    def _fill(self, order: Order, price: Decimal, ts: int,
              quantity: Decimal | None = None) -> Fill | None:
        inst = self._instruments.get(order.symbol) or Instrument(symbol=order.symbol)
        # price: already on the tick, inside the bar and checked (_price)
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

