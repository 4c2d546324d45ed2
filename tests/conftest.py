from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def broken_plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed-looking distribution ``ai-trading-broken`` whose plugin module raises on
    import (a dist-info directory on sys.path, as pip would leave it)."""
    pkg = tmp_path / "ai_trading_broken"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text("raise RuntimeError('boom at import')\n")
    info = tmp_path / "ai_trading_broken-9.9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ai-trading-broken\nVersion: 9.9.9\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""\
        [ai_trading]
        broken = ai_trading_broken.plugin
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.fixture
def sma_config() -> dict:
    return {
        "data": {"name": "synthetic"},
        "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 5, "slow": 20}}],
        "broker": {"name": "sim", "params": {"commission_bps": 1, "slippage_bps": 2}},
        "audit": {"enabled": False},
    }


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    """``cli(*args, extra_path=None, env=None)``: run ``ai-trading`` in a subprocess (a clean
    environment without AI_TRADING_* variables unless given) and return the CompletedProcess."""
    import os
    import subprocess

    def run(*args: str, extra_path: Path | None = None, env: dict | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
        full = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_")}
        if extra_path is not None:
            full["PYTHONPATH"] = str(extra_path) + os.pathsep + full.get("PYTHONPATH", "")
        full.update(env or {})
        return subprocess.run([sys.executable, "-m", "ai_trading_core.cli", *args], capture_output=True, text=True,
                              env=full, cwd=cwd, timeout=300)

    return run
