"""Purged and embargoed k-fold cross-validation for overlapping labels (López de Prado,
*Advances in Financial Machine Learning*, ch. 7).

A sample decided at bar ``s`` has a label that depends on bars ``s .. s + horizon``. Folds are
contiguous blocks of bars. From each fold's training set the splitter removes

* **purged** samples, whose label interval overlaps a test label interval, and
* **embargoed** samples, that start within ``embargo`` bars after the last test label ends
  (serial correlation would otherwise leak the test period into training).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from ai_trading_core.errors import ConfigError

IntArray = npt.NDArray[np.int64]


class PurgedKFold:
    """Split samples by their decision bar into ``n_splits`` contiguous test blocks.

    :param horizon: label horizon in bars (the label of bar ``s`` is known at ``s + horizon``).
    :param embargo: bars after a test block's last label during which training samples are
        dropped.
    """

    def __init__(self, n_splits: int = 5, horizon: int = 1, embargo: int = 0) -> None:
        if n_splits < 2:
            raise ConfigError(f"PurgedKFold needs at least 2 splits, got {n_splits}")
        if horizon < 0 or embargo < 0:
            raise ConfigError("horizon and embargo must be >= 0 bars")
        self.n_splits = n_splits
        self.horizon = horizon
        self.embargo = embargo

    def get_n_splits(self) -> int:
        return self.n_splits

    def split(self, times: npt.ArrayLike) -> Iterator[tuple[IntArray, IntArray]]:
        """Yield (train indices, test indices) into ``times`` (each sample's decision bar;
        several samples may share a bar, one per symbol)."""
        t = np.asarray(times, dtype=np.int64)
        bars = np.unique(t)
        if len(bars) < self.n_splits:
            raise ConfigError(f"PurgedKFold: {len(bars)} distinct bars cannot make {self.n_splits} folds")
        for block in np.array_split(bars, self.n_splits):
            first, last = int(block[0]), int(block[-1])
            test = (t >= first) & (t <= last)
            # train label [s, s + h] must end before the first test bar, or start after the
            # last test label [last, last + h] ends plus the embargo
            before = t + self.horizon < first
            after = t > last + self.horizon + self.embargo
            yield np.flatnonzero(before | after), np.flatnonzero(test)
