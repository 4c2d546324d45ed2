"""examples/ml.toml runs end to end on the embedded index data and trades."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ai_trading_core import rundoc
from ai_trading_core.config import config_from_dict
from ai_trading_core.runner import run_config

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "ml.toml"


def _run_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(tmp_path)
    data = tomllib.loads(EXAMPLE.read_text())
    # a shorter period keeps the test quick; the full 1999-2018 run is the example itself
    data["run"].update(
        start=date.fromisoformat("1999-01-01"), end=date.fromisoformat("2004-12-31"), state_dir=str(tmp_path)
    )
    return run_config(config_from_dict(data)).document


def test_ml_example_trades_and_documents_its_retraining(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _run_example(tmp_path, monkeypatch)
    assert len(rundoc.rows(doc, "trades")) > 10
    retraining = doc["strategies"]["ml-logit"]["retraining"]
    # first training once 252 labelled bars exist, then every 63 bars
    assert len(retraining) >= 15
    assert [e["bar"] for e in retraining] == list(range(retraining[0]["bar"], retraining[-1]["bar"] + 1, 63))
    assert all(e["window"]["end"] < e["timestamp"] for e in retraining)
    saved = sorted((tmp_path / "models" / "ml-logit").glob("v*.json"))
    assert len(saved) == len(retraining)
