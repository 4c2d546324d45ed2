"""The ``files`` data source: discovery, reading, alignment onto one timestamp index."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import DataError, UnknownSymbolError
from ai_trading_core.market import BarPanel, to_ns
from ai_trading_core.models import Instrument

from .params import FilesParams
from .reading import file_suffix, read_table, symbol_of
from .validation import SymbolBars, parse_bars


class FileDataSource:
    """Bars from a CSV/Parquet file or a directory of per-symbol files.

    Files are read and validated on the first :meth:`load` and kept in this instance.
    Symbols are aligned onto the union of their timestamps (or the intersection, per
    ``align``); NaN marks a symbol without a bar at a timestamp, which the engine treats as
    "no bar". Timestamps are bar **open** times, converted to UTC."""

    def __init__(self, params: FilesParams) -> None:
        self.params = params
        self.timeframe = Timeframe.parse(params.timeframe)
        self._panel: BarPanel | None = None

    def load(self, start: datetime | None = None, end: datetime | None = None) -> BarPanel:
        """Bars with open time in [start, end] (inclusive); aware datetimes only."""
        if self._panel is None:
            self._panel = self._read()
        return self._panel.select(
            start=None if start is None else to_ns(start), end=None if end is None else to_ns(end)
        )

    # ------------------------------------------------------------------ reading
    def _read(self) -> BarPanel:
        path = self.params.path
        if path.is_dir():
            series = self._read_directory(path)
        elif path.is_file():
            series = self._read_file(path)
        else:
            raise DataError(f"{path}: no such file or directory")
        return self._panel_of(series, source=f"files ({path.name})")

    def _read_directory(self, directory: Path) -> dict[str, SymbolBars]:
        files: dict[str, Path] = {}
        for path in sorted(directory.iterdir()):
            if not path.is_file() or file_suffix(path) is None:
                continue
            symbol = symbol_of(path)
            if symbol in files:
                raise DataError(
                    f"{directory.name}: symbol {symbol} has two files ({files[symbol].name}, {path.name})"
                )
            files[symbol] = path
        if not files:
            raise DataError(f"{directory}: no .csv, .csv.gz or .parquet files")
        wanted = self._wanted(list(files), where=str(directory.name))
        return {
            s: parse_bars(read_table(files[s]), self.params, default_symbol=s, long_format=False)[s]
            for s in wanted
        }

    def _read_file(self, path: Path) -> dict[str, SymbolBars]:
        series = parse_bars(read_table(path), self.params, default_symbol=symbol_of(path), long_format=True)
        return {s: series[s] for s in self._wanted(list(series), where=path.name)}

    def _wanted(self, available: list[str], where: str) -> list[str]:
        if self.params.symbols is None:
            return available
        missing = [s for s in self.params.symbols if s not in available]
        if missing:
            raise UnknownSymbolError(
                f"{where}: unknown symbol(s) {', '.join(missing)}; available: {', '.join(available)}"
            )
        return list(dict.fromkeys(self.params.symbols))

    # ------------------------------------------------------------------ alignment
    def _panel_of(self, series: Mapping[str, SymbolBars], source: str) -> BarPanel:
        symbols = tuple(series)
        indexes = [pd.Index(s.timestamps) for s in series.values()]
        index = indexes[0]
        for other in indexes[1:]:
            index = index.union(other) if self.params.align == "union" else index.intersection(other)
        index = index.sort_values()
        fields = np.full((5, len(index), len(symbols)), np.nan)
        for j, bars in enumerate(series.values()):
            pos = index.get_indexer(pd.Index(bars.timestamps))
            keep = pos >= 0
            fields[:, pos[keep], j] = bars.values[keep].T
        p = self.params
        instruments = {
            s: Instrument(
                symbol=s,
                asset_class=p.asset_class,
                lot_size=p.lot_size,
                # only a configured tick: an unset one is left for the broker to infer from the data
                **({"tick_size": p.tick_size} if p.tick_size is not None else {}),
            )
            for s in symbols
        }
        return BarPanel(
            symbols=symbols, timestamps=np.asarray(index, dtype=np.int64), open=fields[0], high=fields[1],
            low=fields[2], close=fields[3], volume=fields[4], timeframe=self.timeframe,
            instruments=instruments, source=source,
        )
