"""Reading CSV and Parquet files into raw tables, and naming rows in error messages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ai_trading_core.errors import ConfigError, DataError

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES


def file_suffix(path: Path) -> str | None:
    """The recognised data suffix of ``path`` (``.csv``, ``.csv.gz``, ``.parquet``, ``.pq``), if any."""
    name = path.name.lower()
    return next((s for s in SUFFIXES if name.endswith(s) and len(name) > len(s)), None)


def symbol_of(path: Path) -> str:
    """``AAPL.csv`` -> ``AAPL``; ``BRK.B.parquet`` -> ``BRK.B``."""
    suffix = file_suffix(path)
    return path.name[: -len(suffix)] if suffix else path.stem


@dataclass(frozen=True)
class RawTable:
    """A file's rows as read, before validation. Row ``k`` (0-based) of ``frame`` is data row
    ``k + 1`` of the file; in a CSV that is line ``k + 2`` (the header is line 1)."""

    name: str
    frame: pd.DataFrame
    is_csv: bool

    def where(self, k: int) -> str:
        """``prices.csv row 3 (line 4)`` for the 0-based row ``k``."""
        return f"{self.name} row {k + 1} (line {k + 2})" if self.is_csv else f"{self.name} row {k + 1}"


def read_table(path: Path) -> RawTable:
    """Read ``path`` with minimal interpretation: CSV columns that are all numbers become
    float64/int64 (parsed exactly), others stay text; Parquet columns keep their stored types."""
    suffix = file_suffix(path)
    if suffix in CSV_SUFFIXES:
        return RawTable(path.name, _read_csv(path), is_csv=True)
    if suffix in PARQUET_SUFFIXES:
        return RawTable(path.name, _read_parquet(path), is_csv=False)
    raise DataError(f"{path.name}: unsupported file type (expected {', '.join(SUFFIXES)})")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        # Blank lines are kept as empty rows so that row numbers match the file's lines. Only
        # empty cells and nan/NaN count as missing, so a symbol such as "NA" stays a string;
        # a column that does not parse as numbers arrives as text and is reported by row later.
        return pd.read_csv(
            path, skip_blank_lines=False, skipinitialspace=True, keep_default_na=False,
            na_values=["", "nan", "NaN"],
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name}: empty file (no header row)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataError(f"{path.name}: cannot parse as CSV: {exc}") from exc


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(
            f"{path.name}: reading Parquet files needs pyarrow, which is not installed; "
            "install it with: pip install 'ai-trading-files[parquet]'"
        ) from None
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path.name}: cannot read as Parquet: {exc}") from exc
    return table.to_pandas()
