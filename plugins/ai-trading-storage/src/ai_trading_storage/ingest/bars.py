"""Bulk bar writes and fast range reads.

PostgreSQL: binary ``COPY FROM STDIN`` built with NumPy (see :mod:`.pgcopy`); on the native
partitioned layout the yearly partitions the data needs are created first, in the same
transaction. Reads use ``COPY (SELECT ...) TO STDOUT`` in binary and land in NumPy without a
Python object per row. SQLite: ``executemany`` inserts and a plain ``SELECT``.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

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
from ..timescale import bars_layout, ensure_chunk_interval, ensure_partitions
from ..timescale.partitions import years_between
from .pgcopy import HEADER, TRAILER, decode_rows, encode_symbol_rows, pg_micros_to_ns

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


@dataclass(frozen=True)
class BarRows:
    """Bars of one or more symbols as parallel arrays (one chunk of an import): row ``i`` is
    symbol ``names[codes[i]]`` at ``ts_ns[i]`` (int64 ns since the epoch, UTC); prices in
    currency per unit, volume in units. ``position`` is how far through its source the
    chunk ends (bytes or rows, for progress reports)."""

    names: tuple[str, ...]
    codes: npt.NDArray[np.int32]
    ts_ns: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]
    position: int = 0

    def __len__(self) -> int:
        return len(self.ts_ns)

    @classmethod
    def from_columns(cls, block: BarColumns) -> BarRows:
        return cls(
            (block.symbol,),
            np.zeros(len(block), dtype=np.int32),
            block.ts_ns,
            block.open,
            block.high,
            block.low,
            block.close,
            block.volume,
        )


class DuplicateBarError(StorageError):
    """A bar (symbol, timeframe, open time) is already stored, or given twice."""

    def __init__(self, symbol: str, timeframe: str, ts: str, detail: str = "already exists in the database") -> None:
        self.symbol, self.timeframe, self.ts = symbol, timeframe, ts
        super().__init__(
            f"bar {symbol} {timeframe} at {ts} {detail}; nothing was written "
            "(import with --replace, or on_conflict='replace', to overwrite stored bars)"
        )


def write_bars(
    engine: Engine,
    data: BarPanel | Sequence[BarColumns],
    timeframe: Timeframe | str | None = None,
    *,
    on_conflict: ConflictMode = "error",
) -> int:
    """Store bars; returns the number of rows written. ``on_conflict="error"`` refuses bars
    already stored (fastest: straight COPY; DuplicateBarError names the first one);
    ``"replace"`` overwrites them."""
    if isinstance(data, BarPanel):
        tf = str(timeframe or data.timeframe)
        blocks = columns_from_panel(data)
    else:
        if timeframe is None:
            raise DataError("write_bars: timeframe is required for column blocks")
        tf, blocks = str(timeframe), list(data)
    return write_bar_chunks(engine, [BarRows.from_columns(b) for b in blocks if len(b)], tf, on_conflict=on_conflict)


def write_bar_chunks(
    engine: Engine,
    chunks: Iterable[BarRows],
    timeframe: Timeframe | str,
    *,
    on_conflict: ConflictMode = "error",
    on_chunk: Callable[[BarRows], None] | None = None,
) -> int:
    """Store a stream of chunks in one transaction (all or nothing); returns the rows
    written. ``on_chunk`` is called after each chunk is handed to the database. The chunks
    are consumed as they come, so a producer that parses the next chunk in another thread
    (see :func:`.stream.prefetched`) overlaps with the database's work on this one."""
    tf = Timeframe.parse(str(timeframe)).value
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                return _copy_in(conn, chunks, tf, on_conflict, on_chunk)
            return _insert_sqlite(conn, chunks, tf, on_conflict, on_chunk)
    except psycopg.errors.UniqueViolation as exc:
        raise _duplicate(exc, tf) from None
    except sa.exc.IntegrityError as exc:
        if isinstance(exc.orig, psycopg.errors.UniqueViolation):
            raise _duplicate(exc.orig, tf) from None
        raise StorageError(f"writing bars to {safe_url(engine.url)} failed: {_first_line(exc)}") from exc
    except psycopg.errors.CardinalityViolation:
        raise DataError("the bars written contain the same symbol and open time twice") from None
    except (SQLAlchemyError, psycopg.Error) as exc:
        if isinstance(getattr(exc, "orig", None), psycopg.errors.CardinalityViolation):
            raise DataError("the bars written contain the same symbol and open time twice") from None
        raise StorageError(f"writing bars to {safe_url(engine.url)} failed: {_first_line(exc)}") from exc
    finally:
        # stop a read-ahead producer now, not when the traceback is collected
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


_KEY_DETAIL = re.compile(
    r"Key \(symbol, timeframe, ts\)=\((?P<symbol>.*), (?P<tf>[^,]*), (?P<ts>[^,]*)\) already exists"
)


def _duplicate(exc: psycopg.Error, tf: str) -> StorageError:
    detail = getattr(getattr(exc, "diag", None), "message_detail", None) or ""
    match = _KEY_DETAIL.search(detail)
    if match is None:
        return StorageError(f"writing bars failed: {_first_line(exc)}")
    ts = match["ts"]
    with contextlib.suppress(ValueError):
        ts = datetime.fromisoformat(ts.replace(" ", "T")).astimezone(UTC).isoformat()
    return DuplicateBarError(match["symbol"], match["tf"], ts)


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _CopyStream:
    """One binary COPY at a time on ``conn``'s driver connection, reopened when the native
    layout needs partitions created (DDL cannot run while a COPY is open)."""

    def __init__(self, conn: sa.Connection, target: str) -> None:
        raw = conn.connection.driver_connection
        assert raw is not None
        self.cursor = raw.cursor()
        self.sql = f"COPY {target} ({COLUMNS}) FROM STDIN (FORMAT BINARY)"
        self.cm: Any = None
        self.copy: Any = None

    def write(self, payload: bytes) -> None:
        if self.copy is None:
            self.cm = self.cursor.copy(self.sql)
            self.copy = self.cm.__enter__()
            self.copy.write(HEADER)
        for i in range(0, len(payload), _CHUNK):
            self.copy.write(payload[i : i + _CHUNK])

    def end(self) -> None:
        """Finish the open COPY (the server reports errors such as a duplicate key here)."""
        if self.copy is None:
            return
        cm, copy = self.cm, self.copy
        self.cm = self.copy = None
        copy.write(TRAILER)
        cm.__exit__(None, None, None)

    def abort(self, exc: BaseException) -> None:
        if self.copy is None:
            return
        cm = self.cm
        self.cm = self.copy = None
        with contextlib.suppress(Exception):
            cm.__exit__(type(exc), exc, exc.__traceback__)


def _copy_in(
    conn: sa.Connection,
    chunks: Iterable[BarRows],
    tf: str,
    on_conflict: ConflictMode,
    on_chunk: Callable[[BarRows], None] | None,
) -> int:
    layout = bars_layout(conn)
    if layout == "hypertable":
        ensure_chunk_interval(conn, tf)
    staged = on_conflict == "replace"
    if staged:
        conn.exec_driver_sql("CREATE TEMP TABLE bars_stage (LIKE bars INCLUDING DEFAULTS) ON COMMIT DROP")
    stream = _CopyStream(conn, "bars_stage" if staged else "bars")
    years: set[int] = set()
    lo, hi, total = 2**63 - 1, -(2**63), 0
    try:
        for chunk in chunks:
            if not len(chunk):
                continue
            c_lo, c_hi = int(chunk.ts_ns.min()), int(chunk.ts_ns.max())
            lo, hi = min(lo, c_lo), max(hi, c_hi)
            if layout == "partitioned" and not staged:
                wanted = set(years_between(c_lo, c_hi))
                if not wanted <= years:
                    stream.end()
                    ensure_partitions(conn, c_lo, c_hi)
                    years |= wanted
            for payload in encode_symbol_rows(
                chunk.names, chunk.codes, tf, chunk.ts_ns, chunk.open, chunk.high, chunk.low, chunk.close, chunk.volume
            ):
                stream.write(payload)
            total += len(chunk)
            if on_chunk is not None:
                on_chunk(chunk)
        stream.end()
    except BaseException as exc:
        stream.abort(exc)
        raise
    if staged and total:
        if layout == "partitioned":
            ensure_partitions(conn, lo, hi)
        conn.exec_driver_sql(
            f"INSERT INTO bars ({COLUMNS}) SELECT {COLUMNS} FROM bars_stage "
            "ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, "
            "low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume"
        )
    return total


def _insert_sqlite(
    conn: sa.Connection,
    chunks: Iterable[BarRows],
    tf: str,
    on_conflict: ConflictMode,
    on_chunk: Callable[[BarRows], None] | None,
) -> int:
    verb = "INSERT OR REPLACE" if on_conflict == "replace" else "INSERT"
    sql = f"{verb} INTO bars ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()
    total = 0
    try:
        for chunk in chunks:
            symbols = np.asarray(chunk.names, dtype=object)[chunk.codes]
            try:
                cur.executemany(
                    sql,
                    zip(
                        symbols.tolist(),
                        itertools.repeat(tf),
                        chunk.ts_ns.tolist(),
                        chunk.open.tolist(),
                        chunk.high.tolist(),
                        chunk.low.tolist(),
                        chunk.close.tolist(),
                        chunk.volume.tolist(),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise _sqlite_duplicate(raw, chunk, tf) or StorageError(f"writing bars failed: {exc}") from None
            total += len(chunk)
            if on_chunk is not None:
                on_chunk(chunk)
    except sqlite3.Error as exc:  # outside SQLAlchemy's wrapping
        raise StorageError(f"writing bars failed: {exc}") from exc
    finally:
        cur.close()
    return total


def _sqlite_duplicate(raw: Any, chunk: BarRows, tf: str) -> DuplicateBarError | None:
    """The first bar of ``chunk`` whose key is stored (an earlier row of the same failed
    statement counts: the transaction still holds it)."""
    for code, name in enumerate(chunk.names):
        mine = chunk.ts_ns[chunk.codes == code]
        if not len(mine):
            continue
        stored = np.fromiter(
            (
                r[0]
                for r in raw.execute(
                    "SELECT ts FROM bars WHERE symbol = ? AND timeframe = ? AND ts >= ? AND ts <= ?",
                    (name, tf, int(mine.min()), int(mine.max())),
                )
            ),
            dtype=np.int64,
        )
        both = np.intersect1d(mine, stored)
        if len(both):
            return DuplicateBarError(name, tf, iso_utc(int(both[0])))
    return None


def iso_utc(ns: int) -> str:
    """``ns`` (int64 ns since the epoch) as ISO-8601 UTC with an explicit offset, to the
    second when that is exact."""
    unit: Literal["s", "ns"] = "s" if ns % 1_000_000_000 == 0 else "ns"
    return str(np.datetime_as_string(np.datetime64(ns, "ns"), unit=unit)) + "+00:00"


def list_symbols(engine: Engine, timeframe: Timeframe | str) -> list[str]:
    """Every symbol with at least one bar of ``timeframe``, sorted."""
    tf = Timeframe.parse(str(timeframe)).value
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT DISTINCT symbol FROM bars WHERE timeframe = :tf ORDER BY symbol"), {"tf": tf}
            )
            return [str(r[0]) for r in rows]
    except SQLAlchemyError as exc:
        raise StorageError(f"reading symbols from {safe_url(engine.url)} failed: {_first_line(exc)}") from exc


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
