"""A live run on the ``failover`` data source: Alpaca's market data (alpaca-py against a local
server) as the primary, a second Alpaca-protocol server as the backup. The primary server is
killed mid-run; the backup's bars carry the run on from the next bar, the switch is alerted
and recorded, and no bar is decided twice or skipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import AlertSeverity
from ai_trading_core.market import to_ns
from ai_trading_core.runner import run_config

from .fake_market_data import KEY, SECRET, Bar, FakeMarketDataServer

SYMBOLS = ["AAPL", "MSFT"]
KILL_AT = 25


@pytest.fixture
def servers() -> Iterator[tuple[FakeMarketDataServer, FakeMarketDataServer]]:
    # the backup serves the same minutes with other prices, so its bars are recognisable
    backup = FakeMarketDataServer(SYMBOLS, history=20, live=50, bar_interval_s=0.08, seed=99,
                                  publish_on_subscribe=False)

    def start_backup(index: int, bar: Bar) -> None:
        if index == 0:  # both vendors publish the same minutes at the same time
            backup.start_publishing()

    primary = FakeMarketDataServer(SYMBOLS, history=20, live=50, bar_interval_s=0.08, seed=7,
                                   events={KILL_AT: [("die", None)]}, on_publish=start_backup)
    backup.start_server()
    primary.start_server()
    yield primary, backup
    primary.stop()
    backup.stop()


def _member(server: FakeMarketDataServer, mid: str) -> dict[str, Any]:
    return {
        "name": "alpaca_bars",
        "id": mid,
        "params": {
            "symbols": SYMBOLS, "timeframe": "1m", "api_key": KEY, "secret_key": SECRET,
            "base_url": server.url, "trading_url": server.url, "stream_url": server.stream_url(),
            "stale_after_s": 0.6, "reduce_after_s": 5.0, "reconnect_min_s": 0.1, "reconnect_max_s": 0.3,
            "poll_s": 0.05, "request_timeout_s": 2.0,
        },
    }


def test_primary_killed_mid_run_backup_carries_on(
    servers: tuple[FakeMarketDataServer, FakeMarketDataServer], tmp_path: Path
) -> None:
    primary, backup = servers
    config = config_from_dict(
        {
            "run": {"mode": "live", "start": primary.start.isoformat(),
                    "end": primary.live_bars[-1].ts.isoformat(), "on_stop": "keep",
                    "state_dir": str(tmp_path / "state"), "output_dir": str(tmp_path / "runs")},
            "plugins": {"load": ["sma", "alpaca", "failover", "sim"]},
            "data": {"name": "failover", "params": {
                "primary": _member(primary, "alpaca_primary"),
                "backups": [_member(backup, "alpaca_backup")],
                "poll_s": 0.05,
                "retry_primary_s": 600,
            }},
            "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 3, "slow": 8}}],
            "broker": {"name": "sim"},
            "audit": {"enabled": False},
        }
    )
    outcome = run_config(config)
    doc = outcome.document
    # every minute decided once, across the switch
    stamps = [to_ns(row[0]) for row in doc["equity_curve"]]
    assert stamps == [to_ns(b.ts) for b in primary.live_bars]

    feed = doc["data_feed"]
    assert [s["source"] for s in feed["segments"]] == ["alpaca_primary", "alpaca_backup"]
    first, second = feed["segments"]
    assert first["bars"] == KILL_AT and second["bars"] == 50 - KILL_AT
    assert second["from"] == primary.live_bars[KILL_AT].ts.isoformat()
    (switch,) = feed["switches"]
    assert (switch["from"], switch["to"]) == ("alpaca_primary", "alpaca_backup")
    assert switch["after_bar"] == primary.live_bars[KILL_AT - 1].ts.isoformat()

    # the backup's bars are the ones used after the switch
    engine = outcome.engine
    assert engine is not None and engine.last_market is not None
    last = backup.live_bars[-1]
    assert list(engine.last_market.close) == [float(last.prices[s][3]) for s in SYMBOLS]
    assert [float(primary.live_bars[-1].prices[s][3]) for s in SYMBOLS] != list(engine.last_market.close)

    # the switch was alerted
    switched = [a for a in engine.alerts.sent if a.key == "failover:switch"]
    assert len(switched) == 1 and switched[0].severity is AlertSeverity.WARNING
    assert "alpaca_primary" in switched[0].message and "alpaca_backup" in switched[0].message
