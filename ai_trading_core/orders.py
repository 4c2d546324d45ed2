"""The order lifecycle state machine and the book of orders of a run."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from .enums import OrderStatus as S
from .errors import InvalidOrderTransition
from .models import Order

_ALLOWED: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.SUBMITTED, S.REJECTED, S.UNKNOWN}),
    S.SUBMITTED: frozenset(
        {S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.REJECTED, S.CANCELLED, S.EXPIRED, S.UNKNOWN, S.CANCEL_PENDING}
    ),
    S.ACCEPTED: frozenset(
        {S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELLED, S.EXPIRED, S.REJECTED, S.UNKNOWN}
    ),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELLED, S.EXPIRED, S.UNKNOWN}),
    S.CANCEL_PENDING: frozenset({S.CANCELLED, S.FILLED, S.PARTIALLY_FILLED, S.EXPIRED, S.UNKNOWN}),
    S.UNKNOWN: frozenset(
        {
            S.SUBMITTED,
            S.ACCEPTED,
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.CANCELLED,
            S.REJECTED,
            S.EXPIRED,
            S.CANCEL_PENDING,
            S.UNKNOWN,
        }
    ),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


# Updates that describe an earlier point of an order's life than the one the engine already
# knows (an "accepted" or "partially filled" event delivered after the final fill, a "pending
# cancel" after the cancel): expected races between a stream and REST polling, ignored.
_EARLIER: dict[S, frozenset[S]] = {
    S.ACCEPTED: frozenset({S.NEW, S.SUBMITTED}),
    S.PARTIALLY_FILLED: frozenset({S.NEW, S.SUBMITTED, S.ACCEPTED}),
    S.CANCEL_PENDING: frozenset({S.NEW, S.SUBMITTED, S.ACCEPTED}),
    S.FILLED: frozenset({S.NEW, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCEL_PENDING}),
    S.CANCELLED: frozenset({S.NEW, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCEL_PENDING}),
    S.EXPIRED: frozenset({S.NEW, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCEL_PENDING}),
    S.UNKNOWN: frozenset({S.NEW}),
}


def can_transition(current: S, new: S) -> bool:
    return new in _ALLOWED[current]


def is_stale(current: S, new: S) -> bool:
    """True when ``new`` is a state the order has already left behind (an out-of-order or
    repeated broker event): the update carries no news and is ignored. A contradiction (a
    rejected order reported accepted, a filled one cancelled) is not stale: applying it
    raises :class:`InvalidOrderTransition`."""
    return new in _EARLIER.get(current, frozenset())


def transition(order: Order, new: S, *, reason: str | None = None) -> None:
    """Move ``order`` to ``new`` or raise :class:`InvalidOrderTransition`."""
    if new == order.status and new is not S.PARTIALLY_FILLED and new is not S.UNKNOWN:
        return
    if new not in _ALLOWED[order.status]:
        raise InvalidOrderTransition(
            f"order {order.client_order_id}: {order.status.value} -> {new.value} is not allowed"
        )
    order.status = new
    if reason:
        order.reason = reason


class OrderBook:
    """Every order of a run by client order id, and the open ones."""

    __slots__ = ("_orders", "_open")

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}

    def add(self, order: Order) -> None:
        if order.client_order_id in self._orders:
            raise InvalidOrderTransition(f"duplicate client order id {order.client_order_id}")
        self._orders[order.client_order_id] = order
        self._open[order.client_order_id] = order

    def get(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def settle(self, order: Order) -> None:
        if order.status.is_terminal:
            self._open.pop(order.client_order_id, None)

    def open_orders(self) -> list[Order]:
        return list(self._open.values())

    def unknown_orders(self) -> list[Order]:
        return [o for o in self._open.values() if o.status is S.UNKNOWN]

    def in_flight(self, symbol: str) -> list[Order]:
        """The open orders of ``symbol``: sent (or being looked up after a lost answer) and not
        yet terminal. Their unfilled quantity is exposure the broker may still execute."""
        if not self._open:
            return []
        return [o for o in self._open.values() if o.symbol == symbol]

    def pending_quantity(self, symbol: str) -> Decimal:
        return sum(
            (o.remaining_quantity * (1 if o.side.sign > 0 else -1) for o in self._open.values() if o.symbol == symbol),
            Decimal(0),
        )

    def __iter__(self) -> Iterator[Order]:
        return iter(self._orders.values())

    def __len__(self) -> int:
        return len(self._orders)
