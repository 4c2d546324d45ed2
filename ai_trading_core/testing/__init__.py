"""Test kit for plugin authors: fixtures (``ai_trading_core.testing.fixtures``, loaded as a
pytest plugin), seeded synthetic data, fakes named for what they fake, and one contract
suite per role (``ai_trading_core.testing.contracts``)."""

from __future__ import annotations

from .synthetic import random_walk_panel

__all__ = ["random_walk_panel"]
