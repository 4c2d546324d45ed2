"""The watchdog's decision (pure) and the ``ai-trading watchdog`` process against a broker
test double installed as a plugin distribution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ai_trading_watchdog.watchdog import Liveness, assess, read_heartbeat

from ai_trading_core.errors import DataError

_S = 1_000_000_000
NOW = 1_800_000_000 * _S


@pytest.mark.parametrize(("age_s", "liveness"), [(0.0, Liveness.FRESH), (29.999, Liveness.FRESH),
                                                  (30.0, Liveness.FRESH), (30.001, Liveness.STALE),
                                                  (3600.0, Liveness.STALE), (-5.0, Liveness.FRESH)])
def test_assess_stale_only_after_max_silence(age_s: float, liveness: Liveness) -> None:
    a = assess({"pid": 7, "ts_ns": NOW - int(age_s * _S)}, NOW, 30.0)
    assert a.liveness is liveness and a.pid == 7
    assert a.age_s == pytest.approx(max(age_s, 0.0), abs=1e-9)


def test_assess_without_a_heartbeat_is_absent_not_stale() -> None:
    assert assess(None, NOW, 30.0).liveness is Liveness.ABSENT


def test_read_heartbeat(tmp_path: Path) -> None:
    assert read_heartbeat(tmp_path / "heartbeat.json") is None
    (tmp_path / "heartbeat.json").write_text("{not json")
    with pytest.raises(DataError, match="not a heartbeat"):
        read_heartbeat(tmp_path / "heartbeat.json")
    (tmp_path / "heartbeat.json").write_text('{"pid": 1}')
    with pytest.raises(DataError, match="not a heartbeat"):
        read_heartbeat(tmp_path / "heartbeat.json")


_BROKER_PLUGIN = '''
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ai_trading_core import hookimpl
from ai_trading_core.enums import OrderStatus
from ai_trading_core.errors import BrokerError
from ai_trading_core.models import OrderUpdate


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    open_ids: list[str]
    log: str


class CancelRecordingBroker:
    """Fakes a broker holding open orders; records every cancel to a file (one id a line)."""

    name = "cancel_recording"

    def __init__(self, params, ctx):
        self.open = list(params.open_ids)
        self.log = Path(params.log)

    def connect(self, ctx):
        pass

    def open_orders(self):
        return list(self.open)

    def cancel_order(self, client_order_id):
        if client_order_id == "unknown-at-broker":
            raise BrokerError("no such order")
        with self.log.open("a") as fh:
            fh.write(client_order_id + "\\n")
        self.open.remove(client_order_id)
        return OrderUpdate(client_order_id=client_order_id, status=OrderStatus.CANCELLED, timestamp=datetime.now(UTC))

    def submit_order(self, order):
        raise BrokerError("the watchdog never submits")

    def lookup_order(self, client_order_id):
        return None

    def positions(self):
        return {}

    def on_market(self, market):
        raise BrokerError("no market data here")

    def close(self):
        pass


@hookimpl
def ai_trading_register_brokers(registry):
    registry.register("cancel_recording", CancelRecordingBroker, params=Params)
'''


@pytest.fixture
def broker_dist(tmp_path: Path) -> Path:
    """An installed-looking distribution ``ai-trading-cancel-recording`` (a dist-info on the
    subprocess's PYTHONPATH) registering the ``cancel_recording`` broker test double."""
    root = tmp_path / "site"
    pkg = root / "ai_trading_cancel_recording"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text(_BROKER_PLUGIN)
    info = root / "ai_trading_cancel_recording-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ai-trading-cancel-recording\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text("[ai_trading]\ncancel-recording = ai_trading_cancel_recording.plugin\n")
    return root


def _config(tmp_path: Path, open_ids: list[str]) -> Path:
    path = tmp_path / "live.toml"
    path.write_text(textwrap.dedent(f"""\
        [run]
        mode = "live"
        state_dir = "{(tmp_path / 'state').as_posix()}"
        [plugins]
        load = ["cancel-recording", "killswitch", "watchdog"]
        [data]
        name = "synthetic"
        [[strategies]]
        name = "sma_crossover"
        [broker]
        name = "cancel_recording"
        params = {{ open_ids = {json.dumps(open_ids)}, log = "{(tmp_path / 'cancels.txt').as_posix()}" }}
    """))
    return path


def _watchdog(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_")}
    env["PYTHONPATH"] = str(site) + os.pathsep + env.get("PYTHONPATH", "")
    env["AI_TRADING_LOAD_PLUGINS"] = "cancel-recording,killswitch,watchdog"
    return subprocess.run([sys.executable, "-m", "ai_trading_core.cli", "watchdog", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def _write_beat(state_dir: Path, age_s: float) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    ts_ns = time.time_ns() - int(age_s * _S)
    (state_dir / "heartbeat.json").write_text(json.dumps({"pid": 99999, "ts_ns": ts_ns, "ts": "", "beats": 3}))


def test_watchdog_cancels_open_orders_and_halts_when_the_trader_is_silent(tmp_path: Path, broker_dist: Path) -> None:
    from ai_trading_killswitch.state import current_state

    config = _config(tmp_path, ["a-1", "unknown-at-broker", "b-2"])
    _write_beat(tmp_path / "state", age_s=120)
    proc = _watchdog(broker_dist, "--broker-config", str(config), "--max-silence", "1", "--poll", "0.05")
    assert proc.returncode == 3, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["liveness"] == "stale" and report["pid"] == 99999 and report["age_s"] > 100
    assert report["open_orders"] == ["a-1", "unknown-at-broker", "b-2"]
    assert report["cancelled"] == ["a-1", "b-2"] and list(report["failed"]) == ["unknown-at-broker"]
    assert (tmp_path / "cancels.txt").read_text().split() == ["a-1", "b-2"]
    state = current_state(tmp_path / "state")
    assert state.halted and report["halted"] is True


def test_watchdog_leaves_a_beating_trader_alone(tmp_path: Path, broker_dist: Path) -> None:
    config = _config(tmp_path, ["a-1"])
    _write_beat(tmp_path / "state", age_s=0)
    proc = _watchdog(broker_dist, "--broker-config", str(config), "--max-silence", "60", "--once")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["liveness"] == "fresh"
    assert not (tmp_path / "cancels.txt").exists()
