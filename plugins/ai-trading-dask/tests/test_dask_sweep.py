"""Sweeps on a local Dask cluster give exactly the runs done one by one; walk-forward
windows and the grid arithmetic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ai_trading_dask import apply_point, cartesian_grid, dask_client, parse_param, rank, run_sweep, run_walk_forward
from ai_trading_dask.sweep import config_dict, walk_forward_windows

from ai_trading_core.config import config_from_dict
from ai_trading_core.errors import ConfigError
from ai_trading_core.replay import load_panel
from ai_trading_core.runner import host_for_config, run_config


def _config(tmp_path: Path) -> dict[str, Any]:
    return {
        "run": {"output_dir": str(tmp_path / "runs"), "state_dir": str(tmp_path / "state"), "seed": 5},
        "plugins": {"load": ["sample-data", "sim", "sma"]},
        "data": {"name": "synthetic", "params": {"n_symbols": 2, "n_bars": 160}},
        "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 5, "slow": 20}}],
        "broker": {"name": "sim", "params": {"commission_bps": 1, "slippage_bps": 2}},
        "audit": {"enabled": False},
    }


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with dask_client(workers=2, processes=True) as c:
        yield c


def test_sweep_of_32_points_matches_runs_one_by_one(client: Any, tmp_path: Path) -> None:
    cfg = config_from_dict(_config(tmp_path))
    points = cartesian_grid([parse_param("strategies.0.params.fast=3,4,5,6,7,8,9,10"),
                             parse_param("strategies.0.params.slow=15,20,25,30")])
    assert len(points) == 32
    panel = load_panel(cfg, host_for_config(cfg))
    done: list[tuple[int, int]] = []
    results = run_sweep(client, config_dict(cfg), points, sweep_id="t32", panel=panel,
                        progress=lambda d, t: done.append((d, t)))
    assert [r.index for r in results] == list(range(32))
    assert done[-1] == (32, 32) and len(done) == 32
    trades = set()
    for r, point in zip(results, points, strict=True):
        alone = run_config(config_from_dict(apply_point(_config(tmp_path), point)))
        m = alone.document["metrics"]
        assert r.params == point
        assert r.metrics["final_equity"] == m["final_equity"], point
        assert r.trade_count == m["trade_count"] and r.metrics["order_count"] == m["order_count"], point
        trades.add(r.trade_count)
    assert len(trades) > 3  # the grid really changes the runs
    best = rank(results, "total_return")
    assert best[0].metrics["total_return"] == max(r.metrics["total_return"] for r in results)


def test_walk_forward_picks_best_on_train_and_reports_test(client: Any, tmp_path: Path) -> None:
    cfg = config_from_dict(_config(tmp_path))
    panel = load_panel(cfg, host_for_config(cfg))
    points = cartesian_grid([parse_param("strategies.0.params.fast=3,5,8")])
    windows = run_walk_forward(client, config_dict(cfg), points, panel, train=60, test=40, metric="total_return",
                               sweep_id="wf")
    assert [(w.train_start[:10], w.test_start[:10]) for w in windows] == [
        (str(panel.timestamps[lo].astype("datetime64[ns]").astype("datetime64[D]")),
         str(panel.timestamps[lo + 60].astype("datetime64[ns]").astype("datetime64[D]")))
        for lo in (0, 40)]
    for w in windows:
        assert w.best.metrics["total_return"] == max(r.metrics["total_return"] for r in w.train_results)
        # the test result is the chosen params run alone on the test bars
        point = {k: v for k, v in w.test.params.items()}
        alone = run_config(config_from_dict(apply_point(_config(tmp_path), point)), panel=panel)
        assert alone.document["bars"] == 40
        assert w.test.metrics["final_equity"] == alone.document["metrics"]["final_equity"]
        assert w.test.params["strategies.0.params.fast"] == w.best.params["strategies.0.params.fast"]


def test_a_scheduler_address_runs_the_same_sweep(client: Any, tmp_path: Path) -> None:
    cfg = config_from_dict(_config(tmp_path))
    points = cartesian_grid([parse_param("strategies.0.params.fast=3,8")])
    here = run_sweep(client, config_dict(cfg), points, sweep_id="local")
    with dask_client(client.scheduler.address) as remote:
        there = run_sweep(remote, config_dict(cfg), points, sweep_id="remote")
    assert [r.metrics["final_equity"] for r in there] == [r.metrics["final_equity"] for r in here]
    assert [r.run_id for r in there] == ["remote-0000", "remote-0001"]


def test_workers_reuse_their_plugin_host_and_batching_changes_nothing(client: Any, tmp_path: Path) -> None:
    from ai_trading_dask.hosts import hosts_built
    from ai_trading_dask.sweep import batch_size_for

    cfg = config_from_dict(_config(tmp_path))
    panel = load_panel(cfg, host_for_config(cfg))
    points = cartesian_grid([parse_param("strategies.0.params.fast=3,4,5,6,7,8,9")])
    one = run_sweep(client, config_dict(cfg), points, sweep_id="b1", panel=panel, batch_size=1)
    done: list[tuple[int, int]] = []
    three = run_sweep(client, config_dict(cfg), points, sweep_id="b3", panel=panel, batch_size=3,
                      progress=lambda d, t: done.append((d, t)))
    assert [r.metrics for r in three] == [r.metrics for r in one]
    assert [r.run_id for r in three] == [f"b3-{i:04d}" for i in range(7)]
    assert done == [(d, 7) for d in range(1, 8)]
    # one host per single-threaded worker for every run of this module so far (same plugins)
    built = client.run(hosts_built)
    assert len(built) == 2 and all(n <= 1 for n in built.values()) and sum(built.values()) >= 1
    assert [batch_size_for(n, 2) for n in (1, 7, 50, 1000)] == [1, 1, 7, 16]
    with pytest.raises(ConfigError, match="batch size"):
        run_sweep(client, config_dict(cfg), points, sweep_id="b0", batch_size=0)


def test_walk_forward_windows_roll_by_the_test_length() -> None:
    assert walk_forward_windows(list(range(10)), 4, 2) == [(0, 3, 4, 5), (2, 5, 6, 7), (4, 7, 8, 9)]
    with pytest.raises(ConfigError, match="fewer than one window"):
        walk_forward_windows(list(range(5)), 4, 2)


def test_grid_parsing_and_application() -> None:
    assert parse_param("strategies.0.params.fast=5, 10,15") == ("strategies.0.params.fast", [5, 10, 15])
    assert parse_param("sizer.params.gross=0.5,1") == ("sizer.params.gross", [0.5, 1])
    assert parse_param("broker.name=sim,\"x\"") == ("broker.name", ["sim", "x"])
    grid = cartesian_grid([("a.x", [1, 2]), ("b", ["p", "q", "r"])])
    assert grid[:3] == [{"a.x": 1, "b": "p"}, {"a.x": 1, "b": "q"}, {"a.x": 1, "b": "r"}] and len(grid) == 6
    base = {"strategies": [{"name": "s", "params": {}}], "sizer": {"name": "w"}}
    out = apply_point(base, {"strategies.0.params.fast": 7, "sizer.params.gross": 0.5})
    assert out == {"strategies": [{"name": "s", "params": {"fast": 7}}],
                   "sizer": {"name": "w", "params": {"gross": 0.5}}}
    assert base == {"strategies": [{"name": "s", "params": {}}], "sizer": {"name": "w"}}
    for bad, msg in (("strategies.3.params.fast", "not an index"), ("nothere.x", "has no nothere")):
        with pytest.raises(ConfigError, match=msg):
            apply_point(base, {bad: 1})
    for bad in ("fast", "x=", "=1,2", "a=1,1"):
        with pytest.raises(ConfigError):
            parse_param(bad)


def test_sweep_command_table_and_json(cli_runner_config: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "sweep.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ai_trading_core.cli", "sweep", str(cli_runner_config), "--param",
         "strategies.0.params.fast=3,5", "--param", "strategies.0.params.slow=20,30", "--threads",
         "--json-out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "sweep: 4 runs, best total_return first" in proc.stdout
    doc = json.loads(out.read_text())
    returns = [r["metrics"]["total_return"] for r in doc["runs"]]
    assert len(returns) == 4 and returns == sorted(returns, reverse=True)
    grid = {(r["params"]["strategies.0.params.fast"], r["params"]["strategies.0.params.slow"]) for r in doc["runs"]}
    assert grid == {(3, 20), (3, 30), (5, 20), (5, 30)}


@pytest.fixture
def cli_runner_config(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text("""
[run]
seed = 5
output_dir = "runs"
state_dir = "state"
[plugins]
load = ["sample-data", "sim", "sma", "dask"]
[data]
name = "synthetic"
params = { n_symbols = 2, n_bars = 160 }
[[strategies]]
name = "sma_crossover"
id = "sma"
params = { fast = 5, slow = 20 }
[audit]
enabled = false
""")
    return path


def test_a_failing_point_is_one_line_not_a_worker_traceback(cli_runner_config: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    # fast = 40 > slow = 20 is refused by the strategy's parameter model, inside the worker
    proc = subprocess.run(
        [sys.executable, "-m", "ai_trading_core.cli", "sweep", str(cli_runner_config), "--param",
         "strategies.0.params.fast=3,40", "--threads"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "sweep point #1 (strategies.0.params.fast=40)" in lines[0], proc.stderr[-3000:]


def test_sweep_table_shows_returns_as_percentages(cli_runner_config: Path, tmp_path: Path) -> None:
    import re
    import subprocess
    import sys

    out = tmp_path / "s.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ai_trading_core.cli", "sweep", str(cli_runner_config), "--param",
         "strategies.0.params.fast=3,5", "--threads", "--json-out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    best = json.loads(out.read_text())["runs"][0]["metrics"]["total_return"]
    assert f"{best:+.2%}" in proc.stdout
    assert not re.search(r"\b[01]\.\d{4}\b", proc.stdout.split("final equity")[1])  # no bare ratios
