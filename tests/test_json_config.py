"""JSON config files work wherever TOML ones do: same schema, same errors, identical runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ai_trading_core import rundoc
from ai_trading_core.config import load_config
from ai_trading_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart.toml"


def as_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, default=str, indent=1)  # TOML dates become ISO strings


def run(config: Path, out: Path, cwd: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_") and k != "TRADING_ENVIRONMENT"}
    proc = subprocess.run(
        [sys.executable, "-m", "ai_trading_core.cli", "run", "--quiet", str(config), "--json-out", str(out)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def test_json_and_toml_configs_give_identical_runs(tmp_path: Path) -> None:
    json_path = tmp_path / "quickstart.json"
    json_path.write_text(as_json(tomllib.loads(QUICKSTART.read_text())), encoding="utf-8")

    a = run(QUICKSTART, tmp_path / "a.json", tmp_path)  # both write under tmp_path/runs
    b = run(json_path, tmp_path / "b.json", tmp_path)
    assert a["config_hash"] == b["config_hash"]
    assert a["config"] == b["config"]
    for key in ("equity_curve", "trades", "final_equity", "final_positions", "metrics"):
        assert a[key] == b[key], key
    assert a["metrics"]["trade_count"] > 0

    def orders(doc: dict[str, Any]) -> list[dict[str, Any]]:
        # ids are derived from each run's own id; everything else must match
        ids = ("client_order_id", "correlation_id")
        return [{k: v for k, v in o.items() if k not in ids} for o in rundoc.rows(doc, "orders")]

    assert orders(a) == orders(b) and len(orders(a)) > 0
    ma = json.loads((tmp_path / "runs" / a["run_id"] / "manifest.json").read_text())
    mb = json.loads((tmp_path / "runs" / b["run_id"] / "manifest.json").read_text())
    assert ma["replay_config"] == mb["replay_config"] and ma["data"] == mb["data"]


BAD = {
    "run": {"initial_cash": "-5", "mode": "sideways"},
    "data": {"name": "arch_indices", "paramz": {}},
    "strategies": [],
    "surprise": 1,
}


def test_json_and_toml_report_the_same_errors(tmp_path: Path) -> None:
    toml_path = tmp_path / "bad.toml"
    toml_path.write_text(
        'surprise = 1\nstrategies = []\n[run]\ninitial_cash = "-5"\nmode = "sideways"\n'
        '[data]\nname = "arch_indices"\nparamz = {}\n',
        encoding="utf-8",
    )
    assert tomllib.loads(toml_path.read_text()) == BAD
    json_path = tmp_path / "bad.json"
    json_path.write_text(json.dumps(BAD), encoding="utf-8")
    errors = []
    for path in (toml_path, json_path):
        with pytest.raises(ConfigError) as info:
            load_config(path, env_file=None)
        text = str(info.value)
        assert text.startswith(f"{path}: ")
        errors.append(text[len(f"{path}: ") :])
    assert errors[0] == errors[1]
    for fragment in ("run.initial_cash", "run.mode", "data.paramz", "strategies", "surprise"):
        assert fragment in errors[0]


def test_json_syntax_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"run": {"mode": "backtest",}}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.json: not valid JSON: .*line 1"):
        load_config(broken, env_file=None)
    array = tmp_path / "array.json"
    array.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"array\.json: a JSON config is an object at the top level, got list"):
        load_config(array, env_file=None)


def test_json_config_through_the_cli_validate_and_profiles(tmp_path: Path) -> None:
    doc = tomllib.loads(QUICKSTART.read_text())
    doc["profiles"] = {"small": {"run": {"initial_cash": "5000"}}}
    path = tmp_path / "q.json"
    path.write_text(as_json(doc), encoding="utf-8")
    assert str(load_config(path, env_file=None, profile="small").run.initial_cash) == "5000"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_") and k != "TRADING_ENVIRONMENT"}
    proc = subprocess.run(
        [sys.executable, "-m", "ai_trading_core.cli", "validate", "--env", "small", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{path}: OK (profile small; backtest; data arch_indices" in proc.stdout
