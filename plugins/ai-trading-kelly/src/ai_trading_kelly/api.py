"""The original design's ``PositionSizer(kelly_criterion=KellyCriterion())`` for scripts and
notebooks: one signal at a time, in exact units. Inside a run the ``kelly`` sizer
(:class:`~ai_trading_kelly.sizer.KellySizer`) does the same arithmetic on whole arrays; both
take the fraction from :meth:`KellyCriterion.calculate_kelly_fraction`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from ai_trading_core.errors import ConfigError
from ai_trading_core.models import Signal, StrategyPerformance

from .criterion import KellyCriterion


@dataclass(frozen=True)
class PositionSize:
    """A sized signal: ``fraction`` of equity (Kelly, after confidence and cap), signed
    ``quantity`` in units (rounded toward zero to the lot), ``notional`` in currency."""

    symbol: str
    fraction: float
    quantity: Decimal
    notional: Decimal


class PositionSizer:
    """Sizes signals with the Kelly criterion.

    :param kelly_criterion: the criterion (default ``KellyCriterion()``: half Kelly, capped at
        25 % of equity, from the last 252 closed trades, at least 20 of them).
    :param lot_size: quantity increment, units (fractional shares: e.g. ``Decimal("0.0001")``).
    """

    def __init__(self, kelly_criterion: KellyCriterion | None = None, *, lot_size: Decimal | int | str = 1) -> None:
        self.kelly_criterion = kelly_criterion if kelly_criterion is not None else KellyCriterion()
        self.lot_size = Decimal(str(lot_size))
        if self.lot_size <= 0:
            raise ConfigError(f"lot_size must be positive, got {lot_size}")

    def position_fraction(
        self,
        strategy_id: str,
        signal: Signal,
        performance: StrategyPerformance | Mapping[str, StrategyPerformance],
    ) -> float:
        """Fraction of equity for ``signal`` (in [0, max_fraction]); see
        :meth:`KellyCriterion.calculate_kelly_fraction`."""
        return self.kelly_criterion.calculate_kelly_fraction(strategy_id, signal, performance)

    def calculate_position_size(
        self,
        strategy_id: str,
        signal: Signal,
        performance: StrategyPerformance | Mapping[str, StrategyPerformance],
        *,
        equity: Decimal | int | str,
        price: Decimal | int | str,
    ) -> PositionSize:
        """Units to hold for ``signal``: ``strength × fraction × equity / price``, rounded
        toward zero to ``lot_size`` (exact Decimal arithmetic; the sign is the signal's).

        :param equity: account equity, currency.
        :param price: price of the symbol, currency per unit (positive).
        """
        eq, px = Decimal(str(equity)), Decimal(str(price))
        if px <= 0:
            raise ConfigError(f"{signal.symbol}: price must be positive, got {price}")
        fraction = self.position_fraction(strategy_id, signal, performance)
        raw = Decimal(repr(signal.strength)) * Decimal(repr(fraction)) * max(eq, Decimal(0)) / px
        quantity = (raw / self.lot_size).quantize(Decimal(1), rounding=ROUND_DOWN) * self.lot_size
        quantity = quantity if quantity else Decimal(0)  # no "-0" from a short signal sized to nothing
        return PositionSize(signal.symbol, fraction, quantity, quantity * px)
