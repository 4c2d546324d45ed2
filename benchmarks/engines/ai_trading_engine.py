"""ai-trading as a benchmark engine: the full plugin pipeline through ``run_config``.

    python -m benchmarks.engines.ai_trading_engine --mode bar --case panel --repeats 3 --out r.json

Each timed run creates the plugin host (entry points ``sim`` and ``sma``), builds a
``BarPanel`` from the case's arrays and calls ``run_config`` with strategy ``sma_crossover``
(fast 10, slow 30, long-only), broker ``sim`` with zero commission and slippage, audit off and
no reporters. Instruments get a tick of 1e-15 and a lot of 1, so fills happen at the raw open
price in whole units.

Sizing: the sizer is the benchmark's own ``bench_sub_account_all_in`` (registered through a
plugin object handed to the host, not installed): each symbol is a sub-account holding
initial cash / N plus its realised cash flows (tracked from the ``ai_trading_fill`` hook);
going long targets ``floor(sub-account cash / close[t])`` units. The kernel fixes quantities
at decision time, so this matches the reference's ``sizing="decision_close"`` variant, not
the peers' fill-price sizing: the result carries ``reference_*`` figures of that variant,
which ``run.py`` checks it against.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from ai_trading_core import hookimpl
from ai_trading_core.config import AppConfig, AuditSettings, ComponentConfig, RunSettings, StrategyConfig
from ai_trading_core.enums import Side, Timeframe
from ai_trading_core.market import BarPanel, FloatArray
from ai_trading_core.models import Fill, Instrument
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.protocols import SizingContext
from ai_trading_core.registry import BuildContext, SizerRegistry
from ai_trading_core.runner import run_config

from .. import data as bench_data
from .. import reference
from ..measure import run_engine, version_of

MODES = ("bar", "block")
SIZER = "bench_sub_account_all_in"
_TIMEFRAMES = {60: Timeframe.M1, 86_400: Timeframe.D1}
_TICK = Decimal("1e-15")


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubAccountAllIn:
    """Per-symbol sub-accounts, all-in long: target ``floor(cash_i / price_i)`` units while
    the combined target is positive and the symbol is flat, the current position while it
    stays positive, 0 otherwise. ``cash_i`` starts at initial cash / N (currency) and moves
    with that symbol's fills."""

    __slots__ = ("initial_cash", "cash", "index")

    def __init__(self, initial_cash: Decimal) -> None:
        self.initial_cash = float(initial_cash)
        self.cash: FloatArray | None = None
        self.index: dict[str, int] = {}

    def _ensure(self, symbols: tuple[str, ...]) -> FloatArray:
        if self.cash is None:
            self.cash = np.full(len(symbols), self.initial_cash / len(symbols))
            self.index = {s: i for i, s in enumerate(symbols)}
        return self.cash

    def on_fill(self, fill: Fill) -> None:
        if self.cash is None:
            return
        flow = float(fill.quantity * fill.price + fill.commission)
        self.cash[self.index[fill.symbol]] += -flow if fill.side is Side.BUY else flow

    def target_positions(self, targets: FloatArray, ctx: SizingContext) -> FloatArray:
        cash = self._ensure(ctx.symbols)
        with np.errstate(divide="ignore", invalid="ignore"):
            entry = np.floor(cash / ctx.prices)
        units = np.where(targets > 0, np.where(ctx.positions > 0, ctx.positions, entry), 0.0)
        units[~np.isfinite(targets) | ~np.isfinite(ctx.prices)] = np.nan
        return units


class SubAccountPlugin:
    """Registers :class:`SubAccountAllIn` and feeds it fills. One instance per run."""

    def __init__(self) -> None:
        self.sizer: SubAccountAllIn | None = None

    @hookimpl
    def ai_trading_register_sizers(self, registry: SizerRegistry) -> None:
        registry.register(
            SIZER, self._build, params=NoParams, description="benchmark: per-symbol sub-accounts, all-in"
        )

    def _build(self, params: NoParams, ctx: BuildContext) -> SubAccountAllIn:
        self.sizer = SubAccountAllIn(ctx.initial_cash)
        return self.sizer

    @hookimpl
    def ai_trading_fill(self, fill: Fill) -> None:
        if self.sizer is not None:
            self.sizer.on_fill(fill)


def to_panel(case: bench_data.OHLCV) -> BarPanel:
    step = (
        int(case.timestamps[1] - case.timestamps[0]) // 1_000_000_000 if len(case.timestamps) > 1 else 86_400
    )
    return BarPanel(
        symbols=case.symbols,
        timestamps=case.timestamps,
        open=case.open,
        high=case.high,
        low=case.low,
        close=case.close,
        volume=case.volume,
        timeframe=_TIMEFRAMES[step],
        instruments={s: Instrument(symbol=s, tick_size=_TICK, lot_size=Decimal(1)) for s in case.symbols},
        source="benchmark",
    )


def make_config(initial_cash: float) -> AppConfig:
    return AppConfig(
        run=RunSettings(initial_cash=Decimal(repr(initial_cash))),
        data=ComponentConfig(name="synthetic"),  # not built: the panel is passed in
        strategies=[
            StrategyConfig(
                name="sma_crossover",
                id="sma-10-30",
                params={"fast": reference.FAST, "slow": reference.SLOW, "long_only": True},
            )
        ],
        sizer=ComponentConfig(name=SIZER),
        broker=ComponentConfig(name="sim", params={"commission_bps": 0, "slippage_bps": 0}),
        audit=AuditSettings(enabled=False),
    )


def require_block_mode() -> None:
    """Raise ImportError unless the runner can take whole-panel signals (``signal_block``)."""
    import inspect

    if "block" not in inspect.signature(run_config).parameters:
        raise ImportError("the runner has no block mode yet (run_config takes no block option)")


def run(case: bench_data.OHLCV, mode: str = "bar") -> tuple[int, float]:
    """One full run; returns (entries, final equity in currency)."""
    extra: dict[str, Any] = {}
    if mode == "block":
        require_block_mode()
        extra["block"] = True
    host = create_plugin_host(
        only=["sim", "sma", "sample-data"], extra_plugins={"bench-sub-accounts": SubAccountPlugin()}
    )
    outcome = run_config(make_config(case.initial_cash), host, panel=to_panel(case), **extra)
    result = outcome.result
    entries = sum(1 for f in result.fills if f.side is Side.BUY)
    return entries, float(result.final_equity)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--mode", choices=MODES, default="bar")
    known, rest = parser.parse_known_args(argv)
    if known.mode == "block":
        require_block_mode()

    def reference_figures(case: bench_data.OHLCV) -> dict[str, Any]:
        ref = reference.run_reference(case.open, case.close, case.initial_cash, sizing="decision_close")
        return {
            "sizing": "decision_close",
            "reference_trades": ref.trades,
            "reference_final_equity": ref.final_equity,
        }

    run_engine(
        f"ai-trading ({known.mode})",
        lambda case: run(case, known.mode),
        {"ai-trading-core": version_of("ai-trading-core")},
        rest,
        annotate=reference_figures,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
