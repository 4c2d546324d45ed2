"""The engine's columnar order and fill log: orders sent as batches (to a broker that takes
them, see :class:`~ai_trading_core.protocols.BatchBroker`) live here as arrays, one row per
order, and their fills as the broker's :class:`~ai_trading_core.batch.FillBatch` es.
``Order`` and ``Fill`` objects are built only when something reads them
(:class:`LazyRows`): the run document, a report, a test."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

import numpy as np

from .batch import FillBatch, OrderBatch, from_scaled

T = TypeVar("T")

OPEN, FILLED, REJECTED, CANCELLED = 0, 1, 2, 3


class LazyRows(Sequence[T], Generic[T]):
    """A read-only sequence whose items are built on first access by ``make(k)``; ``len``
    costs nothing. Concatenates an optional list of ready objects in front."""

    def __init__(
        self,
        n: int,
        make: Callable[[int], T],
        head: Sequence[T] = (),
        columns: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self._n = n
        self._make = make
        self._head = list(head)
        self._built: list[T] | None = None
        self._columns = columns
        self._column_cache: Mapping[str, Any] | None = None

    def columns(self) -> Mapping[str, Any] | None:
        """The rows as columns (field name → values), without building objects, when the
        producer can give them and no ready objects precede them; else None."""
        if self._columns is None or self._head:
            return None
        if self._column_cache is None:
            self._column_cache = self._columns()
        return self._column_cache

    def __len__(self) -> int:
        return len(self._head) + self._n

    def _all(self) -> list[T]:
        if self._built is None:
            self._built = self._head + [self._make(k) for k in range(self._n)]
        return self._built

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> list[T]: ...

    def __getitem__(self, i: Any) -> Any:
        return self._all()[i]

    def __iter__(self) -> Iterator[T]:
        return iter(self._all())

    def __add__(self, other: Sequence[T]) -> list[T]:
        return self._all() + list(other)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"LazyRows({len(self)} rows)"


class _Column:
    __slots__ = ("data", "n")

    def __init__(self, dtype: Any, capacity: int = 256) -> None:
        self.data = np.zeros(capacity, dtype=dtype)
        self.n = 0

    def _reserve(self, k: int) -> None:
        if self.n + k > len(self.data):
            grown = np.zeros(max(2 * len(self.data), self.n + k), dtype=self.data.dtype)
            grown[: self.n] = self.data[: self.n]
            self.data = grown

    def extend(self, values: Any) -> None:
        k = len(values)
        self._reserve(k)
        self.data[self.n : self.n + k] = values
        self.n += k

    def fill(self, k: int, value: Any) -> None:
        """Append ``k`` copies of ``value``."""
        self._reserve(k)
        self.data[self.n : self.n + k] = value
        self.n += k

    @property
    def view(self) -> Any:
        return self.data[: self.n]


class OrderTable:
    """Columnar orders: symbol index, side, exact units (at ``qty_scale``), the signed
    quantity counted as in flight, notional (NaN: none), sequence number, strategy, time,
    status, and the fill (price integer at its scale)."""

    def __init__(self, n_symbols: int) -> None:
        self.index = _Column(np.int64)
        self.side = _Column(np.int8)
        self.units = _Column(np.int64)
        self.in_flight = _Column(np.float64)
        self.notional = _Column(np.float64)
        self.seq = _Column(np.int64)
        self.strategy = _Column(np.int16)
        self.created = _Column(np.int64)
        self.status = _Column(np.int8)
        self.price = _Column(np.int64)
        self.price_scale = _Column(np.int8)
        self.qty_scale = 0
        self.reasons: dict[int, str] = {}
        self.broker_ids: dict[int, str] = {}  # row -> the broker's id, when it gave one
        self.strategy_ids: tuple[str, ...] = ()
        self.fills: list[FillBatch] = []
        self.fill_count = 0
        self.open_count = 0
        self.open_buys = np.zeros(n_symbols, dtype=np.int64)
        self.open_sells = np.zeros(n_symbols, dtype=np.int64)

    def __len__(self) -> int:
        return self.index.n

    def append(self, batch: OrderBatch, status: int, reason: str | None = None) -> Any:
        """Add ``batch``'s rows with ``status``; returns their row numbers."""
        if batch.qty_scale > self.qty_scale:
            k = 10 ** (batch.qty_scale - self.qty_scale)
            self.units.data[: self.units.n] *= k
            self.qty_scale = batch.qty_scale
        units = batch.units if batch.qty_scale == self.qty_scale else batch.units * 10 ** (self.qty_scale - batch.qty_scale)
        if batch.strategy_ids != self.strategy_ids:
            self.strategy_ids = batch.strategy_ids
        start = len(self)
        k = len(batch)
        self.index.extend(batch.index)
        self.side.extend(batch.side)
        self.units.extend(units)
        self.in_flight.extend(batch.quantity * batch.side)
        self.notional.extend(batch.notional)
        self.seq.extend(batch.seq)
        self.strategy.extend(batch.strategy)
        self.created.fill(k, batch.timestamp)
        self.status.fill(k, status)
        self.price.fill(k, 0)
        self.price_scale.fill(k, 0)
        rows = np.arange(start, start + k, dtype=np.int64)
        if reason:
            for r in rows.tolist():
                self.reasons[r] = reason
        if status == OPEN:
            # a decision's batch holds at most one order per symbol: plain fancy indexing adds
            self.open_count += k
            buys = batch.side > 0
            self.open_buys[batch.index[buys]] += 1
            self.open_sells[batch.index[~buys]] += 1
        return rows

    def close(self, rows: Any, status: int) -> Any:
        """Mark open ``rows`` as ended with ``status``; returns their signed in-flight
        quantities (to take off the engine's pending positions)."""
        rows = np.asarray(rows, dtype=np.int64)
        self.status.data[rows] = status
        self.open_count -= len(rows)
        idx = self.index.data[rows]
        buys = self.side.data[rows] > 0
        np.subtract.at(self.open_buys, idx[buys], 1)
        np.subtract.at(self.open_sells, idx[~buys], 1)
        return self.in_flight.data[rows]

    def record_fills(self, fills: FillBatch) -> None:
        rows = fills.row
        if fills.qty_scale > self.qty_scale:
            k = 10 ** (fills.qty_scale - self.qty_scale)
            self.units.data[: self.units.n] *= k
            self.qty_scale = fills.qty_scale
        self.units.data[rows] = fills.units * 10 ** (self.qty_scale - fills.qty_scale)
        self.price.data[rows] = fills.price
        self.price_scale.data[rows] = fills.price_scale
        self.fills.append(fills)
        self.fill_count += len(fills)

    def open_rows(self) -> Any:
        return np.flatnonzero(self.status.view == OPEN)

    def quantity(self, row: int) -> Decimal:
        return from_scaled(int(self.units.data[row]), self.qty_scale)
