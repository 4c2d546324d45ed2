"""Real daily bars of two US stock indices, read from the files that the ``arch`` wheel ships.

Provenance: the ``arch`` package (Kevin Sheppard's ARCH models library, installed from PyPI)
includes two example data sets that its documentation uses, both daily OHLCV downloaded from
Yahoo! Finance and covering 1999-01-04 to 2018-12-31 (5,031 trading days each):

* ``SP500``  - S&P 500 index (Yahoo symbol ``^GSPC``), file ``arch/data/sp500/sp500.csv.gz``;
* ``NASDAQ`` - NASDAQ Composite index (``^IXIC``), file ``arch/data/nasdaq/nasdaq.csv.gz``.

Columns are ``Date,Open,High,Low,Close,Adj Close,Volume`` with dates written ``M/D/YYYY``.
For a price index there are no dividends or splits to adjust for, so ``Adj Close`` equals
``Close`` (checked: identical on every row of both files); this source uses the raw
Open/High/Low/Close/Volume columns and ignores ``Adj Close``. Volume is the number of shares
traded on the index's constituents that day (two NASDAQ rows report 0).

The files are found through the installed ``arch`` distribution's metadata, without importing
``arch`` itself (its package import pulls in pandas, scipy and statsmodels-style modules that a
data source has no use for). Parsing is ``csv``/``gzip`` plus NumPy.

Each date becomes the UTC midnight of that day: bars are labelled by their open time (see
:mod:`ai_trading_core.market`), so the daily bar of 2008-09-15 is stamped 2008-09-15T00:00Z and
its close is known only after that session ends.
"""

from __future__ import annotations

import csv
import gzip
import importlib.metadata
import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from ai_trading_core.enums import AssetClass, Timeframe
from ai_trading_core.errors import DataError, UnknownSymbolError
from ai_trading_core.market import BarPanel, FloatArray, to_ns
from ai_trading_core.models import Instrument

from .panels import align_series

_NS_PER_DAY = 86_400 * 1_000_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_COLUMNS = ("Date", "Open", "High", "Low", "Close", "Adj Close", "Volume")


@dataclass(frozen=True)
class IndexFile:
    """One shipped index file: its symbol, path inside the ``arch`` distribution and meaning."""

    symbol: str
    resource: str
    description: str


INDEX_FILES: Mapping[str, IndexFile] = {
    "SP500": IndexFile(
        "SP500", "arch/data/sp500/sp500.csv.gz",
        "S&P 500 index (^GSPC), daily OHLCV 1999-2018, Yahoo! Finance data shipped in the arch package",
    ),
    "NASDAQ": IndexFile(
        "NASDAQ", "arch/data/nasdaq/nasdaq.csv.gz",
        "NASDAQ Composite index (^IXIC), daily OHLCV 1999-2018, Yahoo! Finance data shipped in the arch "
        "package",
    ),
}


class ArchIndicesParams(BaseModel):
    """Parameters of the ``arch_indices`` data source."""

    model_config = ConfigDict(extra="forbid")

    symbols: list[str] = Field(
        default_factory=lambda: list(INDEX_FILES), min_length=1,
        description="which indices to load: SP500, NASDAQ (default both)",
    )
    align: Literal["intersection", "union"] = Field(
        default="intersection",
        description=(
            "keep only dates every index has (intersection) or all dates, NaN where one lacks a bar (union)"
        ),
    )
    lot_size: Decimal = Field(
        default=Decimal("0.0001"), gt=0,
        description=(
            "quantity increment in index units. An index is not a share: one unit of the S&P 500 "
            "costs ~1,200-2,900 USD, so whole units would make a small account's position sizes "
            "jump in coarse steps; fractional units stand in for an index fund or CFD"
        ),
    )


@dataclass(frozen=True)
class DailySeries:
    """One symbol's parsed file: timestamps (int64 ns, UTC midnight) and float64 columns."""

    timestamps: npt.NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


def locate_index_file(resource: str) -> Path:
    """The installed path of ``resource`` (``arch/data/...``) without importing ``arch``.

    Uses the distribution's metadata first; falls back to the package's import spec (which
    finds the directory without executing ``arch/__init__.py``)."""
    candidates: list[Path] = []
    try:
        dist = importlib.metadata.distribution("arch")
        candidates.append(Path(str(dist.locate_file(resource))))
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec("arch")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(Path(location).parent / resource)
    for path in candidates:
        if path.is_file():
            return path
    if not candidates:
        raise DataError(f"{resource}: the 'arch' package is not installed (pip install arch)")
    looked = ", ".join(map(str, candidates))
    raise DataError(f"{resource}: not found in the installed 'arch' package (looked at {looked})")


def _parse_date(text: str, where: str) -> int:
    try:
        month, day, year = (int(part) for part in text.split("/"))
        ordinal = date(year, month, day).toordinal()
    except ValueError:
        raise DataError(f"{where}: unparseable date {text!r} (expected M/D/YYYY)") from None
    return (ordinal - _EPOCH_ORDINAL) * _NS_PER_DAY


def read_index_csv(path: Path) -> DailySeries:
    """Parse and validate one ``Date,Open,High,Low,Close,Adj Close,Volume`` file (gzip or plain).

    Raises :class:`DataError` naming the file and the 1-based data row (the header is line 1,
    data row ``k`` is line ``k + 1``) for a wrong header, a short row, an unparseable date or
    number, NaN or non-positive prices, high below low, open or close outside [low, high],
    negative volume, and dates that are not strictly increasing.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    name = path.name
    try:
        with opener(path, "rt", newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: cannot read: {exc}") from exc
    if not rows:
        raise DataError(f"{name}: empty file")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise DataError(f"{name}: missing column(s) {', '.join(missing)} (header: {', '.join(header)})")
    data = rows[1:]
    if not data:
        raise DataError(f"{name}: no data rows")
    idx = [header.index(c) for c in ("Date", "Open", "High", "Low", "Close", "Volume")]
    width = max(idx) + 1
    ts = np.empty(len(data), dtype=np.int64)
    values = np.empty((len(data), 5), dtype=np.float64)
    for k, row in enumerate(data):
        where = f"{name} row {k + 1} (line {k + 2})"
        if len(row) < width:
            raise DataError(f"{where}: {len(row)} fields, expected {len(header)}")
        ts[k] = _parse_date(row[idx[0]], where)
        try:
            values[k] = [float(row[i]) for i in idx[1:]]
        except ValueError:
            raise DataError(f"{where}: non-numeric value in {', '.join(row[i] for i in idx[1:])}") from None
    series = DailySeries(ts, *(np.ascontiguousarray(values[:, j]) for j in range(5)))
    _validate(name, series)
    return series


def _first(mask: npt.NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _validate(name: str, s: DailySeries) -> None:
    prices = np.column_stack([s.open, s.high, s.low, s.close])
    checks: list[tuple[npt.NDArray[np.bool_], str]] = [
        (np.asarray(~np.isfinite(prices).all(axis=1)), "NaN or infinite price"),
        (np.asarray((prices <= 0).any(axis=1)), "non-positive price"),
        (s.high < s.low, "high below low"),
        ((s.open < s.low) | (s.open > s.high), "open outside [low, high]"),
        ((s.close < s.low) | (s.close > s.high), "close outside [low, high]"),
        (~np.isfinite(s.volume) | (s.volume < 0), "missing or negative volume"),
    ]
    for mask, problem in checks:
        k = _first(mask)
        if k is not None:
            raise DataError(
                f"{name} row {k + 1} (line {k + 2}): {problem} "
                f"(open={s.open[k]}, high={s.high[k]}, low={s.low[k]}, close={s.close[k]}, "
                f"volume={s.volume[k]})"
            )
    k = _first(np.diff(s.timestamps) <= 0)
    if k is not None:
        raise DataError(
            f"{name} row {k + 2} (line {k + 3}): date not after the previous row's (duplicate or unsorted)"
        )


class ArchIndices:
    """Data source ``arch_indices``: real S&P 500 / NASDAQ Composite daily bars, 1999-2018.

    Files are read on the first :meth:`load` and kept in this instance."""

    def __init__(self, params: ArchIndicesParams) -> None:
        unknown = [s for s in params.symbols if s not in INDEX_FILES]
        if unknown:
            raise UnknownSymbolError(
                f"arch_indices: unknown symbol(s) {', '.join(unknown)}; available: {', '.join(INDEX_FILES)}"
            )
        if len(set(params.symbols)) != len(params.symbols):
            raise DataError(f"arch_indices: duplicate symbols in {params.symbols}")
        self.symbols: tuple[str, ...] = tuple(params.symbols)
        self.align = params.align
        self.instruments = {
            s: Instrument(
                symbol=s, asset_class=AssetClass.INDEX, currency="USD", tick_size=Decimal("0.01"),
                lot_size=params.lot_size, min_quantity=params.lot_size,
                description=INDEX_FILES[s].description,
            )
            for s in self.symbols
        }
        self._panel: BarPanel | None = None

    def _full_panel(self) -> BarPanel:
        if self._panel is None:
            series = {s: read_index_csv(locate_index_file(INDEX_FILES[s].resource)) for s in self.symbols}
            self._panel = panel_from_series(
                series, how=self.align, timeframe=Timeframe.D1, instruments=self.instruments,
                source="arch_indices (S&P 500 / NASDAQ Composite daily, arch package data)",
            )
        return self._panel

    def load(self, start: datetime | None = None, end: datetime | None = None) -> BarPanel:
        """Bars with open time in [start, end] (inclusive); aware datetimes only."""
        panel = self._full_panel()
        return panel.select(
            start=None if start is None else to_ns(start), end=None if end is None else to_ns(end)
        )


def panel_from_series(
    series: Mapping[str, DailySeries], *, how: Literal["intersection", "union"], timeframe: Timeframe,
    instruments: Mapping[str, Instrument], source: str,
) -> BarPanel:
    """Align per-symbol series onto one timestamp index (see :func:`align_series`)."""
    symbols: Sequence[str] = list(series)
    timestamps, fields = align_series(
        [series[s].timestamps for s in symbols],
        [np.column_stack([series[s].open, series[s].high, series[s].low, series[s].close, series[s].volume])
         for s in symbols],
        how=how,
    )
    return BarPanel(
        symbols=tuple(symbols), timestamps=timestamps, open=fields[0], high=fields[1], low=fields[2],
        close=fields[3], volume=fields[4], timeframe=timeframe, instruments=dict(instruments), source=source,
    )
