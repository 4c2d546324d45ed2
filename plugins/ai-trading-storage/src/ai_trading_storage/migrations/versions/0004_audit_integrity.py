"""Audit integrity: sealed chain heads, the head recorded on the run row, and triggers that let
the audit tables move only the way the append path moves them.

- ``audit_events``: an INSERT must continue its run's chain (sequence = head + 1, ``prev_hash``
  = the head's hash; after a seal only a ``session`` event, a resumed live run); a run
  without a head may only receive its first event (``prev_hash`` = genesis). UPDATE, DELETE and TRUNCATE stay refused (0001).
- ``audit_chain_heads``: a head is inserted only for a run's first event and advances only by
  one, to the stored event that links to it; ``sealed`` follows the event's kind. DELETE and
  TRUNCATE are refused.
- ``runs``: ``audit_head`` / ``audit_count`` (the sealed head of the run's chain) once set
  only advance to the run's current sealed chain head (a resumed live run, stopped again), and
  a run that has them cannot be deleted.

The triggers keep out accidents and writers without the owner's rights; the HMAC keying of the
chain (see ``docs/security.md``) is what makes a forged row detectable by ``audit verify-db``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

PG_FUNCTIONS = [
    f"""
CREATE FUNCTION audit_events_in_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE h RECORD;
BEGIN
    SELECT sequence, hash, sealed INTO h FROM audit_chain_heads WHERE run_id = NEW.run_id;
    IF NOT FOUND THEN
        IF NEW.prev_hash <> '{GENESIS}' OR EXISTS (SELECT 1 FROM audit_events WHERE run_id = NEW.run_id) THEN
            RAISE EXCEPTION 'audit_events: INSERT out of sequence refused (run % has no chain head; '
                'only its first event may be inserted)', NEW.run_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    ELSIF h.sealed AND NEW.kind <> 'session' THEN
        RAISE EXCEPTION 'audit_events: INSERT refused, run % is sealed (only a resumed session may continue it)',
            NEW.run_id
            USING ERRCODE = 'integrity_constraint_violation';
    ELSIF NEW.sequence <> h.sequence + 1 OR NEW.prev_hash <> h.hash THEN
        RAISE EXCEPTION 'audit_events: INSERT out of sequence refused (run % is at sequence %, got %)',
            NEW.run_id, h.sequence, NEW.sequence USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$
""",
    f"""
CREATE FUNCTION audit_chain_heads_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE e RECORD;
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'audit_chain_heads: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM audit_chain_heads WHERE run_id = NEW.run_id) THEN
        RAISE EXCEPTION 'audit_chain_heads: run % has a head already', NEW.run_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT prev_hash, hash, kind INTO e FROM audit_events WHERE run_id = NEW.run_id AND sequence = NEW.sequence;
    IF NOT FOUND OR e.hash <> NEW.hash OR NEW.sealed <> (e.kind = 'seal') THEN
        RAISE EXCEPTION 'audit_chain_heads: % refused, the head must be the stored event %#%', TG_OP,
            NEW.run_id, NEW.sequence USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF e.prev_hash <> '{GENESIS}' OR NEW.count <> 1 THEN
            RAISE EXCEPTION 'audit_chain_heads: INSERT refused, a new head starts at the first event'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    ELSIF NEW.run_id <> OLD.run_id OR NEW.sequence <> OLD.sequence + 1 OR NEW.count <> OLD.count + 1
            OR e.prev_hash <> OLD.hash THEN
        RAISE EXCEPTION 'audit_chain_heads: UPDATE refused, a head only advances by one linked event'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$
""",
    """
CREATE FUNCTION runs_audit_head_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- a recorded head stays, or advances to the run's current chain head (a resumed live run
    -- sealed again); a run with a recorded head is never deleted
    IF OLD.audit_head IS NOT NULL AND (TG_OP = 'DELETE' OR (
            (NEW.audit_head IS DISTINCT FROM OLD.audit_head OR NEW.audit_count IS DISTINCT FROM OLD.audit_count)
            AND NOT (NEW.audit_count > OLD.audit_count AND EXISTS (
                SELECT 1 FROM audit_chain_heads h WHERE h.run_id = NEW.run_id AND h.hash = NEW.audit_head
                AND h.sequence = NEW.audit_count AND h.sealed))))
    THEN
        RAISE EXCEPTION 'runs: % of run % refused, its audit head is recorded', TG_OP, OLD.run_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$
""",
]
PG_TRIGGERS = [
    "CREATE TRIGGER audit_events_in_sequence BEFORE INSERT ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_in_sequence()",
    "CREATE TRIGGER audit_chain_heads_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_chain_heads "
    "FOR EACH ROW EXECUTE FUNCTION audit_chain_heads_guard()",
    "CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON audit_chain_heads "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_heads_guard()",
    "CREATE TRIGGER runs_audit_head_fixed BEFORE UPDATE OR DELETE ON runs "
    "FOR EACH ROW EXECUTE FUNCTION runs_audit_head_fixed()",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS runs_audit_head_fixed ON runs",
    "DROP TRIGGER IF EXISTS audit_chain_heads_no_truncate ON audit_chain_heads",
    "DROP TRIGGER IF EXISTS audit_chain_heads_guard ON audit_chain_heads",
    "DROP TRIGGER IF EXISTS audit_events_in_sequence ON audit_events",
    "DROP FUNCTION IF EXISTS runs_audit_head_fixed()",
    "DROP FUNCTION IF EXISTS audit_chain_heads_guard()",
    "DROP FUNCTION IF EXISTS audit_events_in_sequence()",
]

# SQLite has no procedural triggers: each rule is a RAISE guarded by a WHERE. INSERT OR
# REPLACE into audit_chain_heads would delete the old head without firing the DELETE trigger
# (recursive_triggers is off by default), so any INSERT for a run that has a head is refused:
# the append path UPDATEs an existing head.
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_events_in_sequence BEFORE INSERT ON audit_events BEGIN
    SELECT RAISE(ABORT, 'audit_events: INSERT refused, the run is sealed')
        WHERE NEW.kind <> 'session'
          AND EXISTS (SELECT 1 FROM audit_chain_heads h WHERE h.run_id = NEW.run_id AND h.sealed);
    SELECT RAISE(ABORT, 'audit_events: INSERT out of sequence refused (the run is at another sequence)')
        WHERE EXISTS (SELECT 1 FROM audit_chain_heads h WHERE h.run_id = NEW.run_id)
          AND NOT EXISTS (SELECT 1 FROM audit_chain_heads h WHERE h.run_id = NEW.run_id
                          AND h.sequence + 1 = NEW.sequence AND h.hash = NEW.prev_hash);
    SELECT RAISE(ABORT, 'audit_events: INSERT out of sequence refused (no chain head: only its first event)')
        WHERE NOT EXISTS (SELECT 1 FROM audit_chain_heads h WHERE h.run_id = NEW.run_id)
          AND (NEW.prev_hash <> '{GENESIS}' OR EXISTS (SELECT 1 FROM audit_events e WHERE e.run_id = NEW.run_id));
END""",
    f"""CREATE TRIGGER audit_chain_heads_first BEFORE INSERT ON audit_chain_heads BEGIN
    SELECT RAISE(ABORT, 'audit_chain_heads: INSERT refused, a new head starts at the run''s first event')
        WHERE EXISTS (SELECT 1 FROM audit_chain_heads h WHERE h.run_id = NEW.run_id)
           OR NEW.count <> 1
           OR NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.run_id = NEW.run_id AND e.sequence = NEW.sequence
                          AND e.hash = NEW.hash AND e.prev_hash = '{GENESIS}' AND (e.kind = 'seal') = NEW.sealed);
END""",
    """CREATE TRIGGER audit_chain_heads_advance BEFORE UPDATE ON audit_chain_heads BEGIN
    SELECT RAISE(ABORT, 'audit_chain_heads: UPDATE refused, a head only advances by one linked event')
        WHERE NEW.run_id <> OLD.run_id OR NEW.sequence <> OLD.sequence + 1 OR NEW.count <> OLD.count + 1
           OR NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.run_id = NEW.run_id AND e.sequence = NEW.sequence
                          AND e.hash = NEW.hash AND e.prev_hash = OLD.hash AND (e.kind = 'seal') = NEW.sealed);
END""",
    """CREATE TRIGGER audit_chain_heads_no_delete BEFORE DELETE ON audit_chain_heads BEGIN
    SELECT RAISE(ABORT, 'audit_chain_heads: DELETE refused');
END""",
    """CREATE TRIGGER runs_audit_head_fixed BEFORE UPDATE ON runs
    WHEN OLD.audit_head IS NOT NULL
         AND (NEW.audit_head IS NOT OLD.audit_head OR NEW.audit_count IS NOT OLD.audit_count)
         AND NOT (NEW.audit_count > OLD.audit_count AND EXISTS (
             SELECT 1 FROM audit_chain_heads h WHERE h.run_id = NEW.run_id AND h.hash = NEW.audit_head
             AND h.sequence = NEW.audit_count AND h.sealed)) BEGIN
    SELECT RAISE(ABORT, 'runs: UPDATE refused, the run''s audit head is recorded');
END""",
    """CREATE TRIGGER runs_audited_no_delete BEFORE DELETE ON runs WHEN OLD.audit_head IS NOT NULL BEGIN
    SELECT RAISE(ABORT, 'runs: DELETE refused, the run''s audit head is recorded');
END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS runs_audited_no_delete",
    "DROP TRIGGER IF EXISTS runs_audit_head_fixed",
    "DROP TRIGGER IF EXISTS audit_chain_heads_no_delete",
    "DROP TRIGGER IF EXISTS audit_chain_heads_advance",
    "DROP TRIGGER IF EXISTS audit_chain_heads_first",
    "DROP TRIGGER IF EXISTS audit_events_in_sequence",
]


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column(
        "audit_chain_heads", sa.Column("sealed", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("runs", sa.Column("audit_head", sa.String(64), nullable=True))
    op.add_column("runs", sa.Column("audit_count", sa.BigInteger(), nullable=True))
    if conn.dialect.name == "postgresql":
        for stmt in PG_FUNCTIONS + PG_TRIGGERS:
            op.execute(stmt)
    else:
        for stmt in SQLITE_TRIGGERS:
            op.execute(stmt)


def downgrade() -> None:
    conn = op.get_bind()
    for stmt in PG_DROP if conn.dialect.name == "postgresql" else SQLITE_DROP:
        op.execute(stmt)
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("audit_count")
        batch.drop_column("audit_head")
    with op.batch_alter_table("audit_chain_heads") as batch:
        batch.drop_column("sealed")
