from __future__ import annotations

import json

import pytest

from ai_trading_core.audit import JsonlAuditSink, verify_audit_file
from ai_trading_core.models import AuditEvent, utc


def _write(path, n=5):  # type: ignore[no-untyped-def]
    sink = JsonlAuditSink(path)
    for i in range(1, n + 1):
        sink.ai_trading_audit_event(AuditEvent(sequence=i, run_id="r", kind="order", correlation_id=f"c{i}",
                                               timestamp=utc(2020, 1, i), payload={"qty": str(i)}))
    sink.close()


def test_intact_chain_verifies(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path / "a.jsonl")
    result = verify_audit_file(tmp_path / "a.jsonl")
    assert result.ok and result.lines == 5


def test_altered_line_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.jsonl"
    _write(path)
    lines = path.read_text().splitlines()
    rec = json.loads(lines[2])
    rec["payload"]["qty"] = "300"
    lines[2] = json.dumps(rec, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    result = verify_audit_file(path)
    assert not result.ok and result.line == 3 and "altered" in result.problem


def test_deleted_line_is_detected(tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.jsonl"
    _write(path)
    lines = path.read_text().splitlines()
    del lines[1]
    path.write_text("\n".join(lines) + "\n")
    result = verify_audit_file(path)
    assert not result.ok and result.line == 2 and "chain broken" in result.problem
    out = cli("audit", "verify", str(path))
    assert out.returncode == 3 and "line 2" in out.stderr


def test_appending_continues_the_chain(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.jsonl"
    _write(path, 3)
    sink = JsonlAuditSink(path)
    sink.ai_trading_audit_event(AuditEvent(sequence=4, run_id="r", kind="fill", correlation_id="c4",
                                           timestamp=utc(2020, 2, 1), payload={}))
    sink.close()
    assert verify_audit_file(path).ok


@pytest.mark.parametrize("n", [0])
def test_empty_file_is_ok(tmp_path, n) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "e.jsonl"
    path.write_text("")
    assert verify_audit_file(path).ok
