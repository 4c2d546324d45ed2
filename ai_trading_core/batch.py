"""Columnar orders, verdicts and fills: one struct of arrays per decision, not one object
per order.

The engine's decision produces an :class:`OrderBatch`; risk checks answer with a
:class:`VerdictBatch` (one row per order); a broker that takes batches (the simulated
broker) answers with a :class:`FillBatch`; the ledger applies it with exact integer
arithmetic. Pydantic ``Order`` / ``Fill`` / ``RiskVerdict`` objects are built only at the
boundaries that need them (a live broker's submit, storage, the audit trail, observers that
subscribe, a risk check written against single orders): :meth:`OrderBatch.to_orders`,
:func:`verdicts_via_orders` and :meth:`VerdictBatch.from_verdicts` are those conversions.

Exact quantities: ``quantity`` is the float view risk arithmetic uses; ``units`` holds the
same quantity as an integer at ``qty_scale`` decimal places (``units / 10**qty_scale`` is the
exact decimal quantity, a whole number of the instrument's lots). Money is never a float in a
fill: prices and commissions are integers at stated decimal scales.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .enums import RiskDecision, RiskLevel

if TYPE_CHECKING:
    from .models import Order, RiskVerdict
    from .protocols import RiskContext

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

APPROVE, RESIZE, REJECT = 0, 1, 2
"""Verdict codes of :attr:`VerdictBatch.decision`."""
DECISIONS = (RiskDecision.APPROVE, RiskDecision.RESIZE, RiskDecision.REJECT)
_CODE = {d: k for k, d in enumerate(DECISIONS)}


NOTIONAL_PLACES = 8
"""A notional order's currency amount is kept to 8 decimal places (rounded down; float
noise within 1e-9 of a unit snaps to it), on every path: the object and the columnar one."""


def plain(d: Decimal) -> Decimal:
    """``d`` without trailing zeros and without an exponent (``1E+3`` stays ``1000``)."""
    if d == d.to_integral_value():
        return d.quantize(Decimal(1))
    return d.normalize()


def notional_units(notional: Any) -> Any:
    """Float notionals as integers at :data:`NOTIONAL_PLACES` places (see there)."""
    y = np.asarray(notional, dtype=np.float64) * 10.0**NOTIONAL_PLACES
    n = np.rint(y)
    snapped = np.abs(y - n) <= 1e-9 * np.maximum(np.abs(y), 1.0)
    return np.where(snapped, n, np.floor(y)).astype(np.int64)


def notional_decimal(notional: float) -> Decimal:
    """One float notional as the exact ``Decimal`` every path uses."""
    return plain(Decimal(int(notional_units(np.array([notional]))[0])).scaleb(-NOTIONAL_PLACES))


def decimal_places(value: Decimal) -> int:
    """Decimal places of ``value`` (0 for integers): ``Decimal("0.05")`` → 2."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def to_scaled(value: Decimal, scale: int) -> int:
    """``value`` as an integer at ``scale`` decimal places; raises ValueError when that
    would round (the caller picks a scale fine enough)."""
    scaled = value.scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {scale} decimal places")
    return int(scaled)


def from_scaled(units: int, scale: int) -> Decimal:
    """The exact decimal ``units / 10**scale``."""
    return Decimal(units).scaleb(-scale)


@dataclass(slots=True)
class OrderBatch:
    """The orders of one decision, one row each (all arrays of length ``len(batch)``).

    ``index`` points into ``symbols`` (the run's universe); ``side`` is +1 (buy) or -1
    (sell); ``quantity`` is in units (float, for risk arithmetic) and ``units`` the same
    quantity exact, an integer at ``qty_scale`` decimal places; ``notional`` is NaN for an
    order of a fixed quantity, else the currency the order may spend (the broker fixes the
    quantity at the fill price, as many lots as that buys); ``reduce_only`` marks orders that
    may only reduce a position. ``seq`` numbers the run's orders (client order ids derive
    from it); ``strategy`` indexes ``strategy_ids``."""

    symbols: tuple[str, ...]
    index: IntArray
    side: npt.NDArray[np.int8]
    quantity: FloatArray
    units: IntArray
    qty_scale: int
    notional: FloatArray
    reduce_only: npt.NDArray[np.bool_]
    seq: IntArray
    strategy: npt.NDArray[np.int16]
    strategy_ids: tuple[str, ...]
    timestamp: int  # ns, UTC: the decision's time
    client_order_id: Callable[[int], str] | None = None
    """``client_order_id(seq)``: the id the order is sent with (set by the engine)."""

    def __len__(self) -> int:
        return len(self.index)

    @property
    def signed_quantity(self) -> FloatArray:
        return self.quantity * self.side

    def take(self, rows: Any) -> OrderBatch:
        """The rows ``rows`` (a boolean mask or indices) as a new batch."""
        return OrderBatch(
            self.symbols,
            self.index[rows],
            self.side[rows],
            self.quantity[rows],
            self.units[rows],
            self.qty_scale,
            self.notional[rows],
            self.reduce_only[rows],
            self.seq[rows],
            self.strategy[rows],
            self.strategy_ids,
            self.timestamp,
            self.client_order_id,
        )

    def symbol(self, row: int) -> str:
        return self.symbols[int(self.index[row])]

    def quantity_decimal(self, row: int) -> Decimal:
        """The exact quantity of ``row``, at the run's quantity scale (``313.890`` for lots of
        0.001): the lot's places, as an instrument's ``round_quantity`` writes it."""
        return from_scaled(int(self.units[row]), self.qty_scale)

    def to_orders(self, make: Callable[[OrderBatch, int], Order]) -> list[Order]:
        """One ``Order`` per row, built by ``make(batch, row)`` (the engine's factory, which
        knows the run's ids and clock)."""
        return [make(self, r) for r in range(len(self))]


@dataclass(slots=True)
class VerdictBatch:
    """A risk check's answer to an :class:`OrderBatch`: per row a decision code
    (:data:`APPROVE`, :data:`RESIZE`, :data:`REJECT`) and, for RESIZE, the approved quantity
    in units (never larger than requested); reasons and measurements only for the rows that
    have them (``reasons[row]``, ``measured[row]``, ``limits[row]``)."""

    check: str
    decision: npt.NDArray[np.int8]
    approved: FloatArray  # units; NaN where the decision is not RESIZE
    reasons: dict[int, str] = field(default_factory=dict)
    measured: dict[int, float] = field(default_factory=dict)
    limits: dict[int, float] = field(default_factory=dict)
    approved_exact: dict[int, Decimal] = field(default_factory=dict)
    """Exact approved quantities where the check gave a Decimal (the single-order adapter)."""
    levels: dict[int, RiskLevel] = field(default_factory=dict)
    """The risk level of rows above LOW (LOW where absent)."""

    @classmethod
    def approve_all(cls, check: str, n: int, reason: str = "") -> VerdictBatch:
        out = cls(check, np.zeros(n, dtype=np.int8), np.full(n, np.nan))
        if reason:
            out.reasons = dict.fromkeys(range(n), reason)
        return out

    @classmethod
    def reject_all(cls, check: str, n: int, reason: str) -> VerdictBatch:
        return cls(check, np.full(n, REJECT, dtype=np.int8), np.full(n, np.nan), dict.fromkeys(range(n), reason))

    @classmethod
    def from_verdicts(cls, check: str, verdicts: Sequence[RiskVerdict]) -> VerdictBatch:
        """Columns from one ``RiskVerdict`` per order (the adapter for single-order checks)."""
        n = len(verdicts)
        out = cls(check, np.zeros(n, dtype=np.int8), np.full(n, np.nan))
        for row, v in enumerate(verdicts):
            out.decision[row] = _CODE[v.decision]
            if v.approved_quantity is not None and v.decision is RiskDecision.RESIZE:
                out.approved[row] = float(v.approved_quantity)
                out.approved_exact[row] = v.approved_quantity
            if v.reason:
                out.reasons[row] = v.reason
            if v.measured is not None:
                out.measured[row] = v.measured
            if v.limit is not None:
                out.limits[row] = v.limit
            if v.level is not RiskLevel.LOW:
                out.levels[row] = v.level
        return out

    def __len__(self) -> int:
        return len(self.decision)

    @property
    def all_approved(self) -> bool:
        return not self.decision.any()


def verdicts_via_orders(
    check: Any, batch: OrderBatch, ctx: RiskContext, orders: Callable[[], Sequence[Order]]
) -> VerdictBatch:
    """Ask a risk check written against single orders (``check(orders, ctx)``) about a batch:
    the orders are built (``orders()``), checked, and the verdicts turned into columns. Slower
    than a native ``check_batch``, same answer."""
    verdicts = list(check.check(orders(), ctx))
    if len(verdicts) != len(batch):
        raise RuntimeError(f"returned {len(verdicts)} verdicts for {len(batch)} orders")
    return VerdictBatch.from_verdicts(check.name, verdicts)


def check_batch(check: Any, batch: OrderBatch, ctx: RiskContext, orders: Callable[[], Sequence[Order]]) -> VerdictBatch:
    """A check's verdicts on ``batch``: its ``check_batch`` when it has one, else the
    single-order adapter. Validates the answer's shape and resizes."""
    native = getattr(check, "check_batch", None)
    out = native(batch, ctx) if callable(native) else verdicts_via_orders(check, batch, ctx, orders)
    if len(out) != len(batch):
        raise RuntimeError(f"returned {len(out)} verdicts for {len(batch)} orders")
    return out


@dataclass(slots=True)
class FillBatch:
    """Executions reported by a batch broker for one bar, one row each.

    ``row`` is the order's row in the engine's columnar order table (the broker echoes
    what it was given); ``units`` the filled quantity, an integer at ``qty_scale`` decimal
    places; ``price`` an integer at ``price_scale`` places; ``commission`` integers at
    ``money_scale`` places (Python ints: a notional times a rate can exceed int64)."""

    row: IntArray
    index: IntArray
    side: npt.NDArray[np.int8]
    units: IntArray
    qty_scale: int
    price: IntArray
    price_scale: int
    commission: list[int]
    money_scale: int
    timestamp: int  # ns, UTC
    venue: str = "sim"

    def __len__(self) -> int:
        return len(self.row)


@dataclass(slots=True)
class BatchEvents:
    """What a batch broker reports for one bar: fills, and order rows that ended without a
    fill (``rejected``: row → reason)."""

    fills: FillBatch | None = None
    rejected: dict[int, str] = field(default_factory=dict)


def scaled_strings(values: Sequence[int], scale: int) -> list[str]:
    """Exact decimal strings of integers at ``scale`` places, without trailing zeros or an
    exponent (``[12345, 100]`` at 2 places → ``["123.45", "1"]``): a column of a run
    document written without making a ``Decimal`` per value."""
    if scale <= 0:
        return [str(v) for v in values]
    unit = 10**scale
    if values and max(map(abs, values)) < 10**15 and min(map(abs, values)) * 10_000 >= unit:
        # every value has at most 15 significant digits and is at least 1e-4: the float's
        # shortest repr is exactly that decimal (no exponent), at a fraction of the cost
        return [t[:-2] if t.endswith(".0") else t for t in map(repr, (v / unit for v in values))]
    out = []
    for v in values:
        q, r = divmod(abs(v), unit)
        sign = "-" if v < 0 else ""
        out.append(f"{sign}{q}" if not r else f"{sign}{q}.{str(r).rjust(scale, '0').rstrip('0')}")
    return out
