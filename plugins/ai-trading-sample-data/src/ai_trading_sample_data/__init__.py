"""Data sources that need no download: ``arch_indices`` (real S&P 500 and NASDAQ Composite
daily bars, 1999-2018, from the files the ``arch`` wheel ships) and ``synthetic`` (a seeded,
correlated synthetic universe at any timeframe)."""

from __future__ import annotations

from .arch_indices import INDEX_FILES, ArchIndices, ArchIndicesParams, read_index_csv
from .synthetic import SyntheticParams, SyntheticUniverse, synthetic_panel

__all__ = [
    "INDEX_FILES",
    "ArchIndices",
    "ArchIndicesParams",
    "SyntheticParams",
    "SyntheticUniverse",
    "read_index_csv",
    "synthetic_panel",
]
