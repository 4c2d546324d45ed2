"""The database audit trail: an HMAC chain per run, sealed, its head on the run row; triggers
that let it move only the way the append path moves it; ``audit verify-db`` naming each
tampering the security review listed. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from ai_trading_storage import migrations
from ai_trading_storage.audit import GENESIS_HASH, canonical_json, explain, verify
from ai_trading_storage.audit.verify import export_heads
from ai_trading_storage.cli import register
from ai_trading_storage.connection import create_db_engine
from ai_trading_storage.repositories import Database
from click.testing import CliRunner

from ai_trading_core.audit import KEY_FILE, AuditHead, AuditKey
from ai_trading_core.errors import AuditError, StorageError
from ai_trading_core.models import AuditEvent, Order, utc

KEY = AuditKey(b"d" * 48, "test key")
KINDS = ("market", "signal", "sizing", "risk_verdict", "risk_verdict", "order", "order_update", "fill")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of each kind (bars as plain partitions: the audit tables are what
    is tested here)."""
    if request.param == "sqlite":
        url = f"sqlite:///{(tmp_path / 'ai-trading.db').as_posix()}"
        migrations.upgrade(url)
        yield url
        return
    url = str(request.getfixturevalue("pg_database_url"))
    migrations.upgrade(url, timescale="off")
    yield url
    migrations.downgrade(url)


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


def seal_event(run_id: str, sequence: int, last_hash: str) -> AuditEvent:
    return AuditEvent(
        sequence=sequence,
        run_id=run_id,
        kind="seal",
        correlation_id="session",
        timestamp=utc(2024, 1, 2, 15),
        payload={"events": sequence - 1, "last_hash": last_hash},
    )


def sealed_run(db: Database, run_id: str, correlation_id: str, start: int = 1) -> str:
    """A run as the engine and the runner leave it: events, a seal, a run row with the head."""
    last = ""
    for ev in chain_events(run_id, correlation_id, start):
        last = db.audit.append(ev)
    seq = start + len(KINDS)
    head = db.audit.append(seal_event(run_id, seq, last))
    db.runs.save(
        {"run_id": run_id, "name": run_id, "mode": "backtest", "audit": {"head": head, "events": seq}},
        stored_at=utc(2024, 1, 3),
    )
    return head


@pytest.fixture
def audited(audit_url: str) -> Iterator[Database]:
    db = Database(create_db_engine(audit_url), audit_key=KEY)
    sealed_run(db, "run-a", "corr-1", start=0)
    sealed_run(db, "run-b", "corr-2")
    yield db
    db.dispose()


def _sql(db: Database, statement: str, **params: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def _disable_triggers(db: Database, *tables: str) -> None:
    """What the database owner (or anyone with the SQLite file) can do to get past the guards."""
    for table in tables:
        if db.engine.dialect.name == "postgresql":
            _sql(db, f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            with db.engine.begin() as conn:
                names = conn.execute(
                    sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table}
                ).scalars()
                for name in list(names):
                    conn.exec_driver_sql(f"DROP TRIGGER {name}")


def _problems(db: Database, **kwargs: object) -> list[tuple[str, int, str]]:
    report = verify(db.audit, run_rows=db.runs.audit_heads(), **kwargs)  # type: ignore[arg-type]
    return [(p.run_id, p.sequence, p.kind) for p in report.problems]


def _cli(db: Database, *args: str) -> object:
    import click

    root = click.Group("ai-trading")
    root.add_command(click.Group("audit"))  # the kernel's group: ours join it as verify-db, export-heads-db
    register(root)
    url = db.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(root, ["audit", *args, "--url", url])


def _last_row(db: Database, run_id: str) -> dict[str, object]:
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT * FROM audit_events WHERE run_id = :r ORDER BY sequence DESC LIMIT 1"), {"r": run_id}
        ).one()
    return dict(row._mapping)


def test_hash_is_hmac_of_prev_hash_and_canonical_json(audited: Database) -> None:
    rows = list(audited.audit.rows("run-a"))
    assert [r.sequence for r in rows] == list(range(9)) and rows[-1].kind == "seal"
    assert rows[0].prev_hash == GENESIS_HASH
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
    assert rows[0].hash == KEY.mac(GENESIS_HASH, canonical.encode())
    assert rows[0].hash != hashlib.sha256((GENESIS_HASH + canonical).encode()).hexdigest()
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    assert json.loads(rows[4].payload)["approved_quantity"] == "20"  # Decimal stored exactly
    head = audited.audit.head("run-a")
    assert head is not None and head.sealed and head.hash == rows[-1].hash
    assert audited.runs.audit_heads()["run-a"] == (rows[-1].hash, 8)
    report = verify(audited.audit, run_rows=audited.runs.audit_heads())
    assert report.ok and report.runs == 2 and report.rows == 18


def test_the_key_never_enters_the_database(audited: Database) -> None:
    with audited.engine.connect() as conn:
        dump = " ".join(
            str(v)
            for table in ("audit_events", "audit_chain_heads", "runs")
            for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
            for v in row
        )
    assert KEY.secret.decode() not in dump


def test_update_and_delete_are_refused_by_the_database(audited: Database) -> None:
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        _sql(audited, "UPDATE audit_events SET payload = '{}' WHERE sequence = 3")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        _sql(audited, "DELETE FROM audit_events WHERE sequence = 3")
    with pytest.raises(sa.exc.DatabaseError, match="audit_chain_heads: DELETE refused"):
        _sql(audited, "DELETE FROM audit_chain_heads WHERE run_id = 'run-a'")
    with pytest.raises(sa.exc.DatabaseError, match="audit head is recorded"):
        _sql(audited, "DELETE FROM runs WHERE run_id = 'run-a'")
    with pytest.raises(sa.exc.DatabaseError, match="audit head is recorded"):
        _sql(audited, "UPDATE runs SET audit_head = 'x' WHERE run_id = 'run-a'")
    if audited.engine.dialect.name == "postgresql":
        for table in ("audit_events", "audit_chain_heads"):
            with pytest.raises(sa.exc.DatabaseError, match="refused"):
                _sql(audited, f"TRUNCATE {table}")
    assert verify(audited.audit, run_rows=audited.runs.audit_heads()).ok


def test_insert_out_of_sequence_is_refused_by_the_database(audited: Database) -> None:
    row = _last_row(audited, "run-a")
    values = {**row, "kind": "session", "payload": "{}"}
    insert = (
        "INSERT INTO audit_events (run_id, sequence, kind, correlation_id, timestamp, payload, prev_hash, hash) "
        "VALUES (:run_id, :sequence, :kind, :correlation_id, :timestamp, :payload, :prev_hash, :hash)"
    )
    with pytest.raises(sa.exc.DatabaseError, match="out of sequence"):  # a gap
        _sql(audited, insert, **{**values, "sequence": 20, "prev_hash": row["hash"]})
    with pytest.raises(sa.exc.DatabaseError, match="out of sequence"):  # not linked to the head
        _sql(audited, insert, **{**values, "sequence": 9, "prev_hash": "f" * 64})
    with pytest.raises(sa.exc.DatabaseError, match="sealed"):  # an order after the seal
        _sql(audited, insert, **{**values, "kind": "order", "sequence": 9, "prev_hash": row["hash"]})
    with pytest.raises(sa.exc.DatabaseError, match="only its first event"):  # a new run from the middle
        _sql(audited, insert, **{**values, "run_id": "run-x", "sequence": 5, "prev_hash": "e" * 64})


def test_heads_move_only_by_the_append_path(audited: Database) -> None:
    head = audited.audit.head("run-b")
    assert head is not None
    for change in (
        "sequence = sequence - 1",
        "count = count + 1",
        "hash = 'f' || substr(hash, 2)",
        "sealed = false" if audited.engine.dialect.name == "postgresql" else "sealed = 0",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="UPDATE refused"):
            _sql(audited, f"UPDATE audit_chain_heads SET {change} WHERE run_id = 'run-b'")
    with pytest.raises(sa.exc.DatabaseError, match="audit_chain_heads"):
        _sql(
            audited,
            "INSERT INTO audit_chain_heads (run_id, sequence, hash, count, sealed) "
            "VALUES ('run-b', 1, :h, 1, :s)",
            h=head.hash,
            s=False,
        )
    after = audited.audit.head("run-b")
    assert after is not None and (after.sequence, after.hash, after.count) == (head.sequence, head.hash, head.count)


def test_forged_insert_with_rehashed_row_and_updated_head_is_detected(audited: Database) -> None:
    """The guards let a linked row through (they cannot check an HMAC); its HMAC gives it away:
    the forger could only hash it with SHA-256, or with a key of their own."""
    row = _last_row(audited, "run-a")
    forged = {
        **row,
        "sequence": 9,
        "kind": "session",
        "payload": '{"event":"resume"}',
        "prev_hash": row["hash"],
    }
    body = json.dumps(
        {
            "correlation_id": forged["correlation_id"],
            "kind": "session",
            "payload": {"event": "resume"},
            "run_id": "run-a",
            "sequence": 9,
            "timestamp": "2024-01-02T15:00:00.000000+00:00",
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    forged["hash"] = hashlib.sha256((str(row["hash"]) + body).encode()).hexdigest()
    _sql(
        audited,
        "INSERT INTO audit_events (run_id, sequence, kind, correlation_id, timestamp, payload, prev_hash, hash) "
        "VALUES (:run_id, :sequence, :kind, :correlation_id, :timestamp, :payload, :prev_hash, :hash)",
        **forged,
    )
    sealed = "false" if audited.engine.dialect.name == "postgresql" else "0"
    _sql(
        audited,
        f"UPDATE audit_chain_heads SET sequence = 9, count = count + 1, hash = :h, sealed = {sealed} "
        "WHERE run_id = 'run-a'",
        h=forged["hash"],
    )
    problems = _problems(audited)
    assert ("run-a", 9, "altered") in problems and ("run-a", 9, "unsealed") in problems


def test_inserted_rehashed_row_with_triggers_disabled_is_detected(audited: Database) -> None:
    _disable_triggers(audited, "audit_events", "audit_chain_heads")
    _sql(audited, "DELETE FROM audit_events WHERE run_id = 'run-b' AND sequence >= 5")
    forged = AuditEvent(
        sequence=5,
        run_id="run-b",
        kind="order",
        correlation_id="corr-2",
        timestamp=utc(2024, 1, 2, 14, 31),
        payload={"client_order_id": "o-9", "side": "sell", "quantity": "2000"},
    )
    forger = Database(audited.engine, audit_key=AuditKey(b"f" * 48, "the forger's key"))
    _sql(audited, "DELETE FROM audit_chain_heads WHERE run_id = 'run-b'")
    _sql(
        audited,
        "INSERT INTO audit_chain_heads (run_id, sequence, hash, count, sealed) "
        "SELECT run_id, sequence, hash, sequence, false FROM audit_events WHERE run_id = 'run-b' AND sequence = 4",
    )
    forger.audit.append(forged)
    problems = _problems(audited)
    assert ("run-b", 5, "altered") in problems
    assert any(p[0] == "run-b" and p[2] == "missing" for p in problems)  # the run row's head is gone


def test_altered_row_with_every_later_hash_recomputed_is_detected(audited: Database) -> None:
    _disable_triggers(audited, "audit_events")
    _sql(audited, "UPDATE audit_events SET payload = :p WHERE run_id = 'run-a' AND sequence = 3",
         p='{"check":"max_position","decision":"approve","limit":0.5,"measured":0.1}')
    problems = _problems(audited)
    assert problems[0] == ("run-a", 3, "altered")
    out = _cli(audited, "verify-db", "--key-file", str(_key_file(audited)))
    assert out.exit_code == 3 and "run run-a sequence 3 altered" in out.output  # type: ignore[attr-defined]


def test_deleted_run_and_its_head_are_detected(audited: Database, tmp_path: Path) -> None:
    anchors = tmp_path / "heads.jsonl"
    report = verify(audited.audit, run_rows=audited.runs.audit_heads())
    anchors.write_text("".join(json.dumps(h) + "\n" for h in export_heads(report, KEY)))
    _disable_triggers(audited, "audit_events", "audit_chain_heads")
    _sql(audited, "DELETE FROM audit_events WHERE run_id = 'run-b'")
    _sql(audited, "DELETE FROM audit_chain_heads WHERE run_id = 'run-b'")
    assert ("run-b", 9, "deleted") in _problems(audited)  # the run row still records its head
    _disable_triggers(audited, "runs")
    _sql(audited, "DELETE FROM runs WHERE run_id = 'run-b'")
    assert _problems(audited) == []  # nothing left inside the database says run-b existed ...
    from ai_trading_core.audit import read_anchors

    # ... the exported anchors do
    assert _problems(audited, anchors=read_anchors(anchors)) == [("run-b", 9, "deleted")]
    out = _cli(audited, "verify-db", "--key-file", str(_key_file(audited)), "--anchors", str(anchors))
    assert out.exit_code == 3 and "run run-b sequence 9 deleted" in out.output  # type: ignore[attr-defined]


def test_fake_run_is_detected(audited: Database) -> None:
    """A whole run made up without the key: accepted row by row by the guards, refused by the
    HMAC; sealed and given a run row, still refused; without a run row, named inserted."""
    forger = Database(audited.engine, audit_key=AuditKey(b"f" * 48, "the forger's key"))
    sealed_run(forger, "run-fake", "corr-9")
    problems = _problems(audited)
    assert ("run-fake", 1, "altered") in problems and all(p[0] == "run-fake" for p in problems)
    forger2 = Database(audited.engine, audit_key=AuditKey(b"g" * 48, "another forger"))
    last = ""
    for ev in chain_events("run-fake-2", "corr-8", 1):
        last = forger2.audit.append(ev)
    forger2.audit.append(seal_event("run-fake-2", 9, last))
    assert ("run-fake-2", 0, "inserted") in _problems(audited)


def test_cutting_the_seal_is_detected(audited: Database) -> None:
    _disable_triggers(audited, "audit_events", "audit_chain_heads")
    _sql(audited, "DELETE FROM audit_events WHERE run_id = 'run-a' AND sequence = 8")
    _sql(
        audited,
        "UPDATE audit_chain_heads SET sequence = 7, count = 8, sealed = false, "
        "hash = (SELECT hash FROM audit_events WHERE run_id = 'run-a' AND sequence = 7) WHERE run_id = 'run-a'",
    )
    problems = _problems(audited)
    assert ("run-a", 7, "unsealed") in problems and ("run-a", 8, "missing") in problems


def test_legacy_unkeyed_chain_is_named(audit_url: str) -> None:
    db = Database(create_db_engine(audit_url), audit_key=KEY)
    ev = chain_events("old", "c")[0]
    payload = json.dumps(ev.model_dump(mode="json")["payload"], sort_keys=True, separators=(",", ":"))
    body = canonical_json(
        {"correlation_id": "c", "kind": "market", "payload": json.loads(payload), "run_id": "old", "sequence": 0,
         "timestamp": "2024-01-02T14:30:00.123456+00:00"}
    )
    digest = hashlib.sha256((GENESIS_HASH + body).encode()).hexdigest()
    _sql(db, "INSERT INTO audit_events (run_id, sequence, kind, correlation_id, timestamp, payload, prev_hash, hash) "
         "VALUES ('old', 0, 'market', 'c', :t, :p, :g, :h)", t=ev.timestamp, p=payload, g=GENESIS_HASH, h=digest)
    assert ("old", 0, "unkeyed") in [(p.run_id, p.sequence, p.kind) for p in verify(db.audit).problems]
    db.dispose()


def test_append_without_a_key_is_refused(audit_url: str) -> None:
    db = Database(create_db_engine(audit_url))
    with pytest.raises(AuditError, match="no audit key"):
        db.audit.append(chain_events("r", "c")[0])
    db.dispose()


def test_out_of_order_event_is_refused(audited: Database) -> None:
    late = chain_events("run-a", "corr-1", start=20)[0]
    with pytest.raises(AuditError, match="out of order: the chain's last sequence is 8"):
        audited.audit.append(late)


def _key_file(db: Database) -> Path:
    folder = Path(str(db.engine.url.database)).parent if db.engine.dialect.name == "sqlite" else None
    import tempfile

    path = Path(tempfile.mkdtemp(dir=folder)) / KEY_FILE
    path.write_bytes(KEY.secret + b"\n")
    path.chmod(0o600)
    return path


def test_cli_verify_export_and_anchor(audited: Database, tmp_path: Path) -> None:
    key_file = _key_file(audited)
    ok = _cli(audited, "verify-db", "--key-file", str(key_file))
    assert ok.exit_code == 0, ok.output  # type: ignore[attr-defined]
    assert "18 rows in 2 run(s)" in ok.output and KEY.key_id in ok.output  # type: ignore[attr-defined]
    out = tmp_path / "heads.jsonl"
    exported = _cli(audited, "export-heads-db", "--key-file", str(key_file), "--out", str(out))
    assert exported.exit_code == 0, exported.output  # type: ignore[attr-defined]
    heads = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(h["run_id"], h["events"], h["key_id"]) for h in heads] == [("run-a", 8, KEY.key_id), ("run-b", 9, KEY.key_id)]
    wrong = tmp_path / "wrong.key"
    wrong.write_text("w" * 64)
    wrong.chmod(0o600)
    bad = _cli(audited, "verify-db", "--key-file", str(wrong))
    assert bad.exit_code == 3 and "does not verify with key" in bad.output  # type: ignore[attr-defined]
    missing = _cli(audited, "verify-db", "--state-dir", str(tmp_path / "empty"))
    assert missing.exit_code != 0 and "no audit key" in missing.output  # type: ignore[attr-defined]


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
    out = _cli(audited, "explain", "o-1")
    assert out.exit_code == 0, out.output  # type: ignore[attr-defined]
    assert "order o-1 (run run-a, correlation corr-1)" in out.output  # type: ignore[attr-defined]
    assert out.output.count("risk_verdict") == 2 and "circuit_breaker" in out.output  # type: ignore[attr-defined]
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
    assert set(kernel_audit.commands) == {"verify", "verify-db", "export-heads-db", "explain"}
    assert {"db", "data"} <= set(root.commands)
    _ = AuditHead  # exported for anchors
