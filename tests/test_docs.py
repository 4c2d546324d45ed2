"""The documentation is checked like code: every hook spec has a section in docs/hooks.md
(and no section documents a hook that does not exist), code examples compile, the generated
configuration reference is current, links between pages resolve, and the tutorial's plugin,
assembled from its code blocks, passes its own tests."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ai_trading_core import hookspecs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)


def spec_names() -> set[str]:
    return {
        name for name, obj in vars(hookspecs).items() if callable(obj) and hasattr(obj, "ai_trading_spec")
    }


def hook_sections() -> dict[str, str]:
    """``## ai_trading_*`` heading → the section's text up to the next ``## ``."""
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.M)
    out = {}
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        if heading.startswith("ai_trading_"):
            out[heading.strip()] = body
    return out


def code_blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == language]


def test_hookspecs_are_found() -> None:
    names = spec_names()
    assert "ai_trading_submit_order" in names and len(names) >= 19


@pytest.mark.parametrize("hook", sorted(spec_names()))
def test_every_hook_has_a_section(hook: str) -> None:
    sections = hook_sections()
    assert hook in sections, f"docs/hooks.md has no '## {hook}' section"
    body = sections[hook]
    assert hook in body, f"section {hook} does not show the hook's signature"
    assert code_blocks(body, "python"), f"section {hook} has no python example"


def test_no_section_for_a_missing_hook() -> None:
    unknown = set(hook_sections()) - spec_names()
    assert not unknown, f"docs/hooks.md documents hooks that do not exist: {sorted(unknown)}"


def test_hook_examples_compile() -> None:
    for hook, body in hook_sections().items():
        for i, block in enumerate(code_blocks(body, "python")):
            compile(block, f"docs/hooks.md:{hook}:{i}", "exec")


def test_hook_examples_define_the_hook() -> None:
    """Each section's example implements the hook it documents, with @hookimpl."""
    for hook, body in hook_sections().items():
        source = "\n".join(code_blocks(body, "python"))
        assert re.search(rf"def {hook}\(", source), f"example of {hook} does not implement it"
        assert "@hookimpl" in source


def test_tutorial_python_blocks_compile() -> None:
    text = (DOCS / "tutorial-strategy-plugin.md").read_text(encoding="utf-8")
    blocks = code_blocks(text, "python")
    assert blocks, "the tutorial has no python code blocks"
    for i, block in enumerate(blocks):
        compile(block, f"docs/tutorial-strategy-plugin.md:block{i}", "exec")


def test_every_python_block_in_docs_compiles() -> None:
    for page in sorted(DOCS.glob("*.md")):
        for i, block in enumerate(code_blocks(page.read_text(encoding="utf-8"), "python")):
            # top-level await is what a notebook cell allows (docs/python-api.md)
            compile(block, f"{page.name}:block{i}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_reference", DOCS / "gen_config_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_reference_is_current() -> None:
    generated = _load_generator().render()
    committed = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert committed == generated, "docs/configuration.md is stale: run python docs/gen_config_reference.py"


def test_configuration_reference_covers_every_field() -> None:
    from ai_trading_core.config import AppConfig, AuditSettings, LoggingSettings, PluginSettings, RunSettings

    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for section in AppConfig.model_fields:
        assert f"\n## {section}\n" in text
    for model in (RunSettings, PluginSettings, AuditSettings, LoggingSettings):
        for name in model.model_fields:
            assert f"| `{name}` |" in text, f"{model.__name__}.{name} missing from docs/configuration.md"


def test_relative_links_resolve() -> None:
    link = re.compile(r"\]\(([^)#\s]+\.md)(#[^)]*)?\)")
    for page in sorted(DOCS.glob("*.md")):
        for target, _anchor in link.findall(page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"


# ------------------------------------------------------------------ tutorial, end to end
FILE_MARK = re.compile(r"^# file: (\S+)\n")


def tutorial_files() -> dict[str, str]:
    """Files of the tutorial's plugin: every code block whose first line is ``# file: PATH``."""
    text = (DOCS / "tutorial-strategy-plugin.md").read_text(encoding="utf-8")
    files: dict[str, str] = {}
    for _lang, body in FENCE.findall(text):
        m = FILE_MARK.match(body)
        if m:
            files[m.group(1)] = body[m.end() :]
    return files


def test_tutorial_plugin_passes_its_tests(tmp_path: Path) -> None:
    """Write the tutorial's files out and run its test file with pytest, the package on
    PYTHONPATH (the entry point is exercised through ``extra_plugins`` in the tutorial test)."""
    files = tutorial_files()
    assert "pyproject.toml" in files and any(p.startswith("tests/") for p in files)
    for rel, content in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_")}
    env["PYTHONPATH"] = str(tmp_path / "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", "tests"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout


# ------------------------------------------------------------------ plugin catalogue
def _load_catalogue() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_plugin_catalogue", DOCS / "gen_plugin_catalogue.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plugin_catalogue_is_current() -> None:
    generated = _load_catalogue().render()
    committed = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert committed == generated, "docs/plugins.md is stale: run python docs/gen_plugin_catalogue.py"


def test_plugin_catalogue_lists_every_plugin_and_parameter() -> None:
    import tomllib

    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    for pyproject in ROOT.glob("plugins/*/pyproject.toml"):
        meta = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        for entry in meta.get("entry-points", {}).get("ai_trading", {}):
            assert f"\n## {entry}\n" in text, entry
            assert f"`pip install {meta['name']}`" in text
    # spot checks: a parameter of a sizer and of a risk check, with their defaults
    assert "| `cold_start_fraction` | float | `0.02` |" in text
    assert "### risk_check `circuit_breaker`" in text
