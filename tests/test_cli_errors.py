"""Bad configs end with one clear line naming the problem and a non-zero exit, no traceback."""

from __future__ import annotations

import json

import pytest

from ai_trading_core import rundoc

GOOD = """
[run]
output_dir = "{out}"
[data]
name = "synthetic"
params = {{ n_symbols = 2, n_bars = 150 }}
[[strategies]]
name = "sma_crossover"
params = {{ fast = 5, slow = 20 }}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace('name = "sma_crossover"', 'name = "no_such_strategy"'), "unknown strategy 'no_such_strategy'"),
        (GOOD.replace("fast = 5", 'fast = "five"'), "fast: Input should be a valid integer"),
        (GOOD.replace('name = "synthetic"', 'name = "synthetic"\nbogus = 1'), "data.bogus: Extra inputs are not permitted"),
        (GOOD + "\n[broker]\nname = 'sim'\nparams = {{ slippage_bps = -1 }}\n", "slippage_bps: Input should be greater than or equal to 0"),
        (GOOD.replace("[run]", "[run\n"), "not valid TOML"),
        (GOOD.replace('[run]', '[run]\ninitial_cash = "lots"'), "run.initial_cash"),
    ],
)
def test_bad_config_one_line(cli, tmp_path, text, expected) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text.format(out=tmp_path / "runs"))
    for command in ("validate", "run"):
        out = cli(command, str(cfg))
        assert out.returncode != 0
        lines = [line for line in out.stderr.strip().splitlines() if line.startswith("error: ")]
        assert len(lines) == 1, out.stderr
        assert expected in lines[0] and out.stderr.strip().endswith(lines[0])
        assert "Traceback" not in out.stderr


def test_missing_config_file(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = cli("run", str(tmp_path / "nope.toml"))
    assert out.returncode == 2 and out.stderr.strip() == f"error: config file not found: {tmp_path / 'nope.toml'}"


def test_missing_data_file_names_it(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "c.toml"
    cfg.write_text(GOOD.format(out=tmp_path / "runs").replace('name = "synthetic"\nparams = { n_symbols = 2, n_bars = 150 }',
                                                             f'name = "files"\nparams = {{ path = "{tmp_path / "missing.csv"}" }}'))
    out = cli("run", str(cfg))
    assert out.returncode != 0 and "missing.csv" in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("error: ") and "missing.csv" in out.stderr.strip().splitlines()[-1]


def test_env_override_and_secret_never_printed(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "c.toml"
    cfg.write_text(GOOD.format(out=tmp_path / "runs") + '\n[credentials]\nbroker_key = "canary-7f3a9"\n')
    out = cli("run", str(cfg), "--json-out", str(tmp_path / "r.json"), env={"AI_TRADING_RUN__INITIAL_CASH": "5000"})
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["initial_cash"] == "5000"
    everything = out.stdout + out.stderr + (tmp_path / "r.json").read_text()
    everything += "".join(p.read_text() for p in (tmp_path / "runs").rglob("*.jsonl"))
    assert "canary-7f3a9" not in everything


def test_quickstart_document(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = cli("run", str(root / "examples" / "quickstart.toml"), "--json-out", str(tmp_path / "r.json"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    for key in ("run_id", "mode", "plugins", "config_hash", "start", "end", "equity_curve", "trades", "orders",
                "metrics", "risk_events", "attribution"):
        assert key in doc
    assert doc["metrics"]["trade_count"] > 0 and len(rundoc.rows(doc, "trades")) > 0
    assert doc["start"].startswith("1999-01-04") and doc["end"].startswith("2018-12-31")
    assert {"name", "distribution", "version"} <= set(doc["plugins"][0])
    ts, equity = doc["equity_curve"][0]
    assert ts.endswith("Z") and equity == 100000.0
    assert "final equity" in out.stdout.lower()
