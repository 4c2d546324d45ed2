"""Headless Debian chromium (through chromium-driver) drives the served dashboard over a
SQLite database holding a real run: every page loads, charts carry the run's equity, and the
browser console stays free of errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ai_trading_dashboard import DashboardServer, StorageRunSource, create_app
from ai_trading_dashboard.pages import PAGES

pytestmark = pytest.mark.browser

@pytest.fixture
def served(stored_run: dict[str, Any]) -> Iterator[tuple[DashboardServer, dict[str, Any]]]:
    app = create_app(StorageRunSource(stored_run["url"]), state_dir=stored_run["state_dir"], refresh_ms=1000)
    server = DashboardServer(app, "127.0.0.1", 0).start()
    try:
        yield server, stored_run
    finally:
        server.stop()


def _wait(driver: Any, condition: Any, timeout: float = 20) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def _traces(driver: Any, graph_id: str) -> Any:
    return driver.execute_script(
        "const g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "return g && g.data ? g.data.map(t => ({name: t.name, x: t.x, y: t.y})) : null;",
        graph_id,
    )


def test_every_page_in_headless_chromium(
    browser: Any, served: tuple[DashboardServer, dict[str, Any]], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    server, run = served
    equity = [p[1] for p in run["document"]["equity_curve"]]
    dates = [p[0] for p in run["document"]["equity_curve"]]
    expected_graphs = {
        "portfolio": "equity-graph",
        "positions": None,
        "orders": None,
        "fills": None,
        "risk": "var-graph",
        "strategies": "strategy-pnl-graph",
        "trades": "trade-pnl-graph",
        "system": None,
    }
    headings = {
        "portfolio": "Portfolio",
        "positions": "Positions",
        "orders": "Orders",
        "fills": "Fills",
        "risk": "Risk",
        "strategies": "Strategy attribution",
        "trades": "Trade analytics",
        "system": "System health",
    }
    for slug, _ in PAGES:
        browser.get(f"{server.url}/{slug}")
        _wait(browser, lambda d, s=slug: d.find_element(By.ID, f"nav-{s}").get_attribute("class") == "active")
        heading = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#page h2")).text
        assert heading == headings[slug], (slug, heading)
        graph = expected_graphs[slug]
        if graph:
            traces = _wait(browser, lambda d, g=graph: _traces(d, g))
            assert traces and len(traces[0]["x"]) > 0, slug
        if slug == "portfolio":
            (trace,) = [t for t in _traces(browser, "equity-graph") if t["name"] == "equity"]
            assert trace["y"] == pytest.approx(equity, rel=1e-12)
            assert [x.replace("T00:00:00Z", "") for x in trace["x"]][:3] == [
                d.replace("T00:00:00Z", "") for d in dates[:3]
            ]
            browser.save_screenshot(str(tmp_path / "portfolio.png"))
        if slug == "strategies":
            traces = _traces(browser, "strategy-pnl-graph")
            assert traces[0]["x"] == ["sma-5-20"]
            assert traces[0]["y"][0] == pytest.approx(
                run["document"]["attribution"]["by_strategy"]["sma-5-20"]["pnl"]
            )
        if slug == "system":
            text = browser.find_element(By.ID, "page").text
            assert "PLANTED" not in text and "Kill switch" in text
    # navigation by the header links works too (client-side routing)
    browser.find_element(By.ID, "nav-risk").click()
    _wait(browser, lambda d: d.find_element(By.ID, "risk-state").text in ("ACTIVE", "REDUCING", "HALTED"))
    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == [], [e["message"][:1500] for e in severe]
