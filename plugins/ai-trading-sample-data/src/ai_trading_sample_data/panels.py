"""Aligning per-symbol series onto one timestamp index."""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Literal

import numpy as np
import numpy.typing as npt

from ai_trading_core.market import FloatArray


def align_series(
    timestamps: Sequence[npt.NDArray[np.int64]],
    values: Sequence[FloatArray],
    *,
    how: Literal["intersection", "union"],
) -> tuple[npt.NDArray[np.int64], list[FloatArray]]:
    """Put N symbols' rows onto one sorted timestamp index.

    :param timestamps: per symbol, strictly increasing int64 nanoseconds.
    :param values: per symbol, an array of shape (T_i, F) aligned with its timestamps.
    :param how: ``"intersection"`` keeps the timestamps every symbol has; ``"union"`` keeps all
        of them and fills NaN where a symbol has no bar (the engine treats NaN as "no bar").
    :return: the index (T,) and F arrays of shape (T, N).
    """
    if how == "intersection":
        index = reduce(lambda a, b: np.intersect1d(a, b, assume_unique=True), timestamps)
    else:
        index = reduce(lambda a, b: np.union1d(a, b), timestamps)
    index = np.asarray(index, dtype=np.int64)
    n_fields = values[0].shape[1] if values else 0
    out = [np.full((len(index), len(timestamps)), np.nan) for _ in range(n_fields)]
    for j, (ts, vals) in enumerate(zip(timestamps, values, strict=True)):
        pos = np.searchsorted(index, ts)
        keep = (pos < len(index)) & (index[np.minimum(pos, len(index) - 1)] == ts) if len(index) else pos < 0
        for f in range(n_fields):
            out[f][pos[keep], j] = vals[keep, f]
    return index, out
