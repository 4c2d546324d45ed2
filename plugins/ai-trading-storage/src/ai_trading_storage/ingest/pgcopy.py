"""PostgreSQL binary COPY format, encoded and decoded with NumPy structured arrays.

A binary COPY stream is a 19-byte header, then per row an int16 field count and, per field,
an int32 byte length followed by the value in network byte order; it ends with int16 -1.
``timestamptz`` travels as int64 microseconds since 2000-01-01 UTC. With fixed-width rows
(one symbol and timeframe per block, no NULLs) a whole block is one NumPy array: no Python
object per row.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ai_trading_core.errors import DataError

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
PG_EPOCH_NS = 946_684_800_000_000_000  # 2000-01-01T00:00Z in ns since the Unix epoch
PRICE_FIELDS = ("open", "high", "low", "close", "volume")


def _write_dtype(symbol_len: int, timeframe_len: int) -> np.dtype[np.void]:
    fields: list[tuple[str, str]] = [
        ("n", ">i2"),
        ("sym_len", ">i4"),
        ("sym", f"S{symbol_len}"),
        ("tf_len", ">i4"),
        ("tf", f"S{timeframe_len}"),
        ("ts_len", ">i4"),
        ("ts", ">i8"),
    ]
    for name in PRICE_FIELDS:
        fields += [(f"{name}_len", ">i4"), (name, ">f8")]
    return np.dtype(fields)


READ_DTYPE = np.dtype(
    [("n", ">i2"), ("sym_len", ">i4"), ("sym", ">i4"), ("ts_len", ">i4"), ("ts", ">i8")]
    + [item for name in PRICE_FIELDS for item in ((f"{name}_len", ">i4"), (name, ">f8"))]
)


def encode_rows(
    symbol: str,
    timeframe: str,
    ts_ns: npt.NDArray[np.int64],
    open: npt.NDArray[np.float64],
    high: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    volume: npt.NDArray[np.float64],
) -> bytes:
    """Rows of one symbol and timeframe for ``COPY bars (symbol, timeframe, ts, open, high,
    low, close, volume) FROM STDIN (FORMAT BINARY)``, without header or trailer."""
    sym = symbol.encode("utf-8")
    tf = timeframe.encode("ascii")
    n = len(ts_ns)
    rows = np.empty(n, dtype=_write_dtype(len(sym), len(tf)))
    rows["n"] = 8
    rows["sym_len"] = len(sym)
    rows["sym"] = sym
    rows["tf_len"] = len(tf)
    rows["tf"] = tf
    rows["ts_len"] = 8
    rows["ts"] = (np.asarray(ts_ns, dtype=np.int64) - PG_EPOCH_NS) // 1000
    for name, values in zip(PRICE_FIELDS, (open, high, low, close, volume), strict=True):
        rows[f"{name}_len"] = 8
        rows[name] = values
    return rows.tobytes()


def encode_symbol_rows(
    names: tuple[str, ...],
    codes: npt.NDArray[np.integer],
    timeframe: str,
    ts_ns: npt.NDArray[np.int64],
    open: npt.NDArray[np.float64],
    high: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    volume: npt.NDArray[np.float64],
) -> list[bytes]:
    """Rows of many symbols (row ``i`` is symbol ``names[codes[i]]``), as one payload per
    symbol byte length: rows whose symbols are equally long share one fixed-width layout,
    so a chunk of any number of symbols costs a handful of NumPy passes, not one per
    symbol."""
    encoded = [name.encode("utf-8") for name in names]
    widths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    row_width = widths[codes]
    tf = timeframe.encode("ascii")
    micros = (np.asarray(ts_ns, dtype=np.int64) - PG_EPOCH_NS) // 1000
    payloads = []
    for width in np.unique(row_width).tolist():
        sel: slice | npt.NDArray[np.intp] = slice(None)
        if len(np.unique(widths)) > 1:
            sel = np.flatnonzero(row_width == width)
        table = np.array([b if len(b) == width else b"" for b in encoded], dtype=f"S{max(width, 1)}")
        sym = table[codes[sel]]
        rows = np.empty(len(sym), dtype=_write_dtype(width, len(tf)))
        rows["n"] = 8
        rows["sym_len"] = width
        rows["sym"] = sym
        rows["tf_len"] = len(tf)
        rows["tf"] = tf
        rows["ts_len"] = 8
        rows["ts"] = micros[sel]
        for name, values in zip(PRICE_FIELDS, (open, high, low, close, volume), strict=True):
            rows[f"{name}_len"] = 8
            rows[name] = values[sel]
        payloads.append(rows.tobytes())
    return payloads


def decode_rows(data: bytes | memoryview) -> np.ndarray:
    """Parse the output of ``COPY (SELECT symbol_index::int4, ts, open, high, low, close,
    volume ...) TO STDOUT (FORMAT BINARY)`` into a structured array (fields ``sym``, ``ts``
    in ns since the Unix epoch as written back below, and the five prices)."""
    buf = memoryview(data)
    if bytes(buf[:11]) != HEADER[:11]:
        raise DataError("not a PostgreSQL binary COPY stream")
    ext = int.from_bytes(buf[15:19], "big")
    start = 19 + ext
    body = len(buf) - start - 2
    if body % READ_DTYPE.itemsize:
        raise DataError("binary COPY stream has rows of unexpected width (NULL values in bars?)")
    return np.frombuffer(buf, dtype=READ_DTYPE, count=body // READ_DTYPE.itemsize, offset=start)


def pg_micros_to_ns(ts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return ts.astype(np.int64) * 1000 + PG_EPOCH_NS
