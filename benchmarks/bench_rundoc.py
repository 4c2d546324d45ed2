"""Cost of the run document's order table for 50,000 orders: the schema 1 layout (one object
per order, ``TypeAdapter(list[Order]).dump_python``) against the schema 2 column table
(``rundoc.order_columns``), built and then written as JSON text, and read back as rows.

    python benchmarks/bench_rundoc.py
"""

from __future__ import annotations

import json
import timeit
from datetime import timedelta
from decimal import Decimal

from pydantic import TypeAdapter

from ai_trading_core.enums import OrderStatus, Side
from ai_trading_core.models import Order, trusted, utc
from ai_trading_core.rundoc import order_columns, rows

N = 50_000
SYMBOLS = 50  # orders per bar: a 50-symbol daily backtest of 1,000 bars


def orders() -> list[Order]:
    t0 = utc(2010, 1, 4)
    return [
        trusted(
            Order,
            client_order_id=f"ait-{i:024x}",
            symbol=f"S{i % SYMBOLS:03d}",
            side=Side.BUY if i % 2 else Side.SELL,
            quantity=Decimal(i % 300 + 1),
            created_at=t0 + timedelta(days=i // SYMBOLS),
            status=OrderStatus.FILLED,
            filled_quantity=Decimal(i % 300 + 1),
            average_fill_price=Decimal("101.25"),
            strategy_id="sma",
            correlation_id=f"dec-{i:016x}",
        )
        for i in range(N)
    ]


def best_s(fn: object) -> float:
    return min(timeit.repeat(fn, number=1, repeat=5))  # type: ignore[arg-type]


def main() -> None:
    data = orders()
    objects = TypeAdapter(list[Order])
    old_doc = {"orders": objects.dump_python(data, mode="json")}
    new_doc = {"orders": order_columns(data)}
    old_text, new_text = json.dumps(old_doc), json.dumps(new_doc)
    figures = [
        ("build, objects (schema 1)", best_s(lambda: objects.dump_python(data, mode="json"))),
        ("build, columns (schema 2)", best_s(lambda: order_columns(data))),
        ("build + write, objects", best_s(lambda: json.dumps({"orders": objects.dump_python(data, mode="json")}))),
        ("build + write, columns", best_s(lambda: json.dumps({"orders": order_columns(data)}))),
        ("parse, objects", best_s(lambda: json.loads(old_text))),
        ("parse, columns", best_s(lambda: json.loads(new_text))),
        ("parse + rows(), columns", best_s(lambda: rows(json.loads(new_text), "orders"))),
    ]
    print(f"{N:,} orders; JSON text {len(old_text) / 1e6:.1f} MB (objects), {len(new_text) / 1e6:.1f} MB (columns)")
    for name, seconds in figures:
        print(f"{name:<28} {seconds * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
