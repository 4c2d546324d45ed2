"""The heartbeat in Redis: the watch rules (pure), the check's parameters, the writer against
the real Redis, and a Redis that is down, refusing or black-holed while the trader runs."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from ai_trading_watchdog import plugin
from ai_trading_watchdog.heartbeat import Heartbeat, HeartbeatParams, heartbeat_path
from ai_trading_watchdog.watchdog import Liveness, Watch

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import AlertSeverity
from ai_trading_core.errors import ConfigError
from ai_trading_core.models import Alert
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.registry import BuildContext
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel

_S = 1_000_000_000
T0 = 1_800_000_000 * _S


def _beat(ts_ns: int, pid: int = 7) -> dict[str, Any]:
    return {"pid": pid, "ts_ns": ts_ns, "ts": "", "beats": 1}


# ---------------------------------------------------------------------- the watch rules


def test_a_heartbeat_never_seen_is_absent_and_one_that_vanishes_keeps_its_silence() -> None:
    watch = Watch(max_silence_s=30.0)
    assert watch.seen(None, T0).liveness is Liveness.ABSENT  # never written: trader not started
    assert watch.seen(_beat(T0), T0 + 1 * _S).liveness is Liveness.FRESH
    # the key expires (or the file is deleted): silence goes on from the last beat seen
    a = watch.seen(None, T0 + 20 * _S)
    assert (a.liveness, a.pid, a.age_s) == (Liveness.FRESH, 7, 20.0)
    a = watch.seen(None, T0 + 31 * _S)
    assert (a.liveness, a.pid, a.age_s) == (Liveness.STALE, 7, 31.0)
    # an older beat showing up again does not make the trader younger
    assert watch.seen(_beat(T0 - 5 * _S), T0 + 31 * _S).liveness is Liveness.STALE
    assert watch.seen(_beat(T0 + 30 * _S, pid=8), T0 + 31 * _S).liveness is Liveness.FRESH


def test_an_unreachable_store_is_never_stale_and_silence_restarts_when_it_answers() -> None:
    watch = Watch(max_silence_s=30.0)
    assert watch.seen(_beat(T0), T0).liveness is Liveness.FRESH
    for second in (10, 100, 1000):
        a = watch.unreachable("ConnectionError: refused", T0 + second * _S)
        assert (a.liveness, a.pid, a.age_s, a.error) == (Liveness.UNREACHABLE, 7, float(second),
                                                         "ConnectionError: refused")
    # back at t=1000 s, the beat is 1000 s old: the trader (whose link may have been down
    # too) gets max_silence from now to beat again
    back = T0 + 1000 * _S
    a = watch.seen(_beat(T0), back)
    assert (a.liveness, a.age_s) == (Liveness.FRESH, 1000.0)
    assert watch.seen(None, back + 30 * _S).liveness is Liveness.FRESH
    assert watch.seen(None, back + 31 * _S).liveness is Liveness.STALE
    # never seen a beat: unreachable, then absent
    fresh = Watch(max_silence_s=30.0)
    assert fresh.unreachable("down", T0).liveness is Liveness.UNREACHABLE
    assert fresh.seen(None, T0 + 60 * _S).liveness is Liveness.ABSENT


# ---------------------------------------------------------------------- parameters


def test_params_need_a_destination_and_a_ttl_longer_than_the_interval() -> None:
    with pytest.raises(ValueError, match="must go somewhere"):
        HeartbeatParams(write_file=False)
    with pytest.raises(ValueError, match="must exceed interval_s"):
        HeartbeatParams(redis_url="redis://h/0", interval_s=10, redis_ttl_s=10)
    p = HeartbeatParams(redis_url="redis://bot:s3cret@redis.internal:6380/2", write_file=False)
    assert (p.redis_prefix, p.redis_process, p.redis_ttl_s) == ("ai_trading", "trader", 600.0)
    dumped = p.model_dump(mode="json")  # what the run document shows
    assert dumped["redis_url"] == "redis://bot:**********@redis.internal:6380/2"
    assert "s3cret" not in json.dumps(dumped)


def test_without_the_redis_client_a_redis_heartbeat_is_a_config_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis -> ImportError
    with pytest.raises(ConfigError, match=r"ai-trading-watchdog\[redis\]"):
        _build(tmp_path, {"redis_url": "redis://127.0.0.1:6379/0"})
    hb = _build(tmp_path, {"interval_s": 0})  # the file-only heartbeat does not need it
    assert hb.redis is None and hb.beat()


def test_a_missing_password_credential_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'redis-pw' is not configured"):
        _build(tmp_path, {"redis_url": "redis://127.0.0.1:6379/0", "redis_password_credential": "redis-pw"})


def _build(tmp_path: Path, params: dict[str, Any], alerts: list[Alert] | None = None,
           clock: Any = None) -> Heartbeat:
    spec = create_plugin_host(autoload=False, extra_plugins={"watchdog": plugin}).registries.risk_checks.get(
        "heartbeat")
    ctx = BuildContext(component_id="heartbeat", state_dir=tmp_path, clock=clock or SimulatedClock(T0),
                       alert=alerts.append if alerts is not None else None)
    hb = spec.build(params, ctx)
    assert isinstance(hb, Heartbeat)
    hb.clock, hb.bar_clock = ctx.clock, None  # liveness on the test's clock (the factory uses the wall clock)
    return hb


# ---------------------------------------------------------------------- the writer, real Redis


@pytest.mark.redis
def test_the_heartbeat_goes_to_redis_with_the_file_payload_and_a_ttl(tmp_path: Path, redis_target: Any) -> None:
    clock = SimulatedClock(T0)
    hb = _build(tmp_path, {"interval_s": 5, "redis_url": redis_target.url, "redis_prefix": redis_target.prefix,
                           "redis_process": "bot-1", "redis_ttl_s": 60}, clock=clock)
    key = f"{redis_target.prefix}:heartbeat:bot-1"
    for _ in range(11):  # t = 0 .. 10 s: beats at 0, 5, 10
        hb.beat()
        clock.advance(1.0)
    assert hb.redis is not None and hb.redis.flush(5)
    stored = json.loads(redis_target.client.get(key))
    assert stored == json.loads(heartbeat_path(tmp_path).read_text())
    assert stored == {"pid": hb.pid, "ts_ns": T0 + 10 * _S, "beats": 3, "ts": "2027-01-15T08:00:10+00:00"}
    assert 59_000 < redis_target.client.pttl(key) <= 60_000
    assert hb.redis.written == 3 and hb.alerts_sent == 0
    hb.close()
    hb.close()  # idempotent (the runner closes too)


@pytest.mark.redis
def test_a_redis_only_heartbeat_writes_no_file_and_its_key_expires(tmp_path: Path, redis_target: Any) -> None:
    hb = _build(tmp_path, {"interval_s": 0, "write_file": False, "redis_url": redis_target.url,
                           "redis_prefix": redis_target.prefix, "redis_ttl_s": 0.2})
    key = f"{redis_target.prefix}:heartbeat:trader"
    assert hb.beat() and hb.redis is not None and hb.redis.flush(5)
    assert redis_target.client.exists(key) and not heartbeat_path(tmp_path).exists()
    deadline = time.monotonic() + 5
    while redis_target.client.exists(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not redis_target.client.exists(key)  # the trader stopped beating: the key is gone
    hb.close()


@pytest.mark.redis
def test_a_backtest_beats_into_redis(tmp_path: Path, redis_target: Any) -> None:
    config = _run_config(tmp_path, {"interval_s": 0, "redis_url": redis_target.url,
                                    "redis_prefix": redis_target.prefix})
    out = run_config(config, panel=random_walk_panel(50, 2, seed=1))
    stored = json.loads(redis_target.client.get(f"{redis_target.prefix}:heartbeat:trader"))
    assert stored["beats"] == 50 and stored == json.loads(heartbeat_path(tmp_path).read_text())
    assert len(out.result.trades) > 0
    heartbeat = out.engine.c.risk_checks[0]
    assert heartbeat.redis._thread is not None and not heartbeat.redis._thread.is_alive()  # closed by the run


def _run_config(tmp_path: Path, heartbeat: dict[str, Any]) -> Any:
    return config_from_dict({
        "run": {"state_dir": str(tmp_path), "output_dir": str(tmp_path / "runs")},
        "plugins": {"load": ["sample-data", "sim", "sma", "watchdog"]},
        "data": {"name": "synthetic"}, "strategies": [{"name": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
        "risk": [{"name": "heartbeat", "params": heartbeat}], "audit": {"enabled": False},
    })


# ---------------------------------------------------------------------- Redis down for the trader


def test_a_refused_redis_does_not_stop_a_run_and_raises_one_critical_alert(tmp_path: Path, closed_port: int) -> None:
    started = time.perf_counter()
    out = run_config(_run_config(tmp_path, {"interval_s": 0, "redis_url": f"redis://127.0.0.1:{closed_port}/0"}),
                     panel=random_walk_panel(50, 2, seed=1))
    assert time.perf_counter() - started < 15
    assert len(out.result.trades) > 0  # trading went on
    assert json.loads(heartbeat_path(tmp_path).read_text())["beats"] == 50  # the file too
    outage = [a for a in out.engine.alerts.sent if a.key == "heartbeat:redis-outage"]
    assert len(outage) == 1 and outage[0].severity is AlertSeverity.CRITICAL
    assert "trading goes on" in outage[0].message and "ConnectionError" in outage[0].details["error"]


def test_a_black_holed_redis_never_slows_the_engine(tmp_path: Path, black_hole: Any) -> None:
    """Every command to the black hole waits out its 0.5 s socket timeout, on the writer's
    thread: 200 beats take no longer than without Redis."""
    alerts: list[Alert] = []
    clock = SimulatedClock(T0)
    hb = _build(tmp_path, {"interval_s": 0, "write_file": False, "redis_url": f"redis://127.0.0.1:{black_hole.port}/0"},
                alerts, clock)  # no file: its fsync would dominate the timing
    assert hb.redis is not None
    hb.redis.retry_s = 0.05
    started = time.perf_counter()
    for _ in range(200):
        assert hb.beat()
        clock.advance(1.0)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, elapsed  # a synchronous write would take 200 x 0.5 s
    assert hb.redis.flush(5)
    hb.beat()  # the alert is raised on the engine's thread, at the next step
    assert [a.severity for a in alerts] == [AlertSeverity.CRITICAL]
    assert "Timeout" in alerts[0].details["error"]
    close_started = time.perf_counter()
    hb.close()
    assert time.perf_counter() - close_started < 2.5
    assert len(alerts) == 1  # one alert per outage


@pytest.mark.redis
def test_the_writer_recovers_and_alerts_again_on_the_next_outage(
    tmp_path: Path, redis_target: Any, redis_proxy: Any,
) -> None:
    alerts: list[Alert] = []
    clock = SimulatedClock(T0)
    hb = _build(tmp_path, {"interval_s": 0, "redis_url": redis_target.url_via(redis_proxy.port),
                           "redis_prefix": redis_target.prefix}, alerts, clock)
    assert hb.redis is not None
    hb.redis.retry_s = 0.05
    key = f"{redis_target.prefix}:heartbeat:trader"

    def beat_until(done: Any) -> None:
        deadline = time.monotonic() + 5
        while not done() and time.monotonic() < deadline:
            clock.advance(1.0)
            hb.beat()
            hb.redis.flush(2)  # type: ignore[union-attr]
            time.sleep(0.02)
        assert done()

    beat_until(lambda: redis_target.client.exists(key))
    redis_proxy.cut()
    beat_until(lambda: len(alerts) == 1)
    redis_proxy.restore()
    written = hb.redis.written
    beat_until(lambda: hb.redis.written > written and not hb.redis.down)  # type: ignore[union-attr]
    assert json.loads(redis_target.client.get(key))["ts_ns"] == clock.now_ns()
    redis_proxy.cut()
    beat_until(lambda: len(alerts) == 2)  # a new outage, a new alert
    hb.close()


def test_a_failing_alert_callable_does_not_escape(tmp_path: Path, closed_port: int) -> None:
    def broken(alert: Alert) -> None:
        raise RuntimeError("alert channel down")

    spec = create_plugin_host(autoload=False, extra_plugins={"watchdog": plugin}).registries.risk_checks.get(
        "heartbeat")
    hb = spec.build({"interval_s": 0, "redis_url": f"redis://127.0.0.1:{closed_port}/0"},
                    BuildContext(component_id="hb", state_dir=tmp_path, clock=SimulatedClock(T0), alert=broken))
    hb.beat()
    hb.redis.flush(5)
    hb.beat()
    hb.close()
    assert hb.alerts_sent == 1


def test_the_watchdog_takes_url_key_and_password_from_the_trader_config(tmp_path: Path) -> None:
    from ai_trading_watchdog.cli import _source
    from ai_trading_watchdog.redis_heartbeat import RedisHeartbeatSource

    config = config_from_dict({
        "run": {"mode": "live", "state_dir": str(tmp_path)}, "plugins": {"load": ["watchdog"]},
        "data": {"name": "synthetic"}, "strategies": [{"name": "sma_crossover"}],
        "risk": [{"name": "heartbeat", "params": {"write_file": False, "redis_url": "redis://:old@10.0.0.5:6380/3",
                                                  "redis_process": "bot-1", "redis_password_credential": "rpw"}}],
        "credentials": {"rpw": "s3cret"},
    })
    source = _source(config, None, None, None)
    assert isinstance(source, RedisHeartbeatSource)
    assert source.key == "ai_trading:heartbeat:bot-1"
    assert source.client.connection_pool.connection_kwargs["password"] == "s3cret"  # the credential wins
    assert source.where == "redis 10.0.0.5:6380/3 key ai_trading:heartbeat:bot-1"
    assert "s3cret" not in source.where and "old" not in source.where
    override = _source(config, "redis://127.0.0.1:6379/12", "p", None)
    assert isinstance(override, RedisHeartbeatSource) and override.key == "p:heartbeat:bot-1"
    del config.credentials["rpw"]
    with pytest.raises(ConfigError, match="'rpw'"):
        _source(config, None, None, None)
    config.risk[0].params["write_file"] = True  # the trader writes the file: the watchdog reads it by default
    assert _source(config, None, None, None).where == str(heartbeat_path(tmp_path))


@pytest.mark.redis
def test_the_redis_source_reads_none_a_beat_or_raises(redis_target: Any, closed_port: int) -> None:
    from ai_trading_watchdog.redis_heartbeat import RedisHeartbeatSource
    from ai_trading_watchdog.watchdog import HeartbeatUnreachable

    from ai_trading_core.errors import DataError

    key = f"{redis_target.prefix}:heartbeat:trader"
    source = RedisHeartbeatSource(redis_target.url, key)
    assert source.read() is None  # never written
    redis_target.client.set(key, json.dumps(_beat(T0)))
    assert source.read() == _beat(T0)
    redis_target.client.set(key, b"not a heartbeat")
    with pytest.raises(DataError, match="not a heartbeat"):
        source.read()
    source.close()
    down = RedisHeartbeatSource(redis_target.url_via(closed_port), key)
    with pytest.raises(HeartbeatUnreachable, match="ConnectionError"):
        down.read()
    down.close()
