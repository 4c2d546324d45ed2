"""examples/ensemble.toml runs end to end on the embedded index data and trades."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ai_trading_core import rundoc
from ai_trading_core.config import config_from_dict
from ai_trading_core.runner import run_config

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "ensemble.toml"


def _run_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(tmp_path)
    data = tomllib.loads(EXAMPLE.read_text())
    # a shorter period keeps the test quick; the full 1999-2018 run is the example itself
    data["run"].update(
        start=date.fromisoformat("2005-01-01"), end=date.fromisoformat("2010-12-31"), state_dir=str(tmp_path)
    )
    return run_config(config_from_dict(data)).document


def test_ensemble_example_trades_and_attributes_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _run_example(tmp_path, monkeypatch)
    assert len(rundoc.rows(doc, "trades")) > 10
    members = doc["strategies"]["blend"]["members"]
    assert set(members) == {"blend/mom-60", "blend/macd", "blend/bb-rsi"}
    assert sum(m["final_weight"] for m in members.values()) == pytest.approx(1.0)
    assert all(0.1 - 1e-9 <= m["final_weight"] <= 0.6 + 1e-9 for m in members.values())
