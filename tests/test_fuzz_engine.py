"""Property-based fuzzing of the engine with hostile data (hypothesis).

Random OHLCV panels (gaps, NaN bars, zero volume, symbols that start late or stop early,
prices from 1e-4 to 1e6, one-bar panels, split-like jumps, prices with few or many decimals,
ticks configured or not) and random configs drawn from the registered parameter models
(strategy, sizer, simulated broker, optionally a circuit breaker), run per bar and in block
mode. Invariants:

* no traceback: a run, or a typed :class:`~ai_trading_core.errors.AiTradingError`;
* cash = initial cash - sum of signed fill notional - commissions, exactly (``Decimal``);
* positions = the sum of the signed fills, per symbol;
* a market order fills at the next available open of its symbol, moved by at most the
  configured slippage plus one tick, and inside the bar's low-high range whenever a tick
  price lies inside it (see the simulated broker's price guards);
* per-bar and block mode give the same fills, cash, positions and halt, unless block mode
  was refused by its guard (``signal_block`` disagreeing with ``on_slice``: a typed
  :class:`~ai_trading_core.guards.BlockMismatch`, counted as a hypothesis event).

The bounded profile runs by default (derandomized, a fixed number of examples); the long
profile runs under ``-m nightly``.
"""

from __future__ import annotations

import math
import os
import types
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from ai_trading_sim import data_tick
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from ai_trading_core.config import config_from_dict
from ai_trading_core.errors import AiTradingError, ConfigError
from ai_trading_core.market import BarPanel
from ai_trading_core.models import Instrument
from ai_trading_core.plugins import PluginHost, create_plugin_host
from ai_trading_core.runner import RunOutcome, run_config

DAY_NS = 86_400 * 10**9
START_NS = 1_577_836_800 * 10**9  # 2020-01-01
INITIAL_CASH = Decimal(100_000)

STRATEGIES = ("sma_crossover", "momentum", "mean_reversion", "macd_trend", "breakout")
SIZERS = ("equal_weight", "fixed_quantity", "vol_target", "atr", "risk_parity", "kelly")
# parameters kept at their defaults: they name things outside the run (files, accounts)
FIXED = {"persist", "state_file", "accounts", "trend_timeframe"}


# ------------------------------------------------------------------------- panels
@st.composite
def panels(draw: st.DrawFn, max_bars: int = 60, max_symbols: int = 4) -> BarPanel:
    # mostly long enough to trade, sometimes tiny (one to three bars)
    tiny = draw(st.integers(0, 5)) == 5
    t = draw(st.integers(1, 3)) if tiny else draw(st.integers(max_bars // 2, max_bars))
    n = draw(st.integers(1, max_symbols))
    cols = {k: np.empty((t, n)) for k in ("open", "high", "low", "close", "volume")}
    instruments = {}
    symbols = tuple(f"S{j}" for j in range(n))
    for j, sym in enumerate(symbols):
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        level = 10.0 ** draw(st.floats(-4.0, 6.0))
        vol = draw(st.sampled_from([0.03, 0.01, 0.2, 0.0]))  # the first is the simplest: keep it lively
        close = level * np.exp(np.cumsum(rng.normal(0.0, vol, t)))
        if t > 1 and draw(st.booleans()):  # a split-like jump
            at = draw(st.integers(1, t - 1))
            close[at:] *= draw(st.sampled_from([0.1, 0.5, 2.0, 10.0]))
        open_ = np.concatenate([[close[0]], close[:-1]]) * np.exp(rng.normal(0.0, vol / 4 + 1e-12, t))
        spread = np.abs(rng.normal(0.0, vol / 2, t))
        high = np.maximum(open_, close) * np.exp(spread)
        low = np.minimum(open_, close) * np.exp(-spread)
        places = draw(st.one_of(st.none(), st.integers(0, 8)))
        if places is not None:
            # data with a fixed number of decimals (never rounded to zero)
            floor = 10.0**-places
            scale = 10.0**places
            open_, close = (np.maximum(np.round(a, places), floor) for a in (open_, close))
            high = np.maximum(np.ceil(np.maximum(high, np.maximum(open_, close)) * scale) / scale, floor)
            low = np.maximum(np.floor(np.minimum(low, np.minimum(open_, close)) * scale) / scale, floor)
        volume = rng.integers(0, 1_000_000, t).astype(np.float64)
        volume[rng.random(t) < draw(st.sampled_from([0.0, 0.2]))] = 0.0  # zero-volume bars
        missing = rng.random(t) < draw(st.sampled_from([0.0, 0.0, 0.02, 0.1, 0.3]))  # gaps
        first = draw(st.integers(0, max(t - 1, 0))) if draw(st.integers(0, 3)) == 3 else 0  # starts late
        last = draw(st.integers(first, t - 1)) if draw(st.integers(0, 3)) == 3 else t - 1  # stops early
        missing[:first] = True
        missing[last + 1 :] = True
        for name, values in (("open", open_), ("high", high), ("low", low), ("close", close), ("volume", volume)):
            col = values.astype(np.float64)
            col[missing] = np.nan
            cols[name][:, j] = col
        tick = draw(st.sampled_from([None, None, None, None, "0.01", "0.0001", "1"]))
        instruments[sym] = Instrument(symbol=sym) if tick is None else Instrument(symbol=sym, tick_size=Decimal(tick))
    return BarPanel(symbols, START_NS + DAY_NS * np.arange(t, dtype=np.int64), instruments=instruments,
                    source="fuzz", **cols)


# ------------------------------------------------------------------------- configs
def _bounds(info: Any) -> tuple[float | None, float | None, bool, bool]:
    lo = hi = None
    lo_open = hi_open = False
    for m in info.metadata:
        bounds = (("gt", True, True), ("ge", True, False), ("lt", False, True), ("le", False, False))
        for attr, is_lo, is_open in bounds:
            v = getattr(m, attr, None)
            if v is not None:
                if is_lo:
                    lo, lo_open = float(v), is_open
                else:
                    hi, hi_open = float(v), is_open
    return lo, hi, lo_open, hi_open


def _scalar(annotation: Any) -> tuple[Any, bool]:
    """The field's scalar type and whether None is allowed."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else None), True
    return annotation, False


@st.composite
def params_for(draw: st.DrawFn, model: type[BaseModel]) -> dict[str, Any]:
    """Parameters drawn from a model's field types and bounds (each field kept at its
    default half of the time); cross-field rules are the model's to enforce."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in FIXED or draw(st.booleans()):
            continue
        kind, optional = _scalar(info.annotation)
        if optional and draw(st.integers(0, 3)) == 0:
            out[name] = None
            continue
        lo, hi, lo_open, hi_open = _bounds(info)
        if kind is bool:
            out[name] = draw(st.booleans())
        elif typing.get_origin(kind) is Literal:
            out[name] = draw(st.sampled_from(typing.get_args(kind)))
        elif kind is int:
            a = int(lo) + (1 if lo_open else 0) if lo is not None else 0
            b = int(hi) - (1 if hi_open else 0) if hi is not None else a + 40
            # windows mostly short: the panels are short
            out[name] = draw(st.integers(a, min(b, a + draw(st.sampled_from([3, 8, 40])))))
        elif kind in (float, Decimal):
            a = lo if lo is not None else 0.0
            # unbounded parameters are mostly fractions or multiples: a few units of range
            b = min(hi if hi is not None else a + 2.0, a + 100.0)
            # a typical value inside the range first (hypothesis starts there), then anything
            typical = [v for v in (a + (b - a) * q for q in (0.1, 0.5, 0.02)) if v != a or not lo_open]
            x = draw(st.one_of(
                st.sampled_from(typical),
                st.floats(a, b, exclude_min=lo_open, exclude_max=hi_open, allow_nan=False, allow_infinity=False),
            ))
            out[name] = Decimal(repr(round(x, 6))) if kind is Decimal else x
    return out


@st.composite
def configs(draw: st.DrawFn, host: PluginHost) -> dict[str, Any]:
    r = host.registries
    strategy = draw(st.sampled_from(STRATEGIES))
    sizer = draw(st.sampled_from(SIZERS))
    doc: dict[str, Any] = {
        "run": {"rebalance": draw(st.sampled_from(["on_signal", "every_bar"]))},
        "data": {"name": "synthetic"},
        "strategies": [{"name": strategy, "params": draw(params_for(r.strategies.get(strategy).params_model))}],
        "sizer": {"name": sizer, "params": draw(params_for(r.sizers.get(sizer).params_model))},
        "broker": {"name": "sim", "params": draw(params_for(r.brokers.get("sim").params_model))},
        "risk": [],
        "audit": {"enabled": False},
    }
    if draw(st.integers(0, 3)) == 0:
        doc["risk"].append(
            {"name": "circuit_breaker", "params": draw(params_for(r.risk_checks.get("circuit_breaker").params_model))}
        )
    return doc


# ------------------------------------------------------------------------- invariants
def run_or_typed_error(doc: dict[str, Any], panel: BarPanel, host: PluginHost, block: bool) -> RunOutcome | str:
    """A run, or the message of a typed error. Anything else propagates: a traceback."""
    try:
        return run_config(config_from_dict(doc), host, panel=panel, block=block, run_id=f"fuzz-{int(block)}")
    except AiTradingError as exc:
        return f"{type(exc).__name__}: {exc}"


def check_ledger(outcome: RunOutcome) -> None:
    fills = outcome.result.fills
    cash = INITIAL_CASH - sum((f.signed_quantity * f.price + f.commission for f in fills), Decimal(0))
    assert outcome.result.final_cash == cash
    held: dict[str, Decimal] = {}
    for f in fills:
        held[f.symbol] = held.get(f.symbol, Decimal(0)) + f.signed_quantity
    assert {s: q for s, q in held.items() if q != 0} == {
        s: q for s, q in outcome.result.final_positions.items() if q != 0
    }


def check_fill_prices(outcome: RunOutcome, panel: BarPanel, slippage_bps: Decimal, capped: bool) -> None:
    orders = {o.client_order_id: o for o in outcome.result.orders}
    seen: set[str] = set()
    slip = slippage_bps / Decimal(10_000)
    tf_ns = panel.timeframe.seconds * 10**9
    for f in outcome.result.fills:
        j = panel.symbols.index(f.symbol)
        ts = int(f.timestamp.timestamp()) * 10**9
        i = int(np.searchsorted(panel.timestamps, ts))
        assert panel.timestamps[i] == ts
        o, h, lo, c = (float(getattr(panel, k)[i, j]) for k in ("open", "high", "low", "close"))
        assert math.isfinite(o)
        order = orders[f.client_order_id]
        decided = int(order.created_at.timestamp()) * 10**9 - tf_ns  # the decision bar's open time
        later = np.flatnonzero((panel.timestamps > decided) & np.isfinite(panel.open[:, j]))
        assert len(later) and later[0] <= i  # never before the next available open
        first = f.client_order_id not in seen
        seen.add(f.client_order_id)
        if first and not capped:  # under a participation cap a zero-volume bar fills nothing
            assert i == later[0], "a market order fills at the next available open"
        inst = panel.instruments[f.symbol]
        tick = inst.tick_size if "tick_size" in inst.model_fields_set else data_tick(o, h, lo, c)
        ref = Decimal(repr(o))
        assert abs(f.price - ref) <= ref * slip + tick
        floor = (Decimal(repr(lo)) / tick).to_integral_value(rounding="ROUND_CEILING") * tick
        ceiling = (Decimal(repr(h)) / tick).to_integral_value(rounding="ROUND_FLOOR") * tick
        if floor <= ceiling:
            assert floor <= f.price <= ceiling, "inside the bar's range"
        assert f.price > 0


def same_run(a: RunOutcome | str, b: RunOutcome | str) -> None:
    if isinstance(b, str) and b.startswith("BlockMismatch:") and not isinstance(a, str):
        # the block-mode guard refused a signal_block that disagrees with on_slice: the
        # block path never traded what the per-bar path would not (the guard's job)
        event(f"block refused: {b.split(':')[1].strip()}")
        return
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    key = [(f.symbol, f.side, f.quantity, f.price, f.commission, f.timestamp) for f in a.result.fills]
    assert key == [(f.symbol, f.side, f.quantity, f.price, f.commission, f.timestamp) for f in b.result.fills]
    assert a.result.final_cash == b.result.final_cash
    assert a.result.final_positions == b.result.final_positions
    assert (a.engine and a.engine.failure) == (b.engine and b.engine.failure)
    np.testing.assert_allclose(a.result.equity, b.result.equity, rtol=1e-12, atol=1e-9)


def valid_or_default(host: PluginHost, doc: dict[str, Any]) -> dict[str, Any]:
    """Drawn parameters that break a model's cross-field rule (fast < slow, slippage below
    max_fill_move) are a config error, already covered by the registry tests: such a
    component falls back to its defaults, so every example is a run."""
    r = host.registries
    sections = [(r.strategies, sc) for sc in doc["strategies"]]
    sections += [(r.sizers, doc["sizer"]), (r.brokers, doc["broker"])] + [(r.risk_checks, rc) for rc in doc["risk"]]
    for registry, section in sections:
        try:
            registry.get(section["name"]).validate(section["params"], where=section["name"])
        except ConfigError:
            event(f"defaults for {section['name']}")
            section["params"] = {}
    return doc


def check_example(doc: dict[str, Any], panel: BarPanel, host: PluginHost, out: Path) -> None:
    doc = valid_or_default(host, {**doc, "run": {**doc["run"], "output_dir": str(out)}})
    try:
        config_from_dict(doc)
    except ConfigError:
        assume(False)
    per_bar = run_or_typed_error(doc, panel, host, block=False)
    block = run_or_typed_error(doc, panel, host, block=True)
    for outcome in (per_bar, block):
        if isinstance(outcome, str):
            event(f"typed error: {outcome.split(':')[0]}")
            continue
        event("fills" if outcome.result.fills else "no fills")
        if outcome.engine is not None and outcome.engine.failure:
            event(f"halted: {outcome.engine.failure[:40]}")
        check_ledger(outcome)
        broker = doc["broker"]["params"]
        check_fill_prices(
            outcome, panel, Decimal(str(broker.get("slippage_bps", 0))), broker.get("max_participation") is not None
        )
    same_run(per_bar, block)


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return create_plugin_host()


BOUNDED_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
LONG_EXAMPLES = int(os.environ.get("FUZZ_LONG_EXAMPLES", "1500"))
FUZZ_RANDOM = bool(os.environ.get("FUZZ_RANDOM"))  # the bounded profile is derandomized unless set
COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
}


@settings(max_examples=BOUNDED_EXAMPLES, derandomize=not FUZZ_RANDOM, **COMMON)  # type: ignore[arg-type]
@given(data=st.data())
def test_engine_fuzz_bounded(data: st.DataObject, host: PluginHost, tmp_path_factory: pytest.TempPathFactory) -> None:
    panel = data.draw(panels(max_bars=120, max_symbols=3), label="panel")
    doc = data.draw(configs(host), label="config")
    check_example(doc, panel, host, tmp_path_factory.mktemp("fuzz"))


@pytest.mark.nightly
@settings(max_examples=LONG_EXAMPLES, **COMMON)  # type: ignore[arg-type]
@given(data=st.data())
def test_engine_fuzz_long(data: st.DataObject, host: PluginHost, tmp_path_factory: pytest.TempPathFactory) -> None:
    panel = data.draw(panels(max_bars=400, max_symbols=6), label="panel")
    doc = data.draw(configs(host), label="config")
    check_example(doc, panel, host, tmp_path_factory.mktemp("fuzz"))
