"""Every distribution is ready for a package index, and ``ai-trading-core[all]`` names every
first-party plugin."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = [ROOT, *sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))]


def meta(project: Path) -> dict:  # type: ignore[type-arg]
    return tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_all_extra_names_every_plugin() -> None:
    plugins = {meta(p)["name"] for p in PROJECTS[1:]}
    assert set(meta(ROOT)["optional-dependencies"]["all"]) == plugins


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_distribution_metadata_is_complete(project: Path) -> None:
    m = meta(project)
    assert m["license"] == "Apache-2.0"
    assert (project / "LICENSE").is_file(), "the license text ships in every distribution"
    assert m.get("readme") == "README.md" and (project / "README.md").is_file()
    assert m.get("description") and m.get("requires-python")
    classifiers = m.get("classifiers", [])
    assert "Programming Language :: Python :: 3.11" in classifiers and "Typing :: Typed" in classifiers
    assert m["version"] == meta(ROOT)["version"], "plugins are versioned with the kernel"
