{%- if cookiecutter.role == "strategy" -%}
"""The {{ cookiecutter.component }} strategy. Replace the rule in ``on_slice`` with yours.

Placeholder rule, at each bar's close: target 1 while the close is above its simple moving
average of ``lookback`` closes, else 0 (or -1 when ``long_only`` is false); NaN (no opinion)
until ``lookback`` closes exist or when the window has a missing bar.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.enums import StrategyType, Timeframe
from ai_trading_core.market import FloatArray, History, MarketSlice


class {{ cookiecutter.class_name }}Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lookback: int = Field(default=20, ge=2, description="moving-average window, bars")
    long_only: bool = Field(default=True, description="below the average: flat instead of short")


class {{ cookiecutter.class_name }}:
    strategy_type = StrategyType.TECHNICAL

    def __init__(self, params: {{ cookiecutter.class_name }}Params, strategy_id: str = "{{ cookiecutter.component }}") -> None:
        self.strategy_id = strategy_id
        self.lookback = params.lookback
        self.low = 0.0 if params.long_only else -1.0
        self.warmup = params.lookback

    def prepare(self, symbols: tuple[str, ...], timeframe: Timeframe) -> None:
        """Called once before the first slice; nothing to precompute here."""

    def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
        if history.count < self.lookback:
            return np.full(len(market.close), np.nan)
        average = history.close(self.lookback).mean(axis=0)
        target = np.where(market.close > average, 1.0, self.low)
        target[~np.isfinite(average)] = np.nan
        return target
{%- elif cookiecutter.role == "data_source" -%}
"""The {{ cookiecutter.component }} data source. Replace ``_read`` with your vendor or files.

Placeholder: a seeded geometric random walk per symbol, daily bars at UTC midnight (bars are
labelled by their open time). ``load(start, end)`` returns the bars whose open time lies in
[start, end], both inclusive.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.enums import Timeframe
from ai_trading_core.market import BarPanel, to_ns
from ai_trading_core.models import Instrument

_START_NS = 1_577_836_800 * 1_000_000_000  # 2020-01-01T00:00Z
_DAY_NS = 86_400 * 1_000_000_000


class {{ cookiecutter.class_name }}Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_symbols: int = Field(default=3, ge=1, description="symbols S000, S001, ...")
    n_bars: int = Field(default=500, ge=2, description="daily bars per symbol")
    volatility: float = Field(default=0.02, gt=0, description="per-bar standard deviation of log returns, fraction")
    seed: int | None = Field(default=None, description="random seed; default: the run's seed")


class {{ cookiecutter.class_name }}:
    def __init__(self, params: {{ cookiecutter.class_name }}Params, default_seed: int = 0) -> None:
        self.params = params
        self.seed = params.seed if params.seed is not None else default_seed

    def load(self, start: datetime | None = None, end: datetime | None = None) -> BarPanel:
        panel = self._read()
        return panel.select(start=to_ns(start) if start else None, end=to_ns(end) if end else None)

    def _read(self) -> BarPanel:
        p = self.params
        rng = np.random.default_rng(self.seed)
        symbols = tuple(f"S{i:03d}" for i in range(p.n_symbols))
        rets = rng.normal(0.0, p.volatility, size=(p.n_bars, p.n_symbols))
        close = 100.0 * np.exp(np.cumsum(rets, axis=0))
        open_ = np.vstack([np.full((1, p.n_symbols), 100.0), close[:-1]])
        high = np.maximum(open_, close) * (1 + p.volatility / 4)
        low = np.minimum(open_, close) * (1 - p.volatility / 4)
        volume = rng.integers(1_000, 100_000, size=(p.n_bars, p.n_symbols)).astype(np.float64)
        timestamps = _START_NS + _DAY_NS * np.arange(p.n_bars, dtype=np.int64)
        return BarPanel(
            symbols=symbols, timestamps=timestamps, open=open_, high=high, low=low, close=close, volume=volume,
            timeframe=Timeframe.D1, instruments={s: Instrument(symbol=s) for s in symbols},
            source="{{ cookiecutter.component }}",
        )
{%- elif cookiecutter.role == "broker" -%}
"""The {{ cookiecutter.component }} broker. Replace the matching with calls to your venue.

Placeholder: a paper broker. Market orders rest until the next bar and fill at its open (bars
are labelled by open time; an order decided at a bar's close cannot fill earlier); a symbol
without a bar keeps its orders resting. Other order types are refused with ``BrokerError``.
Submission is idempotent by ``client_order_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.enums import OrderStatus, OrderType, Side
from ai_trading_core.errors import BrokerError
from ai_trading_core.market import MarketSlice, to_datetime
from ai_trading_core.models import Fill, Instrument, Order, OrderUpdate
from ai_trading_core.protocols import BrokerContext, BrokerEvents


class {{ cookiecutter.class_name }}Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    commission_bps: Decimal = Field(default=Decimal(0), ge=0, description="commission, bps of notional")


class {{ cookiecutter.class_name }}:
    name = "{{ cookiecutter.component }}"

    def __init__(self, params: {{ cookiecutter.class_name }}Params) -> None:
        self.params = params
        self._orders: dict[str, Order] = {}
        self._resting: list[str] = []
        self._positions: dict[str, Decimal] = {}
        self._instruments: Mapping[str, Instrument] = {}
        self._index: dict[str, int] = {}
        self._clock = None
        self._executions = 0

    def connect(self, ctx: BrokerContext) -> None:
        self._instruments = ctx.instruments
        self._index = {s: i for i, s in enumerate(ctx.symbols)}
        self._clock = ctx.clock

    def submit_order(self, order: Order) -> OrderUpdate:
        known = self._orders.get(order.client_order_id)
        if known is not None:
            return self._update(known)
        if order.order_type is not OrderType.MARKET:
            raise BrokerError(f"{self.name}: only market orders are supported, got {order.order_type.value}")
        if order.symbol not in self._index:
            raise BrokerError(f"{self.name}: unknown symbol {order.symbol!r}")
        accepted = order.model_copy(update={"status": OrderStatus.ACCEPTED,
                                            "broker_order_id": f"{self.name}-{len(self._orders) + 1}"})
        self._orders[order.client_order_id] = accepted
        self._resting.append(order.client_order_id)
        return self._update(accepted)

    def cancel_order(self, client_order_id: str) -> OrderUpdate:
        order = self._orders.get(client_order_id)
        if order is None:
            raise BrokerError(f"{self.name}: no order {client_order_id}")
        if not order.status.is_terminal:
            order.status = OrderStatus.CANCELLED
            self._resting.remove(client_order_id)
        return self._update(order)

    def lookup_order(self, client_order_id: str) -> OrderUpdate | None:
        order = self._orders.get(client_order_id)
        return None if order is None else self._update(order)

    def on_market(self, market: MarketSlice) -> BrokerEvents:
        events = BrokerEvents()
        still = []
        for coid in self._resting:
            order = self._orders[coid]
            price = market.open[self._index[order.symbol]]
            if not np.isfinite(price):
                still.append(coid)
                continue
            events.fills.append(self._fill(order, Decimal(repr(float(price))), market.timestamp))
        self._resting = still
        return events

    def positions(self) -> Mapping[str, Decimal]:
        return {s: q for s, q in self._positions.items() if q != 0}

    def close(self) -> None:
        self._resting.clear()

    def _fill(self, order: Order, raw_price: Decimal, ts: int) -> Fill:
        inst = self._instruments.get(order.symbol) or Instrument(symbol=order.symbol)
        price = inst.round_price(raw_price, order.side)
        qty = order.quantity - order.filled_quantity
        order.filled_quantity += qty
        order.status = OrderStatus.FILLED
        signed = qty if order.side is Side.BUY else -qty
        self._positions[order.symbol] = self._positions.get(order.symbol, Decimal(0)) + signed
        self._executions += 1
        return Fill(
            execution_id=f"{self.name}-x{self._executions}", client_order_id=order.client_order_id,
            symbol=order.symbol, side=order.side, quantity=qty, price=price,
            commission=qty * price * self.params.commission_bps / Decimal(10_000), timestamp=to_datetime(ts),
            strategy_id=order.strategy_id, correlation_id=order.correlation_id, venue=self.name,
        )

    def _update(self, order: Order) -> OrderUpdate:
        now = self._clock.now() if self._clock is not None else to_datetime(0)
        return OrderUpdate(client_order_id=order.client_order_id, status=order.status, timestamp=now,
                           broker_order_id=order.broker_order_id, filled_quantity=order.filled_quantity)
{%- elif cookiecutter.role == "sizer" -%}
"""The {{ cookiecutter.component }} position sizer. Replace ``target_positions`` with yours.

Placeholder: ``units = strength × fraction × equity / price`` per symbol. A NaN strength or a
missing (NaN or non-positive) price gives NaN: keep the current position.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.market import FloatArray
from ai_trading_core.protocols import SizingContext


class {{ cookiecutter.class_name }}Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fraction: float = Field(default=0.1, gt=0, le=1, description="fraction of equity per symbol at full strength")


class {{ cookiecutter.class_name }}:
    def __init__(self, params: {{ cookiecutter.class_name }}Params) -> None:
        self.fraction = params.fraction

    def target_positions(self, targets: FloatArray, ctx: SizingContext) -> FloatArray:
        prices = ctx.prices
        with np.errstate(divide="ignore", invalid="ignore"):
            units = targets * self.fraction * ctx.equity / prices
        units[~np.isfinite(prices) | (prices <= 0)] = np.nan
        return units
{%- elif cookiecutter.role == "risk_check" -%}
"""The {{ cookiecutter.component }} risk check. Replace the limit with yours.

Placeholder limit: an order's notional (quantity × last price) may not exceed
``max_order_fraction`` of equity. A larger order is resized to the largest whole quantity
within the limit, or rejected when that is zero; an order for a symbol without a price is
rejected (fail closed). The check never changes the risk state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.enums import RiskDecision
from ai_trading_core.market import to_datetime
from ai_trading_core.models import Order, RiskVerdict
from ai_trading_core.protocols import RiskContext, RiskStateRequest


class {{ cookiecutter.class_name }}Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_order_fraction: float = Field(default=0.2, gt=0, description="largest order notional, fraction of equity")


class {{ cookiecutter.class_name }}:
    def __init__(self, params: {{ cookiecutter.class_name }}Params, name: str = "{{ cookiecutter.component }}") -> None:
        self.name = name
        self.max_order_fraction = params.max_order_fraction

    def check(self, orders: Sequence[Order], ctx: RiskContext) -> list[RiskVerdict]:
        when = to_datetime(ctx.timestamp)
        limit = self.max_order_fraction
        verdicts = []
        for order in orders:
            price = float(ctx.prices[ctx.symbol_index[order.symbol]])
            common = {"check": self.name, "timestamp": when, "symbol": order.symbol, "limit": limit,
                      "client_order_id": order.client_order_id, "correlation_id": order.correlation_id,
                      "requested_quantity": order.quantity}
            if not math.isfinite(price) or price <= 0 or ctx.equity <= 0:
                verdicts.append(RiskVerdict(decision=RiskDecision.REJECT, reason="no price or equity", **common))
                continue
            measured = float(order.quantity) * price / ctx.equity
            if measured <= limit:
                verdicts.append(RiskVerdict(decision=RiskDecision.APPROVE, measured=measured, **common))
                continue
            allowed = Decimal(repr(limit * ctx.equity / price)).quantize(Decimal(1), rounding=ROUND_DOWN)
            allowed = min(allowed, order.quantity)
            decision = RiskDecision.RESIZE if allowed > 0 else RiskDecision.REJECT
            verdicts.append(RiskVerdict(
                decision=decision, measured=measured, approved_quantity=allowed if allowed > 0 else None,
                reason=f"order notional {measured:.2%} of equity above {limit:.2%}", **common,
            ))
        return verdicts

    def update(self, ctx: RiskContext) -> RiskStateRequest | None:
        return None
{%- endif %}
