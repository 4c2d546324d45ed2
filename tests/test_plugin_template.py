"""The plugin template (contrib/cookiecutter-ai-trading-plugin) is tested by rendering it:
every role's plugin passes its own tests, and one rendered plugin, pip-installed into the
current environment, is found through its entry point and runs a backtest from the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from ai_trading_core import rundoc

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "contrib" / "cookiecutter-ai-trading-plugin"
ROLES = ("strategy", "data_source", "broker", "sizer", "risk_check")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_")}
    env.update(extra)
    return env


def render(tmp_path: Path, feature: str, role: str) -> Path:
    out = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        output_dir=str(tmp_path),
        extra_context={"feature": feature, "role": role, "description": f"Template check ({role})."},
    )
    return Path(out)


@pytest.mark.parametrize("role", ROLES)
def test_rendered_plugin_passes_its_tests(tmp_path: Path, role: str) -> None:
    feature = f"template-{role.replace('_', '-')}"
    project = render(tmp_path, feature, role)
    package = f"ai_trading_{feature.replace('-', '_')}"
    assert (project / "src" / package / "plugin.py").is_file()
    pyproject = (project / "pyproject.toml").read_text()
    assert f'{feature} = "{package}.plugin"' in pyproject
    assert "{{" not in pyproject and "{%" not in (project / "src" / package / "component.py").read_text()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=clean_env(PYTHONPATH=str(project / "src")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    contract_tests = {"strategy": 4, "data_source": 2, "broker": 4, "sizer": 4, "risk_check": 3}[role]
    passed = int(proc.stdout.strip().splitlines()[-1].split(" passed")[0].split()[-1])
    assert passed >= contract_tests + 1, proc.stdout[-1000:]


def test_bad_feature_name_is_refused(tmp_path: Path) -> None:
    from cookiecutter.exceptions import FailedHookException

    with pytest.raises(FailedHookException):
        render(tmp_path, "Bad_Name", "strategy")


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[Path]:
    """Render the strategy variant and ``pip install --no-deps -e`` it into this environment;
    uninstalled afterwards whatever happens."""
    project = render(tmp_path, "template-installed", "strategy")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    proc = subprocess.run(
        [*pip, "install", "--no-deps", "-e", str(project)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    try:
        yield project
    finally:
        subprocess.run(
            [*pip, "uninstall", "-y", "ai-trading-template-installed"], capture_output=True, timeout=300
        )


def test_installed_plugin_is_listed_and_backtests(installed_plugin: Path, tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "ai_trading_core.cli"]
    listed = subprocess.run(
        [*cli, "plugins", "list", "--json"], capture_output=True, text=True, env=clean_env(), timeout=300
    )
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    row = rows["template-installed"]
    assert row["loaded"] and row["distribution"] == "ai-trading-template-installed"
    assert row["components"] == {"strategy": ["template_installed"]}

    config = tmp_path / "run.toml"
    config.write_text(
        '[run]\ninitial_cash = "100000"\noutput_dir = "runs"\nstate_dir = "state"\n'
        '[data]\nname = "synthetic"\nparams = { n_symbols = 3, n_bars = 300, seed = 5 }\n'
        '[[strategies]]\nname = "template_installed"\nid = "tmpl"\nparams = { lookback = 20 }\n'
        '[broker]\nname = "sim"\n'
    )
    doc_path = tmp_path / "run.json"
    proc = subprocess.run(
        [*cli, "run", str(config), "--json-out", str(doc_path), "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(doc_path.read_text())
    assert doc["bars"] == 300
    assert doc["metrics"]["fill_count"] > 0
    assert {o["strategy_id"] for o in rundoc.rows(doc, "orders")} == {"tmpl"}
    assert any(p["name"] == "template-installed" for p in doc["plugins"])
