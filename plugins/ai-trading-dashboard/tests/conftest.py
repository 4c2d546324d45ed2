"""A SQLite database holding a real run (the engine with the storage plugin configured),
and a helper calling the dashboard's callbacks over HTTP like a browser does."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PLANTED = "PLANTED-s3cr3t-9d2f"  # a credential that must never reach a browser


@pytest.fixture
def stored_run(tmp_path: Path, ai_trading_run: Any, ai_trading_panel: Any) -> dict[str, Any]:
    """Runs SMA crossover with analytics, circuit breaker and ``sql`` storage into a fresh
    SQLite file. Returns url, run id, the run document and the state dir."""
    url = f"sqlite:///{(tmp_path / 'runs.db').as_posix()}"
    config = {
        "run": {"name": "sma-dashboard"},
        "data": {"name": "synthetic"},
        "strategies": [{"name": "sma_crossover", "id": "sma-5-20", "params": {"fast": 5, "slow": 20}}],
        "broker": {"name": "sim", "params": {"commission_bps": 1, "slippage_bps": 2}},
        "risk": [{"name": "circuit_breaker", "params": {"daily_loss_limit": 0.05}}],
        "reporters": [{"name": "analytics"}],
        "storage": {"name": "sql", "params": {"url": url}},
        "credentials": {"broker_api_secret": PLANTED},
        "audit": {"enabled": False},
    }
    out = ai_trading_run(config, panel=ai_trading_panel)
    return {
        "url": url,
        "run_id": out.result.session.run_id,
        "document": out.document,
        "state_dir": tmp_path / "state",
    }


@pytest.fixture
def planted_secret() -> str:
    return PLANTED


@pytest.fixture
def dash_call() -> Any:
    return call_callback


def call_callback(client: Any, output: str, inputs: list[dict[str, Any]], changed: str, **kw: Any) -> Any:
    """POST to ``/_dash-update-component`` the way the Dash renderer does."""
    outputs: Any
    if output.startswith(".."):
        outputs = [
            {"id": o.split(".")[0], "property": o.split(".")[1]} for o in output.strip(".").split("...")
        ]
    else:
        cid, prop = output.split(".")
        outputs = {"id": cid, "property": prop}
    body = {"output": output, "outputs": outputs, "inputs": inputs, "changedPropIds": [changed], "state": []}
    return client.post(
        "/_dash-update-component", data=json.dumps(body), content_type="application/json", **kw
    )


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def start_browser(*extra_flags: str) -> Any:
    """Headless Debian chromium through chromium-driver (skips the test when either is missing)."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("chromium and chromium-driver are not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--window-size=1440,1000",
        *extra_flags,
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = start_browser()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def launch_browser() -> Iterator[Callable[..., Any]]:
    """``launch_browser(*chromium_flags)``: a driver, quit at the end of the test."""
    drivers: list[Any] = []

    def launch(*flags: str) -> Any:
        drivers.append(start_browser(*flags))
        return drivers[-1]

    yield launch
    for driver in drivers:
        driver.quit()
