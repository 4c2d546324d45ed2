"""Turning a raw table into validated per-symbol bars.

Every problem raises :class:`~ai_trading_core.errors.DataError` naming the file and the
1-based data row (and, for CSV, the line): missing columns, unparseable or naive timestamps,
non-numeric, NaN or non-positive prices, high below low, open or close outside [low, high],
missing or negative volume, duplicate and unsorted timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from ai_trading_core.errors import DataError
from ai_trading_core.market import FIELDS, FloatArray, to_datetime

from .params import FilesParams
from .reading import RawTable

# An explicit offset after a time of day: "...T14:30Z", "... 14:30:00+01:00", "...T09:30:00.5-0500".
# A bare date such as 2020-01-02 has none (its "-02" is the day, not an offset).
_OFFSET = r"[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)$"
PRICE_FIELDS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class SymbolBars:
    """One symbol's validated bars: int64 ns UTC open times (strictly increasing) and a
    float64 array of shape (T, 5) in ``FIELDS`` order."""

    timestamps: npt.NDArray[np.int64]
    values: FloatArray


def resolve_columns(table: RawTable, params: FilesParams, *, with_symbol: bool) -> dict[str, str]:
    """Map ``timestamp``, the OHLCV fields (and ``symbol`` when present and wanted) to the
    file's column names: an explicit name from ``params.columns`` or the field's own name,
    matched exactly first and then case-insensitively."""
    by_lower: dict[str, list[str]] = {}
    for col in table.frame.columns:
        by_lower.setdefault(str(col).strip().lower(), []).append(str(col))
    wanted = {"timestamp": params.timestamp_column, **{f: params.columns.get(f, f) for f in FIELDS}}  # type: ignore[call-overload]
    resolved: dict[str, str] = {}
    missing: list[str] = []
    for key, name in wanted.items():
        found = _find(table, by_lower, name)
        if found is None:
            missing.append(name)
        else:
            resolved[key] = found
    if missing:
        have = ", ".join(map(str, table.frame.columns)) or "none"
        raise DataError(f"{table.name}: missing column(s) {', '.join(missing)} (columns found: {have})")
    if with_symbol:
        found = _find(table, by_lower, params.symbol_column)
        if found is not None:
            resolved["symbol"] = found
    return resolved


def _find(table: RawTable, by_lower: dict[str, list[str]], name: str) -> str | None:
    if name in table.frame.columns:
        return name
    matches = by_lower.get(name.strip().lower(), [])
    if len(matches) > 1:
        raise DataError(f"{table.name}: column {name!r} is ambiguous (matches {', '.join(matches)})")
    return matches[0] if matches else None


def _first(mask: npt.NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _utc_ns(values: pd.Series) -> npt.NDArray[np.int64]:
    naive_utc = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return np.asarray(naive_utc.to_numpy(dtype="datetime64[ns]").view(np.int64))


def parse_timestamps(table: RawTable, column: str, params: FilesParams) -> npt.NDArray[np.int64]:
    """Bar open times as int64 ns UTC. A timestamp without an offset is an error unless
    ``params.assume_timezone`` names the zone it was written in."""
    raw = table.frame[column]
    fmt = params.timestamp_format
    if pd.api.types.is_datetime64_any_dtype(raw):
        bad = raw.isna().to_numpy()
        if getattr(raw.dt, "tz", None) is not None:
            parsed, naive = raw, np.zeros(len(raw), dtype=bool)
        else:
            parsed, naive = raw.dt.tz_localize("UTC"), ~bad
        local = raw
    elif pd.api.types.is_numeric_dtype(raw):
        raise DataError(
            f"{table.where(0)}: timestamp column {column!r} is numeric ({raw.iloc[0]!r}); "
            "store ISO 8601 text with a UTC offset (2020-01-02T00:00:00Z) or timezone-aware timestamps"
        )
    else:
        text = raw.astype("string").str.strip()
        if fmt is None:
            has_offset = text.str.contains(_OFFSET, regex=True, case=False, na=False).to_numpy()
        else:
            has_offset = np.full(len(text), "%z" in fmt or "%Z" in fmt)
        parsed = pd.to_datetime(text, utc=True, format=fmt or "ISO8601", errors="coerce")
        bad = parsed.isna().to_numpy()
        naive = ~has_offset & ~bad
        local = text
    k = _first(bad)
    if k is not None:
        expected = f"format {fmt!r}" if fmt else "ISO 8601, e.g. 2020-01-02T14:30:00Z"
        raise DataError(
            f"{table.where(k)}: unparseable timestamp {raw.iloc[k]!r} in column {column!r} ({expected})"
        )
    ns = _utc_ns(parsed)
    if naive.any():
        zone = params.assume_timezone
        if zone is None:
            k = int(np.flatnonzero(naive)[0])
            raise DataError(
                f"{table.where(k)}: naive timestamp {raw.iloc[k]!s} (no UTC offset) in column {column!r}; "
                "write timestamps with an offset (e.g. 2020-01-02T00:00:00Z) or set assume_timezone "
                "(e.g. \"UTC\") if you know the zone they were written in"
            )
        rows = np.flatnonzero(naive)
        subset = local.iloc[rows]
        if not pd.api.types.is_datetime64_any_dtype(subset):
            subset = pd.to_datetime(subset, format=fmt or "ISO8601")
        localized = subset.dt.tz_localize(ZoneInfo(zone), ambiguous="NaT", nonexistent="NaT")
        j = _first(localized.isna().to_numpy())
        if j is not None:
            raise DataError(
                f"{table.where(int(rows[j]))}: timestamp {raw.iloc[rows[j]]!s} is ambiguous or does not "
                f"exist in {zone} (daylight-saving change); write it with a UTC offset"
            )
        ns[rows] = _utc_ns(localized)
    return ns


def parse_values(table: RawTable, columns: dict[str, str]) -> FloatArray:
    """OHLCV as float64 (T, 5), checked row by row."""
    values = np.empty((len(table.frame), len(FIELDS)), dtype=np.float64)
    for j, field in enumerate(FIELDS):
        raw = table.frame[columns[field]]
        num = pd.to_numeric(raw, errors="coerce")
        k = _first((raw.notna() & num.isna()).to_numpy())
        if k is not None:
            raise DataError(f"{table.where(k)}: {field} is not a number ({raw.iloc[k]!r})")
        values[:, j] = num.to_numpy(dtype=np.float64, na_value=np.nan)
    o, h, lo, c, v = values.T
    for j, field in enumerate(PRICE_FIELDS):
        k = _first(~np.isfinite(values[:, j]))
        if k is not None:
            raise DataError(f"{table.where(k)}: missing {field} price (NaN or empty)")
        k = _first(values[:, j] <= 0)
        if k is not None:
            raise DataError(f"{table.where(k)}: non-positive {field} price {values[k, j]}")
    k = _first(h < lo)
    if k is not None:
        raise DataError(f"{table.where(k)}: high {h[k]} is below low {lo[k]}")
    for name, arr in (("open", o), ("close", c)):
        k = _first((arr < lo) | (arr > h))
        if k is not None:
            raise DataError(f"{table.where(k)}: {name} {arr[k]} is outside [low {lo[k]}, high {h[k]}]")
    k = _first(~np.isfinite(v))
    if k is not None:
        raise DataError(f"{table.where(k)}: missing volume (NaN or empty)")
    k = _first(v < 0)
    if k is not None:
        raise DataError(f"{table.where(k)}: negative volume {v[k]}")
    return values


def check_order(
    table: RawTable, rows: npt.NDArray[np.intp], timestamps: npt.NDArray[np.int64], symbol: str
) -> None:
    """Timestamps of one symbol (file rows ``rows``) must be strictly increasing."""
    k = _first(np.diff(timestamps) <= 0)
    if k is None:
        return
    row, prev = int(rows[k + 1]), int(rows[k])
    when = to_datetime(timestamps[k + 1]).isoformat()
    if timestamps[k + 1] == timestamps[k]:
        raise DataError(
            f"{table.where(row)}: duplicate timestamp {when} for {symbol} (also at row {prev + 1})"
        )
    raise DataError(
        f"{table.where(row)}: timestamps not sorted: {when} for {symbol} is earlier than row {prev + 1}'s "
        f"{to_datetime(timestamps[k]).isoformat()}"
    )


def parse_bars(
    table: RawTable, params: FilesParams, *, default_symbol: str, long_format: bool
) -> dict[str, SymbolBars]:
    """Validate ``table`` and split it by symbol. With ``long_format`` a symbol column, if the
    file has one, names each row's symbol; otherwise every row belongs to ``default_symbol``."""
    if len(table.frame) == 0:
        raise DataError(f"{table.name}: empty file (a header but no data rows)")
    columns = resolve_columns(table, params, with_symbol=long_format)
    timestamps = parse_timestamps(table, columns["timestamp"], params)
    values = parse_values(table, columns)
    if "symbol" not in columns:
        rows = np.arange(len(timestamps))
        check_order(table, rows, timestamps, default_symbol)
        return {default_symbol: SymbolBars(timestamps, values)}
    names = table.frame[columns["symbol"]].astype("string").str.strip()
    k = _first((names.isna() | (names == "")).to_numpy())
    if k is not None:
        raise DataError(f"{table.where(k)}: missing symbol in column {columns['symbol']!r}")
    out: dict[str, SymbolBars] = {}
    for symbol, idx in names.groupby(names, sort=False).indices.items():
        rows = np.asarray(idx)
        check_order(table, rows, timestamps[rows], str(symbol))
        out[str(symbol)] = SymbolBars(timestamps[rows], values[rows])
    return out
