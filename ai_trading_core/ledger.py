"""The portfolio ledger in exact integers: quantities at ``qty_scale`` decimal places, prices
at ``price_scale``, money (cash, cost bases, realised P&L, commissions) at ``money_scale``,
with float64 mirrors for vectorised marking to market. Cash changes only by fills (notional
and commission), so it never drifts: every figure can be re-derived from the fills.

Fills arrive one at a time as ``Fill`` objects (live brokers, recovery) or as a columnar
:class:`~ai_trading_core.batch.FillBatch` (the simulated broker); both go through the same
integer arithmetic, and no ``Decimal`` is made per fill on the batch path. A fill finer than
the ledger's scales (a venue quoting more decimals than the instrument's tick) rescales the
ledger: integers are multiplied by a power of ten, nothing is rounded.

Realised P&L of a partial close releases the position's cost basis pro rata: the released
share is rounded to the money unit (half even) and the remainder stays in the basis, so a
round trip's P&L is exactly its exit value less its entry value and commissions. The
``Decimal`` views (``cash``, ``quantities``, ``avg_prices``, ``realized``, ``trades``) are
built on demand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from .batch import decimal_places, plain, scaled_strings
from .enums import Side
from .market import FloatArray, to_datetime
from .models import Fill, Position, StrategyPerformance, Trade, trusted

if TYPE_CHECKING:
    from .batch import FillBatch

ZERO = Decimal(0)
_sum = np.add.reduce


def _div_half_even(num: int, den: int) -> int:
    """``num / den`` rounded half to even (``den`` > 0)."""
    q, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and q & 1):
        q += 1
    return q


@dataclass(slots=True)
class _OpenTrade:
    side: Side
    entry_ns: int
    entry_qty: int  # units bought (or sold short) while opening/adding, qty scale
    entry_value: int  # currency paid for them, money scale
    exit_qty: int
    exit_value: int
    max_abs_qty: int
    realized: int  # realised P&L net of commission, money scale
    commission: int
    strategy_id: str
    last_ns: int


class Portfolio:
    """Cash, positions, cost bases, realised P&L and round-trip trades, in exact integers."""

    __slots__ = (
        "symbols",
        "index",
        "qty_scale",
        "price_scale",
        "money_scale",
        "_q",
        "_cost",
        "_real",
        "_cash",
        "_initial",
        "qty_f",
        "last_price",
        "cash_f",
        "_closed",
        "_trades",
        "_open",
        "_performance",
        "_mark_price",
        "cash_flows",
        "_qdiv",
        "_mdiv",
        "_pm",
    )

    def __init__(
        self,
        symbols: tuple[str, ...],
        initial_cash: Decimal,
        *,
        qty_scale: int = 0,
        price_scale: int = 2,
    ) -> None:
        self.symbols = symbols
        self.index = {s: i for i, s in enumerate(symbols)}
        n = len(symbols)
        self.qty_scale = qty_scale
        self.price_scale = price_scale
        self.money_scale = max(qty_scale + price_scale, decimal_places(initial_cash))
        self._q = [0] * n
        self._cost = [0] * n
        self._real = [0] * n
        self._cash = int(initial_cash.scaleb(self.money_scale))
        self._initial = self._cash
        self.qty_f = np.zeros(n)
        self.last_price = np.full(n, np.nan)  # NaN until a symbol's first price
        self._mark_price = np.zeros(n)  # same, 0 where unknown: marks without nan_to_num
        self.cash_flows = np.zeros(n)  # currency, per symbol: -(signed notional + commission)
        self._closed: list[tuple] = []  # closed trades, raw (see _close_trade)
        self._trades: list[Trade] = []  # Trade views of _closed, built on demand
        self._open: dict[int, _OpenTrade] = {}
        self._performance: dict[str, StrategyPerformance] = {}
        self._set_factors()
        self.cash_f = self._cash / self._mdiv

    def _set_factors(self) -> None:
        self._qdiv = 10**self.qty_scale
        self._mdiv = 10**self.money_scale
        self._pm = 10 ** (self.money_scale - self.qty_scale - self.price_scale)

    # ------------------------------------------------------------------ scales
    def _rescale(self, qty_scale: int, price_scale: int, money_scale: int) -> None:
        """Move to finer scales (never coarser): integers are multiplied, nothing rounds."""
        qty_scale = max(qty_scale, self.qty_scale)
        price_scale = max(price_scale, self.price_scale)
        money_scale = max(money_scale, self.money_scale, qty_scale + price_scale)
        kq = 10 ** (qty_scale - self.qty_scale)
        km = 10 ** (money_scale - self.money_scale)
        if kq != 1:
            self._q = [q * kq for q in self._q]
        if km != 1:
            self._cost = [c * km for c in self._cost]
            self._real = [r * km for r in self._real]
            self._cash *= km
            self._initial *= km
        for t in self._open.values():
            t.entry_qty *= kq
            t.exit_qty *= kq
            t.max_abs_qty *= kq
            t.entry_value *= km
            t.exit_value *= km
            t.realized *= km
            t.commission *= km
        self.qty_scale, self.price_scale, self.money_scale = qty_scale, price_scale, money_scale
        self._set_factors()

    def _money(self, value: Decimal) -> int:
        places = decimal_places(value)
        if places > self.money_scale:
            self._rescale(self.qty_scale, self.price_scale, places)
        return int(value.scaleb(self.money_scale))

    # ------------------------------------------------------------------ views
    @property
    def cash(self) -> Decimal:
        return plain(Decimal(self._cash).scaleb(-self.money_scale))

    @property
    def initial_cash(self) -> Decimal:
        return plain(Decimal(self._initial).scaleb(-self.money_scale))

    def _qty(self, q: int) -> Decimal:
        return plain(Decimal(q).scaleb(-self.qty_scale)) if q else ZERO

    def _amount(self, m: int) -> Decimal:
        return plain(Decimal(m).scaleb(-self.money_scale)) if m else ZERO

    @property
    def quantities(self) -> list[Decimal]:
        return [self._qty(q) for q in self._q]

    def quantity(self, i: int) -> Decimal:
        return self._qty(self._q[i])

    @property
    def avg_prices(self) -> list[Decimal]:
        return [self.avg_price(i) for i in range(len(self._q))]

    def avg_price(self, i: int) -> Decimal:
        q = self._q[i]
        if not q:
            return ZERO
        return plain(Decimal(self._cost[i]).scaleb(-self.money_scale) / Decimal(q).scaleb(-self.qty_scale))

    @property
    def realized(self) -> list[Decimal]:
        return [self._amount(r) for r in self._real]

    @property
    def trades(self) -> list[Trade]:
        """Closed round trips, oldest first (views built on demand and kept)."""
        for raw in self._closed[len(self._trades) :]:
            self._trades.append(self._trade_view(raw))
        return self._trades

    @property
    def closed_trade_count(self) -> int:
        return len(self._closed)

    # ------------------------------------------------------------------ marking
    def mark(self, close: FloatArray) -> tuple[float, float, float]:
        """Update last prices from a cross-section (NaN keeps the previous price) and return
        (equity, gross exposure, net exposure) in currency (floats, for analytics)."""
        finite = np.isfinite(close)
        np.copyto(self.last_price, close, where=finite)
        np.copyto(self._mark_price, close, where=finite)
        values = self.qty_f * self._mark_price
        net = float(_sum(values))  # ndarray.sum without its Python wrapper: same result
        return self.cash_f + net, float(_sum(np.abs(values))), net

    # ------------------------------------------------------------------ account
    def adopt_account(
        self, cash: Decimal, positions: Mapping[str, tuple[Decimal, Decimal]], at_ns: int = 0
    ) -> None:
        """Start from a broker account's state: ``cash`` (currency) and, per symbol of the
        run, (signed units, average entry price). Holdings in other symbols are not the run's.
        An adopted position opens a trade at its average entry price, time ``at_ns``."""
        for qty, avg in positions.values():
            self._rescale(decimal_places(qty), decimal_places(avg), 0)
        self._cash = self._money(cash)
        self._initial = self._cash
        self.cash_f = self._cash / self._mdiv
        for symbol, (qty, avg) in positions.items():
            i = self.index.get(symbol)
            if i is None or qty == 0:
                continue
            q = int(qty.scaleb(self.qty_scale))
            cost = q * int(avg.scaleb(self.price_scale)) * self._pm
            self._q[i] = q
            self._cost[i] = cost
            self.qty_f[i] = q / self._qdiv
            side = Side.BUY if q > 0 else Side.SELL
            held = abs(q)
            self._open[i] = _OpenTrade(side, at_ns, held, abs(cost), 0, 0, held, 0, 0, "", at_ns)

    # ------------------------------------------------------------------ fills
    def apply_fill(self, fill: Fill) -> None:
        """Book one fill (a live broker's, a recovered one)."""
        qs, ps = decimal_places(fill.quantity), decimal_places(fill.price)
        if qs > self.qty_scale or ps > self.price_scale:
            self._rescale(qs, ps, 0)
        commission = self._money(fill.commission)
        q = int(fill.quantity.scaleb(self.qty_scale))
        price = int(fill.price.scaleb(self.price_scale))
        self._apply(self.index[fill.symbol], q if fill.side is Side.BUY else -q, price, commission, _ns(fill), fill.strategy_id)

    def apply_fills(self, fills: FillBatch, strategy_ids: Sequence[str]) -> None:
        """Book a columnar batch of fills in row order; ``strategy_ids[row]`` is each fill's
        strategy. Integers only: the batch's scales are aligned with the ledger's once."""
        if fills.qty_scale > self.qty_scale or fills.price_scale > self.price_scale or fills.money_scale > self.money_scale:
            self._rescale(fills.qty_scale, fills.price_scale, fills.money_scale)
        ts = fills.timestamp
        signed = (fills.units * fills.side).tolist()
        prices = fills.price.tolist()
        commissions = fills.commission
        index = fills.index.tolist()
        book = self._book
        if fills.qty_scale == self.qty_scale and fills.price_scale == self.price_scale and fills.money_scale == self.money_scale:
            flows = [book(i, signed[k], prices[k], commissions[k], ts, strategy_ids[k]) for k, i in enumerate(index)]
        else:
            kq = 10 ** (self.qty_scale - fills.qty_scale)
            kp = 10 ** (self.price_scale - fills.price_scale)
            km = 10 ** (self.money_scale - fills.money_scale)
            flows = [
                book(i, signed[k] * kq, prices[k] * kp, commissions[k] * km, ts, strategy_ids[k])
                for k, i in enumerate(index)
            ]
        # the float mirrors, once for the batch
        self.cash_f = self._cash / self._mdiv
        mdiv = self._mdiv
        np.subtract.at(self.cash_flows, fills.index, [f / mdiv for f in flows])
        q = self._q
        self.qty_f[fills.index] = [q[i] / self._qdiv for i in index]

    def _apply(self, i: int, dq: int, price: int, commission: int, ns: int, strategy_id: str) -> None:
        """Book ``dq`` units (signed, qty scale) of symbol ``i`` at ``price`` (price scale)
        with ``commission`` (money scale), and update the float mirrors."""
        flow = self._book(i, dq, price, commission, ns, strategy_id)
        self.cash_f = self._cash / self._mdiv
        self.cash_flows[i] -= flow / self._mdiv
        self.qty_f[i] = self._q[i] / self._qdiv

    def _book(self, i: int, dq: int, price: int, commission: int, ns: int, strategy_id: str) -> int:
        """The integer part of :meth:`_apply`: cash, position, cost basis, realised P&L and
        the trade; returns the cash that left (money scale). The float mirrors are the
        caller's to update."""
        pm = self._pm
        value = dq * price * pm  # signed notional, money scale
        flow = value + commission
        self._cash -= flow
        old = self._q[i]
        new = old + dq
        if old == 0 or (old > 0) == (dq > 0):
            # opening or adding: the cost basis grows by the notional
            self._cost[i] += value
            realized = 0
        else:
            held = abs(old)
            closed = min(abs(dq), held)
            cost = self._cost[i]
            released = cost if closed == held else _div_half_even(cost * closed, held)
            proceeds = closed * price * pm
            # released carries the position's sign: a short's basis is negative (what it sold for)
            realized = proceeds - released if old > 0 else -released - proceeds
            cost -= released
            if new != 0 and (new > 0) != (old > 0):
                cost = new * price * pm  # reversal: the remainder opened at this price
            self._cost[i] = cost
            self._real[i] += realized
        self._q[i] = new
        self._track_trade(i, dq, price, commission, old, new, realized, ns, strategy_id)
        return flow

    def _track_trade(
        self, i: int, dq: int, price: int, commission: int, old: int, new: int, realized: int, ns: int, strategy_id: str
    ) -> None:
        qty = abs(dq)
        trade = self._open.get(i)
        if trade is None:
            side = Side.BUY if dq > 0 else Side.SELL
            trade = _OpenTrade(side, ns, 0, 0, 0, 0, 0, 0, 0, strategy_id, ns)
            self._open[i] = trade
        if old == 0 or (old > 0) == (dq > 0):
            trade.entry_qty += qty
            trade.entry_value += qty * price * self._pm
            trade.commission += commission
            trade.realized -= commission
        else:
            closing = min(qty, abs(old))
            share = commission if closing == qty else _div_half_even(commission * closing, qty)
            trade.exit_qty += closing
            trade.exit_value += closing * price * self._pm
            trade.commission += share
            trade.realized += realized - share
            if new == 0 or (new > 0) != (old > 0):
                trade.last_ns = ns
                self._close_trade(i, trade)
                if new != 0:  # reversal opens a new trade with the remainder
                    rest = abs(new)
                    rest_commission = commission - share
                    side = Side.BUY if dq > 0 else Side.SELL
                    self._open[i] = _OpenTrade(
                        side, ns, rest, rest * price * self._pm, 0, 0, rest, -rest_commission, rest_commission,
                        strategy_id, ns,
                    )
                return
        held = abs(new)
        if held > trade.max_abs_qty:
            trade.max_abs_qty = held
        trade.last_ns = ns

    def _close_trade(self, i: int, t: _OpenTrade) -> None:
        del self._open[i]
        self._closed.append((i, t, self.qty_scale, self.money_scale))
        perf = self._performance.get(t.strategy_id)
        if perf is None:
            perf = self._performance[t.strategy_id] = StrategyPerformance(strategy_id=t.strategy_id)
        pnl = t.realized / self._mdiv
        perf.trade_returns.append(t.realized / t.entry_value if t.entry_value else pnl)
        perf.trade_pnls.append(pnl)
        perf.total_pnl += pnl

    def trade_columns(self) -> dict[str, Any]:
        """Closed trades, then open ones, as run-document columns (field → values), without
        building ``Trade`` objects for the closed ones: quantities, prices, P&L and
        commissions as exact integers with their scale (``{"scale": s, "units": [...]}``),
        an average price that is no whole number of price units as text."""
        qs, ps, ms, pm = self.qty_scale, self.price_scale, self.money_scale, self._pm
        closed = self._closed
        if any(q != qs or m != ms for _, _, q, m in closed):  # some closed before a rescale
            raws = [(i, t, 10 ** (qs - q), 10 ** (ms - m)) for i, t, q, m in closed]
        else:
            raws = [(i, t, 1, 1) for i, t, _, _ in closed]
        symbols = self.symbols
        qty = [(t.max_abs_qty or t.entry_qty) * kq for _, t, kq, _ in raws]
        pnl = [t.realized * km for _, t, _, km in raws]
        fee = [t.commission * km for _, t, _, km in raws]

        def average(values: list[tuple[int, int]]) -> Any:
            """value (money scale) / quantity (qty scale) at the price scale, exact integers
            where every division is exact, else decimal text."""
            out: list[int] = []
            for v, q in values:
                d, r = divmod(v, q * pm)
                if r:
                    return [str(plain(Decimal(v).scaleb(-ms) / Decimal(q).scaleb(-qs))) for v, q in values]
                out.append(d)
            return {"scale": ps, "units": out}

        entry = average([(t.entry_value * km, t.entry_qty * kq) for _, t, kq, km in raws])
        leave = average([(t.exit_value * km, t.exit_qty * kq) for _, t, kq, km in raws])
        out: dict[str, Any] = {
            "symbol": [symbols[i] for i, _, _, _ in raws],
            "side": [t.side.value for _, t, _, _ in raws],
            "quantity": {"scale": qs, "units": qty},
            "entry_time": to_datetime_strings([t.entry_ns for _, t, _, _ in raws]),
            "entry_price": entry,
            "exit_time": to_datetime_strings([t.last_ns for _, t, _, _ in raws]),
            "exit_price": leave,
            "pnl": {"scale": ms, "units": pnl},
            "commission": {"scale": ms, "units": fee},
            "strategy_id": [t.strategy_id for _, t, _, _ in raws],
            "is_open": [False] * len(raws),
        }
        opened = self.open_trades()
        if not opened:
            return out
        # the open trades (few): a decimal off a column's grid (an unrealised P&L at a price of
        # more places) turns that column into text
        for trade in opened:
            for name in out:
                value = getattr(trade, name)
                column = out[name]
                if name in ("entry_time", "exit_time"):
                    value = None if value is None else value.isoformat().replace("+00:00", "Z")
                elif hasattr(value, "value"):
                    value = value.value
                elif isinstance(column, dict):
                    scaled = None if value is None else value.scaleb(column["scale"])
                    if scaled is None or scaled == scaled.to_integral_value():
                        column["units"].append(None if scaled is None else int(scaled))
                        continue
                    column = out[name] = scaled_strings(column["units"], column["scale"])
                    value = str(plain(value))
                elif isinstance(value, Decimal):
                    value = str(plain(value))
                column.append(value)
        return out

    def _trade_view(self, raw: tuple) -> Trade:
        i, t, qs, ms = raw
        money = Decimal(1).scaleb(-ms)
        units = Decimal(1).scaleb(-qs)
        return trusted(
            Trade,
            symbol=self.symbols[i],
            side=t.side,
            quantity=plain(Decimal(t.max_abs_qty or t.entry_qty) * units),
            entry_time=to_datetime(t.entry_ns),
            entry_price=plain((Decimal(t.entry_value) * money) / (Decimal(t.entry_qty) * units)),
            exit_time=to_datetime(t.last_ns),
            exit_price=plain((Decimal(t.exit_value) * money) / (Decimal(t.exit_qty) * units)),
            pnl=plain(Decimal(t.realized) * money),
            commission=plain(Decimal(t.commission) * money),
            strategy_id=t.strategy_id,
        )

    # ------------------------------------------------------------------ views
    @property
    def performance(self) -> dict[str, StrategyPerformance]:
        return self._performance

    def open_trades(self) -> list[Trade]:
        out = []
        money = Decimal(1).scaleb(-self.money_scale)
        units = Decimal(1).scaleb(-self.qty_scale)
        for i, t in sorted(self._open.items()):
            price = self.last_price[i]
            unrealized = ZERO
            if np.isfinite(price) and t.entry_qty:
                unrealized = Decimal(repr(float(price))) * self._qty(self._q[i]) - Decimal(self._cost[i]) * money
            out.append(
                Trade(
                    symbol=self.symbols[i],
                    side=t.side,
                    quantity=plain(Decimal(t.max_abs_qty or t.entry_qty) * units),
                    entry_time=to_datetime(t.entry_ns),
                    entry_price=plain((Decimal(t.entry_value) * money) / (Decimal(t.entry_qty) * units)),
                    pnl=plain(Decimal(t.realized) * money + unrealized),
                    commission=plain(Decimal(t.commission) * money),
                    strategy_id=t.strategy_id,
                    is_open=True,
                )
            )
        return out

    def positions(self) -> dict[str, Decimal]:
        return {s: self._qty(q) for s, q in zip(self.symbols, self._q, strict=True) if q != 0}

    def position_models(self) -> tuple[Position, ...]:
        out = []
        for i, s in enumerate(self.symbols):
            if self._q[i] != 0:
                p = self.last_price[i]
                out.append(
                    Position(
                        symbol=s,
                        quantity=self._qty(self._q[i]),
                        average_price=self.avg_price(i),
                        realized_pnl=self._amount(self._real[i]),
                        market_price=Decimal(repr(float(p))) if np.isfinite(p) else None,
                    )
                )
        return tuple(out)

    def equity_decimal(self) -> Decimal:
        """Cash plus positions at the last prices (prices converted exactly from float64)."""
        total = self.cash
        for i, q in enumerate(self._q):
            if q != 0 and np.isfinite(self.last_price[i]):
                total += self._qty(q) * Decimal(repr(float(self.last_price[i])))
        return total


def to_datetime_strings(ns: list[int]) -> list[str]:
    """ISO-8601 'Z' strings of nanosecond timestamps, as ``datetime.isoformat`` writes them."""
    memo: dict[int, str] = {}
    out = []
    for v in ns:
        text = memo.get(v)
        if text is None:
            text = memo[v] = to_datetime(v).isoformat().replace("+00:00", "Z")
        out.append(text)
    return out


def _ns(fill: Fill) -> int:
    ts = fill.timestamp
    return int(ts.timestamp()) * 1_000_000_000 + ts.microsecond * 1000
