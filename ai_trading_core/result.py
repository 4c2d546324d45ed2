"""What a run is (:class:`Session`) and what it produced (:class:`RunResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from .enums import RunMode, Timeframe
from .models import Fill, Instrument, Order, RiskEvent, RiskVerdict, Trade


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str


@dataclass(frozen=True)
class Session:
    """Identity of a run, handed to ``ai_trading_session_start``."""

    run_id: str
    mode: RunMode
    config_hash: str
    timeframe: Timeframe
    symbols: tuple[str, ...]
    initial_cash: Decimal
    currency: str
    plugins: tuple[PluginInfo, ...] = ()
    strategies: tuple[str, ...] = ()
    name: str = ""


@dataclass
class RunResult:
    """Everything a run produced. Arrays are aligned with ``timestamps`` (int64 ns, UTC)."""

    session: Session
    timestamps: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]  # currency, marked at each bar's close
    cash: npt.NDArray[np.float64]  # currency
    gross_exposure: npt.NDArray[np.float64]  # currency, sum of |position value|
    net_exposure: npt.NDArray[np.float64]  # currency
    final_cash: Decimal
    final_equity: Decimal
    final_positions: dict[str, Decimal]
    trades: list[Trade]
    orders: list[Order]
    fills: list[Fill]
    risk_events: list[RiskEvent]
    risk_verdicts: list[RiskVerdict]
    instruments: dict[str, Instrument]
    benchmark: npt.NDArray[np.float64] | None = None  # close of the benchmark symbol, if any
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total_return(self) -> float:
        start = float(self.session.initial_cash)
        return float(self.final_equity) / start - 1.0 if start else 0.0
