"""Lazy imports for plugin packages.

Loading a plugin (``ai-trading --help``, ``plugins list``, ``validate``) must not import the
heavy libraries its components use (pandas, scikit-learn, SciPy, TA-Lib, SQLAlchemy, a vendor
SDK). A plugin therefore registers components by ``"package.module:attribute"`` reference
(see :meth:`ai_trading_core.registry.ComponentRegistry.register`) and its package
``__init__`` exports names lazily::

    from ai_trading_core.lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, {"FileDataSource": ".source", "FilesParams": ".params"})
    __all__ = ["FileDataSource", "FilesParams"]

``from ai_trading_files import FileDataSource`` still works; the module is imported on first
access (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` exporting each name from the module given
    relative to the package (``".source"``) or absolute."""

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name, package), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # later accesses skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(importlib.import_module(package).__dict__) | set(exports))

    return __getattr__, __dir__
