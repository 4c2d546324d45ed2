"""Render the plugin template with cookiecutter."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from ai_trading_core.errors import ConfigError

ROLES = ("strategy", "data_source", "broker", "sizer", "risk_check")
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def template_path() -> Path:
    """The cookiecutter template shipped with this package."""
    path = Path(str(files("ai_trading_scaffold") / "template"))
    if not (path / "cookiecutter.json").is_file():
        raise ConfigError(f"plugin template not found at {path}")
    return path


def generate_plugin(name: str, role: str, output_dir: Path, description: str | None = None) -> Path:
    """Render a plugin distribution ``ai-trading-<name>`` into ``output_dir``; returns its folder.

    Raises :class:`ConfigError` for a bad name or role, or when the folder already exists.
    """
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    if not _NAME.fullmatch(name):
        raise ConfigError(f"plugin name {name!r} must be lower-case words joined by '-' (e.g. pairs-trading)")
    if role not in ROLES:
        raise ConfigError(f"role {role!r} is not one of {', '.join(ROLES)}")
    target = output_dir / f"ai-trading-{name}"
    if target.exists():
        raise ConfigError(f"{target} already exists; not overwriting it")
    context = {"feature": name, "role": role}
    if description:
        context["description"] = description
    try:
        out = cookiecutter(
            str(template_path()), no_input=True, extra_context=context, output_dir=str(output_dir)
        )
    except CookiecutterException as exc:
        raise ConfigError(f"could not render the plugin template: {exc}") from exc
    return Path(out)
