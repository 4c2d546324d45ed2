"""The CLI as a newcomer meets it: lazy plugin loading (nothing heavy imported to list
commands or plugins), clear errors for a misspelt ``--disable-plugin`` or a command whose
plugin is missing, full names when ``plugins list`` is piped."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import click
import pytest
from click.testing import CliRunner

from ai_trading_core.cli import CommandGroup
from ai_trading_core.enums import Role
from ai_trading_core.registry import ComponentRegistry, resolve_reference

#: libraries no plugin may import just by being loaded (they belong to component builds)
HEAVY = ("pandas", "scipy", "sklearn", "plotly", "dash", "ccxt", "talib", "sqlalchemy", "alembic", "alpaca",
         "arch", "statsmodels", "yfinance", "dask")


def _imported_after(code: str) -> list[str]:
    probe = (
        "import sys\n" + code + "\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.split()


def test_loading_every_plugin_and_building_the_cli_imports_nothing_heavy() -> None:
    """What ``ai-trading --help``, ``plugins list`` and ``validate`` pay before any component is
    built: the plugin host with every installed plugin, and the CLI with every command."""
    code = (
        "from ai_trading_core.plugins import create_plugin_host\n"
        "from ai_trading_core.cli import build_cli\n"
        "h = create_plugin_host()\n"
        "assert not h.failures, [f.error for f in h.failures]\n"
        "build_cli(h)\n"
    )
    assert _imported_after(code) == []


def test_help_and_plugins_list_import_nothing_heavy() -> None:
    code = (
        "import contextlib, io\n"
        "from ai_trading_core.cli import main\n"
        "for argv in (['--help'], ['plugins', 'list', '--json']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        main(argv)\n"
    )
    assert _imported_after(code) == []


def test_a_lazily_registered_component_imports_on_first_use() -> None:
    registry: ComponentRegistry[Any] = ComponentRegistry(Role.SIZER)
    registry.register("lazy", "ai_trading_core.builtin.sizers:EqualWeightSizer",
                      params="ai_trading_core.builtin.sizers:EqualWeightParams")
    spec = registry.get("lazy")
    assert spec.params_model is resolve_reference("ai_trading_core.builtin.sizers:EqualWeightParams")
    with pytest.raises(ValueError, match="package.module:attribute"):
        resolve_reference("no-colon")


def test_lazy_commands_are_listed_without_import_and_run_when_called() -> None:
    @click.group(cls=CommandGroup)
    def cli() -> None:
        """root"""

    cli.add_lazy_command("greet", "click:echo", "Say hello.")  # not a command: refused when used
    runner = CliRunner()
    listed = runner.invoke(cli, ["--help"])
    assert listed.exit_code == 0 and "greet" in listed.output and "Say hello." in listed.output
    used = runner.invoke(cli, ["greet"])
    assert used.exit_code != 0 and "is not a click command" in str(used.exception)


def test_disable_plugin_with_an_unknown_name_is_an_error(cli: Any) -> None:
    proc = cli("--disable-plugin", "nosuch", "plugins", "list")
    assert proc.returncode == 2
    assert "--disable-plugin 'nosuch': no installed plugin of that name" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_command_of_a_missing_plugin_names_its_distribution(cli: Any) -> None:
    proc = cli("--disable-plugin", "scaffold", "new-plugin", "x")
    assert proc.returncode == 2
    assert "comes with the ai-trading-scaffold plugin" in proc.stderr
    assert "pip install ai-trading-scaffold" in proc.stderr


def test_plugins_list_piped_keeps_whole_names(cli: Any) -> None:
    proc = cli("plugins", "list")
    assert proc.returncode == 0
    assert "…" not in proc.stdout
    rows = json.loads(cli("plugins", "list", "--json").stdout)
    for row in rows:
        assert row["distribution"] in proc.stdout
        for names in row["components"].values():
            for name in names:
                assert name in proc.stdout, name


SMALL_RUN = """
[run]
seed = 3
[data]
name = "synthetic"
params = { n_symbols = 2, n_bars = 120 }
[[strategies]]
name = "sma_crossover"
params = { fast = 5, slow = 20 }
[broker]
name = "sim"
"""


def test_report_uses_the_installed_analytics_reporter_when_the_config_lists_none(cli: Any, tmp_path: Any) -> None:
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL_RUN)
    proc = cli("run", str(cfg), "--quiet", "--report", str(tmp_path / "r.html"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "ai-trading tearsheet" in text and "Yearly returns" in text
    # without the plugin the run is refused before it starts, naming what to install
    proc = cli("--disable-plugin", "analytics", "run", str(cfg), "--quiet", "--report", str(tmp_path / "x.html"),
               cwd=tmp_path)
    assert proc.returncode == 2 and "pip install ai-trading-analytics" in proc.stderr
    assert not (tmp_path / "x.html").exists()


def test_a_bad_environment_override_is_blamed_on_the_variable_not_the_file(cli: Any, tmp_path: Any) -> None:
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL_RUN)
    proc = cli("validate", str(cfg), "--no-data", env={"AI_TRADING_RUN__INITIAL_CASH": "abc"})
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: environment variable AI_TRADING_RUN__INITIAL_CASH (overriding ")
    assert "run.initial_cash" in proc.stderr
    proc = cli("validate", str(cfg), "--no-data", env={"AI_TRADING_BROKER": "{bad"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "environment variable AI_TRADING_BROKER: not valid JSON for the [broker] section" in proc.stderr
    # the file's own mistakes are still the file's
    cfg.write_text(SMALL_RUN.replace("[run]\n", '[run]\ninitial_cash = "abc"\n'))
    proc = cli("validate", str(cfg), "--no-data")
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: {cfg}: run.initial_cash")
