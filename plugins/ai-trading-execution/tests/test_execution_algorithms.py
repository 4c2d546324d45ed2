"""The ``algo`` broker over simulated venues: slicing, participation, cancel, routing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from ai_trading_execution import AlgoBroker, AlgoBrokerParams, Venue, VenueParams, cumulative_schedule
from ai_trading_sim import SimulatedBroker, SimulatedBrokerParams

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import OrderStatus, Side, Timeframe
from ai_trading_core.errors import BrokerError
from ai_trading_core.market import MarketSlice, to_datetime
from ai_trading_core.models import Fill, Instrument, Order, OrderUpdate
from ai_trading_core.protocols import BrokerContext, BrokerEvents
from ai_trading_core.testing.contracts import BrokerContract

DAY = 86_400 * 10**9
HOUR = 3_600 * 10**9


class RejectingVenue:
    """Fakes a venue that refuses every order (a broker answering with an error)."""

    name = "rejecting"

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def connect(self, ctx: BrokerContext) -> None:
        pass

    def submit_order(self, order: Order) -> OrderUpdate:
        self.attempts.append(order.client_order_id)
        raise BrokerError("venue refuses: market closed")

    def cancel_order(self, client_order_id: str) -> OrderUpdate:
        raise BrokerError("no such order")

    def lookup_order(self, client_order_id: str) -> OrderUpdate | None:
        return None

    def on_market(self, market: MarketSlice) -> BrokerEvents:
        return BrokerEvents()

    def positions(self) -> dict[str, Decimal]:
        return {}

    def close(self) -> None:
        pass


def sim_venue(name: str = "sim-a", cost: float = 0.0, **sim: Any) -> Venue:
    return Venue(
        VenueParams(name=name, broker="sim", commission_bps=cost),
        SimulatedBroker(SimulatedBrokerParams(**sim)),
    )


def algo(
    venues: list[Venue] | None = None,
    *,
    timeframe: Timeframe = Timeframe.D1,
    shadow: bool = False,
    **params: Any,
) -> AlgoBroker:
    venues = venues or [sim_venue()]
    p = AlgoBrokerParams(venues=[v.config for v in venues], shadow=shadow, **params)
    b = AlgoBroker(p, venues, SimulatedBroker() if shadow else None)
    b.connect(
        BrokerContext(
            instruments={"AAA": Instrument(symbol="AAA")},
            symbols=("AAA",),
            initial_cash=Decimal(10**6),
            currency="USD",
            timeframe=timeframe,
            clock=SimulatedClock(0),
        )
    )
    return b


def bar(ts: int, price: float = 100.0, volume: float = 1_000.0) -> MarketSlice:
    a = lambda x: np.array([x], dtype=float)  # noqa: E731
    return MarketSlice(ts, ("AAA",), a(price), a(price + 1), a(price - 1), a(price + 0.5), a(volume))


def parent(qty: str, side: Side = Side.BUY, coid: str = "p1") -> Order:
    return Order(
        client_order_id=coid,
        symbol="AAA",
        side=side,
        quantity=Decimal(qty),
        created_at=to_datetime(0),
        strategy_id="s1",
        correlation_id="dec-1",
    )


def run_bars(b: AlgoBroker, n: int, start: int = 1, step: int = DAY, **kw: Any) -> list[BrokerEvents]:
    return [b.on_market(bar(start * step + k * step, price=100.0 + k, **kw)) for k in range(n)]


def parent_fills(events: list[BrokerEvents]) -> list[Fill]:
    return [f for ev in events for f in ev.fills]


class TestAlgoContract(BrokerContract):
    @pytest.fixture
    def broker(self) -> AlgoBroker:
        venue = sim_venue()
        return AlgoBroker(AlgoBrokerParams(venues=[venue.config]), [venue])


def test_cumulative_schedule_is_lot_rounded_and_ends_at_the_quantity() -> None:
    inst = Instrument(symbol="AAA")
    assert cumulative_schedule(Decimal(10), [1, 1, 1, 1], inst) == [2, 5, 7, 10]
    assert cumulative_schedule(Decimal(100), [1, 3], inst) == [25, 100]
    lots = Instrument(symbol="AAA", lot_size=Decimal("0.5"))
    assert cumulative_schedule(Decimal("3.5"), [1, 1, 1], lots) == [
        Decimal("1"),
        Decimal("2"),
        Decimal("3.5"),
    ]


def test_twap_sends_equal_slices_at_consecutive_bars() -> None:
    b = algo(algorithm="twap", horizon_bars=4)
    b.on_market(bar(0))  # the decision bar: its close is the decision price
    upd = b.submit_order(parent("10"))
    assert upd.status is OrderStatus.ACCEPTED
    events = run_bars(b, 6)
    children = list(b.children.values())
    assert [c.order.client_order_id for c in children] == ["p1-c1", "p1-c2", "p1-c3", "p1-c4"]
    assert [c.order.quantity for c in children] == [2, 3, 2, 3]  # cumulative 2.5/5/7.5/10 rounded down
    assert [c.bar for c in children] == [0, 1, 2, 3]
    assert all(c.order.parent_id == "p1" for c in children)
    fills = parent_fills(events)
    assert [f.timestamp for f in fills] == [to_datetime(k * DAY) for k in (1, 2, 3, 4)]
    assert [f.price for f in fills] == [100, 101, 102, 103]  # each child at its bar's open
    assert all(f.client_order_id == "p1" and f.strategy_id == "s1" for f in fills)
    assert sum(f.quantity for f in fills) == Decimal(10)
    assert [u.status for ev in events for u in ev.updates] == [OrderStatus.PARTIALLY_FILLED] * 3 + [
        OrderStatus.FILLED
    ]
    assert b.lookup_order("p1").status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert not events[4].fills and not events[5].fills


@pytest.mark.parametrize(
    "params",
    [
        {"algorithm": "twap", "horizon_bars": 7},
        {"algorithm": "vwap", "horizon_bars": 5},
        {"algorithm": "vwap", "horizon_bars": 3, "volume_profile": [1.0, 2.0, 5.0]},
        {"algorithm": "pov", "participation": 0.03},
        {"algorithm": "iceberg", "display_qty": "40"},
        {"algorithm": "direct"},
    ],
)
def test_children_sum_to_the_parent_and_fills_are_unique(params: dict[str, Any]) -> None:
    b = algo(**params)
    rng = np.random.default_rng(3)
    b.on_market(bar(0))
    b.submit_order(parent("333", Side.SELL))
    events = [b.on_market(bar(k * DAY, 50.0 + k, float(rng.integers(500, 2_000)))) for k in range(1, 40)]
    children = [c.order for c in b.children.values()]
    assert sum(c.quantity for c in children) == Decimal(333)
    fills = parent_fills(events)
    assert sum(f.quantity for f in fills) == Decimal(333)
    assert all(f.side is Side.SELL and f.client_order_id == "p1" for f in fills)
    assert len({f.execution_id for f in fills}) == len(fills)
    assert b.positions() == {"AAA": Decimal(-333)}
    if params["algorithm"] == "iceberg":
        assert [c.quantity for c in children] == [Decimal(40)] * 8 + [Decimal(13)]
        # one slice per bar: the shown slice fills at its bar's open, the next shows on the next bar
        assert [b.children[c.client_order_id].bar for c in children] == list(range(9))


def test_iceberg_waits_until_the_shown_slice_is_filled() -> None:
    b = algo([sim_venue(max_participation=0.02)], algorithm="iceberg", display_qty="30")
    b.on_market(bar(0))
    b.submit_order(parent("50"))
    events = run_bars(b, 4)  # 20 units of volume allowed per bar
    assert [sum(f.quantity for f in ev.fills) for ev in events] == [20, 10, 20, 0]
    assert [(c.order.quantity, c.bar) for c in b.children.values()] == [(30, 0), (20, 2)]


def test_vwap_follows_the_time_of_day_volume_seen_so_far() -> None:
    b = algo(timeframe=Timeframe.H1, algorithm="vwap", horizon_bars=3)
    profile = [100.0, 300.0, 600.0]  # volume at 10:00, 11:00, 12:00 on the previous days
    for day in range(2):
        for h, vol in zip((10, 11, 12), profile, strict=True):
            b.on_market(bar(day * DAY + h * HOUR, volume=vol))
    b.on_market(bar(2 * DAY + 9 * HOUR))
    b.submit_order(parent("200"))
    for h in (10, 11, 12):
        b.on_market(bar(2 * DAY + h * HOUR, volume=5_000.0))
    # cumulative 10 %, 40 %, 100 % of 200
    assert [c.order.quantity for c in b.children.values()] == [20, 60, 120]


def test_pov_and_the_venue_participation_cap_hold_per_bar() -> None:
    b = algo([sim_venue(max_participation=0.05)], algorithm="twap", horizon_bars=2)
    b.on_market(bar(0))
    b.submit_order(parent("500"))
    vols = [1_000.0, 3_000.0, 2_000.0, 10_000.0, 10_000.0]
    events = [b.on_market(bar((k + 1) * DAY, volume=v)) for k, v in enumerate(vols)]
    per_bar = [sum(f.quantity for f in ev.fills) for ev in events]
    assert per_bar == [50, 150, 100, 200, 0]  # 5 % of each bar's volume until 500 are done
    assert all(q <= Decimal(repr(0.05 * v)) for q, v in zip(per_bar, vols, strict=True))
    pov = algo(algorithm="pov", participation=0.1)
    pov.on_market(bar(0))
    pov.submit_order(parent("700"))
    vols = [1_234.0, 4_000.0, 999.0, 50_000.0]
    events = [pov.on_market(bar((k + 1) * DAY, volume=v)) for k, v in enumerate(vols)]
    # each slice is 10 % of the previous bar's volume (the decision bar traded 1,000)
    assert [sum(f.quantity for f in ev.fills) for ev in events] == [100, 123, 400, 77]


def test_pov_sizes_on_volume_already_observed_not_on_a_spike_it_could_not_know() -> None:
    b = algo(algorithm="pov", participation=0.1)
    b.on_market(bar(0, volume=1_000.0))  # the decision bar: 1,000 traded
    b.submit_order(parent("6000"))
    spike = b.on_market(bar(DAY, price=100.0, volume=50_000.0))
    # the child fills at the spike bar's open, before its 50,000 exist: 10 % of 1,000
    assert [(f.quantity, f.price) for f in spike.fills] == [(Decimal(100), Decimal(100))]
    after = b.on_market(bar(2 * DAY, price=101.0, volume=2_000.0))
    # the spike is known now, and sizes the next slice
    assert sum(f.quantity for f in after.fills) == 5_000
    quiet = b.on_market(bar(3 * DAY, price=102.0, volume=2_000.0))
    assert sum(f.quantity for f in quiet.fills) == 200
    assert [c.order.quantity for c in b.children.values()] == [100, 5_000, 200]


def test_pov_time_of_day_forecast_uses_previous_days_only() -> None:
    b = algo(timeframe=Timeframe.H1, algorithm="pov", participation=0.1, pov_volume="time_of_day")
    for day, vols in enumerate(([1_000.0, 3_000.0], [3_000.0, 5_000.0])):
        for h, vol in zip((10, 11), vols, strict=True):
            b.on_market(bar(day * DAY + h * HOUR, volume=vol))
    b.on_market(bar(2 * DAY + 9 * HOUR, volume=700.0))  # no 09:00 history before today
    b.submit_order(parent("1000"))
    for h in (10, 11, 12):
        b.on_market(bar(2 * DAY + h * HOUR, volume=90_000.0))
    # 10:00 averaged 2,000 and 11:00 4,000 on the previous days; 12:00 was never seen, so
    # the previous bar (today's 11:00, 90,000) stands in
    assert [c.order.quantity for c in b.children.values()] == [200, 400, 400]


def test_cancelling_the_parent_cancels_its_children() -> None:
    venue = sim_venue(max_participation=0.01)
    b = algo([venue], algorithm="twap", horizon_bars=3)
    b.on_market(bar(0))
    b.submit_order(parent("90"))
    first = b.on_market(bar(DAY))  # child 1 (30) fills 10, rests with 20
    assert sum(f.quantity for f in first.fills) == 10
    b.on_market(bar(2 * DAY))  # child 2 sent; child 1 fills 10 more
    upd = b.cancel_order("p1")
    assert upd.status is OrderStatus.CANCELLED and upd.filled_quantity == Decimal(20)
    for cid in ("p1-c1", "p1-c2"):
        assert venue.broker.lookup_order(cid).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
        assert b.children[cid].order.status is OrderStatus.CANCELLED
    later = run_bars(b, 3, start=3)
    assert not parent_fills(later) and len(b.children) == 2
    assert b.lookup_order("p1").status is OrderStatus.CANCELLED  # type: ignore[union-attr]


def test_routing_falls_back_when_the_cheapest_venue_rejects() -> None:
    rejecting = Venue(
        VenueParams(name="cheap", broker="rejecting", commission_bps=0.1, unavailable_bars=2),
        RejectingVenue(),
    )
    backup = sim_venue("backup", cost=5.0)
    b = algo([backup, rejecting], algorithm="twap", horizon_bars=4)
    b.on_market(bar(0))
    b.submit_order(parent("40"))
    events = run_bars(b, 4)
    fills = parent_fills(events)
    assert sum(f.quantity for f in fills) == 40 and {f.venue for f in fills} == {"backup"}
    assert all(f.execution_id.startswith("backup:") for f in fills)
    # tried at bar 0, skipped at bar 1 (unavailable for 2 bars), tried again at bar 2
    assert rejecting.broker.attempts == ["p1-c1", "p1-c3"]
    assert [r["venue"] for r in b.refusals] == ["cheap", "cheap", "cheap", "cheap"]
    assert "market closed" in b.refusals[0]["reason"] and "unavailable" in b.refusals[1]["reason"]


def test_routing_respects_venue_limits_and_cancels_when_nothing_can_take_a_slice() -> None:
    small = Venue(VenueParams(name="small", broker="sim", max_order_quantity=Decimal(15)), SimulatedBroker())
    big = Venue(
        VenueParams(name="big", broker="sim", commission_bps=3.0, max_order_notional=Decimal(5_000)),
        SimulatedBroker(),
    )
    b = algo([small, big], algorithm="twap", horizon_bars=2)
    b.on_market(bar(0))
    b.submit_order(parent("40"))
    run_bars(b, 2)
    assert [(c.venue, c.order.quantity) for c in b.children.values()] == [("big", 20), ("big", 20)]
    only_small = algo(
        [Venue(VenueParams(name="small", broker="sim", max_order_quantity=Decimal(5)), SimulatedBroker())],
        algorithm="direct",
        max_route_failures=2,
    )
    only_small.on_market(bar(0))
    only_small.submit_order(parent("40"))
    events = run_bars(only_small, 3)
    assert not parent_fills(events)
    (upd,) = events[1].updates
    assert upd.status is OrderStatus.CANCELLED and "no venue" in (upd.reason or "")


def test_iceberg_needs_display_qty_and_venue_names_are_unique() -> None:
    v = VenueParams(name="a", broker="sim")
    with pytest.raises(ValueError, match="display_qty"):
        AlgoBrokerParams(algorithm="iceberg", venues=[v])
    with pytest.raises(ValueError, match="unique"):
        AlgoBrokerParams(venues=[v, v])
    with pytest.raises(ValueError, match="volume_profile"):
        AlgoBrokerParams(algorithm="vwap", horizon_bars=2, volume_profile=[1.0], venues=[v])
    b = algo()
    with pytest.raises(BrokerError, match="unknown symbol"):
        b.submit_order(parent("1").model_copy(update={"symbol": "ZZZ"}))
    with pytest.raises(BrokerError):
        b.cancel_order("never")


def test_shortfall_and_slippage_per_order_by_hand() -> None:
    b = algo([sim_venue(commission_bps=10)], algorithm="twap", horizon_bars=2, shadow=True)
    b.on_market(bar(0, price=99.0))  # close 99.5 = decision price
    b.submit_order(parent("10"))
    b.on_market(bar(DAY, price=100.0))  # 5 @ 100 (arrival 100)
    b.on_market(bar(2 * DAY, price=102.0))  # 5 @ 102
    rep = b.execution_report()
    (row,) = rep["parents"]
    assert (
        row["average_fill_price"] == "101"
        and row["decision_price"] == "99.5"
        and row["arrival_price"] == "100.0"
    )
    assert row["shortfall"] == pytest.approx((101 - 99.5) * 10)
    assert row["shortfall_bps"] == pytest.approx(1.5 / 99.5 * 1e4)
    assert row["slippage_bps"] == pytest.approx(100.0)
    assert row["commission"] == pytest.approx((500 + 510) * 0.001)
    s = rep["by_strategy"]["s1"]
    assert s["shortfall"] == pytest.approx(15.0) and s["shortfall_bps"] == pytest.approx(15.0 / 995.0 * 1e4)
    (venue,) = rep["by_venue"].values()
    assert venue["orders"] == 2 and venue["slippage"] == pytest.approx(10.0)
    (shadow,) = rep["shadow"]["orders"]
    # paper: all 10 at the first open (100); live averaged 101: 100 bps worse for a buy
    assert shadow["shadow_average_price"] == "100" and shadow["price_difference_bps"] == pytest.approx(100.0)
    assert shadow["quantity_difference"] == "0"
    assert [c["parent_id"] for c in rep["children"]] == ["p1", "p1"]


def test_total_is_the_notional_weighted_sum_over_strategies() -> None:
    b = algo(algorithm="direct")
    b.on_market(bar(0, price=100.0))  # decision close 100.5
    b.submit_order(parent("10", coid="p1"))
    b.submit_order(parent("30", Side.SELL, coid="p2").model_copy(update={"strategy_id": "s2"}))
    b.on_market(bar(DAY, price=101.0))  # both fill at 101
    rep = b.execution_report()
    # p1 buys 10 at 101 vs 100.5: cost +5; p2 sells 30 at 101 vs 100.5: gain, cost -15
    assert rep["by_strategy"]["s1"]["shortfall"] == pytest.approx(5.0)
    assert rep["by_strategy"]["s2"]["shortfall"] == pytest.approx(-15.0)
    assert rep["total"]["shortfall"] == pytest.approx(-10.0) and rep["total"]["orders"] == 2
    assert rep["total"]["shortfall_bps"] == pytest.approx(-10.0 / (100.5 * 40) * 1e4)


def test_shadow_comparison_is_recorded_as_each_parent_completes() -> None:
    b = algo(algorithm="twap", horizon_bars=3, shadow=True)
    b.on_market(bar(0))
    b.submit_order(parent("9"))
    b.on_market(bar(DAY, price=100.0))  # paper fills all 9 at 100; live 3
    assert b.shadow_compared == []  # live still working
    b.on_market(bar(2 * DAY, price=103.0))
    b.on_market(bar(3 * DAY, price=106.0))
    (row,) = b.shadow_compared
    assert row["live_average_price"] == "103" and row["shadow_average_price"] == "100"
    assert row["price_difference_bps"] == pytest.approx(300.0)
    b.on_market(bar(4 * DAY))
    assert len(b.shadow_compared) == 1


def test_shadow_summary_counts_finished_orders_and_reports_unfinished_apart() -> None:
    b = algo(algorithm="twap", horizon_bars=3, shadow=True)
    b.on_market(bar(0))
    b.submit_order(parent("9", coid="done"))
    b.submit_order(parent("9", coid="cut"))
    b.on_market(bar(DAY))  # paper fills 9 + 9 at once; live 3 of each
    b.cancel_order("cut")  # finished with 3 live against 9 on paper: a real mismatch
    for k in (2, 3):
        b.on_market(bar(k * DAY))  # "done" completes live
    b.submit_order(parent("9", coid="late"))  # the data ends while it is worked
    b.on_market(bar(4 * DAY))  # live 3 of 9, paper 9
    rep = b.execution_report()
    summary = rep["shadow"]["summary"]
    assert summary["quantity_mismatches"] == 1  # "cut" only: "late" is still working
    assert summary["orders"] == 3 and summary["finished"] == 2 and summary["compared"] == 2
    rows = {r["client_order_id"]: r for r in rep["shadow"]["orders"]}
    assert {k: (r["finished"], r["quantity_difference"]) for k, r in rows.items()} == {
        "done": (True, "0"),
        "cut": (True, "-6"),
        "late": (False, "-6"),
    }
    assert summary["unfinished"] == {"orders": 1, "client_order_ids": ["late"]}
    # the per-order log agrees: only finished orders were compared
    assert [r["client_order_id"] for r in b.shadow_compared] == ["cut", "done"]
