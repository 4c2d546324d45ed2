from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from ai_trading_scaffold import generate_plugin, template_path
from ai_trading_scaffold import plugin as scaffold_plugin
from click.testing import CliRunner

from ai_trading_core.cli import build_cli
from ai_trading_core.errors import ConfigError
from ai_trading_core.plugins import create_plugin_host


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    host = create_plugin_host(autoload=False, extra_plugins={"scaffold": scaffold_plugin})
    return build_cli(host)


def test_template_is_shipped() -> None:
    assert (template_path() / "cookiecutter.json").is_file()


def test_new_plugin_command_renders_a_sizer(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        cli,
        [
            "new-plugin",
            "fancy-sizing",
            "--role",
            "sizer",
            "--output-dir",
            str(tmp_path),
            "--description",
            "Fancy sizing.",
        ],
    )
    assert result.exit_code == 0, result.output
    project = tmp_path / "ai-trading-fancy-sizing"
    assert f"created {project}" in result.output
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "ai-trading-fancy-sizing"
    assert meta["project"]["description"] == "Fancy sizing."
    assert meta["project"]["entry-points"]["ai_trading"] == {"fancy-sizing": "ai_trading_fancy_sizing.plugin"}
    plugin_src = (project / "src" / "ai_trading_fancy_sizing" / "plugin.py").read_text()
    assert "def ai_trading_register_sizers" in plugin_src and 'COMPONENT = "fancy_sizing"' in plugin_src
    tests = (project / "tests" / "test_fancy_sizing.py").read_text()
    assert "SizerContract as Contract" in tests
    compile(plugin_src, "plugin.py", "exec")
    compile(tests, "test.py", "exec")


def test_existing_folder_is_not_overwritten(tmp_path: Path) -> None:
    generate_plugin("twice", "strategy", tmp_path)
    marker = tmp_path / "ai-trading-twice" / "README.md"
    marker.write_text("mine")
    with pytest.raises(ConfigError, match="already exists"):
        generate_plugin("twice", "strategy", tmp_path)
    assert marker.read_text() == "mine"


@pytest.mark.parametrize("name", ["Bad_Name", "1abc", "trailing-", "with space"])
def test_bad_names_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lower-case words"):
        generate_plugin(name, "strategy", tmp_path)
    assert not any(tmp_path.iterdir())


def test_unknown_role_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["new-plugin", "x", "--role", "oracle", "--output-dir", str(tmp_path)])
    assert result.exit_code == 2 and "oracle" in result.output
    with pytest.raises(ConfigError, match="not one of"):
        generate_plugin("x", "oracle", tmp_path)
