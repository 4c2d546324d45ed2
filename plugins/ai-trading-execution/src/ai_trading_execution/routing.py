"""Routing child orders between venues by cost, availability and limits.

Venues are tried cheapest first (commission plus expected slippage, bps; ties in config
order). A venue is skipped while it is unavailable (it refused an order or failed within its
``unavailable_bars``) or when the child exceeds its size or notional limit. A refusal
(:class:`~ai_trading_core.errors.BrokerError`, or a REJECTED answer) falls back to the next
venue; a lost answer (:class:`~ai_trading_core.errors.BrokerTimeout`) is resolved by
looking the order up at that venue: only a venue that never saw the order is passed over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ai_trading_core.enums import OrderStatus
from ai_trading_core.errors import BrokerError, BrokerTimeout
from ai_trading_core.models import Order, OrderUpdate

from .params import VenueParams


@dataclass
class Venue:
    """A configured venue and its built broker component."""

    config: VenueParams
    broker: Any  # ai_trading_core.protocols.Broker
    unavailable_until: int = -1  # bar counter before which the venue is skipped

    @property
    def name(self) -> str:
        return self.config.name


@dataclass
class RouteOutcome:
    venue: Venue | None
    update: OrderUpdate | None
    refusals: list[dict[str, str]] = field(default_factory=list)  # venue, reason


class VenueRouter:
    def __init__(self, venues: list[Venue]) -> None:
        self.venues = venues
        self._by_cost = sorted(venues, key=lambda v: v.config.cost_bps)  # stable: config order on ties

    def candidates(
        self, quantity: Decimal, reference_price: Decimal | None, bar: int
    ) -> tuple[list[Venue], list[dict[str, str]]]:
        """Venues that may take ``quantity`` units now, cheapest first, and why the others may not."""
        ok: list[Venue] = []
        skipped: list[dict[str, str]] = []
        for v in self._by_cost:
            c = v.config
            if bar < v.unavailable_until:
                skipped.append({"venue": v.name, "reason": "unavailable after a recent refusal"})
            elif c.max_order_quantity is not None and quantity > c.max_order_quantity:
                skipped.append(
                    {"venue": v.name, "reason": f"quantity {quantity} above limit {c.max_order_quantity}"}
                )
            elif (
                c.max_order_notional is not None
                and reference_price is not None
                and quantity * reference_price > c.max_order_notional
            ):
                skipped.append(
                    {
                        "venue": v.name,
                        "reason": f"notional {quantity * reference_price} above limit {c.max_order_notional}",
                    }
                )
            else:
                ok.append(v)
        return ok, skipped

    def route(self, child: Order, reference_price: Decimal | None, bar: int) -> RouteOutcome:
        """Send ``child`` to the first venue that accepts it."""
        venues, refusals = self.candidates(child.quantity, reference_price, bar)
        for v in venues:
            try:
                upd = v.broker.submit_order(child)
            except BrokerTimeout as exc:
                upd = self._lookup_after_timeout(v, child, exc)
                if upd is None:
                    refusals.append({"venue": v.name, "reason": f"timeout, order not found: {exc}"})
                    v.unavailable_until = bar + v.config.unavailable_bars
                    continue
            except BrokerError as exc:
                refusals.append({"venue": v.name, "reason": str(exc)})
                v.unavailable_until = bar + v.config.unavailable_bars
                continue
            if upd.status is OrderStatus.REJECTED:
                refusals.append({"venue": v.name, "reason": upd.reason or "rejected"})
                v.unavailable_until = bar + v.config.unavailable_bars
                continue
            return RouteOutcome(v, upd, refusals)
        return RouteOutcome(None, None, refusals)

    @staticmethod
    def _lookup_after_timeout(v: Venue, child: Order, exc: BrokerTimeout) -> OrderUpdate | None:
        try:
            found: OrderUpdate | None = v.broker.lookup_order(child.client_order_id)
        except BrokerError:
            return None
        if found is not None and found.status is OrderStatus.REJECTED:
            return None
        return found
