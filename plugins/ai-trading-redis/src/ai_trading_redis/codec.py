"""Compact binary encodings for the cache: a NumPy array is a small header (magic, dtype,
shape) followed by its raw little-endian bytes; a BarPanel is a JSON header (symbols,
timeframe) followed by its six arrays."""

from __future__ import annotations

import json
import struct

import numpy as np
import numpy.typing as npt

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import DataError
from ai_trading_core.market import BarPanel

_ARRAY_MAGIC = b"ATA1"
_PANEL_MAGIC = b"ATP1"


def encode_array(array: npt.NDArray[np.generic]) -> bytes:
    arr = np.asarray(array, order="C")  # (ascontiguousarray would turn a 0-d array into 1-d)
    dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
    arr = arr.astype(dtype, copy=False)
    descr = dtype.str.encode("ascii")
    header = (
        _ARRAY_MAGIC
        + struct.pack("<BB", len(descr), arr.ndim)
        + descr
        + struct.pack(f"<{arr.ndim}q", *arr.shape)
    )
    return header + arr.tobytes()


def decode_array(data: bytes) -> npt.NDArray[np.generic]:
    view, offset = _check(data, _ARRAY_MAGIC)
    dlen, ndim = struct.unpack_from("<BB", view, offset)
    offset += 2
    dtype = np.dtype(bytes(view[offset : offset + dlen]).decode("ascii"))
    offset += dlen
    shape = struct.unpack_from(f"<{ndim}q", view, offset)
    offset += 8 * ndim
    count = int(np.prod(shape)) if ndim else 1
    return np.frombuffer(view, dtype=dtype, count=count, offset=offset).reshape(shape).copy()


def encode_panel(panel: BarPanel) -> bytes:
    header = json.dumps({"symbols": list(panel.symbols), "timeframe": panel.timeframe.value}).encode("utf-8")
    parts = [_PANEL_MAGIC, struct.pack("<I", len(header)), header]
    for arr in (panel.timestamps, panel.open, panel.high, panel.low, panel.close, panel.volume):
        blob = encode_array(arr)
        parts += [struct.pack("<Q", len(blob)), blob]
    return b"".join(parts)


def decode_panel(data: bytes) -> BarPanel:
    view, offset = _check(data, _PANEL_MAGIC)
    (hlen,) = struct.unpack_from("<I", view, offset)
    offset += 4
    header = json.loads(bytes(view[offset : offset + hlen]))
    offset += hlen
    arrays = []
    for _ in range(6):
        (blen,) = struct.unpack_from("<Q", view, offset)
        offset += 8
        arrays.append(decode_array(bytes(view[offset : offset + blen])))
        offset += blen
    ts, o, h, lo, c, v = arrays
    return BarPanel(
        symbols=tuple(header["symbols"]),
        timestamps=ts.astype(np.int64),
        open=o,
        high=h,
        low=lo,  # type: ignore[arg-type]
        close=c,
        volume=v,
        timeframe=Timeframe(header["timeframe"]),
        source="redis",
    )  # type: ignore[arg-type]


def _check(data: bytes, magic: bytes) -> tuple[memoryview, int]:
    view = memoryview(data)
    if bytes(view[:4]) != magic:
        raise DataError(
            f"cached value is not an ai-trading {'array' if magic == _ARRAY_MAGIC else 'panel'} encoding"
        )
    return view, 4
