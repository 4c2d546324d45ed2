from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pluggy
import pytest
import redis
from ai_trading_redis import plugin
from ai_trading_redis.cache import RedisCacheParams
from ai_trading_redis.codec import decode_array, decode_panel, encode_array, encode_panel
from ai_trading_redis.plugin import RedisCacheComponent

from ai_trading_core import PROJECT_NAME, hookspecs
from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import AlertSeverity, Side, Timeframe
from ai_trading_core.models import Alert, Fill, Order, utc
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.protocols import Cache
from ai_trading_core.registry import BuildContext
from ai_trading_core.testing import random_walk_panel


def make_cache(url: str, alerts: list[Alert] | None = None, **params: object) -> RedisCacheComponent:
    clock = SimulatedClock(1_700_000_000_000_000_000)
    sink = alerts.append if alerts is not None else None
    ctx = BuildContext(component_id="redis", clock=clock, alert=sink)
    spec = create_plugin_host(autoload=False, extra_plugins={"redis": plugin}).registries.caches.get("redis")
    cache = spec.build({"url": url, **params}, ctx)
    assert isinstance(cache, RedisCacheComponent)
    return cache


def test_codec_round_trips() -> None:
    for arr in (
        np.arange(12, dtype=np.float64).reshape(3, 4),
        np.array([1, -2], dtype=">i4"),
        np.array(3.5),
        np.array([np.nan, np.inf]),
    ):
        back = decode_array(encode_array(arr))
        np.testing.assert_array_equal(back, arr)
        assert back.shape == arr.shape
    a = np.random.default_rng(0).normal(size=1000)
    assert len(encode_array(a)) == 8000 + 4 + 2 + 3 + 8  # raw bytes plus a 17-byte header
    panel = random_walk_panel(30, 3, seed=2)
    back = decode_panel(encode_panel(panel))
    assert back.symbols == panel.symbols and back.timeframe == panel.timeframe
    np.testing.assert_array_equal(back.close, panel.close)
    np.testing.assert_array_equal(back.timestamps, panel.timestamps)


@pytest.mark.redis
def test_get_set_ttl_publish(redis_url: str) -> None:
    cache = make_cache(redis_url)
    assert isinstance(cache, Cache)
    assert cache.get("k") is None
    cache.set("k", b"\x00\x01value", ttl_seconds=60)
    assert cache.get("k") == b"\x00\x01value"
    ttl = cache.ttl("k")
    assert ttl is not None and 59 < ttl <= 60
    cache.set("short", b"x", ttl_seconds=0.05)
    time.sleep(0.15)
    assert cache.get("short") is None
    cache.set("forever", b"y")
    assert cache.ttl("forever") is None and cache.get("forever") == b"y"
    cache.close()


@pytest.mark.redis
def test_bars_indicators_quotes_heartbeat(redis_url: str) -> None:
    cache = make_cache(redis_url, quote_ttl=5.0)
    panel = random_walk_panel(100, 4, seed=1, timeframe=Timeframe.M5)
    cache.set_bars("universe", panel)
    back = cache.get_bars("universe", "5m")
    assert back is not None
    np.testing.assert_array_equal(back.open, panel.open)
    assert cache.get_bars("universe", "1d") is None
    assert 3599 < (cache.ttl("ai_trading:bars:5m:universe") or 0) <= 3600
    sma = np.convolve(panel.close[:, 0], np.ones(10) / 10, mode="valid")
    cache.set_indicator("sma10", "SYM000", "5m", sma)
    np.testing.assert_array_equal(cache.get_indicator("sma10", "SYM000", Timeframe.M5), sma)
    cache.set_quote("SPY", utc(2024, 1, 2, 15), last=470.25, bid=470.2, ask=470.3)
    quote = cache.get_quote("SPY")
    assert quote == {
        "symbol": "SPY",
        "timestamp": utc(2024, 1, 2, 15),
        "last": 470.25,
        "bid": 470.2,
        "ask": 470.3,
    }
    assert 4 < (cache.ttl("ai_trading:quote:SPY") or 0) <= 5
    cache.heartbeat("engine-1")
    assert cache.last_heartbeat("engine-1") == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert 29 < (cache.ttl("ai_trading:heartbeat:engine-1") or 0) <= 30
    cache.client.set("ai_trading:indicator:5m:junk:X", b"not an array")
    assert cache.get_indicator("junk", "X", "5m") is None  # foreign values are misses
    cache.close()


@pytest.mark.redis
def test_last_heartbeat_reads_the_watchdog_heartbeat_json(redis_url: str) -> None:
    """The watchdog plugin's ``heartbeat`` risk check writes the same key as JSON
    ``{"pid", "ts", "ts_ns", "beats"}``; foreign values are misses, not crashes."""
    cache = make_cache(redis_url)
    beat = {"beats": 3, "pid": 4242, "ts": "2027-01-15T08:00:10+00:00", "ts_ns": 1_800_000_010_000_000_000}
    cache.client.set("ai_trading:heartbeat:trader", json.dumps(beat, separators=(",", ":")), px=60_000)
    assert cache.last_heartbeat("trader") == datetime.fromtimestamp(1_800_000_010, tz=UTC)
    for junk in (b"{not json", b'{"pid": 1}', b'{"ts": 5}', b"\xff\xfe", b"yesterday"):
        cache.client.set("ai_trading:heartbeat:junk", junk)
        assert cache.last_heartbeat("junk") is None, junk
    assert cache.last_heartbeat("never") is None
    cache.close()


@pytest.mark.redis
def test_order_and_fill_hooks_publish_json(redis_url: str) -> None:
    cache = make_cache(redis_url)
    sub = redis.Redis.from_url(redis_url).pubsub()
    sub.subscribe("ai_trading:events:order", "ai_trading:events:fill")
    for _ in range(2):
        assert sub.get_message(timeout=1)["type"] == "subscribe"  # type: ignore[index]
    # the engine registers the configured component object with the run's plugin manager
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(cache, name="cache:redis")
    order = Order(
        client_order_id="o-1", symbol="SPY", side=Side.BUY, quantity=Decimal("3"), created_at=utc(2024, 1, 2)
    )
    fill = Fill(
        execution_id="x-1",
        client_order_id="o-1",
        symbol="SPY",
        side=Side.BUY,
        quantity=Decimal("3"),
        price=Decimal("470.25"),
        timestamp=utc(2024, 1, 2, 0, 1),
    )
    pm.hook.ai_trading_order(order=order)
    pm.hook.ai_trading_fill(fill=fill)
    got = [sub.get_message(timeout=1) for _ in range(2)]
    assert [m["channel"] for m in got] == [b"ai_trading:events:order", b"ai_trading:events:fill"]  # type: ignore[index]
    assert Order.model_validate(json.loads(got[0]["data"])) == order  # type: ignore[index]
    assert Fill.model_validate(json.loads(got[1]["data"])) == fill  # type: ignore[index]
    sub.close()
    cache.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_outage_degrades_to_no_cache_with_one_alert() -> None:
    alerts: list[Alert] = []
    cache = make_cache(f"redis://127.0.0.1:{_closed_port()}/0", alerts)
    started = time.perf_counter()
    assert cache.get("k") is None
    cache.set("k", b"v", ttl_seconds=10)
    cache.publish("c", b"m")
    cache.heartbeat("p")
    assert cache.get_bars("u", "1d") is None
    for _ in range(1000):
        cache.get("k")  # inside the back-off window: no network round trip at all
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0  # bounded by one connect timeout (0.25 s), never by retries
    assert len(alerts) == 1
    assert alerts[0].severity is AlertSeverity.WARNING and "unavailable" in alerts[0].message
    assert cache.available is False
    cache.close()


@pytest.mark.redis
def test_recovers_after_backoff_and_rearms_the_alert(redis_url: str) -> None:
    """A fake monotonic clock drives the back-off window; the outage is a real refused
    connection, the recovery the real server."""
    alerts: list[Alert] = []
    now = [0.0]
    port = _closed_port()
    cache = make_cache(f"redis://127.0.0.1:{port}/13", alerts)
    cache._monotonic = lambda: now[0]
    assert cache.get("k") is None and len(alerts) == 1
    good = redis.Redis.from_url(redis_url)
    good.set("k", b"v")
    cache.client = redis.Redis.from_url(redis_url, socket_timeout=0.25)  # the server is back
    assert cache.get("k") is None  # still inside the 0.5 s back-off window
    now[0] = 0.6
    assert cache.get("k") == b"v" and cache.available
    cache.client = redis.Redis.from_url(f"redis://127.0.0.1:{port}/13", socket_connect_timeout=0.25)
    assert cache.get("k") is None
    assert len(alerts) == 2  # a new outage, a new alert
    good.close()
    cache.close()


def test_failing_alert_callback_does_not_escape() -> None:
    def broken(alert: Alert) -> None:
        raise RuntimeError("alert channel down")

    ctx = BuildContext(component_id="redis", alert=broken)
    cache = RedisCacheComponent(
        RedisCacheParams(url=f"redis://127.0.0.1:{_closed_port()}/0"), alert=ctx.alert
    )
    assert cache.get("x") is None
    assert cache.alerts_sent == 1
    cache.close()


def test_the_password_param_overrides_the_urls() -> None:
    with_url_pw = make_cache("redis://:from-url@127.0.0.1:6379/0", password="from-param")
    assert with_url_pw.client.connection_pool.connection_kwargs["password"] == "from-param"
    assert make_cache("redis://:from-url@127.0.0.1:6379/0").client.connection_pool.connection_kwargs[
        "password"] == "from-url"
    with_url_pw.close()
