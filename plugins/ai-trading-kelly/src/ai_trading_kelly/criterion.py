"""The Kelly criterion and its estimation from closed trades.

For a repeated bet that wins ``b`` times the stake with probability ``p`` and loses the stake
otherwise, the fraction of capital that maximises expected log growth is
``f* = p - (1 - p) / b`` (Kelly, 1956). A trading strategy's closed trades are reduced to that
bet: ``p`` is the share of winning trades and ``b`` the average win over the average loss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ai_trading_core.errors import ConfigError, DataError
from ai_trading_core.models import Signal, StrategyPerformance
from ai_trading_core.registry import format_validation_error


def kelly_fraction(win_probability: float, payoff_ratio: float) -> float:
    """The full Kelly fraction ``f* = p - (1 - p) / b`` of capital to stake.

    :param win_probability: ``p``, probability of a win (fraction in [0, 1]).
    :param payoff_ratio: ``b``, amount won per unit staked on a win over the amount lost per
        unit staked on a loss (dimensionless). ``b = inf`` gives ``f* = p``.
    :return: ``f*`` (fraction of capital), or 0.0 when it is negative (no edge: do not bet)
        or undefined (``b <= 0`` or ``b`` NaN).
    :raises ValueError: when ``p`` is NaN or outside [0, 1].
    """
    p = float(win_probability)
    if not 0.0 <= p <= 1.0:  # also rejects NaN
        raise ValueError(f"win_probability must be a fraction in [0, 1], got {win_probability!r}")
    b = float(payoff_ratio)
    if not b > 0.0:  # b <= 0 or NaN
        return 0.0
    f = p - (1.0 - p) / b
    return f if f > 0.0 else 0.0


@dataclass(frozen=True, slots=True)
class TradeEdge:
    """What a window of closed trades says about a strategy's edge.

    ``trades`` counts every trade in the window; ``wins``/``losses`` those with a return
    above/below zero (breakeven trades are neither). ``win_probability`` and ``payoff_ratio``
    are NaN when there is no win or no loss to estimate them from.
    """

    trades: int
    wins: int
    losses: int
    win_probability: float  # wins / (wins + losses), fraction
    payoff_ratio: float  # mean win / |mean loss|, dimensionless

    @property
    def full_kelly(self) -> float:
        """``f*`` for this edge; 0.0 when there is no win or no loss (see :func:`estimate_edge`)."""
        if self.wins == 0 or self.losses == 0:
            return 0.0
        return kelly_fraction(self.win_probability, self.payoff_ratio)


def estimate_edge(trade_returns: Sequence[float] | np.ndarray, lookback: int) -> TradeEdge:
    """Estimate ``p`` and ``b`` from the last ``lookback`` closed trades.

    :param trade_returns: return of each closed trade, oldest first (fraction of the capital
        committed to the trade, e.g. 0.02 for +2 %).
    :param lookback: number of most recent **closed trades** used (not bars, not days).

    Breakeven trades (return exactly 0) stay in the window and in ``trades`` but enter neither
    ``p`` nor ``b``: in the two-outcome model a trade that returns its stake changes neither
    log growth nor the optimum, whose exact solution is ``f* = p' - (1 - p') / b`` with
    ``p' = wins / (wins + losses)``.

    :raises DataError: when a return in the window is NaN or infinite.
    """
    if lookback < 1:
        raise ValueError(f"lookback must be at least 1 trade, got {lookback}")
    window = np.asarray(trade_returns[-lookback:] if len(trade_returns) else [], dtype=np.float64)
    if not np.all(np.isfinite(window)):
        bad = int(np.argmin(np.isfinite(window)))
        raise DataError(
            f"trade return {window[bad]!r} at position {bad} of the last {len(window)} trades is not finite"
        )
    gains = window[window > 0.0]
    losses = window[window < 0.0]
    n_w, n_l = len(gains), len(losses)
    if n_w and n_l:
        p = n_w / (n_w + n_l)
        with np.errstate(over="ignore"):  # vanishing losses: b = inf, f* -> p
            b = float(gains.mean() / -losses.mean())
    else:
        p = b = math.nan
    return TradeEdge(trades=len(window), wins=n_w, losses=n_l, win_probability=p, payoff_ratio=b)


class KellyParams(BaseModel):
    """Parameters of Kelly sizing."""

    model_config = ConfigDict(extra="forbid")

    lookback_periods: int = Field(
        default=252,
        ge=1,
        description="number of most recent closed trades used to estimate the edge (trades)",
    )
    fraction: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="fractional Kelly multiplier applied to f* (fraction; 0.5 = half Kelly)",
    )
    max_fraction: float = Field(
        default=0.25,
        gt=0.0,
        le=1.0,
        description="cap on the sized fraction of equity per position (fraction of equity)",
    )
    min_trades: int = Field(
        default=20,
        ge=1,
        description=(
            "closed trades the window must hold before the Kelly estimate is used; until then the "
            "sizer stakes cold_start_fraction (trades)"
        ),
    )
    cold_start_fraction: float = Field(
        default=0.02,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description=(
            "prior used by the kelly sizer while a strategy has fewer than min_trades closed trades: "
            "fraction of equity per position before confidence and cap (fraction; 0 = do not trade "
            "until the edge is known, which also means no trades ever close)"
        ),
    )

    @model_validator(mode="after")
    def _window_can_hold_min_trades(self) -> KellyParams:
        if self.min_trades > self.lookback_periods:
            raise ValueError(
                f"min_trades ({self.min_trades}) exceeds lookback_periods ({self.lookback_periods}): "
                "the window could never hold enough trades"
            )
        return self


class KellyCriterion:
    """Fractional, capped Kelly sizing from a strategy's closed-trade history.

    ``f = min(f* × confidence × fraction, max_fraction)`` where ``f*`` is the full Kelly
    fraction estimated by :func:`estimate_edge` over the last ``lookback_periods`` closed
    trades. ``f`` is 0.0 (do not trade) when:

    - the strategy has no performance record, or fewer than ``min_trades`` closed trades in
      the window (breakeven trades count as trades);
    - the window holds no losing trade (``b`` cannot be estimated; full Kelly would stake
      everything on an untested downside) or no winning trade (``p = 0``);
    - the estimated edge is not positive (``f* <= 0``).
    """

    __slots__ = ("lookback_periods", "fraction", "max_fraction", "min_trades")

    def __init__(
        self,
        lookback_periods: int = 252,
        fraction: float = 0.5,
        max_fraction: float = 0.25,
        min_trades: int = 20,
    ) -> None:
        try:
            params = KellyParams(
                lookback_periods=lookback_periods,
                fraction=fraction,
                max_fraction=max_fraction,
                min_trades=min_trades,
            )
        except ValidationError as exc:
            raise ConfigError(f"KellyCriterion: {format_validation_error(exc)}") from None
        self.lookback_periods = params.lookback_periods
        self.fraction = params.fraction
        self.max_fraction = params.max_fraction
        self.min_trades = params.min_trades

    @classmethod
    def from_params(cls, params: KellyParams) -> KellyCriterion:
        return cls(params.lookback_periods, params.fraction, params.max_fraction, params.min_trades)

    def edge(self, performance: StrategyPerformance) -> TradeEdge:
        return estimate_edge(performance.trade_returns, self.lookback_periods)

    def scaled_kelly(self, performance: StrategyPerformance | None) -> float:
        """``f* × fraction`` before confidence and cap (fraction of equity); 0.0 in the
        degenerate cases listed on the class."""
        if performance is None:
            return 0.0
        edge = self.edge(performance)
        if edge.trades < self.min_trades:
            return 0.0
        return edge.full_kelly * self.fraction

    def calculate_kelly_fraction(
        self,
        strategy_id: str,
        signal: Signal,
        performance: StrategyPerformance | Mapping[str, StrategyPerformance],
    ) -> float:
        """Fraction of equity to commit to ``signal`` (fraction in [0, max_fraction]).

        :param strategy_id: the strategy whose closed trades estimate the edge.
        :param signal: only its ``confidence`` (fraction in [0, 1]) is used; the signal's
            strength and direction are applied by the caller (a sizer multiplies by them).
        :param performance: the strategy's record, or a mapping of records by strategy id
            (a missing id means no history, hence 0.0).
        :raises ConfigError: when a single record of another strategy is passed.
        """
        if isinstance(performance, StrategyPerformance):
            if performance.strategy_id != strategy_id:
                raise ConfigError(
                    f"performance record of strategy {performance.strategy_id!r} "
                    f"passed for strategy {strategy_id!r}"
                )
            record: StrategyPerformance | None = performance
        else:
            record = performance.get(strategy_id)
        return min(self.scaled_kelly(record) * signal.confidence, self.max_fraction)
