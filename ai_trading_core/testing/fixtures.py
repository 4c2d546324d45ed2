"""Pytest fixtures of the test kit, loaded automatically as the ``ai_trading`` pytest plugin.

* ``ai_trading_panel``: a small seeded random-walk panel (3 symbols × 300 daily bars);
* ``ai_trading_host``: a plugin host with every installed plugin loaded;
* ``ai_trading_clock``: a :class:`~ai_trading_core.clock.SimulatedClock` at the panel's start;
* ``ai_trading_run``: a function running a config dict through the real engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ..clock import SimulatedClock
from ..market import BarPanel
from .synthetic import random_walk_panel


@pytest.fixture
def ai_trading_panel() -> BarPanel:
    return random_walk_panel(300, 3, seed=7)


@pytest.fixture
def ai_trading_clock(ai_trading_panel: BarPanel) -> SimulatedClock:
    return SimulatedClock(int(ai_trading_panel.timestamps[0]))


@pytest.fixture
def ai_trading_host() -> Any:
    from ..plugins import create_plugin_host

    return create_plugin_host()


@pytest.fixture
def ai_trading_run(tmp_path: Any) -> Callable[..., Any]:
    """``ai_trading_run(config_dict, panel=None)`` → :class:`~ai_trading_core.runner.RunOutcome`.
    Output and state go to the test's temporary directory."""
    from ..config import config_from_dict
    from ..runner import run_config

    def run(config: dict[str, Any], panel: BarPanel | None = None, **kwargs: Any) -> Any:
        config = dict(config)
        run_section = dict(config.get("run", {}))
        run_section.setdefault("output_dir", str(tmp_path / "runs"))
        run_section.setdefault("state_dir", str(tmp_path / "state"))
        config["run"] = run_section
        return run_config(config_from_dict(config), panel=panel, **kwargs)

    return run
