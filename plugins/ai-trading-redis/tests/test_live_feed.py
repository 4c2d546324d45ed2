"""The live run feed, published by a real paper run through the engine into the real Redis:
the run registry, one step per bar, every order and fill, the snapshot's positions equal to
the engine's; nothing of it in a backtest; an outage costs no exception."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import redis

pytestmark = pytest.mark.redis


def _config(redis_url: str, mode: str) -> dict[str, Any]:
    return {
        "run": {"name": "feed-check", "mode": mode},
        "data": {"name": "synthetic"},
        "strategies": [{"name": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
        "broker": {"name": "sim"},
        "cache": {"name": "redis", "params": {"url": redis_url, "prefix": "feedtest"}},
        "audit": {"enabled": False},
    }


def test_a_paper_run_publishes_its_whole_life(
    redis_url: str, ai_trading_run: Any, ai_trading_panel: Any
) -> None:
    out = ai_trading_run(_config(redis_url, "paper"), panel=ai_trading_panel)
    result = out.result
    run_id = result.session.run_id
    client = redis.Redis.from_url(redis_url)
    assert [i.decode() for i in client.zrange("feedtest:runs", 0, -1)] == [run_id]
    meta = json.loads(client.get(f"feedtest:run:{run_id}"))
    assert meta["status"] == "finished" and meta["name"] == "feed-check" and meta["mode"] == "paper"
    assert meta["final_equity"] == str(result.final_equity) and meta["started_at"] < meta["finished_at"]
    assert set(meta["ticks"]) == set(ai_trading_panel.symbols)
    entries = client.xrange(f"feedtest:run:{run_id}:events")
    kinds = [f[b"kind"].decode() for _, f in entries]
    assert kinds[0] == "run" and kinds[-1] == "run"
    assert kinds.count("step") == len(result.timestamps)
    assert kinds.count("fill") == len(result.fills) > 0
    steps = [json.loads(f[b"data"]) for _, f in entries if f[b"kind"] == b"step"]
    assert [s["equity"] for s in steps] == pytest.approx(result.equity.tolist(), rel=1e-12)
    fills = [json.loads(f[b"data"]) for _, f in entries if f[b"kind"] == b"fill"]
    assert [f["execution_id"] for f in fills] == [f.execution_id for f in result.fills]
    snapshot = json.loads(client.get(f"feedtest:run:{run_id}:snapshot"))
    held = {s: q for s, q in result.final_positions.items() if q != 0}
    assert {p["symbol"]: Decimal(p["quantity"]) for p in snapshot["positions"]} == held
    for p in snapshot["positions"]:  # average price = the open trades' entry prices, weighted
        trades = [t for t in result.trades if t.symbol == p["symbol"] and t.is_open]
        qty = sum((abs(t.quantity) for t in trades), Decimal(0))
        avg = sum((abs(t.quantity) * t.entry_price for t in trades), Decimal(0)) / qty
        assert Decimal(p["average_price"]) == pytest.approx(avg, rel=Decimal("1e-9"))
    assert snapshot["counts"]["fills"] == len(result.fills)
    assert client.exists(f"feedtest:heartbeat:{run_id}") == 0  # the run ended: no heartbeat left behind
    assert 0 < client.ttl(f"feedtest:run:{run_id}:events") <= 7 * 86_400
    client.close()


def test_a_backtest_publishes_no_feed(redis_url: str, ai_trading_run: Any, ai_trading_panel: Any) -> None:
    ai_trading_run(_config(redis_url, "backtest"), panel=ai_trading_panel)
    client = redis.Redis.from_url(redis_url)
    assert client.exists("feedtest:runs") == 0
    client.close()


def test_the_feed_survives_an_outage(ai_trading_run: Any, ai_trading_panel: Any) -> None:
    config = _config("redis://127.0.0.1:1/0", "paper")
    out = ai_trading_run(config, panel=ai_trading_panel)
    assert out.engine is not None and len(out.result.fills) > 0
    outage = [a for a in out.engine.alerts.sent if "unavailable" in a.message]
    assert len(outage) == 1  # one alert for the outage, not one per step
