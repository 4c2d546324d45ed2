"""A paper run that dies half-way resumes from the database where it stopped.

The process dying is stood in for by :class:`ProcessDied`, a ``BaseException`` raised from
inside the run (nothing in the engine catches it, as nothing survives a ``kill -9``): once
from a strategy before a bar's decisions, once right after an order was made durable and
before it was sent. The same config started again finds the unfinished run, rebuilds the
ledger from the recorded fills, looks up the orders it cannot be sure of, and finishes with
exactly the trades of a run that was never interrupted. (The process-level version, a real
``kill -9`` against a broker in another process, is in the Alpaca plugin's tests.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ai_trading_sma.strategy import SmaCrossover, SmaCrossoverParams
from ai_trading_storage.storage import SqlStorage, SqlStorageParams

from ai_trading_core import hookimpl
from ai_trading_core.audit import resolve_audit_key, verify_audit_file
from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import OrderStatus
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel


class ProcessDied(BaseException):
    """Stands in for the trading process being killed at this point."""


class Faults:
    """Where the next incarnation dies: at the ``die_at_step``-th bar (before its decisions)
    or after the ``die_after_order``-th order was recorded (before it is sent)."""

    def __init__(self) -> None:
        self.die_at_step: int | None = None
        self.die_after_order: int | None = None
        self.die_before_audit: int | None = None


class DyingSma(SmaCrossover):
    faults: Faults

    def on_slice(self, market: Any, history: Any) -> Any:
        self.faults.die_at_step = None if self.faults.die_at_step is None else self.faults.die_at_step - 1
        if self.faults.die_at_step == 0:
            self.faults.die_at_step = None
            raise ProcessDied("killed before the decisions of this bar")
        return super().on_slice(market, history)


class DyingStorage(SqlStorage):
    faults: Faults

    def record_audit(self, event: Any) -> str:
        f = self.faults
        f.die_before_audit = None if f.die_before_audit is None else f.die_before_audit - 1
        if f.die_before_audit == 0:
            f.die_before_audit = None
            raise ProcessDied("killed after the audit file took an event, before storage did")
        return super().record_audit(event)

    def record_order(self, order: Any) -> None:
        super().record_order(order)
        f = self.faults
        f.die_after_order = None if f.die_after_order is None else f.die_after_order - 1
        if f.die_after_order == 0:
            f.die_after_order = None
            raise ProcessDied("killed after recording an order, before sending it")


def _host(faults: Faults) -> Any:
    class Doubles:
        @hookimpl
        def ai_trading_register_strategies(self, registry: Any) -> None:
            def build(p: SmaCrossoverParams, c: Any) -> DyingSma:
                s = DyingSma(p, strategy_id=c.component_id)
                s.faults = faults
                return s

            registry.register("dying_sma", build, params=SmaCrossoverParams)

        @hookimpl
        def ai_trading_register_storage(self, registry: Any) -> None:
            def build(p: SqlStorageParams, c: Any) -> DyingStorage:
                s = DyingStorage(p, c)
                s.faults = faults
                return s

            registry.register("dying_sql", build, params=SqlStorageParams)

    return create_plugin_host(extra_plugins={"doubles": Doubles()})


def _config(tmp: Path, name: str) -> Any:
    return config_from_dict(
        {
            "run": {"mode": "paper", "output_dir": str(tmp / "runs"), "state_dir": str(tmp / "state")},
            "data": {"name": "synthetic"},
            "strategies": [{"name": "dying_sma", "id": "sma", "params": {"fast": 5, "slow": 20}}],
            "broker": {"name": "sim", "params": {"commission_bps": 1, "slippage_bps": 2}},
            "storage": {"name": "dying_sql", "params": {"url": f"sqlite:///{tmp / name}.db"}},
            "audit": {"path": str(tmp / f"{name}.jsonl")},
        }
    )


def _trades(outcome: Any) -> list[tuple[Any, ...]]:
    return [
        (t.symbol, t.side, t.quantity, t.entry_time, t.entry_price, t.exit_time, t.exit_price, t.pnl)
        for t in outcome.result.trades
    ]


@pytest.mark.parametrize(
    ("die_at_step", "die_after_order"),
    [(120, None), (None, 7), (60, 12)],
    ids=["before-decisions", "after-recording-an-order", "both-in-turn"],
)
def test_a_run_that_dies_resumes_with_the_trades_of_an_uninterrupted_run(
    tmp_path: Path, die_at_step: int | None, die_after_order: int | None
) -> None:
    panel = random_walk_panel(300, 3, seed=7)
    faults = Faults()
    host = _host(faults)
    reference = run_config(_config(tmp_path, "reference"), host, panel=panel)
    assert len(reference.result.trades) > 5

    config = _config(tmp_path, "resumed")
    for step, order in ((die_at_step, None), (None, die_after_order)):
        if step is None and order is None:
            continue
        faults.die_at_step, faults.die_after_order = step, order
        with pytest.raises(ProcessDied):
            run_config(config, host, panel=panel)
    resumed = run_config(config, host, panel=panel)

    assert _trades(resumed) == _trades(reference)
    assert resumed.result.final_cash == reference.result.final_cash
    assert resumed.result.final_positions == reference.result.final_positions
    fills = [f.execution_id for f in resumed.result.fills]
    assert len(fills) == len(set(fills)) == len(reference.result.fills)
    # a persisted order that never reached the broker was looked up and rejected, not resent
    if die_after_order is not None:
        lost = [o for o in resumed.result.orders if o.status is OrderStatus.REJECTED]
        assert lost and all("unknown to the broker" in (o.reason or "") for o in lost)
    # one run, one unbroken audit chain, continued across the restarts
    events = [json.loads(line) for line in (tmp_path / "resumed.jsonl").read_text().splitlines()]
    assert {e["run_id"] for e in events} == {resumed.document["run_id"]}
    assert [e["payload"]["event"] for e in events if e["kind"] == "session" and e["payload"]["event"] != "finish"][
        :2
    ] == ["start", "resume"]
    assert verify_audit_file(tmp_path / "resumed.jsonl", resolve_audit_key({}, tmp_path / "state", create=False)).ok
    # a finished run is not resumed again
    store = SqlStorage(SqlStorageParams(url=f"sqlite:///{tmp_path / 'resumed'}.db"), _ctx(tmp_path))
    assert store.recover(config.config_hash()) is None
    store.close()


@pytest.mark.parametrize("audit_event", [3, 40])
def test_a_kill_between_the_audit_file_and_storage_leaves_one_chain(tmp_path: Path, audit_event: int) -> None:
    """The file sink writes an event, the process dies before storage records it: on resume
    the event is recorded in storage from the file, the sequence goes on after it, and the
    file and the database hold the same chain (same hashes), sealed once, verifiable."""
    panel = random_walk_panel(300, 3, seed=7)
    faults = Faults()
    host = _host(faults)
    config = _config(tmp_path, "resumed")
    faults.die_before_audit = audit_event
    with pytest.raises(ProcessDied):
        run_config(config, host, panel=panel)
    resumed = run_config(config, host, panel=panel)
    key = resolve_audit_key({}, tmp_path / "state", create=False)
    assert verify_audit_file(tmp_path / "resumed.jsonl", key).ok
    events = [json.loads(line) for line in (tmp_path / "resumed.jsonl").read_text().splitlines()]
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))  # no repeat, no gap
    store = SqlStorage(SqlStorageParams(url=f"sqlite:///{tmp_path / 'resumed'}.db"), _ctx(tmp_path))
    stored = [(r.sequence, r.hash) for r in store.db.audit.rows(resumed.document["run_id"])]
    store.close()
    assert stored == [(e["sequence"], e["hash"]) for e in events]


def test_resume_false_starts_afresh(tmp_path: Path) -> None:
    panel = random_walk_panel(120, 2, seed=3)
    faults = Faults()
    host = _host(faults)
    config = _config(tmp_path, "db")
    faults.die_at_step = 80
    with pytest.raises(ProcessDied):
        run_config(config, host, panel=panel)
    fresh = config.model_copy(update={"run": config.run.model_copy(update={"resume": False})})
    assert fresh.config_hash() == config.config_hash()  # resume is how to start, not what to trade
    out = run_config(fresh, host, panel=panel)
    assert len(out.result.equity) == 120  # every bar stepped again from a flat book
    store = SqlStorage(SqlStorageParams(url=f"sqlite:///{tmp_path / 'db'}.db"), _ctx(tmp_path))
    assert store.recover(config.config_hash()) is not None  # still there for a start with resume = true
    store.close()


def _ctx(tmp: Path) -> Any:
    from ai_trading_core.registry import BuildContext

    return BuildContext(component_id="sql", state_dir=tmp)


class StreamingPanel:
    """Fakes a live data source: streams a panel's slices; ``bars`` limits how many the next
    stream delivers before it ends (the feed going away, or an operator's stop)."""

    name = "streaming_panel"

    def __init__(self, panel: Any) -> None:
        self.panel = panel
        self.bars: int | None = None

    def load(self, start: Any = None, end: Any = None) -> Any:
        return self.panel

    async def stream(self) -> Any:
        import asyncio

        n = len(self.panel.timestamps) if self.bars is None else self.bars
        for i in range(n):
            await asyncio.sleep(0)
            yield self.panel.slice_at(i)


def test_a_stopped_live_run_is_resumed_by_the_next_start(tmp_path: Path) -> None:
    from decimal import Decimal

    source = StreamingPanel(random_walk_panel(240, 3, seed=7))

    class LiveDouble:
        @hookimpl
        def ai_trading_register_data_sources(self, registry: Any) -> None:
            registry.register("streaming_panel", lambda p, c: source)

    host = create_plugin_host(only=["sim", "sma", "storage"], extra_plugins={"live-double": LiveDouble()})
    config = config_from_dict(
        {
            "run": {"mode": "live", "output_dir": str(tmp_path / "runs"), "state_dir": str(tmp_path / "state")},
            "plugins": {"load": ["sim", "sma", "storage"]},
            "data": {"name": "streaming_panel"},
            "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 5, "slow": 20}}],
            "broker": {"name": "sim"},
            "storage": {"name": "sql", "params": {"url": f"sqlite:///{tmp_path / 'live.db'}"}},
            "audit": {"path": str(tmp_path / "live.jsonl")},
        }
    )
    source.bars = 120  # the first session stops half-way (stream ended; open orders cancelled)
    first = run_config(config, host)
    source.bars = None
    second = run_config(config, host)

    assert second.document["run_id"] == first.document["run_id"]
    assert second.result.timestamps[0] > first.result.timestamps[-1]  # resumed after the last step
    before = {f.execution_id for f in first.result.fills}
    assert before and before <= {f.execution_id for f in second.result.fills}
    assert any(f.execution_id not in before for f in second.result.fills)  # and traded on
    positions: dict[str, Decimal] = {}
    for f in second.result.fills:
        positions[f.symbol] = positions.get(f.symbol, Decimal(0)) + f.signed_quantity
    assert second.result.final_positions == {k: v for k, v in positions.items() if v}
    flows = sum((f.signed_quantity * f.price + f.commission for f in second.result.fills), Decimal(0))
    assert second.result.final_cash == Decimal(100000) - flows
    # each stop sealed the one chain; the run row moved on to the second seal, and the file and
    # the database verify against both heads
    from ai_trading_storage.audit import verify as verify_db
    from ai_trading_storage.connection import create_db_engine
    from ai_trading_storage.repositories import Database

    from ai_trading_core.audit import head_of_document

    key = resolve_audit_key({}, tmp_path / "state", create=False)
    heads = tuple(h for h in (head_of_document(o.document, "run document") for o in (first, second)) if h)
    assert len(heads) == 2 and heads[0].events < heads[1].events
    assert verify_audit_file(tmp_path / "live.jsonl", key, expected=heads).ok
    db = Database(create_db_engine(f"sqlite:///{tmp_path / 'live.db'}"), audit_key=key)
    try:
        rows = db.runs.audit_heads()
        assert rows[second.document["run_id"]] == (heads[1].head, heads[1].events)
        assert verify_db(db.audit, run_rows=rows, anchors=heads).ok
    finally:
        db.dispose()
