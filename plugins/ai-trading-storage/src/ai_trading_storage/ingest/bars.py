"""Bulk bar writes and fast range reads.

PostgreSQL: binary ``COPY FROM STDIN`` built with NumPy (see :mod:`.pgcopy`); on the native
partitioned layout the yearly partitions the data needs are created first, in the same
transaction. Reads use ``COPY (SELECT ...) TO STDOUT`` in binary and land in NumPy without a
Python object per row. SQLite: ``executemany`` inserts and a plain ``SELECT``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import DataError, StorageError
from ai_trading_core.market import BarPanel, to_ns

from ..connection import safe_url
from ..timescale import bars_layout, ensure_partitions
from .pgcopy import HEADER, TRAILER, decode_rows, encode_rows, pg_micros_to_ns

ConflictMode = Literal["error", "replace"]
COLUMNS = "symbol, timeframe, ts, open, high, low, close, volume"
_CHUNK = 8 << 20  # bytes per COPY write


@dataclass(frozen=True)
class BarColumns:
    """One symbol's bars as arrays: ``ts_ns`` int64 ns since the epoch (UTC), prices in
    currency per unit, volume in units. All arrays have the same length."""

    symbol: str
    ts_ns: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.ts_ns)


def columns_from_panel(panel: BarPanel) -> list[BarColumns]:
    """Per symbol, the rows where open, high, low and close are all present (NaN means
    "no bar"); a missing volume is stored as 0."""
    out = []
    for j, symbol in enumerate(panel.symbols):
        o, h, lo, c = panel.open[:, j], panel.high[:, j], panel.low[:, j], panel.close[:, j]
        ok = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)
        v = np.nan_to_num(panel.volume[ok, j], nan=0.0)
        out.append(BarColumns(symbol, panel.timestamps[ok].astype(np.int64), o[ok], h[ok], lo[ok], c[ok], v))
    return out


def write_bars(
    engine: Engine,
    data: BarPanel | Sequence[BarColumns],
    timeframe: Timeframe | str | None = None,
    *,
    on_conflict: ConflictMode = "error",
) -> int:
    """Store bars; returns the number of rows written. ``on_conflict="error"`` refuses bars
    already stored (fastest: straight COPY); ``"replace"`` overwrites them."""
    if isinstance(data, BarPanel):
        tf = str(timeframe or data.timeframe)
        blocks = columns_from_panel(data)
    else:
        if timeframe is None:
            raise DataError("write_bars: timeframe is required for column blocks")
        tf, blocks = str(timeframe), list(data)
    blocks = [b for b in blocks if len(b)]
    if not blocks:
        return 0
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                return _copy_in(conn, blocks, tf, on_conflict)
            return _insert_sqlite(conn, blocks, tf, on_conflict)
    except (SQLAlchemyError, psycopg.Error) as exc:
        raise StorageError(f"writing bars to {safe_url(engine.url)} failed: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _copy_in(conn: sa.Connection, blocks: list[BarColumns], tf: str, on_conflict: ConflictMode) -> int:
    if bars_layout(conn) == "partitioned":
        lo = min(int(b.ts_ns.min()) for b in blocks)
        hi = max(int(b.ts_ns.max()) for b in blocks)
        ensure_partitions(conn, lo, hi)
    target = "bars"
    if on_conflict == "replace":
        conn.exec_driver_sql("CREATE TEMP TABLE bars_stage (LIKE bars INCLUDING DEFAULTS) ON COMMIT DROP")
        target = "bars_stage"
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {target} ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(HEADER)
        for b in blocks:
            payload = encode_rows(b.symbol, tf, b.ts_ns, b.open, b.high, b.low, b.close, b.volume)
            for i in range(0, len(payload), _CHUNK):
                copy.write(payload[i : i + _CHUNK])
        copy.write(TRAILER)
    if on_conflict == "replace":
        conn.exec_driver_sql(
            f"INSERT INTO bars ({COLUMNS}) SELECT {COLUMNS} FROM bars_stage "
            "ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, "
            "low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume"
        )
    return sum(len(b) for b in blocks)


def _insert_sqlite(conn: sa.Connection, blocks: list[BarColumns], tf: str, on_conflict: ConflictMode) -> int:
    verb = "INSERT OR REPLACE" if on_conflict == "replace" else "INSERT"
    sql = f"{verb} INTO bars ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        for b in blocks:
            cur.executemany(
                sql,
                zip(
                    [b.symbol] * len(b),
                    [tf] * len(b),
                    b.ts_ns.tolist(),
                    b.open.tolist(),
                    b.high.tolist(),
                    b.low.tolist(),
                    b.close.tolist(),
                    b.volume.tolist(),
                    strict=True,
                ),
            )
    except Exception as exc:  # sqlite3.Error outside SQLAlchemy's wrapping
        raise StorageError(f"writing bars failed: {exc}") from exc
    finally:
        cur.close()
    return sum(len(b) for b in blocks)


def read_bars(
    engine: Engine,
    symbols: Sequence[str],
    timeframe: Timeframe | str,
    start: datetime | int | None = None,
    end: datetime | int | None = None,
) -> BarPanel:
    """Bars of ``symbols`` with open time in [start, end] (inclusive) as a (T, N) panel,
    NaN where a symbol has no bar at a timestamp. ``start``/``end`` are aware datetimes or
    int64 ns since the epoch."""
    if not symbols:
        raise DataError("read_bars: no symbols requested")
    tf = Timeframe.parse(str(timeframe))
    lo = -(2**62) if start is None else (start if isinstance(start, int) else to_ns(start))
    hi = 2**62 if end is None else (end if isinstance(end, int) else to_ns(end))
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                sym_idx, ts, cols = _copy_out(conn, list(symbols), tf.value, lo, hi)
            else:
                sym_idx, ts, cols = _select_sqlite(conn, list(symbols), tf.value, lo, hi)
    except (SQLAlchemyError, psycopg.Error) as exc:
        raise StorageError(f"reading bars from {safe_url(engine.url)} failed: {_first_line(exc)}") from exc
    return _pivot(tuple(symbols), tf, sym_idx, ts, cols)


def _copy_out(
    conn: sa.Connection, symbols: list[str], tf: str, lo: int, hi: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[npt.NDArray[np.float64]]]:
    raw = conn.connection.driver_connection
    assert raw is not None
    sql = (
        "COPY (SELECT (array_position(%s::text[], symbol::text) - 1)::int4, "
        "ts, open, high, low, close, volume "
        "FROM bars WHERE timeframe = %s AND symbol = ANY(%s::text[]) AND ts >= %s AND ts <= %s) "
        "TO STDOUT (FORMAT BINARY)"
    )
    lo_dt = _ns_to_pg_param(lo)
    hi_dt = _ns_to_pg_param(hi)
    buf = bytearray()
    with raw.cursor() as cur, cur.copy(sql, (symbols, tf, symbols, lo_dt, hi_dt)) as copy:
        for block in copy:
            buf += block
    rows = decode_rows(memoryview(buf))
    cols = [rows[name].astype(np.float64) for name in ("open", "high", "low", "close", "volume")]
    return rows["sym"].astype(np.int64), pg_micros_to_ns(rows["ts"]), cols


def _ns_to_pg_param(ns: int) -> str:
    """A timestamptz literal for ``ns`` clamped to PostgreSQL's range."""
    ns = min(max(ns, -(2**62)), 2**62)
    value = np.datetime64(ns, "ns")
    return str(np.datetime_as_string(value, unit="us")) + "+00:00"


def _select_sqlite(
    conn: sa.Connection, symbols: list[str], tf: str, lo: int, hi: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[npt.NDArray[np.float64]]]:
    marks = ", ".join("?" * len(symbols))
    raw = conn.connection.driver_connection
    assert raw is not None
    rows = raw.execute(
        "SELECT symbol, ts, open, high, low, close, volume FROM bars "
        f"WHERE timeframe = ? AND symbol IN ({marks}) "
        "AND ts >= ? AND ts <= ?",
        [tf, *symbols, lo, hi],
    ).fetchall()
    index = {s: i for i, s in enumerate(symbols)}
    if not rows:
        empty = np.empty(0, dtype=np.float64)
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), [empty] * 5
    sym, ts, o, h, lo_, c, v = zip(*rows, strict=True)
    return (
        np.fromiter((index[s] for s in sym), dtype=np.int64, count=len(sym)),
        np.asarray(ts, dtype=np.int64),
        [np.asarray(x, dtype=np.float64) for x in (o, h, lo_, c, v)],
    )


def _pivot(
    symbols: tuple[str, ...],
    tf: Timeframe,
    sym_idx: npt.NDArray[np.int64],
    ts: npt.NDArray[np.int64],
    cols: list[npt.NDArray[np.float64]],
) -> BarPanel:
    stamps, row = np.unique(ts, return_inverse=True)
    shape = (len(stamps), len(symbols))
    arrays = []
    for values in cols:
        out = np.full(shape, np.nan)
        out[row, sym_idx] = values
        arrays.append(out)
    return BarPanel(
        symbols=symbols,
        timestamps=stamps.astype(np.int64),
        open=arrays[0],
        high=arrays[1],
        low=arrays[2],
        close=arrays[3],
        volume=arrays[4],
        timeframe=tf,
        source="storage",
    )
