"""``audit verify``: recompute every run's chain and name the first altered or missing row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..repositories.audit import AuditRepository
from .chain import GENESIS_HASH, chain_hash, event_bytes


@dataclass(frozen=True)
class ChainProblem:
    run_id: str
    sequence: int
    kind: str  # "altered", "missing", "relinked"
    message: str


@dataclass
class VerifyReport:
    runs: int = 0
    rows: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_run(repo: AuditRepository, run_id: str, report: VerifyReport) -> None:
    prev_hash = GENESIS_HASH
    prev_seq: int | None = None
    count = 0

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
        recomputed = chain_hash(
            row.prev_hash,
            event_bytes(row.run_id, row.sequence, row.kind, row.correlation_id, row.timestamp, row.payload),
        )
        if recomputed != row.hash:
            problem(
                row.sequence,
                "altered",
                f"sequence {row.sequence} altered (its hash does not match its content)",
            )
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
    report.runs += 1
    report.rows += count


def verify(repo: AuditRepository, run_id: str | None = None) -> VerifyReport:
    """Verify one run's chain, or every run's."""
    report = VerifyReport()
    for rid in [run_id] if run_id is not None else repo.run_ids():
        verify_run(repo, rid, report)
    report.problems.sort(key=lambda p: (p.run_id, p.sequence))
    return report
