"""Run manifests and ``ai-trading replay``: a recorded run re-runs to the identical document,
and a changed input is named, not silently reproduced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ai_trading_core import rundoc
from ai_trading_core.config import config_from_dict
from ai_trading_core.manifest import read_manifest, result_digest
from ai_trading_core.replay import replay
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel


def _quickstart_like(tmp_path: Path) -> dict[str, Any]:
    """The quickstart's shape (SMA 10/30, equal weight, sim broker, summary reporter) on a
    small seeded synthetic universe instead of the index history."""
    return {
        "run": {"name": "quickstart-synthetic", "initial_cash": "100000", "start": "2010-03-01", "end": "2011-06-30",
                "seed": 11, "output_dir": str(tmp_path / "runs"), "state_dir": str(tmp_path / "state")},
        "plugins": {"load": ["sample-data", "sim", "sma", "summary"]},
        "data": {"name": "synthetic", "params": {"n_symbols": 2, "n_bars": 500}},
        "strategies": [{"name": "sma_crossover", "id": "sma-10-30", "params": {"fast": 10, "slow": 30}}],
        "sizer": {"name": "equal_weight", "params": {"gross": 0.98}},
        "broker": {"name": "sim", "params": {"commission_bps": 1, "slippage_bps": 2}},
        "reporters": [{"name": "summary"}],
    }


@pytest.fixture
def recorded(tmp_path: Path) -> Any:
    return run_config(config_from_dict(_quickstart_like(tmp_path)))


def test_every_run_writes_a_manifest(recorded: Any) -> None:
    path = recorded.manifest_path
    run_dir = Path(recorded.document["config"]["run"]["output_dir"]) / recorded.document["run_id"]
    assert path == run_dir / "manifest.json"
    m = read_manifest(path)
    doc = recorded.document
    assert m["run_id"] == doc["run_id"]
    assert m["config_hash"] == doc["config_hash"]
    assert m["config"] == doc["config"]
    assert config_from_dict(m["replay_config"]).config_hash() == doc["config_hash"]
    assert {p["name"] for p in m["plugins"]} >= {"sample-data", "sim", "sma", "summary"}
    assert all(p["version"] for p in m["plugins"])
    assert m["seed"] == 11
    assert m["data"]["bars"] == doc["bars"] and m["data"]["symbols"] == doc["symbols"]
    assert m["result_digest"] == result_digest(doc)
    assert len(rundoc.rows(doc, "trades")) > 3  # the run trades, so the digest covers something


def test_replay_gives_an_identical_document(recorded: Any) -> None:
    before = recorded.manifest_path.read_text()
    outcome, ok, problems = replay(recorded.manifest_path)
    assert problems == [] and ok
    assert outcome.document["run_id"] == recorded.document["run_id"]
    # nothing in the document depends on wall time: the whole document is identical, but for
    # the audit chain's head: the replay continued the run's chain and sealed it again
    replayed, original = dict(outcome.document), dict(recorded.document)
    assert replayed.pop("audit")["head"] != original.pop("audit")["head"]
    assert json.dumps(replayed, sort_keys=True) == json.dumps(original, sort_keys=True)
    assert recorded.manifest_path.read_text() == before
    assert not recorded.manifest_path.with_name("manifest.replay.json").exists()
    # the trail holds both seals: the recorded manifest's head and the replay's
    from ai_trading_core.audit import AuditHead, head_of_document, resolve_audit_key, verify_audit_file

    state = Path(recorded.document["config"]["run"]["state_dir"])
    recorded_head = head_of_document(json.loads(before), "the recorded manifest")
    assert recorded_head is not None
    audit = outcome.document["audit"]
    replay_head = AuditHead(outcome.document["run_id"], audit["head"], audit["events"], "the replay")
    trail = recorded.manifest_path.with_name("audit.jsonl")
    assert verify_audit_file(trail, resolve_audit_key({}, state, create=False), expected=(recorded_head, replay_head)).ok


def test_replay_cli_round_trip(recorded: Any, cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "replayed.json"
    proc = cli("replay", str(recorded.manifest_path), "--json-out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "reproduced" in proc.stdout
    replayed, original = json.loads(out.read_text()), json.loads(json.dumps(recorded.document))
    assert replayed.pop("audit")["head"] != original.pop("audit")["head"]  # sealed again
    assert replayed == original


def test_replay_names_a_changed_data_fingerprint(recorded: Any, tmp_path: Path) -> None:
    m = json.loads(recorded.manifest_path.read_text())
    m["replay_config"]["data"]["params"]["seed"] = 12  # the source now delivers other bars
    m["config_hash"] = config_from_dict(m["replay_config"]).config_hash()
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(m))
    outcome, ok, problems = replay(path)
    assert outcome is None and not ok
    assert len(problems) == 1 and problems[0].startswith("data fingerprint: recorded")


def test_replay_names_a_plugin_version_and_config_hash_mismatch(recorded: Any, tmp_path: Path, cli: Any) -> None:
    m = json.loads(recorded.manifest_path.read_text())
    sim = next(p for p in m["plugins"] if p["name"] == "sim")
    sim["version"] = "0.0.1"
    m["config_hash"] = "0" * 64
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(m))
    _, ok, problems = replay(path)
    assert not ok
    assert any(p.startswith("config hash: recorded 000000000000") for p in problems)
    assert any("plugin sim: recorded ai-trading-sim 0.0.1, installed" in p for p in problems)
    proc = cli("replay", str(path))
    assert proc.returncode == 4 and "plugin sim: recorded ai-trading-sim 0.0.1" in proc.stderr


def test_replay_names_a_different_result(recorded: Any, tmp_path: Path) -> None:
    m = json.loads(recorded.manifest_path.read_text())
    m["result_digest"] = "f" * 64
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(m))
    outcome, ok, problems = replay(path)
    assert outcome is not None and not ok
    assert problems == [f"result digest: recorded ffffffffffff, replayed {result_digest(recorded.document)[:12]} "
                        "(equity curve, orders or trades differ)"]


def test_panel_fingerprint_is_bitwise() -> None:
    a = random_walk_panel(50, 2, seed=3)
    b = random_walk_panel(50, 2, seed=3)
    assert a.fingerprint() == b.fingerprint() and len(a.fingerprint()) == 64
    close = a.close.copy()
    close[10, 1] = np.nextafter(close[10, 1], np.inf)  # one ulp
    changed = type(a)(symbols=a.symbols, timestamps=a.timestamps, open=a.open, high=a.high, low=a.low, close=close,
                      volume=a.volume, timeframe=a.timeframe)
    assert changed.fingerprint() != a.fingerprint()
    assert a.select(symbols=list(reversed(a.symbols))).fingerprint() != a.fingerprint()


def test_secret_parameters_never_reach_the_manifest_and_block_replay(tmp_path: Path) -> None:
    from ai_trading_core.errors import ConfigError
    from ai_trading_core.manifest import replayable_config
    from ai_trading_core.replay import config_from_manifest
    from ai_trading_core.runner import host_for_config, redacted_config

    data = _quickstart_like(tmp_path)
    data["plugins"]["load"].append("alpaca")
    data["broker"] = {"name": "alpaca", "params": {"paper": True, "api_key": "AKSECRET123", "secret_key": "sk-SECRET"}}
    data["credentials"] = {"other": "pw-SECRET"}
    config = config_from_dict(data)
    shown = replayable_config(config, redacted_config(config, host_for_config(config)))
    assert "SECRET" not in json.dumps(shown)
    assert shown["broker"]["params"]["paper"] is True and "credentials" not in shown
    with pytest.raises(ConfigError, match=r"broker\.params\.api_key, broker\.params\.secret_key were redacted"):
        config_from_manifest({"replay_config": shown})


def test_replay_of_an_autoloaded_run_loads_only_the_recorded_plugins(tmp_path: Path, cli: Any) -> None:
    """A run without ``[plugins] load`` records whatever was installed. Replaying it in an
    environment with more plugins (or fewer enabled) loads exactly the recorded set, and
    ``--disable-plugin`` reaches the replay."""
    doc = _quickstart_like(tmp_path)
    doc.pop("plugins")
    config = config_from_dict(doc)
    from ai_trading_core.plugins import create_plugin_host

    # record with a subset of what is installed: the rest is "installed since"
    host = create_plugin_host(only=["sample-data", "sim", "sma", "summary"])
    rec = run_config(config, host)
    assert {p["name"] for p in read_manifest(rec.manifest_path)["plugins"]} == {
        "core", "sample-data", "sim", "sma", "summary"
    }
    outcome, ok, problems = replay(rec.manifest_path)
    assert ok and problems == [], problems
    assert outcome is not None and outcome.document["run_id"] == rec.document["run_id"]
    proc = cli("--disable-plugin", "summary", "replay", str(rec.manifest_path))
    assert proc.returncode == 4 and "plugin summary (ai-trading-summary" in proc.stderr and "not installed" in proc.stderr
