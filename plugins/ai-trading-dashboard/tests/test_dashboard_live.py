"""Headless chromium watches a paper replay while it trades: ``ai-trading run`` runs as a
subprocess with the ``redis`` cache (the live feed) and the kill switch; the dashboard, over
an empty database and the live feed, must show the run as running, its equity moving, a
fill, a position, and HALTED once the kill switch is pulled. Then hostile symbol and
strategy names must stay text, and a page reached under another host name is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from ai_trading_dashboard import DashboardServer, RedisRunFeed, StorageRunSource, create_app

from ai_trading_core.clock import WallClock

pytestmark = [pytest.mark.browser, pytest.mark.redis]

REDIS_URL = os.environ.get("AI_TRADING_TEST_REDIS_URL", "redis://127.0.0.1:6379/13").rsplit("/", 1)[0] + "/11"
XSS_SYMBOL = '<img src=x onerror="window.__xss=1">'
XSS_STRATEGY = "<script>window.__xss=2</script>"


@pytest.fixture
def prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis server unreachable at {REDIS_URL}: {exc}")
    name = f"dashtest{uuid.uuid4().hex[:8]}"
    yield name
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _wait(driver: Any, condition: Any, timeout: float = 45, message: str = "") -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition, message)


def _text(driver: Any, element_id: str) -> str:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return str(driver.find_element(By.ID, element_id).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def _trace_len(driver: Any, graph_id: str) -> int:
    n = driver.execute_script(
        "const g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "return g && g.data && g.data.length && g.data[0].y ? g.data[0].y.length : 0;",
        graph_id,
    )
    return int(n or 0)


def _grid_cells(driver: Any, grid_id: str) -> list[str]:
    cells = driver.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' .ag-center-cols-container "
        ".ag-cell')).map(c => c.textContent);",
        grid_id,
    )
    return [str(c) for c in cells or []]


def _pick_options(driver: Any) -> list[str]:
    """Open the run picker and read its options (labels), newest first."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "run").click()
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "[role=listbox] [role=option]"), 10)
    options = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[role=listbox] [role=option]")]
    return [o for o in options if o]


def _choose(driver: Any, label_start: str) -> None:
    from selenium.webdriver.common.by import By

    for option in driver.find_elements(By.CSS_SELECTOR, "[role=listbox] [role=option]"):
        if option.text.startswith(label_start):
            option.click()
            return
    raise AssertionError(f"no run picker option starts with {label_start!r}")


def _paper_config(tmp_path: Path, prefix: str, bars: int = 3000, bars_per_second: float = 25.0) -> Path:
    state = tmp_path / "state"
    config = tmp_path / "paper.toml"
    config.write_text(
        f"""
[run]
name = "paper-watch"
mode = "paper"
replay_speed = {86_400 * bars_per_second}
state_dir = "{state.as_posix()}"
output_dir = "{(tmp_path / "runs").as_posix()}"

[data]
name = "synthetic"
params = {{ n_symbols = 5, n_bars = {bars}, seed = 7 }}

[[strategies]]
name = "sma_crossover"
params = {{ fast = 3, slow = 8 }}

[broker]
name = "sim"

[[risk]]
name = "kill_switch"

[cache]
name = "redis"
params = {{ url = "{REDIS_URL}", prefix = "{prefix}" }}

[audit]
enabled = false
""",
        encoding="utf-8",
    )
    return config


def _ai_trading() -> list[str]:
    exe = shutil.which("ai-trading") or str(Path(sys.executable).with_name("ai-trading"))
    return [exe]


def test_a_trader_watches_a_paper_run_trade_and_halt(
    tmp_path: Path, prefix: str, launch_browser: Any
) -> None:
    from ai_trading_killswitch import request_halt

    config = _paper_config(tmp_path, prefix)
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen(
        [*_ai_trading(), "run", str(config)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    feed = RedisRunFeed(REDIS_URL, prefix)
    # a fresh install: no database yet; runs come from the live feed only
    app = create_app(
        StorageRunSource(f"sqlite:///{(tmp_path / 'none' / 'ai-trading.db').as_posix()}"),
        feed=feed,
        state_dir=tmp_path / "state",
        refresh_ms=500,
    )
    server = DashboardServer(app, "127.0.0.1", 0).start()
    driver = launch_browser()
    try:
        driver.get(f"{server.url}/portfolio")
        # the run registers at its start and is picked (the newest run)
        _wait(
            driver, lambda d: "RUNNING" in _text(d, "run-status"), 60, "the paper run never showed as running"
        )
        assert "paper-watch" in _text(driver, "run") and "running" in _text(driver, "run")
        # equity moves live: the chart gains points while we watch
        _wait(driver, lambda d: _trace_len(d, "live-equity-graph") > 5, 30, "no live equity")
        first = _trace_len(driver, "live-equity-graph")
        _wait(driver, lambda d: _trace_len(d, "live-equity-graph") > first + 5, 30, "equity stopped moving")
        # latency: a step published to Redis shows in the browser within 2 s (localhost)
        client = redis.Redis.from_url(REDIS_URL)
        stream = f"{prefix}:run:{feed.runs()[0]['run_id']}:events"
        latencies = []
        for _ in range(3):
            steps_now = sum(1 for _, f in client.xrange(stream) if f[b"kind"] == b"step")
            published = time.monotonic()
            _wait(
                driver, lambda d, n=steps_now: _trace_len(d, "live-equity-graph") >= n, 10, "step not shown"
            )
            latencies.append(time.monotonic() - published)
        client.close()
        print(f"step published -> shown in the browser: {[round(x, 3) for x in latencies]} s")
        assert max(latencies) < 2.0, latencies
        # a fill and a position, in the server-side grids
        driver.find_element("id", "nav-fills").click()
        _wait(driver, lambda d: any(c.startswith("SYN") for c in _grid_cells(d, "fills-grid")), 30, "no fill")
        assert "fill(s)" in _text(driver, "fills-count")
        driver.find_element("id", "nav-positions").click()
        _wait(
            driver,
            lambda d: any(c.startswith("SYN") for c in _grid_cells(d, "positions-grid")),
            30,
            "no position",
        )
        cells = _grid_cells(driver, "positions-grid")
        assert any(c.endswith("%") for c in cells), cells  # weights as percentages
        # the kill switch is pulled: the engine reports HALTED, and the risk page shows it live
        driver.find_element("id", "nav-risk").click()
        _wait(driver, lambda d: _text(d, "live-risk-state") == "ACTIVE", 20, "risk state not shown")
        request_halt(
            tmp_path / "state", requested_by="test", reason="browser test halt", now=WallClock().now()
        )
        _wait(driver, lambda d: _text(d, "live-risk-state") == "HALTED", 30, "HALTED never appeared")
        assert "kill_switch" in _text(driver, "live-risk-events")
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert severe == [], [e["message"][:800] for e in severe]
    finally:
        server.stop()
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        feed.close()


def test_hostile_names_stay_text_and_other_hosts_are_refused(
    tmp_path: Path, prefix: str, launch_browser: Any
) -> None:
    """A run whose symbol and strategy are HTML/JS: every page renders them as text."""
    from ai_trading_redis.cache import RedisCacheParams
    from ai_trading_redis.plugin import RedisCacheComponent

    from ai_trading_core.enums import OrderStatus, OrderType, RiskState, RunMode, Side, Timeframe
    from ai_trading_core.models import Alert, Fill, Instrument, Order, RiskEvent
    from ai_trading_core.result import Session

    component = RedisCacheComponent(RedisCacheParams(url=REDIS_URL, prefix=prefix), feed=True)
    session = Session(
        run_id=uuid.uuid4().hex,
        mode=RunMode.PAPER,
        config_hash="x" * 64,
        timeframe=Timeframe.D1,
        symbols=(XSS_SYMBOL,),
        initial_cash=Decimal(100_000),
        currency="USD",
        plugins=(),
        strategies=(XSS_STRATEGY,),
        name=f"run {XSS_STRATEGY}",
    )
    now = datetime(2024, 1, 2, tzinfo=UTC)
    component.describe_instruments({XSS_SYMBOL: Instrument(symbol=XSS_SYMBOL, tick_size=Decimal("0.05"))})
    component.ai_trading_session_start(session)
    order = Order(
        client_order_id="ait-1",
        symbol=XSS_SYMBOL,
        side=Side.BUY,
        quantity=Decimal(10),
        order_type=OrderType.MARKET,
        strategy_id=XSS_STRATEGY,
        created_at=now,
        status=OrderStatus.ACCEPTED,
    )
    component.ai_trading_order(order)
    component.ai_trading_fill(
        Fill(
            execution_id="e1",
            client_order_id="ait-1",
            symbol=XSS_SYMBOL,
            side=Side.BUY,
            quantity=Decimal(10),
            price=Decimal("101.25"),
            timestamp=now,
            strategy_id=XSS_STRATEGY,
        )
    )
    component.ai_trading_alert(
        Alert(severity="critical", source=XSS_STRATEGY, message=f"halt {XSS_SYMBOL}", timestamp=now)
    )
    component.ai_trading_risk_state(
        RiskEvent(
            timestamp=now,
            source=XSS_STRATEGY,
            previous_state=RiskState.ACTIVE,
            state=RiskState.HALTED,
            reason=XSS_SYMBOL,
        )
    )
    # a second, newer run: the picker starts on it (newest first)
    plain = RedisCacheComponent(RedisCacheParams(url=REDIS_URL, prefix=prefix), feed=True)
    plain.ai_trading_session_start(
        Session(
            run_id=uuid.uuid4().hex,
            mode=RunMode.PAPER,
            config_hash="y" * 64,
            timeframe=Timeframe.D1,
            symbols=("SPY",),
            initial_cash=Decimal(1000),
            currency="USD",
            name="plain-run",
        )
    )
    feed = RedisRunFeed(REDIS_URL, prefix)
    app = create_app(
        StorageRunSource(f"sqlite:///{(tmp_path / 'none.db').as_posix()}"), feed=feed, refresh_ms=500
    )
    server = DashboardServer(app, "127.0.0.1", 0).start()
    # a name that resolves to this machine but is not the dashboard's (DNS rebinding)
    driver = launch_browser("--host-resolver-rules=MAP rebound.example 127.0.0.1")
    try:
        driver.get(f"{server.url}/positions")
        _wait(driver, lambda d: "plain-run" in _text(d, "run"), 30, "the newest run was not picked")
        options = _pick_options(driver)
        assert [o.split(" · ")[0] for o in options] == ["plain-run", f"run {XSS_STRATEGY}"], options
        assert all(" · paper · " in o and "running" in o for o in options)
        _choose(driver, f"run {XSS_STRATEGY}")
        _wait(driver, lambda d: XSS_STRATEGY in _text(d, "run"), 20, "choice not taken")
        driver.refresh()  # the choice survives a reload
        _wait(driver, lambda d: XSS_STRATEGY in _text(d, "run") and "RUNNING" in _text(d, "run-status"), 30)
        for page, grid in (
            ("positions", "positions-grid"),
            ("orders", "open-orders-grid"),
            ("fills", "fills-grid"),
        ):
            driver.get(f"{server.url}/{page}")
            _wait(driver, lambda d, g=grid: any(XSS_SYMBOL in c for c in _grid_cells(d, g)), 30, page)
            assert driver.execute_script("return window.__xss === undefined")
        for page, element in (("risk", "live-risk-events"), ("system", "alerts-live")):
            driver.get(f"{server.url}/{page}")
            _wait(driver, lambda d, e=element: XSS_STRATEGY in _text(d, e), 30, page)
        assert XSS_STRATEGY in _text(driver, "run")  # the run picker shows the name as text
        assert driver.execute_script("return window.__xss === undefined")
        # the same server under another name: refused before the app is reached
        driver.get(f"http://rebound.example:{server.port}/portfolio")
        assert "host not allowed" in driver.find_element("tag name", "body").text
        assert driver.execute_script("return window.__xss === undefined")
    finally:
        server.stop()
        component.close()
        plain.close()
        feed.close()
