"""The watchdog's decision (pure) and the ``ai-trading watchdog`` process against a broker
test double installed as a plugin distribution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

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


def _config(tmp_path: Path, open_ids: list[str], extra: str = "") -> Path:
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
    """) + extra)
    return path


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_")}
    env["PYTHONPATH"] = str(site) + os.pathsep + env.get("PYTHONPATH", "")
    env["AI_TRADING_LOAD_PLUGINS"] = "cancel-recording,killswitch,watchdog"
    return env


def _watchdog(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ai_trading_core.cli", "watchdog", *args], capture_output=True,
                          text=True, env=_env(site), timeout=20)


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


# ---------------------------------------------------------------------- the heartbeat in Redis


def _redis_beat(redis_target: Any, age_s: float, *, ttl_s: float = 600.0, process: str = "trader") -> None:
    ts_ns = time.time_ns() - int(age_s * _S)
    redis_target.client.set(f"{redis_target.prefix}:heartbeat:{process}",
                            json.dumps({"pid": 99999, "ts_ns": ts_ns, "ts": "", "beats": 3}), px=int(ttl_s * 1000))


class _Watchdog:
    """``ai-trading --log-level INFO watchdog ...`` running in the background; stderr is
    collected line by line."""

    def __init__(self, site: Path, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "ai_trading_core.cli", "--log-level", "INFO", "watchdog",
                                      *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=_env(site))
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(iter(self.proc.stderr.readline, "")),  # type: ignore[union-attr]
                                        daemon=True)
        self._reader.start()

    def wait_for_log(self, text: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, self.stderr()
            assert time.monotonic() < deadline, f"no {text!r} in the log:\n{self.stderr()}"
            time.sleep(0.02)

    def finish(self, timeout: float = 15.0) -> tuple[int, str]:
        """Wait for the exit; the status and stdout (stderr stays with the reader thread)."""
        code = self.proc.wait(timeout=timeout)
        self._reader.join(5)
        return code, self.proc.stdout.read()  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()  # type: ignore[union-attr]

    def stderr(self, tail: int = 3000) -> str:
        return "".join(self.lines)[-tail:]


def _redis_args(redis_target: Any, url: str | None = None) -> list[str]:
    return ["--redis-url", url or redis_target.url, "--redis-prefix", redis_target.prefix]


@pytest.mark.redis
def test_redis_a_fresh_beat_is_alive_and_the_key_settings_come_from_the_trader_config(
    tmp_path: Path, broker_dist: Path, redis_target: Any,
) -> None:
    """No --redis-url: the config's heartbeat check writes to Redis only, so the watchdog reads
    its redis_url, prefix and process."""
    config = _config(tmp_path, ["a-1"], extra=textwrap.dedent(f"""\
        [[risk]]
        name = "heartbeat"
        params.write_file = false
        params.redis_url = "{redis_target.url}"
        params.redis_prefix = "{redis_target.prefix}"
        params.redis_process = "bot-1"
    """))
    _redis_beat(redis_target, age_s=0, process="bot-1")
    proc = _watchdog(broker_dist, "--broker-config", str(config), "--max-silence", "60", "--once")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["liveness"] == "fresh" and report["pid"] == 99999
    assert report["source"].endswith(f"key {redis_target.prefix}:heartbeat:bot-1")
    assert not (tmp_path / "cancels.txt").exists()


@pytest.mark.redis
def test_redis_a_stale_beat_makes_the_watchdog_cancel_and_halt(
    tmp_path: Path, broker_dist: Path, redis_target: Any,
) -> None:
    from ai_trading_killswitch.state import current_state

    config = _config(tmp_path, ["a-1", "b-2"])
    _write_beat(tmp_path / "state", age_s=0)  # a fresh file must not matter: Redis is asked
    _redis_beat(redis_target, age_s=120)
    proc = _watchdog(broker_dist, "--broker-config", str(config), *_redis_args(redis_target),
                     "--max-silence", "1", "--poll", "0.05")
    assert proc.returncode == 3, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["liveness"] == "stale" and report["pid"] == 99999 and report["age_s"] > 100
    assert report["cancelled"] == ["a-1", "b-2"] and report["halted"] is True
    assert (tmp_path / "cancels.txt").read_text().split() == ["a-1", "b-2"]
    assert current_state(tmp_path / "state").halted


@pytest.mark.redis
def test_redis_no_key_is_absent_like_no_file(tmp_path: Path, broker_dist: Path, redis_target: Any) -> None:
    config = _config(tmp_path, ["a-1"])
    proc = _watchdog(broker_dist, "--broker-config", str(config), *_redis_args(redis_target), "--once")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["liveness"] == "absent"
    assert not (tmp_path / "cancels.txt").exists()


@pytest.mark.redis
def test_redis_a_key_that_expires_after_the_trader_stops_makes_the_watchdog_act(
    tmp_path: Path, broker_dist: Path, redis_target: Any,
) -> None:
    config = _config(tmp_path, ["a-1"])
    watchdog = _Watchdog(broker_dist, "--broker-config", str(config), *_redis_args(redis_target),
                         "--max-silence", "1.5", "--poll", "0.05")
    try:
        deadline = time.monotonic() + 15
        while not any("heartbeat fresh" in line for line in watchdog.lines):  # the trader beats (TTL 0.5 s)
            assert time.monotonic() < deadline and watchdog.proc.poll() is None, watchdog.stderr()
            _redis_beat(redis_target, age_s=0, ttl_s=0.5)
            time.sleep(0.05)
        stopped = time.monotonic()  # the trader dies: no more beats, the key expires after 0.5 s
        code, out = watchdog.finish()
    finally:
        watchdog.stop()
    assert code == 3, watchdog.stderr()
    assert time.monotonic() - stopped >= 1.4  # after max_silence, not when the key expired
    report = json.loads(out.strip().splitlines()[-1])
    assert report["liveness"] == "stale" and report["cancelled"] == ["a-1"] and report["age_s"] > 1.5
    assert not redis_target.client.exists(f"{redis_target.prefix}:heartbeat:trader")


def test_redis_unreachable_for_the_watchdog_is_reported_never_acted_on(
    tmp_path: Path, broker_dist: Path, closed_port: int,
) -> None:
    from ai_trading_killswitch.state import current_state

    config = _config(tmp_path, ["a-1"])
    _write_beat(tmp_path / "state", age_s=3600)  # stale file: must not be used as a fallback
    proc = _watchdog(broker_dist, "--broker-config", str(config), "--redis-url",
                     f"redis://127.0.0.1:{closed_port}/0", "--once")
    assert proc.returncode == 4, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["liveness"] == "unreachable" and "ConnectionError" in report["error"]
    assert "not acting" in proc.stderr
    assert not (tmp_path / "cancels.txt").exists() and not current_state(tmp_path / "state").halted


@pytest.mark.redis
def test_redis_link_down_never_cancels_and_silence_counts_from_its_return(
    tmp_path: Path, broker_dist: Path, redis_target: Any, redis_proxy: Any,
) -> None:
    """The watchdog reaches Redis through a proxy: it sees the trader beat, then its link is
    cut while the trader also goes silent. Far past --max-silence it has not acted; when the
    link is back it waits a full --max-silence before acting on the old beat."""
    from ai_trading_killswitch.state import current_state

    config = _config(tmp_path, ["a-1"])
    watchdog = _Watchdog(broker_dist, "--broker-config", str(config),
                         *_redis_args(redis_target, redis_target.url_via(redis_proxy.port)),
                         "--max-silence", "1", "--poll", "0.05")
    try:
        deadline = time.monotonic() + 15
        while not any("heartbeat fresh" in line for line in watchdog.lines):
            assert time.monotonic() < deadline and watchdog.proc.poll() is None, watchdog.stderr()
            _redis_beat(redis_target, age_s=0)
            time.sleep(0.05)
        redis_proxy.cut()  # the watchdog's link goes down, the trader stops beating
        watchdog.wait_for_log("not acting")
        time.sleep(2.5)  # 2.5 x max_silence without a beat, unseen
        assert watchdog.proc.poll() is None, watchdog.stderr()
        assert not (tmp_path / "cancels.txt").exists() and not current_state(tmp_path / "state").halted
        redis_proxy.restore()
        restored = time.monotonic()
        code, out = watchdog.finish()
        acted_after = time.monotonic() - restored
    finally:
        watchdog.stop()
    assert code == 3, watchdog.stderr()
    assert acted_after >= 0.95, acted_after  # a full max_silence after the link came back
    report = json.loads(out.strip().splitlines()[-1])
    assert report["liveness"] == "stale" and report["age_s"] > 3 and report["cancelled"] == ["a-1"]
    assert "answers again" in watchdog.stderr(tail=100_000)
