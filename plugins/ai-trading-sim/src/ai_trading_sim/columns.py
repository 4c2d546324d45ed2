"""The simulated broker's columnar path: market orders taken as an
:class:`~ai_trading_core.batch.OrderBatch` and filled at the next bar's open in one NumPy
pass, with the object path's rules (the broker module's doc) in integer tick arithmetic.

A price is handled on a decimal grid of ``10^-P`` (``P``: the finest tick among the bar's
orders). The exact decimal value of a float price is its shortest ``repr``; in NumPy that is
``rint(x·10^P)`` when ``x`` sits on the grid, and ``ceil``/``floor`` of ``x·10^P`` when it lies
between grid points. Where float arithmetic cannot decide (within 1e-9 of a grid point
without being on it, within about 45 float ulps, or beyond 2^52 grid units), that order is
priced by the object path's
``Decimal`` code instead: slower, same answer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ai_trading_core.batch import NOTIONAL_PLACES, BatchEvents, FillBatch, OrderBatch, decimal_places, notional_units, to_scaled

if TYPE_CHECKING:
    from ai_trading_core.market import FloatArray, MarketSlice

_NOISE = 1e-14
"""Relative distance (about 45 float ulps) under which ``x·10^P`` may sit on a grid point by
rounding alone: such a value goes to the exact fallback."""
_LIMIT = 2.0**52


class Resting:
    """Resting columnar market orders: the engine's row, symbol index, side, exact units (at
    ``qty_scale``) and notional (NaN: a fixed quantity)."""

    __slots__ = ("row", "index", "side", "units", "notional", "qty_scale")

    def __init__(self) -> None:
        self.row = np.zeros(0, dtype=np.int64)
        self.index = np.zeros(0, dtype=np.int64)
        self.side = np.zeros(0, dtype=np.int8)
        self.units = np.zeros(0, dtype=np.int64)
        self.notional = np.zeros(0)
        self.qty_scale = 0

    def __len__(self) -> int:
        return len(self.row)

    def add(self, rows: Any, batch: OrderBatch) -> None:
        units = batch.units
        if batch.qty_scale > self.qty_scale:
            self.units = self.units * 10 ** (batch.qty_scale - self.qty_scale)
            self.qty_scale = batch.qty_scale
        elif batch.qty_scale < self.qty_scale:
            units = units * 10 ** (self.qty_scale - batch.qty_scale)
        self.row = np.concatenate([self.row, np.asarray(rows, dtype=np.int64)])
        self.index = np.concatenate([self.index, batch.index])
        self.side = np.concatenate([self.side, batch.side])
        self.units = np.concatenate([self.units, units])
        self.notional = np.concatenate([self.notional, batch.notional])

    def clear(self) -> None:
        self.row, self.index, self.side = self.row[:0], self.index[:0], self.side[:0]
        self.units, self.notional = self.units[:0], self.notional[:0]

    def keep(self, mask: Any) -> None:
        self.row, self.index, self.side = self.row[mask], self.index[mask], self.side[mask]
        self.units, self.notional = self.units[mask], self.notional[mask]


def shortest_places(x: FloatArray, cap: int) -> npt.NDArray[np.int64]:
    """Per element, the decimal places of its shortest round-tripping decimal (its
    ``repr``), at most ``cap``; 0 for non-finite elements."""
    out = np.full(x.shape, cap, dtype=np.int64)
    todo = np.isfinite(x)
    out[~todo] = 0
    with np.errstate(invalid="ignore", over="ignore"):
        # raw floats (most of a random walk's prices) are not on the finest grid: settled at once
        top = 10.0 ** (cap - 1)
        todo &= np.rint(x * top) / top == x
        for k in range(cap - 1):
            if not todo.any():
                break
            scale = 10.0**k
            hit = todo & (np.rint(x * scale) / scale == x)
            out[hit] = k
            todo &= ~hit
    return out


def on_grid(x: FloatArray, scale: int, up: Any) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], Any]:
    """``x`` on the grid of ``10^-scale``: its exact decimal value rounded up where ``up``
    (else down), as integers at ``scale`` places; a mask of the elements float arithmetic
    cannot decide; and a mask of the elements that were on the grid already."""
    f = 10.0**scale
    with np.errstate(invalid="ignore", over="ignore"):
        y = x * f
        n = np.rint(y)
        exact = (n / f == x) & (np.abs(n) < _LIMIT)
        near = ~exact & (np.abs(y - n) <= _NOISE * np.maximum(np.abs(y), 1.0))
        rounded = np.where(exact, n, np.where(up, np.ceil(y), np.floor(y)))
        bad = near | ~(np.abs(rounded) < _LIMIT)
    return np.where(bad, 0, rounded).astype(np.int64), bad, exact


def _fits(values: Any, factor: float) -> bool:
    """Whether ``values × factor`` stays well inside int64 (checked in float)."""
    return not len(values) or float(np.max(np.abs(values.astype(np.float64)))) * factor < 2.0**62


def _ceil_div(a: Any, b: Any) -> Any:
    return -((-a) // b)


def match(broker: Any, resting: Resting, market: MarketSlice) -> BatchEvents:
    """Fill ``resting`` at this bar's open (see the module doc). Raises the broker's
    ``FillPriceError`` before anything is filled when a price fails the sanity check."""
    o_all = market.open[resting.index]
    live = np.isfinite(o_all)
    everything = bool(live.all())
    if everything:
        sel = np.arange(len(resting))
        idx = resting.index
        o = o_all
    else:
        if not live.any():
            return BatchEvents()
        sel = np.flatnonzero(live)
        idx = resting.index[sel]
        o = o_all[sel]
    h, lo, c = market.high[idx], market.low[idx], market.close[idx]
    buy = resting.side[sel] > 0
    n = len(sel)

    # ---- the tick per order: the instrument's, else inferred from the bar's prices
    scale, tick = broker._column_ticks(idx, o, h, lo, c)

    # ---- price: open (after slippage) rounded to the tick against the trader
    fallback = np.zeros(n, dtype=bool)
    slip = broker.params.slippage_bps
    o_grid, bad_o, exact_o = on_grid(o, scale, buy)
    fallback |= bad_o
    if slip == 0:
        raw = o_grid
        price = np.where(buy, _ceil_div(raw, tick), raw // tick) * tick
    else:
        s_num, s_den = (slip / Decimal(10_000)).as_integer_ratio()
        raw_o = o_grid.astype(object) * np.where(buy, s_den + s_num, s_den - s_num).astype(object)
        t = tick.astype(object) * s_den
        price = (np.where(buy, _ceil_div(raw_o, t), raw_o // t) * tick.astype(object)).astype(object)
        off = np.flatnonzero(~exact_o & ~bad_o)
        if len(off):
            # an open between grid points: o·(1 ± s) in ticks by float arithmetic, decided
            # unless it lies within float noise of a tick boundary (then the exact fallback)
            factor = 1.0 + float(slip) / 10_000 * np.where(buy[off], 1.0, -1.0)
            y = o[off] * factor * 10.0**scale / tick[off]
            r = np.rint(y)
            near = np.abs(y - r) <= _NOISE * 4 * np.maximum(np.abs(y), 1.0)
            ticks = np.where(buy[off], np.ceil(y), np.floor(y))
            fallback[off[near]] = True
            for k, v in zip(off.tolist(), (ticks * tick[off]).tolist(), strict=True):
                price[k] = int(v)
    # ---- inside the bar's range, snapped inward to the tick: a no-op for an open on the
    # tick inside its bar (the usual case), so only the other rows pay for it
    ok = np.isfinite(h) & np.isfinite(lo) & (lo <= h)
    trivial = (lo <= o) & (o <= h) & exact_o & (price == o_grid) if not slip else np.zeros(n, dtype=bool)
    clamp = ok & ~trivial
    if clamp.any():
        rows = np.flatnonzero(clamp)
        t_r = tick[rows]
        h_grid, bad_h, _ = on_grid(h[rows], scale, np.zeros(len(rows), dtype=bool))
        l_grid, bad_l, _ = on_grid(lo[rows], scale, np.ones(len(rows), dtype=bool))
        fallback[rows] |= bad_h | bad_l
        floor_ = _ceil_div(l_grid, t_r) * t_r
        ceiling = (h_grid // t_r) * t_r
        inside = floor_ <= ceiling
        price = np.asarray(price, dtype=object) if slip else np.asarray(price, dtype=np.int64).copy()
        price[rows] = np.where(inside, np.minimum(np.maximum(price[rows], floor_), ceiling), price[rows])
    price = np.asarray(price, dtype=object) if slip else np.asarray(price, dtype=np.int64)

    # ---- the exact object path where floats could not decide
    for k in np.flatnonzero(fallback).tolist() if fallback.any() else ():
        d = broker._price_columnar_row(market, int(idx[k]), bool(buy[k]), resting.units[sel[k]], resting.qty_scale)
        value = d.scaleb(scale)
        if value != value.to_integral_value():
            raise AssertionError(f"sim: price {d} is off the {scale}-place grid")
        price[k] = int(value)

    # ---- sanity: zero, or a move beyond max_fill_move from the open (before slippage)
    price_f = np.asarray(price, dtype=np.float64) / 10.0**scale
    move = np.abs(price_f - o) / o
    limit = broker.params.max_fill_move
    suspect = (price_f <= 0) | (move > limit * (1 - 1e-9))
    for k in np.flatnonzero(suspect).tolist() if suspect.any() else ():
        # decided exactly, with the object path's message
        broker._check_price_columnar(market, int(idx[k]), bool(buy[k]), Decimal(int(price[k])).scaleb(-scale), float(o[k]),
                                     Decimal(int(tick[k])).scaleb(-scale), resting.units[sel[k]], resting.qty_scale)

    # ---- quantity: fixed, or as many lots as the notional buys at the fill price
    qscale = resting.qty_scale
    units = resting.units[sel].copy()
    notional = resting.notional[sel]
    rejected: dict[int, str] = {}
    has_notional = np.isfinite(notional)
    filled = np.ones(n, dtype=bool)
    if has_notional.any():
        lots = broker._lot_array(qscale)[idx]  # lot size in units at qscale, per order
        rows = np.flatnonzero(has_notional)
        cash = notional_units(notional[rows])  # at NOTIONAL_PLACES
        # lots = floor(cash / (price × lot)) in integers: the scales aligned by a power of ten
        e = scale + qscale - NOTIONAL_PLACES
        num, den = cash, np.asarray(price[rows]) * lots[rows]
        if e >= 0:
            num = num * 10**e if _fits(cash, 10.0**e) else num.astype(object) * 10**e
        else:
            den = den * 10 ** (-e) if _fits(den, 10.0 ** (-e)) else den.astype(object) * 10 ** (-e)
        if num.dtype == object or den.dtype == object:
            num, den = num.astype(object), den.astype(object)
        count = (num // den).astype(np.int64)
        units[rows] = count * lots[rows]
        short = rows[count <= 0]
        if len(short):
            filled[short] = False
            for k in short.tolist():
                rejected[int(resting.row[sel[k]])] = "notional buys less than one lot"
    # ---- commission, exact: qty × price × bps / 10,000 + per unit × qty, at least the minimum
    p = broker.params
    money = scale + qscale
    commission: list[int]
    if p.commission_bps or p.commission_per_unit or p.commission_minimum:
        bps_places = decimal_places(p.commission_bps) + 4
        unit_places = decimal_places(p.commission_per_unit)
        min_places = decimal_places(p.commission_minimum)
        money = max(scale + qscale + bps_places, unit_places + qscale, min_places)
        bps = to_scaled(p.commission_bps / Decimal(10_000), bps_places)
        per_unit = to_scaled(p.commission_per_unit, unit_places)
        minimum = to_scaled(p.commission_minimum, min_places) * 10 ** (money - min_places)
        k_bps = 10 ** (money - scale - qscale - bps_places)
        k_unit = 10 ** (money - unit_places - qscale)
        commission = []
        for q, px in zip(units.tolist(), price.tolist(), strict=True):
            value = q * px * bps * k_bps + per_unit * q * k_unit
            commission.append(max(value, minimum) if value or minimum else value)
    else:
        commission = [0] * n

    done = filled
    rows_done = resting.row[sel][done]
    events = BatchEvents(rejected=rejected)
    if done.any():
        keep = np.flatnonzero(done)
        events.fills = FillBatch(
            row=rows_done,
            index=idx[keep],
            side=resting.side[sel][keep],
            units=units[keep],
            qty_scale=qscale,
            price=np.asarray([int(price[k]) for k in keep.tolist()], dtype=np.int64)
            if price.dtype == object
            else price[keep],
            price_scale=scale,
            commission=[commission[k] for k in keep.tolist()],
            money_scale=money,
            timestamp=market.timestamp,
        )
        broker._book_positions(idx[keep], (units[keep] * resting.side[sel][keep]), qscale)
    if everything:
        resting.clear()
    else:
        resting.keep(~live)
    return events
