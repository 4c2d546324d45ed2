"""ai-trading as a benchmark engine: the full plugin pipeline through ``run_config``.

    python -m benchmarks.engines.ai_trading_engine --mode bar --case panel --repeats 3 --out r.json

Each timed run creates the plugin host (entry points ``sim`` and ``sma``), builds a
``BarPanel`` from the case's arrays and calls ``run_config`` with strategy ``sma_crossover``
(fast 10, slow 30, long-only, ``trigger = "cross"``: crossover events, the rule of the peers'
documentation and of ``reference.TRIGGER``), broker ``sim`` with zero commission and slippage, audit off and
no reporters. Instruments get a tick of 0.01 (:data:`benchmarks.data.TICK`, the tick the case's
prices are generated on, like listed equities) and a lot of 1, so fills happen at the open,
which is on the tick, in whole units.

Sizing: the kernel's ``sub_account`` sizer with ``size_at_fill = true``: each symbol is a
sub-account of initial cash / N compounding its own P&L, and going long sends a notional
market order that the simulated broker turns into ``floor(sub-account cash / open[t+1])``
units at the fill, exactly the peers' rule.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from typing import Any

from ai_trading_core.config import AppConfig, AuditSettings, ComponentConfig, RunSettings, StrategyConfig
from ai_trading_core.enums import Side, Timeframe
from ai_trading_core.market import BarPanel
from ai_trading_core.models import Instrument
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import run_config

from .. import data as bench_data
from .. import reference
from ..measure import run_engine, version_of

MODES = ("bar", "block")
_TIMEFRAMES = {60: Timeframe.M1, 86_400: Timeframe.D1}
# the cases' price tick, Decimal("1E-8"): fills happen at the open, which is on the tick
_TICK = Decimal(1).scaleb(-bench_data.TICK_DECIMALS)


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


def make_config(initial_cash: float, trigger: str = "state") -> AppConfig:
    return AppConfig(
        run=RunSettings(initial_cash=Decimal(repr(initial_cash))),
        data=ComponentConfig(name="synthetic"),  # not built: the panel is passed in
        strategies=[
            StrategyConfig(
                name="sma_crossover",
                id="sma-10-30",
                params={"fast": reference.FAST, "slow": reference.SLOW, "long_only": True, "trigger": trigger},
            )
        ],
        sizer=ComponentConfig(name="sub_account", params={"size_at_fill": True}),
        broker=ComponentConfig(name="sim", params={"commission_bps": 0, "slippage_bps": 0}),
        audit=AuditSettings(enabled=False),
    )


def require_block_mode() -> None:
    """Raise ImportError unless the runner can take whole-panel signals (``signal_block``)."""
    import inspect

    if "block" not in inspect.signature(run_config).parameters:
        raise ImportError("the runner has no block mode yet (run_config takes no block option)")


def run(case: bench_data.OHLCV, mode: str = "bar", trigger: str = "state") -> tuple[int, float]:
    """One full run; returns (entries, final equity in currency). The benchmark process
    passes ``trigger=reference.TRIGGER``."""
    extra: dict[str, Any] = {}
    if mode == "block":
        require_block_mode()
        extra["block"] = True
    host = create_plugin_host(only=["sim", "sma", "sample-data"])
    outcome = run_config(make_config(case.initial_cash, trigger), host, panel=to_panel(case), **extra)
    result = outcome.result
    columns = getattr(result.fills, "columns", None)
    sides = columns() if callable(columns) else None  # the engine's columnar fills, no objects
    if sides is not None:
        entries = sides["side"].count("buy")
    else:
        entries = sum(1 for f in result.fills if f.side is Side.BUY)
    return entries, float(result.final_equity)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--mode", choices=MODES, default="bar")
    known, rest = parser.parse_known_args(argv)
    if known.mode == "block":
        require_block_mode()

    run_engine(
        f"ai-trading ({known.mode})",
        lambda case: run(case, known.mode, reference.TRIGGER),
        {"ai-trading-core": version_of("ai-trading-core")},
        rest,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
