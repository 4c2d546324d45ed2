"""Cost of building the kernel's models on the backtest hot path: validated (``Order(...)``)
against ``models.trusted`` (no validation), and of assigning an order field.

    python benchmarks/bench_models.py
"""

from __future__ import annotations

import timeit
from decimal import Decimal

from ai_trading_core.enums import OrderStatus, OrderType, Side
from ai_trading_core.models import Fill, Order, trusted, utc

N = 50_000
NOW = utc(2024, 5, 1, 14, 30)
ORDER = {
    "client_order_id": "ait-0123456789abcdef01234567",
    "symbol": "AAPL",
    "side": Side.BUY,
    "quantity": Decimal(12),
    "order_type": OrderType.MARKET,
    "strategy_id": "sma",
    "correlation_id": "dec-0123456789abcdef",
    "created_at": NOW,
    "reduce_only": False,
    "reason": None,
    "notional": Decimal("1234.5"),
}
FILL = {
    "execution_id": "sim-ait-0123456789abcdef01234567-x1",
    "client_order_id": "ait-0123456789abcdef01234567",
    "symbol": "AAPL",
    "side": Side.BUY,
    "quantity": Decimal(12),
    "price": Decimal("101.25"),
    "commission": Decimal(0),
    "timestamp": NOW,
    "strategy_id": "sma",
    "correlation_id": "dec-0123456789abcdef",
    "venue": "sim",
}


def per_call_us(fn: object) -> float:
    return min(timeit.repeat(fn, number=N, repeat=5)) / N * 1e6  # type: ignore[arg-type]


def main() -> None:
    order = Order(**ORDER)

    def assign() -> None:
        order.status = OrderStatus.SUBMITTED

    rows = [
        ("Order, validated", per_call_us(lambda: Order(**ORDER))),
        ("Order, trusted", per_call_us(lambda: trusted(Order, **ORDER))),
        ("Fill, validated", per_call_us(lambda: Fill(**FILL))),
        ("Fill, trusted", per_call_us(lambda: trusted(Fill, **FILL))),
        ("Order field assignment", per_call_us(assign)),
    ]
    for name, us in rows:
        print(f"{name:<24} {us:6.2f} µs")


if __name__ == "__main__":
    main()
