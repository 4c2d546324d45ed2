"""Research guards where a user meets them: ``ai-trading validate`` refuses a strategy that
looks ahead, ``ai-trading run`` in block mode refuses a block path that disagrees with the
per-bar path, validate checks what run would check on the data, and a price below one tick
ends a run cleanly (a typed, one-line halt or a fill at the data's own tick), never a
traceback."""

from __future__ import annotations

import json
import math
import sys
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ai_trading_core import rundoc
from ai_trading_core.config import config_from_dict
from ai_trading_core.errors import ConfigError
from ai_trading_core.guards import BlockMismatch, LookaheadDetected, check_config_data
from ai_trading_core.market import BarPanel
from ai_trading_core.models import Instrument
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import host_for_config, run_config, validate_config

# A plugin with three strategies: a block path that reads the next bar (look-ahead), a block
# path that lags its per-bar path by one bar (a mismatch without look-ahead), and the
# look-ahead one again declaring itself non-deterministic.
GUARD_PLUGIN = '''
from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from ai_trading_core import hookimpl
from ai_trading_core.enums import StrategyType


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = 5


class Momentum:
    """Sign of the n-bar return; the per-bar path is causal."""

    strategy_type = StrategyType.TECHNICAL

    def __init__(self, p, sid):
        self.strategy_id, self.n, self.warmup = sid, p.n, p.n + 1

    def prepare(self, symbols, timeframe):
        return None

    def on_slice(self, market, history):
        c = history.close(self.n + 1)
        if history.count <= self.n:
            return np.full(len(market.close), np.nan)
        return np.sign(c[-1] - c[0])

    def causal_block(self, panel):
        out = np.full(panel.shape, np.nan)
        out[self.n:] = np.sign(panel.close[self.n:] - panel.close[:-self.n])
        return out


class PeekNextClose(Momentum):
    """Block path: the sign of the next bar's return, known only tomorrow."""

    def signal_block(self, panel):
        out = np.full(panel.shape, np.nan)
        out[:-1] = np.sign(panel.close[1:] - panel.close[:-1])
        return out


class LaggedBlock(Momentum):
    """Block path: yesterday's per-bar signal (causal, but not what on_slice trades)."""

    def signal_block(self, panel):
        out = self.causal_block(panel)
        return np.vstack([np.full((1, panel.shape[1]), np.nan), out[:-1]])


class NoisyPeek(PeekNextClose):
    deterministic = False


@hookimpl
def ai_trading_register_strategies(registry):
    registry.register("peek_next_close", lambda p, c: PeekNextClose(p, c.component_id), params=Params)
    registry.register("lagged_block", lambda p, c: LaggedBlock(p, c.component_id), params=Params)
    registry.register("noisy_peek", lambda p, c: NoisyPeek(p, c.component_id), params=Params)
'''


@pytest.fixture(scope="module")
def guard_plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("site")
    pkg = root / "ai_trading_guardtest"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text(GUARD_PLUGIN)
    info = root / "ai_trading_guardtest-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ai-trading-guardtest\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text("[ai_trading]\nguardtest = ai_trading_guardtest.plugin\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(root))
        yield root
    for name in [m for m in sys.modules if m.startswith("ai_trading_guardtest")]:
        del sys.modules[name]


def toml(out: Path, strategy: str, *, engine: str = "per_bar", extra: str = "") -> str:
    return textwrap.dedent(f"""\
        [run]
        output_dir = "{out.as_posix()}"
        engine = "{engine}"
        [plugins]
        load = ["sample-data", "sim", "sma", "guardtest"]
        [data]
        name = "synthetic"
        params = {{ n_symbols = 3, n_bars = 300, seed = 4 }}
        [[strategies]]
        name = "{strategy}"
        [audit]
        enabled = false
        """) + extra


class Ran:
    """What ``ai-trading`` printed and returned, run in this process (``main(argv)``)."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def main_cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """``ai-trading`` in this process: the same ``main`` the console script calls (faster
    than a subprocess; the subprocess tests cover the installed entry point)."""
    from ai_trading_core.cli import main

    def run(*args: str) -> Ran:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            # main() pointed the log at this test's captured stderr: point it back
            from loguru import logger

            logger.remove()
            logger.add(sys.__stderr__, level="WARNING")
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return run


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# ---------------------------------------------------------------------------- subprocess
def test_validate_refuses_a_strategy_that_looks_ahead(cli, tmp_path, guard_plugin_dir) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "peek.toml"
    cfg.write_text(toml(tmp_path / "runs", "peek_next_close"))
    out = cli("validate", str(cfg), extra_path=guard_plugin_dir)
    assert out.returncode == 5, (out.stdout, out.stderr)
    line = error_line(out.stderr)
    assert "strategy peek_next_close" in line and "signal_block row" in line and "on_slice" in line



def test_validate_no_data_skips_the_data_checks(main_cli, tmp_path, guard_plugin_dir) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "peek.toml"
    cfg.write_text(toml(tmp_path / "runs", "peek_next_close"))
    assert main_cli("validate", str(cfg)).returncode == 5
    out = main_cli("validate", str(cfg), "--no-data")
    assert out.returncode == 0 and "look-ahead" not in out.stdout


def test_validate_reports_the_lookahead_check_of_a_causal_strategy(main_cli, tmp_path, guard_plugin_dir) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "sma.toml"
    cfg.write_text(toml(tmp_path / "runs", "sma_crossover").replace(
        'name = "sma_crossover"', 'name = "sma_crossover"\nparams = { fast = 5, slow = 20, trigger = "cross" }'))
    out = main_cli("validate", str(cfg))
    assert out.returncode == 0, out.stderr
    assert "data: 3 symbols, 300 bars" in out.stdout
    assert "look-ahead sma_crossover: OK on the first 250 bars" in out.stdout
    assert "on_slice and signal_block" in out.stdout


def test_block_run_refuses_a_block_path_that_disagrees(cli, main_cli, tmp_path, guard_plugin_dir) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "lag.toml"
    cfg.write_text(toml(tmp_path / "runs", "lagged_block", engine="block"))
    out = cli("run", str(cfg), "--quiet", extra_path=guard_plugin_dir)
    assert out.returncode == 5, (out.stdout, out.stderr)
    line = error_line(out.stderr)
    assert "strategy lagged_block: signal_block row 5 (SYN000, 2010-01-11T00:00:00+00:00) is nan" in line
    assert "on_slice returns" in line
    assert "run.engine = 'per_bar'" in line
    # validate finds the same problem before any run
    assert main_cli("validate", str(cfg)).returncode == 5
    # the per-bar path trusts only on_slice: it runs
    cfg.write_text(toml(tmp_path / "runs", "lagged_block"))
    assert main_cli("run", str(cfg), "--quiet").returncode == 0


def test_validate_checks_what_run_would(main_cli, tmp_path, guard_plugin_dir) -> None:  # type: ignore[no-untyped-def]
    base = toml(tmp_path / "runs", "sma_crossover")
    cases = {
        "start after end": (base.replace('engine = "per_bar"',
                                         'engine = "per_bar"\nstart = 2021-01-01\nend = 2020-01-01'),
                            2, "run.start (2021-01-01) is after run.end (2020-01-01)"),
        "benchmark": (base.replace('engine = "per_bar"', 'engine = "per_bar"\nbenchmark = "NOPE"'),
                      2, "benchmark symbol 'NOPE' is not in the data"),
        "no bars": (base.replace('engine = "per_bar"', 'engine = "per_bar"\nstart = 1990-01-01\nend = 1990-02-01'),
                    1, "no bars between 1990-01-01 and 1990-02-01"),
        "infinite window": (base + '[[risk]]\nname = "circuit_breaker"\nparams = { rapid_loss_window = inf }\n',
                            2, "rapid_loss_window: Input should be a finite number (got inf)"),
        "nan limit": (base + '[[risk]]\nname = "circuit_breaker"\nparams = { daily_loss_limit = nan }\n',
                      2, "daily_loss_limit"),
    }
    for name, (text, code, expected) in cases.items():
        cfg = tmp_path / f"{name.replace(' ', '_')}.toml"
        cfg.write_text(text.replace('"guardtest"]', '"guardtest", "circuit-breaker"]'))
        for command in ("validate", "run"):
            out = main_cli(command, str(cfg))
            assert out.returncode == code, (name, command, out.stderr)
            assert expected in error_line(out.stderr), (name, command)


def test_infinite_window_refused_by_validate_and_run(cli, tmp_path, guard_plugin_dir) -> None:  # type: ignore[no-untyped-def]
    """The issue's case, through the installed command: validate and run agree."""
    cfg = tmp_path / "inf.toml"
    cfg.write_text(toml(tmp_path / "runs", "sma_crossover").replace('"guardtest"]', '"guardtest", "circuit-breaker"]')
                   + '[[risk]]\nname = "circuit_breaker"\nparams = { rapid_loss_window = inf }\n')
    for command in ("validate", "run"):
        out = cli(command, str(cfg), extra_path=guard_plugin_dir)
        assert out.returncode == 2, out.stderr
        assert "rapid_loss_window: Input should be a finite number (got inf)" in error_line(out.stderr)


def test_validate_names_a_missing_data_file_and_symbol(main_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "bars.csv"
    csv.write_text("timestamp,symbol,open,high,low,close,volume\n"
                   "2020-01-02T00:00:00Z,AAA,10,11,9,10.5,100\n2020-01-03T00:00:00Z,AAA,10.5,11,10,10.8,100\n")
    text = textwrap.dedent(f"""\
        [run]
        output_dir = "{(tmp_path / 'runs').as_posix()}"
        [data]
        name = "files"
        params = {{ path = "{csv.as_posix()}", symbols = ["AAA", "ZZZ"] }}
        [[strategies]]
        name = "sma_crossover"
        params = {{ fast = 1, slow = 2 }}
        """)
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    line = error_line(main_cli("validate", str(cfg)).stderr)
    assert "ZZZ" in line
    cfg.write_text(text.replace(csv.as_posix(), (tmp_path / "missing.csv").as_posix()))
    out = main_cli("validate", str(cfg))
    assert out.returncode != 0 and "missing.csv" in error_line(out.stderr)


def sub_tick_csv(path: Path) -> Path:
    """A penny stock under one cent: opens of 0.004 .. 0.007 with three decimals."""
    rows = ["timestamp,symbol,open,high,low,close,volume"]
    price = [0.004, 0.005, 0.006, 0.005, 0.004, 0.005, 0.007, 0.006, 0.005, 0.004, 0.006, 0.007]
    for i, p in enumerate(price):
        rows.append(f"2020-01-{i + 2:02d}T00:00:00Z,PNNY,{p},{p + 0.001:.3f},{p - 0.001:.3f},{p},1000000")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_sub_tick_prices_end_cleanly(cli, main_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With a configured tick of 0.01 a 0.004 open cannot be filled: the run halts with one
    line, writes its document and exits 4. With no tick configured (the files source leaves
    it to the data) or one equal to the data's, the same run trades at the data's prices."""
    csv = sub_tick_csv(tmp_path / "penny.csv")
    text = textwrap.dedent(f"""\
        [run]
        output_dir = "{(tmp_path / 'runs').as_posix()}"
        [data]
        name = "files"
        params = {{ path = "{csv.as_posix()}", tick_size = 0.01 }}
        [[strategies]]
        name = "sma_crossover"
        params = {{ fast = 1, slow = 2, long_only = false }}
        [audit]
        enabled = false
        """)
    cfg = tmp_path / "penny.toml"
    cfg.write_text(text)
    doc_path = tmp_path / "doc.json"
    out = cli("run", str(cfg), "--quiet", "--json-out", str(doc_path))
    assert out.returncode == 4, (out.stdout, out.stderr)
    line = error_line(out.stderr)
    assert "halted: fill could not be booked: sim: fill price" in line
    assert "tick 0.01" in line and "tick_size" in line
    doc = json.loads(doc_path.read_text())
    assert rundoc.rows(doc, "fills") == [] and doc["metrics"]["trade_count"] == 0
    assert any(e["state"] == "halted" and "fill price" in e["reason"] for e in doc["risk_events"])

    for tick in (", tick_size = 0.001", ""):
        cfg.write_text(text.replace(", tick_size = 0.01", tick))
        out = main_cli("run", str(cfg), "--quiet", "--json-out", str(doc_path))
        assert out.returncode == 0, out.stderr
        doc = json.loads(doc_path.read_text())
        assert doc["metrics"]["trade_count"] > 0 and not doc["risk_events"]
        prices = {Decimal(f["price"]) for f in rundoc.rows(doc, "fills")}
        assert prices and all(p == p.quantize(Decimal("0.001")) and p > 0 for p in prices)


# ---------------------------------------------------------------------------- in process
def penny_panel(tick: str | None) -> BarPanel:
    opens = np.array([0.004, 0.005, 0.006, 0.005, 0.004, 0.005, 0.007, 0.006, 0.005, 0.004, 0.006, 0.007])
    t = len(opens)
    o = opens.reshape(t, 1)
    day = 86_400 * 10**9
    inst = Instrument(symbol="PNNY") if tick is None else Instrument(symbol="PNNY", tick_size=Decimal(tick))
    return BarPanel(("PNNY",), 1_577_836_800 * 10**9 + day * np.arange(t, dtype=np.int64), o.copy(),
                    np.round(o + 0.001, 3), np.round(o - 0.001, 3), o.copy(), np.full((t, 1), 1e6),
                    instruments={"PNNY": inst})


def penny_config(tmp_path: Path, engine: str = "per_bar", slippage_bps: int = 0) -> Any:
    return config_from_dict({
        "run": {"output_dir": str(tmp_path / "runs"), "engine": engine},
        "data": {"name": "synthetic"},
        "strategies": [{"name": "sma_crossover", "params": {"fast": 1, "slow": 2, "long_only": False}}],
        "broker": {"name": "sim", "params": {"slippage_bps": slippage_bps}},
        "audit": {"enabled": False},
    })


@pytest.mark.parametrize("engine", ["per_bar", "block"])
def test_unconfigured_tick_comes_from_the_data(tmp_path, engine) -> None:  # type: ignore[no-untyped-def]
    """No tick configured: the broker fills at the data's 0.001 increments (a 0.004 sell is
    not rounded to zero) and the fills stay inside each bar's range."""
    config = penny_config(tmp_path, engine)
    outcome = run_config(config, panel=penny_panel(None))
    assert not outcome.engine.failure and not outcome.result.risk_events
    fills = outcome.result.fills
    assert len(fills) >= 4
    panel = penny_panel(None)
    for f in fills:
        i = int(np.searchsorted(panel.timestamps, int(f.timestamp.timestamp() * 1e9)))
        assert Decimal(str(panel.low[i, 0])) <= f.price <= Decimal(str(panel.high[i, 0]))
        assert f.price == f.price.quantize(Decimal("0.001"))
        assert f.price > 0
    cash = Decimal(100000) - sum((f.signed_quantity * f.price + f.commission for f in fills), Decimal(0))
    assert outcome.result.final_cash == cash


def test_slippage_below_one_tick_of_the_data_halts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """10 bps on a 0.006 open is 0.000006, less than the data's tick: the buy rounds up a
    whole tick (+16.7 %), more than max_fill_move; the run halts instead of booking it."""
    outcome = run_config(penny_config(tmp_path, slippage_bps=10), panel=penny_panel(None))
    assert "moves 16.67% from the reference 0.006 (tick 0.001, slippage 10 bps)" in outcome.engine.failure
    assert outcome.result.fills == []


def test_configured_coarse_tick_halts_with_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = penny_config(tmp_path)
    outcome = run_config(config, panel=penny_panel("0.01"))
    assert outcome.engine.failure.startswith("fill could not be booked: sim: fill price")
    assert "\n" not in outcome.engine.failure
    assert outcome.result.fills == []
    (event,) = outcome.result.risk_events
    assert event.state.value == "halted" and event.source == "engine"
    assert outcome.document["risk_events"][0]["reason"] == outcome.engine.failure
    # open orders were cancelled: nothing rests at the broker
    assert all(o.status.is_terminal for o in outcome.result.orders)


def test_non_deterministic_strategy_gets_warnings_not_refusals(tmp_path, guard_plugin_dir) -> None:  # type: ignore[no-untyped-def]
    doc = {
        "run": {"output_dir": str(tmp_path / "runs"), "engine": "block"},
        "plugins": {"load": ["sample-data", "sim", "guardtest"]},
        "data": {"name": "synthetic", "params": {"n_symbols": 2, "n_bars": 120, "seed": 1}},
        "strategies": [{"name": "noisy_peek"}],
        "audit": {"enabled": False},
    }
    config = config_from_dict(doc)
    host = host_for_config(config)
    report = check_config_data(config, host)
    assert any("WARNING (non-deterministic strategy)" in line for line in report.lines)
    assert report.warnings
    run_config(config, host)  # block mode trusts it, with a logged warning
    doc["strategies"] = [{"name": "peek_next_close"}]
    config = config_from_dict(doc)
    with pytest.raises(LookaheadDetected):
        check_config_data(config, host)
    with pytest.raises(BlockMismatch):
        run_config(config, host)


# ---------------------------------------------------------------------------- parameters
def _float_fields(model: Any) -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        text = repr(info.annotation)
        if ("float" in text or "Decimal" in text) and not any(
            getattr(m, "allow_inf_nan", None) is True for m in info.metadata
        ):
            out.append(name)
    return out


def test_every_registered_parameter_model_refuses_non_finite_numbers() -> None:
    """For every component of every role, every float or Decimal parameter refuses inf,
    -inf and nan with a ConfigError naming the field: what validate accepts, run can use."""
    host = create_plugin_host()
    checked = 0
    for role, registry in host.registries.by_role().items():
        for spec in registry:
            for name in _float_fields(spec.params_model):
                for bad in (math.inf, -math.inf, math.nan):
                    # the value itself, or inside a mapping or list for container fields
                    messages = []
                    for shaped in (bad, {"SYM": bad}, [bad]):
                        with pytest.raises(ConfigError) as caught:
                            spec.validate({name: shaped}, where=f"{role.value} {spec.name!r}")
                        messages.append(str(caught.value))
                    assert any(f"{name}" in m and "finite" in m for m in messages), messages
                    checked += 1
    assert checked > 60  # the registered models do have float parameters


def test_nested_parameter_models_refuse_non_finite_numbers() -> None:
    """Inside a parameter model's own sub-models (an ensemble's members) too."""
    host = create_plugin_host()
    spec = host.registries.strategies.get("ensemble")
    good = {"members": [{"name": "sma_crossover", "weight": 1.0}]}
    spec.validate(good, where="strategy 'ensemble'")
    with pytest.raises(ConfigError, match=r"members\.0\.weight: Input should be a finite number"):
        spec.validate({"members": [{"name": "sma_crossover", "weight": math.inf}]}, where="strategy 'ensemble'")


def test_a_field_can_opt_in_to_infinity() -> None:
    from pydantic import BaseModel, Field

    from ai_trading_core.enums import Role
    from ai_trading_core.registry import ComponentRegistry

    class Params(BaseModel):
        cap: float = Field(default=math.inf, allow_inf_nan=True)
        floor: float = 0.0

    registry: ComponentRegistry[Any] = ComponentRegistry(Role.SIZER)
    registry.register("capped", lambda p, c: p, params=Params)
    spec = registry.get("capped")
    assert spec.validate({"cap": math.inf}, where="x").cap == math.inf  # type: ignore[attr-defined]
    assert isinstance(spec.validate({}, where="x"), Params)
    with pytest.raises(ConfigError, match="floor: Input should be a finite number"):
        spec.validate({"floor": -math.inf}, where="x")


def test_validate_config_in_process_refuses_start_after_end(sma_config) -> None:  # type: ignore[no-untyped-def]
    config = config_from_dict({**sma_config, "run": {"start": "2021-01-01", "end": "2020-12-31"}})
    with pytest.raises(ConfigError, match=r"run.start \(2021-01-01\) is after run.end"):
        validate_config(config, host_for_config(config))
