"""``EnsembleStrategy``: a weighted combination of member strategies.

Per bar each member's target is forward-filled (NaN keeps the member's previous target; a
member that has never given an opinion counts as 0). Each member's hypothetical return over
the bar is the mean over symbols of its previous target × the symbol's return (costs
ignored). With ``allocation = "sharpe"``, once ``min_history`` returns exist, member weights
are static weight × max(rolling Sharpe over ``lookback`` bars, 0), renormalised within
[``min_weight``, ``max_weight``] (all Sharpe ratios <= 0: static weights). The ensemble target
is the weighted sum, NaN for symbols no member has an opinion on.

Members are tagged ``<ensemble id>/<member id>``; :attr:`member_targets` holds each member's
latest (forward-filled) targets and :attr:`weights` the latest weights. ``signal_block``
exists when every member has one and runs the same arithmetic row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_trading_core.enums import StrategyType, Timeframe
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import BarPanel, FloatArray, History, MarketSlice
from ai_trading_core.protocols import Strategy

from .allocation import bounded_weights, rolling_sharpe
from .params import AllocationParams


@dataclass
class Member:
    """A member strategy, its id inside the ensemble and its static weight (relative)."""

    strategy: Strategy
    weight: float
    member_id: str


class EnsembleStrategy:
    strategy_type: StrategyType = StrategyType.ENSEMBLE

    def __init__(self, strategy_id: str, members: Sequence[Member], params: AllocationParams) -> None:
        if not members:
            raise ConfigError(f"ensemble {strategy_id!r} needs at least one member")
        k = len(members)
        if k * params.min_weight > 1 + 1e-12 or k * params.max_weight < 1 - 1e-12:
            raise ConfigError(f"ensemble {strategy_id!r}: weight bounds cannot sum to 1 over {k} members")
        self.strategy_id = strategy_id
        self.members = list(members)
        self.params = params
        for m in self.members:
            m.strategy.strategy_id = f"{strategy_id}/{m.member_id}"
        static = np.array([m.weight for m in self.members], dtype=np.float64)
        self.static_weights = bounded_weights(static, params.min_weight, params.max_weight)
        self.warmup = max(int(getattr(m.strategy, "warmup", 1)) for m in self.members)
        self.min_history = params.min_history or params.lookback
        self._reset(0)

    def _reset(self, n: int) -> None:
        k = len(self.members)
        self._held = np.full((k, n), np.nan)
        self._prev_close = np.full(n, np.nan)
        self._returns: list[FloatArray] = []  # one (K,) row of member returns per bar
        self.weights = self.static_weights.copy()
        self._weight_sum = np.zeros(k)
        self._bars = 0

    @property
    def member_ids(self) -> list[str]:
        return [m.strategy.strategy_id for m in self.members]

    @property
    def member_targets(self) -> dict[str, FloatArray]:
        return {sid: self._held[i].copy() for i, sid in enumerate(self.member_ids)}

    # ----------------------------------------------------------------- Strategy protocol
    def prepare(self, symbols: tuple[str, ...], timeframe: Timeframe) -> None:
        for m in self.members:
            m.strategy.prepare(symbols, timeframe)
        self._reset(len(symbols))

    def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
        if self._held.shape[1] != len(market.symbols):
            self._reset(len(market.symbols))
        targets = np.stack(
            [np.asarray(m.strategy.on_slice(market, history), dtype=np.float64) for m in self.members]
        )
        return self._step(targets, np.asarray(market.close, dtype=np.float64))

    def _step(self, targets: FloatArray, close: FloatArray) -> FloatArray:
        """One bar: member returns from the previous held targets, new weights, new held
        targets, combined target."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ret = close / self._prev_close - 1.0
        ret = np.where(np.isfinite(ret), ret, 0.0)
        held_prev = np.nan_to_num(self._held, nan=0.0)
        if self._bars > 0:
            self._returns.append((held_prev * ret).mean(axis=1) if ret.size else np.zeros(len(self.members)))
        self._prev_close = close.copy()
        self._held = np.where(np.isfinite(targets), targets, self._held)
        self.weights = self._allocate()
        self._weight_sum += self.weights
        self._bars += 1
        combined = self.weights @ np.nan_to_num(self._held, nan=0.0)
        opinion = np.isfinite(self._held).any(axis=0)
        return np.where(opinion, np.clip(combined, -1.0, 1.0), np.nan)

    def _allocate(self) -> FloatArray:
        p = self.params
        if p.allocation == "static" or len(self._returns) < self.min_history:
            return self.static_weights
        window = np.stack(self._returns[-p.lookback :], axis=1)  # (K, L), oldest first
        raw = self.static_weights * np.maximum(rolling_sharpe(window), 0.0)
        if not (raw > 0).any():
            return self.static_weights
        return bounded_weights(raw, p.min_weight, p.max_weight)

    def member_sharpe(self) -> FloatArray:
        """Per-bar Sharpe ratio of each member's hypothetical returns over the last lookback."""
        if not self._returns:
            return np.zeros(len(self.members))
        return rolling_sharpe(np.stack(self._returns[-self.params.lookback :], axis=1))

    def run_extras(self) -> dict[str, Any]:
        """Attribution for the run document: per member its static, final and mean weight and
        its rolling Sharpe; plus the members' own extras (an ML member's retraining log)."""
        sharpe = self.member_sharpe()
        members: dict[str, Any] = {}
        for i, m in enumerate(self.members):
            entry: dict[str, Any] = {
                "static_weight": float(self.static_weights[i]),
                "final_weight": float(self.weights[i]),
                "mean_weight": float(self._weight_sum[i] / self._bars) if self._bars else None,
                "rolling_sharpe": float(sharpe[i]),
            }
            extras = getattr(m.strategy, "run_extras", None)
            if callable(extras):
                entry["extras"] = extras()
            members[m.strategy.strategy_id] = entry
        return {"allocation": self.params.allocation, "members": members}


class BlockEnsembleStrategy(EnsembleStrategy):
    """An ensemble whose members all have ``signal_block``: the whole-panel path combines
    their blocks with the same per-bar arithmetic, so row t equals ``on_slice`` at t."""

    def signal_block(self, panel: BarPanel) -> FloatArray:
        blocks = [
            np.asarray(m.strategy.signal_block(panel), dtype=np.float64)  # type: ignore[attr-defined]
            for m in self.members
        ]
        self._reset(panel.shape[1])
        out = np.empty(panel.shape)
        for t in range(panel.shape[0]):
            out[t] = self._step(np.stack([b[t] for b in blocks]), panel.close[t])
        return out


def make_ensemble(strategy_id: str, members: Sequence[Member], params: AllocationParams) -> EnsembleStrategy:
    """A :class:`BlockEnsembleStrategy` when every member has ``signal_block``, else an
    :class:`EnsembleStrategy` (bar by bar only)."""
    if all(callable(getattr(m.strategy, "signal_block", None)) for m in members):
        return BlockEnsembleStrategy(strategy_id, members, params)
    return EnsembleStrategy(strategy_id, members, params)
