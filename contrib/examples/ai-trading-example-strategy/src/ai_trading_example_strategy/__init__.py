"""A user's own technical strategy, packaged separately and found through its entry point."""

from __future__ import annotations

from .golden_cross import GoldenCross, GoldenCrossParams

__all__ = ["GoldenCross", "GoldenCrossParams"]
