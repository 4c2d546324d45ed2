"""examples/technical.toml runs end to end on the embedded index data and trades."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ai_trading_core import rundoc
from ai_trading_core.config import config_from_dict
from ai_trading_core.runner import run_config

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "technical.toml"


def _run_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(tmp_path)
    data = tomllib.loads(EXAMPLE.read_text())
    # a shorter period keeps the test quick; the full 1999-2018 run is the example itself
    data["run"].update(
        start=date.fromisoformat("2005-01-01"), end=date.fromisoformat("2008-12-31"), state_dir=str(tmp_path)
    )
    return run_config(config_from_dict(data)).document


def test_technical_example_trades(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _run_example(tmp_path, monkeypatch)
    strategies = {t.get("strategy_id") for t in rundoc.rows(doc, "trades")}
    assert len(rundoc.rows(doc, "trades")) > 10
    assert {"bollinger-rsi", "macd-12-26-9"} & strategies
