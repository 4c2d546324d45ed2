"""``audit verify-db``: recompute every run's HMAC chain, check its seal, and cross-check the
heads recorded elsewhere (the run rows, manifests, exported anchors); name every problem."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ai_trading_core.audit import AuditHead, AuditKey

from .chain import GENESIS_HASH, SEAL_KIND, chain_hash, event_bytes, legacy_hash

if TYPE_CHECKING:
    from ..repositories.audit import AuditRepository


@dataclass(frozen=True)
class ChainProblem:
    run_id: str
    sequence: int
    kind: str  # "altered", "missing", "relinked", "unsealed", "unkeyed", "deleted", "inserted", "seal"
    message: str


@dataclass
class VerifyReport:
    runs: int = 0
    rows: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    heads: dict[str, tuple[str, int, bool]] = field(default_factory=dict)  # run -> (hash, count, sealed)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_run(
    repo: AuditRepository,
    run_id: str,
    report: VerifyReport,
    key: AuditKey,
    recorded: tuple[AuditHead, ...] = (),
) -> None:
    """Verify one run's chain against ``key`` and the heads ``recorded`` for it elsewhere."""
    prev_hash = GENESIS_HASH
    prev_seq: int | None = None
    count = 0
    seals: dict[str, int] = {}
    last_kind = ""
    legacy = False

    def problem(seq: int, kind: str, message: str) -> None:
        report.problems.append(ChainProblem(run_id, seq, kind, f"run {run_id}: {message}"))

    for row in repo.rows(run_id):
        count += 1
        if prev_seq is None and row.prev_hash != GENESIS_HASH:
            problem(
                row.sequence,
                "missing",
                f"row(s) missing before sequence {row.sequence} "
                "(the first stored row does not start the chain)",
            )
        elif prev_seq is not None and row.sequence != prev_seq + 1:
            gap = (
                f"sequence {prev_seq + 1}"
                if row.sequence == prev_seq + 2
                else f"sequences {prev_seq + 1}..{row.sequence - 1}"
            )
            problem(prev_seq + 1, "missing", f"{gap} missing (gap between {prev_seq} and {row.sequence})")
        elif prev_seq is not None and row.prev_hash != prev_hash:
            problem(
                row.sequence,
                "relinked",
                f"sequence {row.sequence} does not link to sequence {prev_seq} "
                f"(row {prev_seq} altered or replaced)",
            )
        canonical = event_bytes(row.run_id, row.sequence, row.kind, row.correlation_id, row.timestamp, row.payload)
        if chain_hash(row.prev_hash, canonical, key) != row.hash:
            # a chain written before keying (0004) is SHA-256 from its first row: named once; a
            # SHA-256 row inside a keyed chain is a forgery like any other
            if (count == 1 or legacy) and legacy_hash(row.prev_hash, canonical) == row.hash:
                if count == 1:
                    legacy = True
                    problem(
                        row.sequence,
                        "unkeyed",
                        "written with the unkeyed SHA-256 chain of an earlier version: its integrity cannot be "
                        "proven against anyone who could write the database",
                    )
            else:
                problem(
                    row.sequence,
                    "altered",
                    f"sequence {row.sequence} altered or forged (its HMAC does not verify with key {key.key_id})",
                )
        if row.kind == SEAL_KIND:
            payload = json.loads(row.payload)
            if payload.get("events") != row.sequence - 1 or payload.get("last_hash") != row.prev_hash:
                problem(row.sequence, "seal", f"the seal at sequence {row.sequence} does not match its chain")
            seals[row.hash] = row.sequence
        elif last_kind == SEAL_KIND and row.kind != "session":
            problem(row.sequence, "inserted", f"a {row.kind!r} event at sequence {row.sequence} follows the seal")
        last_kind = row.kind
        prev_hash, prev_seq = row.hash, row.sequence
    head = repo.head(run_id)
    if head is not None:
        if prev_seq is None:
            problem(head.sequence, "missing", f"all {head.count} rows missing")
        elif head.sequence != prev_seq or head.hash != prev_hash:
            problem(
                prev_seq + 1,
                "missing",
                f"rows after sequence {prev_seq} missing (the chain head is at sequence {head.sequence})",
            )
        elif head.count != count:
            problem(
                prev_seq,
                "missing",
                f"{head.count - count} row(s) missing (head counts {head.count}, found {count})",
            )
    elif prev_seq is not None:
        problem(prev_seq, "missing", "the chain has rows but no head (its head was deleted)")
    if prev_seq is not None and last_kind != SEAL_KIND:
        problem(
            prev_seq,
            "unsealed",
            f"the chain ends at sequence {prev_seq} without a seal (truncated, or the run has not stopped cleanly)",
        )
    for anchor in recorded:
        if seals.get(anchor.head) != anchor.events:
            what = "deleted" if prev_seq is None else "missing"
            problem(
                anchor.events,
                what,
                f"{anchor.source} records the sealed head {anchor.head[:16]}… at {anchor.events} events, "
                + ("but the run has no audit rows (deleted)" if prev_seq is None else "which is not in the chain"),
            )
    if prev_seq is not None:
        report.heads[run_id] = (prev_hash, prev_seq, last_kind == SEAL_KIND)
    report.runs += 1
    report.rows += count


def verify(
    repo: AuditRepository,
    run_id: str | None = None,
    *,
    key: AuditKey | None = None,
    run_rows: dict[str, tuple[str | None, int | None]] | None = None,
    anchors: Iterable[AuditHead] = (),
) -> VerifyReport:
    """Verify one run's chain, or every run's, with ``key`` (default: the repository's).

    :param run_rows: run id → (audit head, count) of the ``runs`` table: each run row with a
        head must find it sealed in its chain, and each sealed chain must have a run row
        (else it was inserted, or its run row deleted).
    :param anchors: heads recorded outside the database (manifests, an ``export-heads`` file):
        each must be in its chain; a run they name that the database lacks was deleted.
    """
    key = key or repo.key
    if key is None:
        from ai_trading_core.errors import AuditError

        raise AuditError("cannot verify the audit trail: no audit key")
    recorded: dict[str, list[AuditHead]] = {}
    for anchor in anchors:
        recorded.setdefault(anchor.run_id, []).append(anchor)
    rows = run_rows or {}
    for rid, (head, events) in rows.items():
        if head:
            recorded.setdefault(rid, []).append(AuditHead(rid, head, int(events or 0), "the run row"))
    report = VerifyReport()
    ids = [run_id] if run_id is not None else sorted(set(repo.run_ids()) | set(recorded))
    for rid in ids:
        verify_run(repo, rid, report, key, tuple(recorded.get(rid, ())))
    if run_rows is not None:
        for rid, (_, _, sealed) in report.heads.items():
            if sealed and not (rows.get(rid) or (None, None))[0]:
                report.problems.append(
                    ChainProblem(
                        rid,
                        0,
                        "inserted",
                        f"run {rid}: a sealed audit chain without a run row recording its head "
                        "(a run inserted, or its run row deleted)",
                    )
                )
    report.problems.sort(key=lambda p: (p.run_id, p.sequence))
    return report


def export_heads(report: VerifyReport, key: AuditKey) -> list[dict[str, object]]:
    """The sealed heads of a verified report, one JSON object per run, for anchoring outside
    the database (``audit export-heads``)."""
    return [
        {"run_id": rid, "head": h, "events": n, "key_id": key.key_id}
        for rid, (h, n, sealed) in sorted(report.heads.items())
        if sealed
    ]
