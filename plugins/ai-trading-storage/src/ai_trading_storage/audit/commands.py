"""``audit verify-db`` and ``audit export-heads-db``: the database trail checked with the audit
key against the heads recorded on the run rows, in manifests and in exported anchors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ai_trading_core.audit import (
    AuditHead,
    audit_key_for_command,
    credentials_for_commands,
    heads_of_manifests,
    read_anchors,
)
from ai_trading_core.errors import AiTradingError

from ..connection import create_db_engine
from ..repositories import Database
from .verify import VerifyReport, export_heads, verify

ENV_URL = "AI_TRADING_STORAGE_URL"
DEFAULT_URL = "sqlite:///.ai-trading/ai-trading.db"


class AuditCommandFailed(click.ClickException):
    """A command error with the framework's exit code (3: the trail does not verify)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click reads the instance's


def _key_options(func: Any) -> Any:
    func = click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(".ai-trading"),
        show_default=True,
        help="where the runs kept their audit key (audit-hmac.key) when no credential names one",
    )(func)
    func = click.option(
        "--key-file", type=click.Path(dir_okay=False, path_type=Path), help="the audit key file (mode 0600)"
    )(func)
    return click.option(
        "--url", envvar=ENV_URL, default=DEFAULT_URL, show_default=True, help=f"database URL (or ${ENV_URL})"
    )(func)


def _verified(
    url: str, key_file: Path | None, state_dir: Path, run_id: str | None, anchors: tuple[AuditHead, ...]
) -> tuple[VerifyReport, Any]:
    key = audit_key_for_command(key_file, state_dir, credentials_for_commands(_host()))
    db = Database(create_db_engine(url), audit_key=key)
    try:
        rows = db.runs.audit_heads()
        if run_id is not None:
            rows = {k: v for k, v in rows.items() if k == run_id}
            anchors = tuple(a for a in anchors if a.run_id == run_id)
        return verify(db.audit, run_id, run_rows=rows, anchors=anchors), key
    finally:
        db.dispose()


def _host() -> Any:
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj.get("host") if isinstance(obj, dict) else None


@click.command("verify-db")
@_key_options
@click.option("--run-id", default=None, help="verify one run (default: every run)")
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="also check the heads recorded in these runs' manifests (run.output_dir; runs with a [storage])",
)
@click.option(
    "--anchors", type=click.Path(dir_okay=False, path_type=Path), help="heads exported by 'audit export-heads[-db]'"
)
def audit_verify_db(
    url: str, key_file: Path | None, state_dir: Path, run_id: str | None, runs_dir: Path | None, anchors: Path | None
) -> None:
    """Verify the database audit trail: every run's HMAC chain and seal, each run row's
    recorded head, and the heads of manifests and exported anchors. Fails naming every
    altered, forged, missing, unsealed, deleted or inserted run."""
    try:
        from_manifests = heads_of_manifests(runs_dir, stored_only=True) if runs_dir else ()
        recorded = from_manifests + (read_anchors(anchors) if anchors else ())
        report, key = _verified(url, key_file, state_dir, run_id, recorded)
    except AiTradingError as exc:
        raise AuditCommandFailed(str(exc), exc.exit_code) from exc
    if not report.ok:
        for p in report.problems:
            click.echo(p.message, err=True)
        first = report.problems[0]
        raise AuditCommandFailed(
            f"audit trail does not verify: run {first.run_id} sequence {first.sequence} {first.kind} "
            f"({len(report.problems)} problem(s))",
            3,
        )
    click.echo(
        f"audit trail verified: {report.rows} rows in {report.runs} run(s), HMAC chains intact and sealed "
        f"(key {key.key_id})"
    )


@click.command("export-heads-db")
@_key_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="append here instead of stdout")
def audit_export_heads_db(url: str, key_file: Path | None, state_dir: Path, out: Path | None) -> None:
    """Verify the database trail, then print its sealed heads as JSON lines for anchoring where
    the key holder cannot rewrite them (a WORM bucket, another party)."""
    try:
        report, key = _verified(url, key_file, state_dir, None, ())
    except AiTradingError as exc:
        raise AuditCommandFailed(str(exc), exc.exit_code) from exc
    broken = [p for p in report.problems if p.kind != "unsealed"]  # runs in progress have no seal yet
    if broken:
        raise AuditCommandFailed(
            f"refusing to export heads of a trail that does not verify ({len(broken)} problem(s); "
            "run 'audit verify-db')",
            3,
        )
    lines = [json.dumps(h, sort_keys=True) for h in export_heads(report, key)]
    if out is None:
        for line in lines:
            click.echo(line)
    else:
        with out.open("a", encoding="utf-8") as fh:
            fh.writelines(line + "\n" for line in lines)
        click.echo(f"appended {len(lines)} head(s) to {out}", err=True)
