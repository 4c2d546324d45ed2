from __future__ import annotations

import json

import pytest

from ai_trading_core import hookimpl
from ai_trading_core.errors import ConfigError, DuplicateComponentError
from ai_trading_core.plugins import create_plugin_host


def test_builtin_core_plugin_is_loaded_without_entry_points() -> None:
    host = create_plugin_host(autoload=False)
    assert [p.name for p in host.plugins] == ["core"]
    assert "equal_weight" in host.registries.sizers


def test_failing_plugin_is_reported_and_others_load(broken_plugin_dist) -> None:  # type: ignore[no-untyped-def]
    host = create_plugin_host()
    (failure,) = [f for f in host.failures if f.error.entry_point == "broken"]
    assert failure.error.distribution == "ai-trading-broken"
    assert failure.error.version == "9.9.9"
    assert "boom at import" in str(failure.error)
    assert "RuntimeError" in failure.traceback
    assert isinstance(failure.error.__cause__, RuntimeError)
    assert host.plugin("sim") is not None and "sim" in host.registries.brokers


def test_cli_lists_failure_and_still_runs(broken_plugin_dist, tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("plugins", "list", "--json", extra_path=broken_plugin_dist)
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["broken"]["loaded"] is False and "boom at import" in rows["broken"]["error"]
    assert rows["broken"]["distribution"] == "ai-trading-broken"
    assert rows["sim"]["loaded"] and "broker" in rows["sim"]["roles"]
    assert {"name", "distribution", "version", "roles", "hooks"} <= set(rows["sim"])
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\noutput_dir = "%s"\n[data]\nname = "synthetic"\nparams = { n_symbols = 2, n_bars = 200 }\n'
                   '[[strategies]]\nname = "sma_crossover"\nparams = { fast = 5, slow = 20 }\n' % (tmp_path / "runs"))
    run = cli("run", str(cfg), "--quiet", "--json-out", str(tmp_path / "r.json"), extra_path=broken_plugin_dist)
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "r.json").read_text())["metrics"]["trade_count"] > 0


def test_env_and_flag_switches(cli) -> None:  # type: ignore[no-untyped-def]
    assert create_plugin_host(env={"AI_TRADING_DISABLE_PLUGINS": "sim"}).plugin("sim") is None
    assert [p.name for p in create_plugin_host(env={"AI_TRADING_DISABLE_PLUGINS": "1"}).plugins] == ["core"]
    only = create_plugin_host(env={"AI_TRADING_LOAD_PLUGINS": "sim,sma"})
    assert sorted(p.name for p in only.plugins if not p.builtin) == ["sim", "sma"]
    assert create_plugin_host(disable=["sma"], env={}).plugin("sma") is None
    out = cli("--disable-plugin", "sim", "plugins", "list", "--json")
    assert "sim" not in {r["name"] for r in json.loads(out.stdout)}


def test_explicit_load_of_missing_plugin_is_a_failure() -> None:
    host = create_plugin_host(only=["sim", "no-such-plugin"], env={})
    assert any(f.error.entry_point == "no-such-plugin" for f in host.failures)
    with pytest.raises(ConfigError, match=r"'no-such-plugin': no installed entry point of that name"):
        host.raise_for_registry_errors()


def test_listed_plugins_left_out_on_purpose_are_not_missing() -> None:
    disabled = create_plugin_host(only=["sim", "sma"], disable=["sma"], env={})
    assert disabled.plugin("sma") is None and not disabled.failures
    disabled.raise_for_registry_errors()
    extra = create_plugin_host(only=["sim", "local"], extra_plugins={"local": object()}, env={})
    assert not extra.failures
    extra.raise_for_registry_errors()


def test_listed_plugin_that_fails_to_load_stops_the_run(broken_plugin_dist) -> None:  # type: ignore[no-untyped-def]
    create_plugin_host(env={}).raise_for_registry_errors()  # autoloading: the others still run
    host = create_plugin_host(only=["sim", "broken"], env={})
    with pytest.raises(ConfigError, match="'broken': RuntimeError: boom at import"):
        host.raise_for_registry_errors()


def test_cli_refuses_a_misspelt_plugin_in_the_load_list(tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\noutput_dir = "%s"\n[plugins]\nload = ["sample-data", "sma", "sim", "risk-limitz"]\n'
                   '[data]\nname = "synthetic"\n[[strategies]]\nname = "sma_crossover"\n'
                   % (tmp_path / "runs").as_posix())
    for args in (("validate", str(cfg)), ("run", str(cfg), "--quiet")):
        out = cli(*args)
        assert out.returncode == 2, (out.stdout, out.stderr)
        (line,) = out.stderr.strip().splitlines()
        assert line.startswith("error: ") and "'risk-limitz': no installed entry point of that name" in line
        assert "installed plugins: " in line and "sim" in line
    env_only = cli("validate", str(cfg), env={"AI_TRADING_LOAD_PLUGINS": "sample-data,sma,sim"})
    assert env_only.returncode == 0, env_only.stderr


class _DuplicateSizer:
    @hookimpl
    def ai_trading_register_sizers(self, registry):  # type: ignore[no-untyped-def]
        registry.register("equal_weight", lambda p, c: None)


def test_duplicate_component_names_are_a_startup_error() -> None:
    host = create_plugin_host(autoload=False, extra_plugins={"dup": _DuplicateSizer()})
    with pytest.raises(DuplicateComponentError, match="equal_weight.*registered twice"):
        host.raise_for_registry_errors()


class _Misspelt:
    @hookimpl
    def ai_trading_register_strategys(self, registry):  # type: ignore[no-untyped-def]
        pass


def test_misspelt_hook_fails_at_startup_naming_the_plugin() -> None:
    host = create_plugin_host(autoload=False, extra_plugins={"typo": _Misspelt()})
    (failure,) = host.failures
    assert failure.error.entry_point == "typo" and "ai_trading_register_strategys" in failure.error.reason
    assert host.plugin("typo") is None


class _RaisingObserver:
    def __init__(self) -> None:
        self.alerts: list = []

    @hookimpl
    def ai_trading_fill(self, fill):  # type: ignore[no-untyped-def]
        raise ValueError("reporter bug")


class _AlertCollector:
    def __init__(self) -> None:
        self.alerts: list = []
        self.fills = 0

    @hookimpl
    def ai_trading_alert(self, alert):  # type: ignore[no-untyped-def]
        self.alerts.append(alert)

    @hookimpl
    def ai_trading_fill(self, fill):  # type: ignore[no-untyped-def]
        self.fills += 1


def test_failing_observer_is_isolated(sma_config, ai_trading_panel, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ai_trading_core.config import config_from_dict
    from ai_trading_core.runner import run_config

    collector = _AlertCollector()
    host = create_plugin_host(extra_plugins={"bad": _RaisingObserver(), "collector": collector})
    outcome = run_config(config_from_dict(sma_config), host, panel=ai_trading_panel)
    assert outcome.result.fills and collector.fills == len(outcome.result.fills)
    assert any("reporter bug" in a.message and a.source == "plugin:bad" for a in collector.alerts)


class _CommandClash:
    @hookimpl
    def ai_trading_register_commands(self, cli):  # type: ignore[no-untyped-def]
        import click

        @click.command("run")
        def run() -> None:
            """Shadow the kernel's run."""

        cli.add_command(run)


class _CommandCrash:
    @hookimpl
    def ai_trading_register_commands(self, cli):  # type: ignore[no-untyped-def]
        raise RuntimeError("cannot build commands")


def test_command_name_clash_is_an_error_and_a_crash_is_recorded() -> None:
    from ai_trading_core.cli import build_cli
    from ai_trading_core.errors import ConfigError

    with pytest.raises(ConfigError, match="command 'run' registered twice.*'clash'"):
        build_cli(create_plugin_host(autoload=False, extra_plugins={"clash": _CommandClash()}))
    host = create_plugin_host(autoload=False, extra_plugins={"crash": _CommandCrash()})
    cli = build_cli(host)
    assert "run" in cli.commands
    assert any(f.error.entry_point == "crash" and "cannot build commands" in f.error.reason for f in host.failures)
