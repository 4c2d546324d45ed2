"""The portfolio ledger: ``Decimal`` cash and positions, with float64 mirrors for
vectorised marking to market. Cash changes only by fills (notional and commission), so it
never drifts: every figure can be re-derived from the fills."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .enums import Side
from .market import FloatArray, to_datetime
from .models import Fill, Position, StrategyPerformance, Trade, trusted

ZERO = Decimal(0)
_sum = np.add.reduce


@dataclass(slots=True)
class _OpenTrade:
    side: Side
    entry_ns: int
    entry_qty: Decimal  # units bought (or sold short) while opening/adding
    entry_value: Decimal  # currency paid for them
    exit_qty: Decimal
    exit_value: Decimal
    max_abs_qty: Decimal
    realized: Decimal  # realised P&L net of commission, currency
    commission: Decimal
    strategy_id: str
    last_ns: int


class Portfolio:
    """Cash, positions, average prices, realised P&L and round-trip trades."""

    __slots__ = (
        "symbols",
        "index",
        "cash",
        "quantities",
        "avg_prices",
        "realized",
        "qty_f",
        "last_price",
        "cash_f",
        "trades",
        "_open",
        "_performance",
        "initial_cash",
        "_mark_price",
        "cash_flows",
    )

    def __init__(self, symbols: tuple[str, ...], initial_cash: Decimal) -> None:
        self.symbols = symbols
        self.index = {s: i for i, s in enumerate(symbols)}
        self.initial_cash = initial_cash
        self.cash = initial_cash
        self.cash_f = float(initial_cash)
        self.quantities: list[Decimal] = [ZERO] * len(symbols)
        self.avg_prices: list[Decimal] = [ZERO] * len(symbols)
        self.realized: list[Decimal] = [ZERO] * len(symbols)
        self.qty_f = np.zeros(len(symbols))
        self.last_price = np.full(len(symbols), np.nan)  # NaN until a symbol's first price
        self._mark_price = np.zeros(len(symbols))  # same, 0 where unknown: marks without nan_to_num
        self.cash_flows = np.zeros(len(symbols))  # currency, per symbol: -(signed notional + commission)
        self.trades: list[Trade] = []
        self._open: dict[int, _OpenTrade] = {}
        self._performance: dict[str, StrategyPerformance] = {}

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
        self.initial_cash = cash
        self.cash = cash
        self.cash_f = float(cash)
        for symbol, (qty, avg) in positions.items():
            i = self.index.get(symbol)
            if i is None or qty == 0:
                continue
            self.quantities[i] = qty
            self.avg_prices[i] = avg
            self.qty_f[i] = float(qty)
            side = Side.BUY if qty > 0 else Side.SELL
            held = abs(qty)
            self._open[i] = _OpenTrade(side, at_ns, held, held * avg, ZERO, ZERO, held, ZERO, ZERO, "", at_ns)

    # ------------------------------------------------------------------ fills
    def apply_fill(self, fill: Fill) -> None:
        i = self.index[fill.symbol]
        qty = fill.signed_quantity
        price = fill.price
        flow = qty * price + fill.commission
        self.cash -= flow
        self.cash_f = float(self.cash)
        self.cash_flows[i] -= float(flow)

        old = self.quantities[i]
        new = old + qty
        realized = ZERO
        if old == 0 or (old > 0) == (qty > 0):
            # opening or adding: weighted average price
            self.avg_prices[i] = (old * self.avg_prices[i] + qty * price) / new
        else:
            closed = min(abs(qty), abs(old))
            direction = 1 if old > 0 else -1
            realized = (price - self.avg_prices[i]) * closed * direction
            if new == 0:
                self.avg_prices[i] = ZERO
            elif (new > 0) != (old > 0):
                self.avg_prices[i] = price  # reversal: remainder opened at this price
        self.realized[i] += realized
        self.quantities[i] = new
        self.qty_f[i] = float(new)
        self._track_trade(i, fill, old, new, realized)

    def _track_trade(self, i: int, fill: Fill, old: Decimal, new: Decimal, realized: Decimal) -> None:
        qty = fill.quantity
        ns = _ns(fill)
        trade = self._open.get(i)
        if trade is None:
            trade = _OpenTrade(fill.side, ns, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, fill.strategy_id, ns)
            self._open[i] = trade
        opening = old == 0 or (old > 0) == (new > old)
        if opening and not (old != 0 and (new > 0) != (old > 0)):
            trade.entry_qty += qty
            trade.entry_value += qty * fill.price
            trade.commission += fill.commission
            trade.realized -= fill.commission
        else:
            closing_qty = min(qty, abs(old))
            share = closing_qty / qty
            commission = fill.commission * share
            trade.exit_qty += closing_qty
            trade.exit_value += closing_qty * fill.price
            trade.commission += commission
            trade.realized += realized - commission
            if new == 0 or (new > 0) != (old > 0):
                trade.last_ns = ns
                self._close_trade(i, trade)
                if new != 0:  # reversal opens a new trade with the remainder
                    rest = abs(new)
                    rest_commission = fill.commission - commission
                    self._open[i] = _OpenTrade(
                        fill.side,
                        ns,
                        rest,
                        rest * fill.price,
                        ZERO,
                        ZERO,
                        rest,
                        -rest_commission,
                        rest_commission,
                        fill.strategy_id,
                        ns,
                    )
                return
        trade.max_abs_qty = max(trade.max_abs_qty, abs(new))
        trade.last_ns = ns

    def _close_trade(self, i: int, t: _OpenTrade) -> None:
        del self._open[i]
        entry_price = t.entry_value / t.entry_qty
        rec = trusted(
            Trade,
            symbol=self.symbols[i],
            side=t.side,
            quantity=t.max_abs_qty or t.entry_qty,
            entry_time=to_datetime(t.entry_ns),
            entry_price=entry_price,
            exit_time=to_datetime(t.last_ns),
            exit_price=t.exit_value / t.exit_qty,
            pnl=t.realized,
            commission=t.commission,
            strategy_id=t.strategy_id,
        )
        self.trades.append(rec)
        perf = self._performance.get(t.strategy_id)
        if perf is None:
            perf = self._performance[t.strategy_id] = StrategyPerformance(strategy_id=t.strategy_id)
        cost = t.entry_value if t.entry_value else Decimal(1)
        perf.trade_returns.append(float(t.realized / cost))
        perf.trade_pnls.append(float(t.realized))
        perf.total_pnl += float(t.realized)

    # ------------------------------------------------------------------ views
    @property
    def performance(self) -> dict[str, StrategyPerformance]:
        return self._performance

    def open_trades(self) -> list[Trade]:
        out = []
        for i, t in sorted(self._open.items()):
            price = self.last_price[i]
            unrealized = ZERO
            if np.isfinite(price) and t.entry_qty:
                q = self.quantities[i]
                unrealized = (Decimal(repr(float(price))) - self.avg_prices[i]) * q
            out.append(
                Trade(
                    symbol=self.symbols[i],
                    side=t.side,
                    quantity=t.max_abs_qty or t.entry_qty,
                    entry_time=to_datetime(t.entry_ns),
                    entry_price=t.entry_value / t.entry_qty,
                    pnl=t.realized + unrealized,
                    commission=t.commission,
                    strategy_id=t.strategy_id,
                    is_open=True,
                )
            )
        return out

    def positions(self) -> dict[str, Decimal]:
        return {s: q for s, q in zip(self.symbols, self.quantities, strict=True) if q != 0}

    def position_models(self) -> tuple[Position, ...]:
        out = []
        for i, s in enumerate(self.symbols):
            if self.quantities[i] != 0:
                p = self.last_price[i]
                out.append(
                    Position(
                        symbol=s,
                        quantity=self.quantities[i],
                        average_price=self.avg_prices[i],
                        realized_pnl=self.realized[i],
                        market_price=Decimal(repr(float(p))) if np.isfinite(p) else None,
                    )
                )
        return tuple(out)

    def equity_decimal(self) -> Decimal:
        """Cash plus positions at the last prices (prices converted exactly from float64)."""
        total = self.cash
        for i, q in enumerate(self.quantities):
            if q != 0 and np.isfinite(self.last_price[i]):
                total += q * Decimal(repr(float(self.last_price[i])))
        return total


def _ns(fill: Fill) -> int:
    ts = fill.timestamp
    return int(ts.timestamp()) * 1_000_000_000 + ts.microsecond * 1000
