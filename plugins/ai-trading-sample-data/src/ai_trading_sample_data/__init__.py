"""Data sources that need no download: ``arch_indices`` (real S&P 500 and NASDAQ Composite
daily bars, 1999-2018, from the files the ``arch`` wheel ships) and ``synthetic`` (a seeded,
correlated synthetic universe at any timeframe)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .arch_indices import INDEX_FILES, ArchIndices, ArchIndicesParams, read_index_csv
    from .synthetic import SyntheticParams, SyntheticUniverse, synthetic_panel

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "INDEX_FILES": ".arch_indices",
        "ArchIndices": ".arch_indices",
        "ArchIndicesParams": ".arch_indices",
        "read_index_csv": ".arch_indices",
        "SyntheticParams": ".synthetic",
        "SyntheticUniverse": ".synthetic",
        "synthetic_panel": ".synthetic",
    },
)

__all__ = [
    "INDEX_FILES",
    "ArchIndices",
    "ArchIndicesParams",
    "SyntheticParams",
    "SyntheticUniverse",
    "read_index_csv",
    "synthetic_panel",
]
