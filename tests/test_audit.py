"""The JSON-lines audit trail: an HMAC chain sealed on a clean stop. Each tampering the
security review listed is detected, by the function and by ``ai-trading audit verify``."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from ai_trading_core.audit import (
    KEY_FILE,
    AuditHead,
    AuditKey,
    JsonlAuditSink,
    canonical_json,
    resolve_audit_key,
    verify_audit_file,
)
from ai_trading_core.errors import AuditError
from ai_trading_core.models import AuditEvent, utc

KEY = AuditKey(b"k" * 40, "test key")


def _event(i: int, kind: str = "order", **payload: Any) -> AuditEvent:
    return AuditEvent(
        sequence=i,
        run_id="r",
        kind=kind,
        correlation_id=f"c{i}",
        timestamp=utc(2020, 1, i),
        payload=payload or {"qty": str(i)},
    )


def _write(path: Path, n: int = 5, *, seal: bool = True) -> str:
    """``n`` events then a seal, as the engine writes them; returns the seal's hash."""
    sink = JsonlAuditSink(path, KEY)
    last = ""
    for i in range(1, n + 1):
        last = sink.ai_trading_audit_event(_event(i))
    if seal:
        last = sink.ai_trading_audit_event(_event(n + 1, "seal", events=n, last_hash=last))
    sink.close()
    return last


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _save(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


def _rehash(records: list[dict[str, Any]], start: int, mac: Any) -> list[str]:
    """Recompute prev_hash/hash from ``start`` on with ``mac(prev, canonical)``: what a forger
    who rewrites every later line does."""
    prev = records[start - 1]["hash"] if start else "0" * 64
    out = []
    for i, rec in enumerate(records):
        if i >= start:
            body = {k: v for k, v in rec.items() if k not in ("prev_hash", "hash")}
            canonical = canonical_json(AuditEvent.model_validate(body))
            rec = {**rec, "prev_hash": prev, "hash": mac(prev, canonical)}
            prev = rec["hash"]
        out.append(json.dumps(rec, sort_keys=True, separators=(",", ":")))
    return out


def test_intact_sealed_chain_verifies(tmp_path: Path) -> None:
    head = _write(tmp_path / "a.jsonl")
    result = verify_audit_file(tmp_path / "a.jsonl", KEY, expected=(AuditHead("r", head, 6, "the manifest"),))
    assert result.ok and result.lines == 6 and result.sealed and result.head == head
    assert result.seals == {"r": (head, 6)}


def test_file_is_private(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl")
    assert stat.S_IMODE((tmp_path / "a.jsonl").stat().st_mode) == 0o600


def test_the_key_never_enters_the_trail(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl")
    text = (tmp_path / "a.jsonl").read_bytes()
    assert KEY.secret not in text and KEY.key_id.encode() not in text


def test_altered_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _write(path)
    lines = _lines(path)
    rec = json.loads(lines[2])
    rec["payload"]["qty"] = "300"
    lines[2] = json.dumps(rec, sort_keys=True, separators=(",", ":"))
    _save(path, lines)
    result = verify_audit_file(path, KEY)
    assert not result.ok and result.line == 3 and "altered or forged" in result.problem


def test_deleted_line_is_detected(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "a.jsonl"
    _write(path)
    lines = _lines(path)
    del lines[1]
    _save(path, lines)
    result = verify_audit_file(path, KEY)
    assert not result.ok and result.line == 2 and "chain broken" in result.problem
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY.secret)
    key_file.chmod(0o600)
    out = cli("audit", "verify", str(path), "--key-file", str(key_file))
    assert out.returncode == 3 and "line 2" in out.stderr


def test_cutting_the_last_lines_is_detected(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "a.jsonl"
    head = _write(path)
    _save(path, _lines(path)[:-2])  # the seal and the event before it
    result = verify_audit_file(path, KEY)
    assert not result.ok and "does not end with a seal" in result.problem
    # the manifest beside the trail records the head: the CLI names it missing
    (tmp_path / "manifest.json").write_text(json.dumps({"run_id": "r", "audit": {"head": head, "events": 6}}))
    state = tmp_path / "state"
    state.mkdir()
    (state / KEY_FILE).write_bytes(KEY.secret + b"\n")
    (state / KEY_FILE).chmod(0o600)
    out = cli("audit", "verify", str(path), "--state-dir", str(state))
    assert out.returncode == 3, out.stderr
    assert "the manifest" not in out.stderr and "manifest.json records for run r is not in the trail" in out.stderr


def test_cutting_back_to_an_earlier_seal_is_caught_by_the_recorded_head(tmp_path: Path) -> None:
    """A resumed run seals twice; cutting the second session leaves a sealed file, but not
    the head its run document recorded."""
    path = tmp_path / "a.jsonl"
    first = _write(path, 3)
    sink = JsonlAuditSink(path, KEY)
    h = sink.ai_trading_audit_event(_event(5, "session", event="resume"))
    head = sink.ai_trading_audit_event(_event(6, "seal", events=5, last_hash=h))
    sink.close()
    assert verify_audit_file(path, KEY, expected=(AuditHead("r", head, 6, "run document"),)).ok
    _save(path, _lines(path)[:4])
    assert verify_audit_file(path, KEY).ok and verify_audit_file(path, KEY).head == first
    result = verify_audit_file(path, KEY, expected=(AuditHead("r", head, 6, "run document"),))
    assert not result.ok and "run document records for run r is not in the trail" in result.problem


def test_empty_file_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    _write(path)
    path.write_text("")
    result = verify_audit_file(path, KEY)
    assert not result.ok and "empty" in result.problem


def test_forged_append_with_recomputed_hash_is_detected(tmp_path: Path) -> None:
    """Without the key a forger can only recompute SHA-256 (or an HMAC under a key of their
    own): neither verifies."""
    path = tmp_path / "a.jsonl"
    _write(path)
    lines = _lines(path)
    records = [json.loads(line) for line in lines]
    forged = {**records[-2], "sequence": 7, "kind": "session", "payload": {"event": "resume"}}
    forger = AuditKey(b"f" * 40, "forger")
    for mac in (
        lambda prev, c: hashlib.sha256((prev + c).encode()).hexdigest(),
        lambda prev, c: forger.mac(prev, c.encode()),
    ):
        _save(path, _rehash([*records, forged], len(records), mac))
        result = verify_audit_file(path, KEY)
        assert not result.ok and result.line == 7 and "altered or forged" in result.problem


def test_edited_line_with_every_later_hash_recomputed_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _write(path)
    records = [json.loads(line) for line in _lines(path)]
    records[1]["payload"]["qty"] = "2000"
    _save(path, _rehash(records, 1, lambda prev, c: hashlib.sha256((prev + c).encode()).hexdigest()))
    result = verify_audit_file(path, KEY)
    assert not result.ok and result.line == 2 and "altered or forged" in result.problem


def test_events_appended_after_the_seal_are_detected(tmp_path: Path) -> None:
    """Even written with the key (a bug, or a second writer), an order after the seal is not
    part of the closed run."""
    path = tmp_path / "a.jsonl"
    _write(path)
    sink = JsonlAuditSink(path, KEY)
    sink.ai_trading_audit_event(_event(7))
    sink.close()
    result = verify_audit_file(path, KEY)
    assert not result.ok and "after the seal" in result.problem


def test_wrong_key_is_reported_as_such(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl")
    result = verify_audit_file(tmp_path / "a.jsonl", AuditKey(b"w" * 40, "another key"))
    assert not result.ok and result.line == 1 and "does not verify with key" in result.problem


def test_legacy_unkeyed_trail_is_named(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl"
    records = [{**json.loads(canonical_json(_event(i))), "prev_hash": "", "hash": ""} for i in (1, 2)]
    _save(path, _rehash(records, 0, lambda prev, c: hashlib.sha256((prev + c).encode()).hexdigest()))
    result = verify_audit_file(path, KEY)
    assert not result.ok and "unkeyed SHA-256" in result.problem


def test_appending_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _write(path, 3, seal=False)
    sink = JsonlAuditSink(path, KEY)
    h = sink.ai_trading_audit_event(_event(4, "fill"))
    sink.ai_trading_audit_event(_event(5, "seal", events=4, last_hash=h))
    sink.close()
    assert verify_audit_file(path, KEY).ok


def test_key_file_is_created_private_once_and_reused(tmp_path: Path) -> None:
    key = resolve_audit_key({}, tmp_path / "state")
    path = tmp_path / "state" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_audit_key({}, tmp_path / "state").key_id == key.key_id
    assert key.secret.decode() not in repr(key) and key.key_id in repr(key)
    path.chmod(0o644)
    with pytest.raises(AuditError, match="chmod 600"):
        resolve_audit_key({}, tmp_path / "state")


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: resolve_audit_key({}, tmp_path).key_id, range(32)))
    assert len(ids) == 1 and sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE]


def test_key_from_the_secrets_store_wins_and_no_key_is_an_error(tmp_path: Path) -> None:
    from pydantic import SecretStr

    secret = "s" * 64
    key = resolve_audit_key({"AUDIT_HMAC_KEY": SecretStr(secret)}, tmp_path)
    assert key.secret == secret.encode() and "credential" in key.source
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(AuditError, match="no audit key"):
        resolve_audit_key({}, tmp_path / "nowhere", create=False)
    with pytest.raises(AuditError, match="shorter than 32 bytes"):
        resolve_audit_key({"audit_hmac_key": "short"}, tmp_path)
    assert os.environ.get("AI_TRADING_CREDENTIALS__AUDIT_HMAC_KEY") is None


def test_cli_run_export_heads_and_verify_against_them(tmp_path: Path, cli: Any) -> None:
    """A subprocess run seals its trail; export-heads verifies it and prints the head;
    verify --anchors then catches the trail cut back behind it."""
    config = tmp_path / "c.toml"
    config.write_text(
        '[run]\noutput_dir = "runs"\nstate_dir = "state"\n'
        '[data]\nname = "synthetic"\nparams = { n_symbols = 2, n_bars = 80, seed = 4 }\n'
        '[[strategies]]\nname = "sma_crossover"\nid = "s"\nparams = { fast = 3, slow = 8 }\n'
    )
    env = {"AI_TRADING_LOAD_PLUGINS": "sample-data,sim,sma"}
    run = cli("run", str(config), "--quiet", "--json-out", "doc.json", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    doc = json.loads((tmp_path / "doc.json").read_text())
    trail = tmp_path / "runs" / doc["run_id"] / "audit.jsonl"
    assert stat.S_IMODE((tmp_path / "runs" / doc["run_id"] / "log.jsonl").stat().st_mode) == 0o600
    exported = cli("audit", "export-heads", "--state-dir", "state", "--out", "heads.jsonl", cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    (head,) = [json.loads(line) for line in (tmp_path / "heads.jsonl").read_text().splitlines()]
    assert head == {"run_id": doc["run_id"], "head": doc["audit"]["head"], "events": doc["audit"]["events"]}
    verify = ("audit", "verify", str(trail), "--state-dir", "state", "--anchors", "heads.jsonl")
    ok = cli(*verify, cwd=tmp_path, env=env)
    assert ok.returncode == 0 and "sealed, 2 recorded head(s) found" in ok.stdout, ok.stderr
    # cut the trail and the manifest to an earlier, consistent-looking point: the anchor still knows
    lines = _lines(trail)
    _save(trail, lines[:-1])
    (tmp_path / "runs" / doc["run_id"] / "manifest.json").unlink()
    cut = cli(*verify, cwd=tmp_path, env=env)
    assert cut.returncode == 3 and "heads.jsonl:1 records for run" in cut.stderr
    # and export refuses while a trail does not verify
    (tmp_path / "runs" / doc["run_id"] / "manifest.json").write_text(json.dumps({"run_id": doc["run_id"], "audit": doc["audit"]}))
    refused = cli("audit", "export-heads", "--state-dir", "state", cwd=tmp_path, env=env)
    assert refused.returncode == 3 and "nothing exported" in refused.stderr
