"""Positions, orders and fills as AG Grid tables (``dash-ag-grid``).

Large tables (orders, fills: tens of thousands of rows) use the grid's infinite row model:
the browser asks for one block of rows at a time with the sort and filter model, and
:func:`query_rows` answers it on the server, so only a page of rows crosses the wire.
Every value is sent as display text (money to cents, prices to the instrument's tick,
percentages as percentages); sorting and filtering use the raw values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import dash_ag_grid as dag

PAGE_SIZE = 50


@dataclass(frozen=True)
class Column:
    """``kind``: text, int, qty, money, price (to the row's tick), pct, time."""

    field: str
    header: str
    kind: str = "text"

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "qty", "money", "price", "pct")


POSITION_COLUMNS = (
    Column("symbol", "symbol"),
    Column("quantity", "quantity", "qty"),
    Column("average_price", "average price", "price"),
    Column("price", "last price", "price"),
    Column("market_value", "market value", "money"),
    Column("unrealised_pnl", "unrealised P&L", "money"),
    Column("weight", "weight", "pct"),
)
ORDER_COLUMNS = (
    Column("created_at", "created", "time"),
    Column("symbol", "symbol"),
    Column("side", "side"),
    Column("order_type", "type"),
    Column("quantity", "quantity", "qty"),
    Column("filled_quantity", "filled", "qty"),
    Column("limit_price", "limit", "price"),
    Column("average_fill_price", "avg fill", "price"),
    Column("status", "status"),
    Column("strategy_id", "strategy"),
    Column("client_order_id", "client order id"),
)
FILL_COLUMNS = (
    Column("timestamp", "time", "time"),
    Column("symbol", "symbol"),
    Column("side", "side"),
    Column("quantity", "quantity", "qty"),
    Column("price", "price", "price"),
    Column("notional", "notional", "money"),
    Column("commission", "commission", "money"),
    Column("strategy_id", "strategy"),
    Column("venue", "venue"),
    Column("client_order_id", "client order id"),
)


def to_number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def decimals_of(tick: Any) -> int:
    """Digits after the decimal point of a tick size (``"0.01"`` -> 2, ``"0.00005"`` -> 5)."""
    try:
        exponent = Decimal(str(tick)).normalize().as_tuple().exponent
    except (InvalidOperation, ValueError):
        return 2
    return max(0, -int(exponent)) if isinstance(exponent, int) else 2


def format_value(value: Any, kind: str, tick: Any = None) -> str:
    """Display text: money with thousands separators and cents, prices to the tick's digits
    (rounded to the nearest tick when a tick is known), percentages as percentages."""
    if value is None or value == "":
        return ""
    if kind in ("text", "time"):
        text = str(value)
        return text.replace("T", " ").replace("+00:00", "Z") if kind == "time" else text
    number = to_number(value)
    if number is None or number != number:
        return "–"
    if kind == "pct":
        return f"{number:.2%}"
    if kind == "money":
        return f"{number:,.2f}"
    if kind == "int":
        return f"{int(number):,d}"
    if kind == "qty":
        try:
            return f"{Decimal(str(value)).normalize():,f}"
        except InvalidOperation:
            return str(value)
    if kind == "price":
        if tick:
            step = Decimal(str(tick))
            try:
                rounded = (Decimal(str(value)) / step).to_integral_value() * step
            except InvalidOperation:
                return str(value)
            return f"{rounded:,.{decimals_of(tick)}f}"
        return f"{number:,.2f}"
    return str(value)


def display_rows(
    rows: Sequence[dict[str, Any]], columns: Sequence[Column], ticks: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    ticks = ticks or {}
    out = []
    for row in rows:
        tick = ticks.get(str(row.get("symbol")))
        out.append({c.field: format_value(_raw(row, c), c.kind, tick) for c in columns})
    return out


def _raw(row: dict[str, Any], column: Column) -> Any:
    if column.field == "notional" and "notional" not in row:
        q, p = to_number(row.get("quantity")), to_number(row.get("price"))
        return q * p if q is not None and p is not None else None
    return row.get(column.field)


# ---------------------------------------------------------------------- server-side queries
_TEXT_TESTS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda v, f: f in v,
    "notContains": lambda v, f: f not in v,
    "equals": lambda v, f: v == f,
    "notEqual": lambda v, f: v != f,
    "startsWith": lambda v, f: v.startswith(f),
    "endsWith": lambda v, f: v.endswith(f),
    "blank": lambda v, f: v == "",
    "notBlank": lambda v, f: v != "",
}
_NUMBER_TESTS: dict[str, Callable[[float, float, float | None], bool]] = {
    "equals": lambda v, f, t: v == f,
    "notEqual": lambda v, f, t: v != f,
    "lessThan": lambda v, f, t: v < f,
    "lessThanOrEqual": lambda v, f, t: v <= f,
    "greaterThan": lambda v, f, t: v > f,
    "greaterThanOrEqual": lambda v, f, t: v >= f,
    "inRange": lambda v, f, t: f <= v <= (t if t is not None else f),
}


def _condition(column: Column | None, spec: dict[str, Any]) -> Callable[[Any], bool]:
    if "operator" in spec and "conditions" in spec:
        parts = [_condition(column, c) for c in spec["conditions"]]
        if str(spec["operator"]).upper() == "OR":
            return lambda v: any(p(v) for p in parts)
        return lambda v: all(p(v) for p in parts)
    kind = spec.get("type", "contains")
    if spec.get("filterType") == "number" or (column is not None and column.numeric):
        test = _NUMBER_TESTS.get(kind)
        wanted, upper = to_number(spec.get("filter")), to_number(spec.get("filterTo"))
        if test is None or wanted is None:
            return lambda v: True
        return lambda v: (n := to_number(v)) is not None and test(n, wanted, upper)
    text_test = _TEXT_TESTS.get(kind, _TEXT_TESTS["contains"])
    needle = str(spec.get("filter") or "").lower()
    return lambda v: text_test("" if v is None else str(v).lower(), needle)


def query_rows(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    request: dict[str, Any] | None,
    ticks: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Answer an infinite-row-model block request (``startRow``, ``endRow``, ``sortModel``,
    ``filterModel``): ``{"rowData": [...display rows...], "rowCount": matching rows}``."""
    request = request or {}
    by_field = {c.field: c for c in columns}
    selected: list[dict[str, Any]] = list(rows)
    for field_name, spec in (request.get("filterModel") or {}).items():
        if not isinstance(spec, dict):
            continue
        column = by_field.get(field_name)
        keep = _condition(column, spec)
        selected = [r for r in selected if keep(_raw(r, column) if column else r.get(field_name))]
    for sort in reversed(request.get("sortModel") or []):
        column = by_field.get(str(sort.get("colId")))
        if column is None:
            continue
        descending = sort.get("sort") == "desc"
        if column.numeric:
            present = [r for r in selected if to_number(_raw(r, column)) is not None]
            missing = [r for r in selected if to_number(_raw(r, column)) is None]
            present.sort(key=lambda r, c=column: to_number(_raw(r, c)) or 0.0, reverse=descending)
            selected = present + missing
        else:
            selected.sort(key=lambda r, c=column: str(_raw(r, c) or ""), reverse=descending)
    start = max(0, int(request.get("startRow") or 0))
    end = max(start, int(request.get("endRow") or start + PAGE_SIZE))
    return {"rowData": display_rows(selected[start:end], columns, ticks), "rowCount": len(selected)}


# ---------------------------------------------------------------------- grid components
def _column_defs(columns: Sequence[Column]) -> list[dict[str, Any]]:
    return [
        {
            "field": c.field,
            "headerName": c.header,
            "filter": "agNumberColumnFilter" if c.numeric else "agTextColumnFilter",
            "type": "rightAligned" if c.numeric else None,
            "sortable": True,
            "floatingFilter": True,
            **({"minWidth": 170} if c.kind == "time" else {}),
        }
        for c in columns
    ]


def server_grid(grid_id: str, columns: Sequence[Column], height: int = 560) -> dag.AgGrid:
    """A grid whose rows are fetched page by page from :func:`query_rows` (the browser asks
    again when the feed moves on: ``refreshInfiniteCache`` from ``assets/dashboard.js``)."""
    return dag.AgGrid(
        id=grid_id,
        columnDefs=_column_defs(columns),
        defaultColDef={"resizable": True, "minWidth": 90, "flex": 1},
        rowModelType="infinite",
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": PAGE_SIZE,
            "cacheBlockSize": PAGE_SIZE,
            "maxBlocksInCache": 10,
            "rowBuffer": 0,
            "infiniteInitialRowCount": 1,
            "suppressCellFocus": True,
        },
        style={"height": f"{height}px", "width": "100%"},
    )
