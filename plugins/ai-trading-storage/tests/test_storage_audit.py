from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa
from ai_trading_storage.audit import GENESIS_HASH, canonical_json, explain, verify
from ai_trading_storage.cli import register
from ai_trading_storage.connection import create_db_engine
from ai_trading_storage.repositories import Database
from click.testing import CliRunner

from ai_trading_core.errors import AuditError, StorageError
from ai_trading_core.models import AuditEvent, Order, utc

KINDS = ("market", "signal", "sizing", "risk_verdict", "risk_verdict", "order", "order_update", "fill")


def chain_events(run_id: str, correlation_id: str, start: int = 0) -> list[AuditEvent]:
    payloads = [
        {"symbol": "SPY", "close": 412.5},
        {"strategy_id": "sma", "strength": 1.0},
        {"sizer": "equal_weight", "target": "24"},
        {"check": "max_position", "decision": "approve", "limit": 0.2, "measured": 0.1},
        {"check": "circuit_breaker", "decision": "resize", "approved_quantity": Decimal("20")},
        {"client_order_id": "o-1", "side": "buy", "quantity": "20"},
        {"client_order_id": "o-1", "status": "accepted"},
        {"execution_id": "x-1", "price": "412.51", "quantity": "20"},
    ]
    return [
        AuditEvent(
            sequence=start + i,
            run_id=run_id,
            kind=k,
            correlation_id=correlation_id,
            timestamp=utc(2024, 1, 2, 14, 30, i, 123456),
            payload=p,
        )
        for i, (k, p) in enumerate(zip(KINDS, payloads, strict=True))
    ]


@pytest.fixture
def audited(db_url: str) -> Database:
    db = Database(create_db_engine(db_url))
    for ev in chain_events("run-a", "corr-1"):
        db.audit.append(ev)
    for ev in chain_events("run-b", "corr-2", start=1):
        db.audit.append(ev)
    return db


def _sql(db: Database, statement: str) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql(statement)


def _disable_trigger(db: Database) -> None:
    """What an attacker with superuser rights would do to get past the append-only guard."""
    if db.engine.dialect.name == "postgresql":
        _sql(db, "ALTER TABLE audit_events DISABLE TRIGGER USER")
    else:
        _sql(db, "DROP TRIGGER audit_events_no_update")
        _sql(db, "DROP TRIGGER audit_events_no_delete")


def test_hash_is_sha256_of_prev_hash_and_canonical_json(audited: Database) -> None:
    rows = list(audited.audit.rows("run-a"))
    assert [r.sequence for r in rows] == list(range(8))
    assert rows[0].prev_hash == GENESIS_HASH
    first = rows[0]
    canonical = canonical_json(
        {
            "correlation_id": "corr-1",
            "kind": "market",
            "payload": {"close": 412.5, "symbol": "SPY"},
            "run_id": "run-a",
            "sequence": 0,
            "timestamp": "2024-01-02T14:30:00.123456+00:00",
        }
    )
    assert first.hash == hashlib.sha256((GENESIS_HASH + canonical).encode()).hexdigest()
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    # Decimal payload values are stored as their exact string
    assert json.loads(rows[4].payload)["approved_quantity"] == "20"
    report = verify(audited.audit)
    assert report.ok and report.runs == 2 and report.rows == 16


def test_update_and_delete_are_refused_by_the_database(audited: Database) -> None:
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        _sql(audited, "UPDATE audit_events SET payload = '{}' WHERE sequence = 3")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        _sql(audited, "DELETE FROM audit_events WHERE sequence = 3")
    if audited.engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            _sql(audited, "TRUNCATE audit_events")
    assert verify(audited.audit).ok


def test_altered_row_is_named(audited: Database) -> None:
    _disable_trigger(audited)
    _sql(
        audited,
        'UPDATE audit_events SET payload = \'{"check":"max_position","decision":"approve",'
        '"limit":0.5,"measured":0.1}\' WHERE run_id = \'run-a\' AND sequence = 3',
    )
    report = verify(audited.audit)
    assert not report.ok
    first = report.problems[0]
    assert (first.run_id, first.sequence, first.kind) == ("run-a", 3, "altered")
    assert "run run-a: sequence 3 altered" in first.message


def test_altered_row_with_recomputed_hash_breaks_the_next_link(audited: Database) -> None:
    _disable_trigger(audited)
    _sql(
        audited,
        "UPDATE audit_events SET hash = 'f' || substr(hash, 2) WHERE run_id = 'run-b' AND sequence = 5",
    )
    problems = verify(audited.audit, "run-b").problems
    assert [(p.sequence, p.kind) for p in problems] == [(5, "altered"), (6, "relinked")]


def test_deleted_row_is_named(audited: Database) -> None:
    _disable_trigger(audited)
    _sql(audited, "DELETE FROM audit_events WHERE run_id = 'run-a' AND sequence = 4")
    first = verify(audited.audit).problems[0]
    assert (first.run_id, first.sequence, first.kind) == ("run-a", 4, "missing")
    assert "sequence 4 missing (gap between 3 and 5)" in first.message


def test_deleted_first_and_last_rows_are_detected(audited: Database) -> None:
    _disable_trigger(audited)
    _sql(audited, "DELETE FROM audit_events WHERE run_id = 'run-b' AND sequence IN (1, 8)")
    problems = verify(audited.audit, "run-b").problems
    assert [(p.sequence, p.kind) for p in problems] == [(2, "missing"), (8, "missing")]


def test_out_of_order_event_is_refused(audited: Database) -> None:
    late = chain_events("run-a", "corr-1", start=20)[0]
    with pytest.raises(AuditError, match="out of order: the chain's last sequence is 7"):
        audited.audit.append(late)


def test_cli_verify_fails_naming_the_row(audited: Database) -> None:
    url = audited.engine.url.render_as_string(hide_password=False)
    import click

    root = click.Group("ai-trading")
    register(root)
    runner = CliRunner()
    ok = runner.invoke(root, ["audit", "verify", "--url", url])
    assert ok.exit_code == 0, ok.output
    assert "16 rows in 2 run(s)" in ok.output
    _disable_trigger(audited)
    _sql(audited, "UPDATE audit_events SET kind = 'fill' WHERE run_id = 'run-a' AND sequence = 2")
    bad = runner.invoke(root, ["audit", "verify", "--url", url])
    assert bad.exit_code != 0
    assert "run run-a sequence 2 altered" in bad.output


def test_explain_prints_the_decision_chain(audited: Database) -> None:
    order = Order(
        client_order_id="o-1",
        symbol="SPY",
        side="buy",
        quantity=Decimal("20"),  # type: ignore[arg-type]
        correlation_id="corr-1",
        created_at=utc(2024, 1, 2, 14, 30, 5),
    )
    audited.orders.add(order, "run-a")
    chain = explain(audited, "o-1")
    assert chain.kinds() == list(KINDS)
    assert chain.run_id == "run-a"
    import click

    root = click.Group("ai-trading")
    register(root)
    url = audited.engine.url.render_as_string(hide_password=False)
    out = CliRunner().invoke(root, ["audit", "explain", "o-1", "--url", url])
    assert out.exit_code == 0, out.output
    assert "order o-1 (run run-a, correlation corr-1)" in out.output
    assert out.output.count("risk_verdict") == 2 and "circuit_breaker" in out.output
    with pytest.raises(StorageError, match="no stored order"):
        explain(audited, "nope")


def test_commands_join_an_existing_audit_group() -> None:
    import click

    root = click.Group("ai-trading")
    kernel_audit = click.Group("audit")

    @kernel_audit.command("verify")
    def _verify() -> None: ...

    root.add_command(kernel_audit)
    register(root)
    assert set(kernel_audit.commands) == {"verify", "verify-db", "explain"}
    assert {"db", "data"} <= set(root.commands)
