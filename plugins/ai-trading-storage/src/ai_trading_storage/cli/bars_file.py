"""Reading and writing bar files for ``ai-trading data import|export``.

A file is read in chunks of rows; each chunk is checked and grouped once (symbols are
factorised, never scanned per symbol), so reading is O(rows) whatever the number of symbols,
and the import can store one chunk while the next is parsed. Checks, each reported with the
line, the symbol and the timestamp:

- prices finite and positive, ``low <= min(open, close)``, ``high >= max(open, close)``;
  volume finite and ``>= 0`` (0 when the file has no volume column);
- timestamps ISO-8601 with a UTC offset (``Z`` or ``+hh:mm``); offsets may differ from row
  to row (local time across a daylight-saving change) and are converted to UTC; without
  an offset only with ``assume_utc``;
- no (symbol, timestamp) twice in the file (checked over the whole file before the last
  chunk is handed on, so nothing is committed);
- a CSV file must end with a newline: one that does not was most likely cut short, and a
  line cut inside its last field still parses (volume ``1000`` cut to ``10``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ai_trading_core.errors import DataError
from ai_trading_core.market import BarPanel

from ..ingest import BarRows, iso_utc

REQUIRED = ("timestamp", "open", "high", "low", "close")
PRICES = ("open", "high", "low", "close")
MAX_SYMBOL = 64  # bars.symbol is varchar(64)
CHUNK_ROWS = 100_000  # Parquet batch size
_BLOCK_BYTES = 8 << 20  # CSV block size: about 70,000 rows of daily bars
PARQUET = (".parquet", ".pq")
COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")
_OFFSET = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


@dataclass
class _Seen:
    """Keys of every row read so far, for the whole-file duplicate check."""

    codes: list[npt.NDArray[np.int32]] = field(default_factory=list)
    ts: list[npt.NDArray[np.int64]] = field(default_factory=list)
    lines: list[npt.NDArray[np.int64]] = field(default_factory=list)


class BarFileReader:
    """Validated chunks (:class:`~ai_trading_storage.ingest.BarRows`) of a CSV or Parquet
    file with columns timestamp, open, high, low, close[, volume][, symbol] (any case).

    ``symbol``: the symbol of every row when the file has no symbol column (required then),
    else keep only that symbol's rows. ``total`` is the file's size in bytes (CSV) or its
    row count (Parquet), the unit of each chunk's ``position``. Raises DataError naming the
    file, the line, the symbol and the timestamp.
    """

    def __init__(
        self, path: Path, symbol: str | None = None, assume_utc: bool = False, chunk_rows: int = CHUNK_ROWS
    ) -> None:
        self.path = Path(path)
        self.symbol = symbol
        self.assume_utc = assume_utc
        self.chunk_rows = chunk_rows
        suffix = self.path.suffix.lower()
        self.parquet = suffix in PARQUET
        self.compressed = suffix in COMPRESSED
        self.total: int | None = None
        self.rows = 0
        self.symbols: dict[str, int] = {}
        if not self.path.is_file():
            raise DataError(f"{self.path}: no such file")
        if not self.parquet and not self.compressed:
            self.total = self.path.stat().st_size

    # ------------------------------------------------------------------ iteration
    def __iter__(self) -> Iterator[BarRows]:
        frames = self._parquet_frames() if self.parquet else self._csv_frames()
        seen = _Seen()
        held: BarRows | None = None
        for frame, first_line, position in frames:
            chunk = self._chunk(frame, first_line, position, seen)
            if chunk is None:
                continue
            if held is not None:
                yield held
            held = chunk
        if not self.symbols:
            raise DataError(f"{self.path}: no bars" + (f" for {self.symbol}" if self.symbol else ""))
        self._check_duplicates(seen)
        if held is not None:
            yield held

    def _csv_frames(self) -> Iterator[tuple[pd.DataFrame, int, int]]:
        import pyarrow.csv as pacsv

        header = self._csv_header()
        names = {c.strip().lower(): c for c in header}
        self._check_columns(names)
        wanted = [names[c] for c in (*REQUIRED, "volume", "symbol") if c in names]
        types = {names[c]: pa.float64() for c in (*PRICES, "volume") if c in names}
        types[names["timestamp"]] = pa.string()
        if "symbol" in names:
            types[names["symbol"]] = pa.string()
        if not self.compressed:
            self._check_terminated()
        source: Any = pa.input_stream(self.path, compression="detect") if self.compressed else open(self.path, "rb")  # noqa: SIM115
        try:
            reader = pacsv.open_csv(
                source,
                # one thread: the database needs the other core while this one parses
                read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES, use_threads=False),
                convert_options=pacsv.ConvertOptions(column_types=types, include_columns=wanted),
            )
            line = 2
            for batch in reader:
                frame = batch.to_pandas()
                frame.columns = [str(c).strip().lower() for c in frame.columns]
                position = source.tell() if not self.compressed else 0
                yield frame, line, min(position, self.total or 0)
                line += len(frame)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{self.path}: cannot read bar file: {str(exc).splitlines()[0]}") from None
        finally:
            source.close()

    def _csv_header(self) -> list[str]:
        try:
            if self.compressed:
                frame = pd.read_csv(self.path, nrows=0)
                return [str(c) for c in frame.columns]
            with open(self.path, newline="", encoding="utf-8-sig") as fh:  # a spreadsheet's BOM
                return next(csv.reader(io.StringIO(fh.readline())), [])
        except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataError(f"{self.path}: cannot read bar file: {str(exc).splitlines()[0]}") from None

    def _check_terminated(self) -> None:
        size = self.path.stat().st_size
        if size == 0:
            return
        with open(self.path, "rb") as fh:
            fh.seek(max(0, size - 256))
            tail = fh.read()
        if not tail.endswith(b"\n"):
            last = tail.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
            raise DataError(
                f"{self.path}: the last line {last!r} does not end with a newline: the file looks cut "
                "short (a line cut inside its last field still parses); if it is complete, add a final newline"
            )

    def _parquet_frames(self) -> Iterator[tuple[pd.DataFrame, int, int]]:
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(self.path)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{self.path}: cannot read bar file: {exc}") from None
        names = {n.strip().lower(): n for n in parquet.schema_arrow.names}
        self._check_columns(names)
        self.total = parquet.metadata.num_rows
        columns = [names[c] for c in (*REQUIRED, "volume", "symbol") if c in names]
        row = 0
        try:
            for batch in parquet.iter_batches(batch_size=self.chunk_rows, columns=columns):
                frame = batch.to_pandas()
                frame.columns = [str(c).strip().lower() for c in frame.columns]
                row += len(frame)
                yield frame, row - len(frame) + 1, row
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{self.path}: cannot read bar file: {exc}") from None

    def _check_columns(self, names: dict[str, str]) -> None:
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise DataError(f"{self.path}: missing column(s) {', '.join(missing)}")
        if "symbol" not in names and not self.symbol:
            raise DataError(f"{self.path}: no symbol column; pass --symbol")

    # ------------------------------------------------------------------ one chunk
    def _chunk(self, frame: pd.DataFrame, first_line: int, position: int, seen: _Seen) -> BarRows | None:
        lines = np.arange(first_line, first_line + len(frame), dtype=np.int64)
        if "symbol" in frame.columns:
            symbols = frame["symbol"]
            if self.symbol:
                keep = (symbols == self.symbol).to_numpy(dtype=bool, na_value=False)
                frame, lines = frame[keep], lines[keep]
                symbols = frame["symbol"]
            codes, uniques = pd.factorize(symbols, use_na_sentinel=True)
        else:
            codes, uniques = np.zeros(len(frame), dtype=np.intp), pd.Index([self.symbol])
        if not len(frame):
            return None
        if (codes < 0).any():
            raise DataError(f"{self.path}: line {lines[int(np.argmax(codes < 0))]}: missing symbol")
        names = tuple(str(s).strip() for s in uniques)
        for name in names:
            if not name or len(name) > MAX_SYMBOL:
                at = lines[int(np.argmax(codes == names.index(name)))]
                raise DataError(f"{self.path}: line {at}: symbol {name!r} must be 1 to {MAX_SYMBOL} characters")
        codes = codes.astype(np.int32)
        ts = self._timestamps(frame["timestamp"], lines, names, codes)
        values = {c: self._numbers(frame, c, lines) for c in (*PRICES, "volume")}
        self._check_values(values, lines, names, codes, ts)
        gids = np.array([self.symbols.setdefault(n, len(self.symbols)) for n in names], dtype=np.int32)
        seen.codes.append(gids[codes])
        seen.ts.append(ts)
        seen.lines.append(lines)
        self.rows += len(ts)
        return BarRows(
            names,
            codes,
            ts,
            values["open"],
            values["high"],
            values["low"],
            values["close"],
            values["volume"],
            position,
        )

    def _numbers(self, frame: pd.DataFrame, column: str, lines: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        if column not in frame.columns:
            return np.zeros(len(frame))  # no volume column: volume 0
        col = frame[column]
        if col.dtype.kind in "fiu":
            return np.asarray(col.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        values = np.asarray(pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
        bad = np.isnan(values) & col.notna().to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{self.path}: line {lines[i]}: {column} {col.iloc[i]!r} is not a number")
        return values

    def _timestamps(
        self,
        col: pd.Series,
        lines: npt.NDArray[np.int64],
        names: tuple[str, ...],
        codes: npt.NDArray[np.int32],
    ) -> npt.NDArray[np.int64]:
        def where(i: int) -> str:
            return f"{self.path}: line {lines[i]} ({names[codes[i]]})"

        if isinstance(col.dtype, pd.DatetimeTZDtype):
            stamps = col.dt.tz_convert("UTC")
        elif col.dtype.kind == "M":
            if not self.assume_utc:
                raise DataError(f"{where(0)}: timestamps have no timezone (pass --assume-utc if they are UTC)")
            stamps = col.dt.tz_localize("UTC")
        else:
            if col.isna().any():
                raise DataError(f"{where(int(np.argmax(col.isna().to_numpy())))}: missing timestamp")
            try:
                arrow = pc.cast(pa.array(col.astype("string[pyarrow]").array), pa.timestamp("ns", tz="UTC"))
                return np.asarray(arrow.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # no offset somewhere, or a spelling Arrow does not read: ask pandas
            stamps = pd.to_datetime(col, utc=True, format="ISO8601", errors="coerce")
            unparsed = stamps.isna().to_numpy()
            if unparsed.any():
                i = int(np.argmax(unparsed))
                raise DataError(f"{where(i)}: unparseable timestamp {col.iloc[i]!r} (ISO-8601 expected)")
            naive = ~col.str.strip().str.contains(_OFFSET, regex=True).to_numpy(dtype=bool, na_value=False)
            # a date alone ("2024-01-02") ends in digits that look like an offset: no time, no offset
            naive |= ~col.str.contains(r"[T ]\d", regex=True).to_numpy(dtype=bool, na_value=False)
            if naive.any() and not self.assume_utc:
                i = int(np.argmax(naive))
                raise DataError(
                    f"{where(i)}: timestamp {col.iloc[i]!r} has no timezone offset "
                    "(add one, or pass --assume-utc if it is UTC)"
                )
        return np.asarray(stamps.dt.as_unit("ns").astype("int64").to_numpy(), dtype=np.int64)

    def _check_values(
        self,
        v: dict[str, npt.NDArray[np.float64]],
        lines: npt.NDArray[np.int64],
        names: tuple[str, ...],
        codes: npt.NDArray[np.int32],
        ts: npt.NDArray[np.int64],
    ) -> None:
        o, h, lo, c, vol = v["open"], v["high"], v["low"], v["close"], v["volume"]
        with np.errstate(invalid="ignore"):
            rules = [
                (~np.isfinite(o) | ~np.isfinite(h) | ~np.isfinite(lo) | ~np.isfinite(c), "missing or non-finite price"),
                ((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0), "price not positive"),
                (~np.isfinite(vol), "missing or non-finite volume"),
                (vol < 0, "negative volume"),
                ((lo > o) | (lo > c), "low above open or close"),
                ((h < o) | (h < c), "high below open or close"),
            ]
        bad_any = np.zeros(len(ts), dtype=bool)
        for bad, _ in rules:
            bad_any |= bad
        if not bad_any.any():
            return
        i = int(np.argmax(bad_any))
        reasons = [text for bad, text in rules if bad[i]]
        raise DataError(
            f"{self.path}: line {lines[i]} ({names[codes[i]]} {iso_utc(int(ts[i]))}): {', '.join(reasons)} "
            f"(open {o[i]}, high {h[i]}, low {lo[i]}, close {c[i]}, volume {vol[i]}); "
            f"{int(bad_any.sum())} bad row(s) among lines {lines[0]}-{lines[-1]}"
        )

    def _check_duplicates(self, seen: _Seen) -> None:
        codes = np.concatenate(seen.codes)
        ts = np.concatenate(seen.ts)
        order = np.lexsort((ts, codes))
        c, t = codes[order], ts[order]
        dup = (c[1:] == c[:-1]) & (t[1:] == t[:-1])
        if not dup.any():
            return
        k = int(np.argmax(dup))
        lines = np.concatenate(seen.lines)
        first, second = sorted((int(lines[order[k]]), int(lines[order[k + 1]])))
        name = next(n for n, g in self.symbols.items() if g == c[k])
        raise DataError(
            f"{self.path}: {name} at {iso_utc(int(t[k]))} appears twice (lines {first} and {second}); "
            f"{int(dup.sum())} duplicate row(s) in the file"
        )


def read_bar_file(path: Path, symbol: str | None = None, assume_utc: bool = False) -> list[BarRows]:
    """Every validated chunk of ``path`` (see :class:`BarFileReader`), read at once."""
    return list(BarFileReader(path, symbol, assume_utc))


def write_bar_file(panel: BarPanel, path: Path) -> int:
    """Long-format CSV (or Parquet by suffix): symbol, timestamp (ISO-8601 UTC), OHLCV.
    Rows are grouped by symbol, in time order."""
    t, n = panel.shape
    present = np.isfinite(panel.close.T.reshape(-1))
    ts = np.tile(np.asarray(panel.timestamps, dtype=np.int64), n)[present]
    columns = {c: getattr(panel, c).T.reshape(-1)[present] for c in ("open", "high", "low", "close", "volume")}
    symbols = np.repeat(np.asarray(panel.symbols, dtype=object), t)[present]
    if path.suffix.lower() in PARQUET:
        stamps: Any = pd.to_datetime(ts, utc=True)
        pd.DataFrame({"symbol": symbols, "timestamp": stamps, **columns}).to_parquet(path, index=False)
    else:
        # NumPy formats a million stamps in milliseconds; strftime per row takes seconds
        unit: Literal["s", "ns"] = "s" if not (ts % 1_000_000_000).any() else "ns"
        stamps = np.char.add(np.datetime_as_string(ts.astype("datetime64[ns]"), unit=unit), "+00:00")
        pd.DataFrame({"symbol": symbols, "timestamp": stamps, **columns}).to_csv(path, index=False)
    return len(ts)
