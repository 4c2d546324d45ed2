"""The run document written by ``ai-trading run --json-out``; specified in
``docs/run-document.md``. Plain JSON: Decimals as strings, timestamps ISO-8601 UTC, no NaN
(missing values are null).

Orders, fills and trades are column tables (schema 2): ``{"columns": [...], "data": {name:
[...]}, "count": N}``, one JSON array per field, built a column at a time (a backtest can have
100,000 orders; one object per order is slow to build, write and read). :func:`rows` reads a
table back as one dict per row from either layout, so schema 1 documents still read."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel

from .batch import plain, scaled_strings
from .errors import DataError
from .market import to_datetime
from .models import Fill, Order, Trade
from .protocols import ReportSection
from .result import RunResult

if TYPE_CHECKING:
    from .config import AppConfig

SCHEMA_VERSION = 2
TABLES = ("orders", "fills", "trades")
"""The document's keys that hold column tables (schema 2) or lists of objects (schema 1)."""


def json_safe(value: Any) -> Any:
    """Replace NaN/inf floats by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _iso(ns: int) -> str:
    return to_datetime(ns).isoformat().replace("+00:00", "Z")


def _iso_many(ts: Any) -> list[str]:
    """ISO-8601 UTC strings ('...Z') for an int64 nanosecond array, vectorised."""
    import numpy as np

    unit = "s" if not np.any(ts % 1_000_000_000) else "us"
    as_dt = ts.view("datetime64[ns]").astype(f"datetime64[{unit}]")
    strings: list[str] = np.datetime_as_string(as_dt, unit=unit, timezone="UTC").tolist()  # type: ignore[call-overload]
    return strings


def _iso_ns(ts: Any) -> list[str]:
    """ISO-8601 UTC strings for int64 nanoseconds, each written as ``datetime.isoformat`` (and
    so pydantic) writes it: whole seconds without a fraction, otherwise six digits, 'Z'
    suffix. Vectorised; unlike :func:`_iso_many` the precision is chosen per value, so a
    column reads back equal to the models' JSON."""
    import numpy as np

    us = np.asarray(ts, dtype=np.int64) // 1000  # microseconds, as to_datetime truncates
    as_dt = us.astype("datetime64[us]")
    micro = np.datetime_as_string(as_dt, unit="us", timezone="UTC")  # type: ignore[call-overload]
    whole = us % 1_000_000 == 0
    if not whole.any():
        strings: list[str] = micro.tolist()
        return strings
    seconds = np.datetime_as_string(as_dt, unit="s", timezone="UTC")  # type: ignore[call-overload]
    strings = np.where(whole, seconds, micro).tolist()
    return strings


def _iso_datetimes(values: Sequence[datetime | None]) -> list[str | None]:
    """ISO strings ('Z' for UTC) of datetimes, each distinct instant formatted once: a
    backtest's orders and fills share few timestamps (one per bar)."""
    memo = {v: v if v is None or isinstance(v, str) else v.isoformat().replace("+00:00", "Z") for v in set(values)}
    return list(map(memo.__getitem__, values))


# How a field is written: "plain" as is (str, bool, null), "text" as str() (string
# enumerations, whose str() is their value), "decimal" as str(), "time" as ISO-8601 'Z'.
_Kind = tuple[str, bool]  # (kind, may be null)


def _field_kinds(model: type[BaseModel]) -> dict[str, _Kind]:
    """Column kinds of a model's fields, derived from their annotations, so that a field added
    to the model gets its column without a change here."""
    import types
    import typing
    from decimal import Decimal
    from enum import Enum

    kinds: dict[str, _Kind] = {}
    for name, info in model.model_fields.items():
        ann = info.annotation
        args = typing.get_args(ann) if typing.get_origin(ann) in (typing.Union, types.UnionType) else (ann,)
        nullable = type(None) in args
        base = next((a for a in args if a is not type(None)), type(None))
        if typing.get_origin(base) is typing.Annotated:
            base = typing.get_args(base)[0]
        if base is Decimal:
            kind = "decimal"
        elif base is AwareDatetime or (isinstance(base, type) and issubclass(base, datetime)):
            kind = "time"
        elif isinstance(base, type) and issubclass(base, Enum):
            kind = "text"
        else:
            kind = "plain"
        kinds[name] = (kind, nullable)
    return kinds


ORDER_FIELDS = _field_kinds(Order)
FILL_FIELDS = _field_kinds(Fill)
TRADE_FIELDS = _field_kinds(Trade)


def _plain_text(value: Any) -> str:
    """A decimal's canonical text: no exponent, no trailing zeros (``1E+2`` → ``100``,
    ``313.890`` → ``313.89``)."""
    text = str(value)
    if isinstance(value, Decimal) and ("E" in text or ("." in text and text[-1] == "0")):
        return str(plain(value))
    return text


def _json_column(values: Any, kind: _Kind) -> Any:
    """One column of raw values (a list, or a NumPy array from the engine; int64 nanoseconds
    for a time column) as a JSON array. Decimal columns are written in canonical text, or,
    when the engine hands over exact integers (``{"scale": s, "units": [...]}``: each value
    is ``units × 10^-s``, null where missing), kept so: the compact form :func:`rows` reads
    back as the same text."""
    name, nullable = kind
    if isinstance(values, Mapping):
        if name != "decimal" or set(values) != {"scale", "units"}:
            raise DataError(f"a {name} column cannot be given as {sorted(values)}")
        units = values["units"]
        return {"scale": int(values["scale"]), "units": units.tolist() if hasattr(units, "tolist") else list(units)}
    if hasattr(values, "dtype"):  # a NumPy array
        if name == "time" and values.dtype.kind in "iu":
            return _iso_ns(values)
        values = values.tolist()
    if name == "plain":
        return values if isinstance(values, list) else list(values)
    if name == "time":
        return _iso_datetimes(values)
    if name == "decimal":
        return [v if v is None else _plain_text(v) for v in values]
    if nullable:
        return [v if v is None else str(v) for v in values]
    return list(map(str, values))


def _decode(column: Any) -> Any:
    """A column as a list of JSON values: scaled integers back to canonical decimal text."""
    if isinstance(column, Mapping) and set(column) == {"scale", "units"}:
        units, scale = column["units"], column["scale"]
        present = [u for u in units if u is not None]
        if len(present) == len(units):
            return scaled_strings(units, scale)
        texts = iter(scaled_strings(present, scale))
        return [None if u is None else next(texts) for u in units]
    return column


def _table(source: Sequence[BaseModel] | Mapping[str, Any], kinds: dict[str, _Kind], what: str) -> dict[str, Any]:
    """A column table from model objects (read field by field from their ``__dict__``, no
    per-object dump) or from columns of raw values keyed by field name. A sequence that can
    give its columns itself (the engine's columnar orders, fills and trades) is read as
    columns, without building its objects."""
    names = list(kinds)
    own = getattr(source, "columns", None)
    if callable(own):
        given = own()
        if given is not None:
            source = given
    if isinstance(source, Mapping):
        missing = [n for n in names if n not in source]
        if missing:
            raise DataError(f"{what} columns: missing {missing}")
        raw: Callable[[str], Any] = source.__getitem__
        count = len(source[names[0]]) if names else 0
    else:
        dicts = [o.__dict__ for o in source]
        count = len(dicts)

        def raw(name: str) -> Any:
            return list(map(itemgetter(name), dicts))

    data = {n: _json_column(raw(n), kinds[n]) for n in names}
    wrong = [n for n, column in data.items() if len(column["units"] if isinstance(column, dict) else column) != count]
    if wrong:
        raise DataError(f"{what} columns: {wrong} do not have {count} values")
    return {"columns": names, "data": data, "count": count}


def order_columns(orders: Sequence[Order] | Mapping[str, Any]) -> dict[str, Any]:
    """The ``orders`` table: every field of :class:`~ai_trading_core.models.Order`, one
    array each. ``orders`` is a list of orders or their columns (field name -> values)."""
    return _table(orders, ORDER_FIELDS, "order")


def fill_columns(fills: Sequence[Fill] | Mapping[str, Any]) -> dict[str, Any]:
    """The ``fills`` table: every field of :class:`~ai_trading_core.models.Fill`."""
    return _table(fills, FILL_FIELDS, "fill")


def trade_columns(trades: Sequence[Trade] | Mapping[str, Any]) -> dict[str, Any]:
    """The ``trades`` table: every field of :class:`~ai_trading_core.models.Trade`."""
    return _table(trades, TRADE_FIELDS, "trade")


def rows(doc: Mapping[str, Any], table: str) -> list[dict[str, Any]]:
    """The rows of ``doc[table]`` (``"orders"``, ``"fills"``, ``"trades"``) as one dict per
    row, whichever the layout: a column table (schema 2) or a list of objects (schema 1, or a
    document already turned into rows). A table the document lacks (``fills`` before schema
    2) has no rows."""
    value = doc.get(table)
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    if isinstance(value, Mapping) and isinstance(value.get("columns"), list) and isinstance(value.get("data"), Mapping):
        names: list[str] = value["columns"]
        data = value["data"]
        missing = [n for n in names if n not in data]
        if missing:
            raise DataError(f"run document: {table!r} lists columns {missing} without data")
        arrays = [_decode(data[n]) for n in names]
        count = value.get("count", len(arrays[0]) if arrays else 0)
        if any(not isinstance(a, list) or len(a) != count for a in arrays):
            raise DataError(f"run document: the columns of {table!r} do not all hold {count} values")
        if not names:
            return [{} for _ in range(count)]
        return [dict(zip(names, values, strict=True)) for values in zip(*arrays, strict=True)]
    raise DataError(f"run document: {table!r} is neither a column table nor a list of objects")


def with_rows(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``doc`` whose tables are lists of row dicts (the schema 1 layout),
    for readers that look at the rows many times (the dashboard keeps one run so)."""
    out = dict(doc)
    for table in TABLES:
        if table in out:
            out[table] = rows(doc, table)
    return out


def _curve(stamps: list[str], values: Any) -> list[list[Any]]:
    """``[[iso, value], ...]`` with None for a non-finite value."""
    import numpy as np

    if bool(np.isfinite(values).all()):
        return list(map(list, zip(stamps, values.tolist(), strict=True)))
    return [[t, e if math.isfinite(e) else None] for t, e in zip(stamps, values.tolist(), strict=True)]


def build_run_document(
    result: RunResult,
    config: AppConfig | None,
    sections: Sequence[ReportSection] = (),
    config_doc: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``config_doc`` is the redacted config to embed (see ``runner.redacted_config``);
    without it ``config.redacted()`` is used, which masks credentials only."""
    s = result.session
    ts = result.timestamps
    trade_table = trade_columns(result.trades)
    closed = [open_ for open_ in trade_table["data"]["is_open"] if not open_]
    metrics: dict[str, Any] = {
        "initial_equity": float(s.initial_cash),
        "final_equity": float(result.final_equity),
        "total_return": result.total_return,
        "trade_count": len(closed),
        "open_trade_count": len(result.trades) - len(closed),
        "order_count": len(result.orders),
        "fill_count": len(result.fills),
    }
    attribution: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for section in sections:
        metrics.update(section.metrics)
        attribution.update(section.attribution)
        extra.update(section.extra)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": s.run_id,
        "name": s.name,
        "mode": s.mode.value,
        "plugins": [{"name": p.name, "distribution": p.distribution, "version": p.version} for p in s.plugins],
        "config_hash": s.config_hash,
        "config": config_doc if config_doc is not None else (config.redacted() if config is not None else None),
        "profile": config.profile if config is not None else None,  # TRADING_ENVIRONMENT / --env
        "timeframe": s.timeframe.value,
        "symbols": list(s.symbols),
        "currency": s.currency,
        "start": _iso(int(ts[0])) if len(ts) else None,
        "end": _iso(int(ts[-1])) if len(ts) else None,
        "bars": int(len(ts)),
        "initial_cash": str(s.initial_cash),
        "final_cash": str(result.final_cash),
        "final_equity": str(result.final_equity),
        "final_positions": {k: str(v) for k, v in result.final_positions.items()},
        "equity_curve": _curve(_iso_many(ts), result.equity),
        "trades": trade_table,
        "orders": order_columns(result.orders),
        "fills": fill_columns(result.fills),
        "metrics": metrics,
        "risk_events": [e.model_dump(mode="json") for e in result.risk_events],
        "risk_verdicts": [v.model_dump(mode="json") for v in result.risk_verdicts if v.decision.value != "approve"],
        "attribution": attribution,
        "strategies": result.extra.get("strategies", {}),
    }
    # Orders, fills and trades hold strings, booleans and nulls only; only the float-bearing
    # sections need NaN/inf replaced (walking 50,000 orders for it would cost more than
    # building them).
    for key in ("metrics", "attribution", "strategies", "risk_events", "risk_verdicts"):
        doc[key] = json_safe(doc[key])
    doc.update(json_safe(extra))
    return doc
