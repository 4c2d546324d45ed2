"""The embedded audit trail: append-only JSON lines, chained with HMAC-SHA256, sealed on a clean
stop.

Each line is ``{"sequence", "run_id", "kind", "correlation_id", "timestamp", "payload",
"prev_hash", "hash"}`` with ``hash = HMAC-SHA256(key, prev_hash + canonical_json(event))``
where the canonical form has sorted keys, no spaces, and the first ``prev_hash`` is 64 zeros.
The key (:class:`AuditKey`) never enters the trail; only its fingerprint (``key_id``) does, in
the run document and the manifest.

On every clean stop the engine appends a ``seal`` event whose payload holds the number of
events before it and the last hash; the seal's own hash (the *head*) is recorded in the run
document, the manifest and the database's run row. :func:`verify_audit_file` then detects:

- a changed, inserted or removed line (its HMAC, or the next line's link, no longer matches);
- an edit with every later hash recomputed, or a forged append (without the key no one can
  compute a valid HMAC);
- truncation: the trail no longer ends with a seal, or it no longer holds the head the run
  document / manifest recorded; an emptied file.

What it cannot detect: whoever holds the key can rewrite the trail, seal and all, and edit the
manifest to match. Against that, export the heads (``ai-trading audit export-heads``) to a
store the key holder cannot rewrite (a WORM bucket, another party). See ``docs/security.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from loguru import logger

from . import hookimpl
from .errors import AuditError
from .models import AuditEvent

GENESIS = "0" * 64
SEAL_KIND = "seal"
KEY_CREDENTIAL = "audit_hmac_key"
"""Name of the credential (secrets store, ``[credentials]`` or ``AI_TRADING_CREDENTIALS__AUDIT_HMAC_KEY``)
holding the audit key."""
KEY_FILE = "audit-hmac.key"
"""Key file in the state dir, created (mode 0600) on first use when no credential names a key."""
MIN_KEY_BYTES = 32


@dataclass(frozen=True, repr=False)
class AuditKey:
    """The HMAC key of the audit chain. ``source`` says where it came from, never what it is."""

    secret: bytes = field(repr=False)
    source: str
    _keyed: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_BYTES:
            raise AuditError(
                f"the audit key from {self.source} is shorter than {MIN_KEY_BYTES} bytes; "
                "use e.g. 64 hex digits from a random source"
            )
        # the key schedule once; each event copies it (a third of the cost of hmac.new)
        object.__setattr__(self, "_keyed", hmac.new(self.secret, digestmod=hashlib.sha256))

    def __repr__(self) -> str:
        return f"AuditKey({self.key_id} from {self.source})"

    @property
    def key_id(self) -> str:
        """A fingerprint naming the key (16 hex digits); it reveals nothing of the key."""
        return hashlib.sha256(b"ai-trading audit key id\x00" + self.secret).hexdigest()[:16]

    def mac(self, prev_hash: str, canonical: bytes) -> str:
        """``HMAC-SHA256(key, prev_hash + canonical)`` as hex."""
        h = self._keyed.copy()
        h.update(prev_hash.encode("ascii"))
        h.update(canonical)
        return str(h.hexdigest())


def resolve_audit_key(credentials: Mapping[str, Any], state_dir: Path, *, create: bool = True) -> AuditKey:
    """The audit key: the ``audit_hmac_key`` credential when one is configured (a secrets
    store, ``[credentials]`` or the environment), else the key file ``<state_dir>/audit-hmac.key``,
    created with 64 random hex digits and mode 0600 on first use when ``create``. A key file
    that group or others may read is refused."""
    value = next((v for k, v in credentials.items() if k.lower() == KEY_CREDENTIAL), None)
    if value is not None:
        text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        return AuditKey(text.strip().encode("utf-8"), f"credential {KEY_CREDENTIAL}")
    path = Path(state_dir) / KEY_FILE
    if not path.exists():
        if not create:
            raise AuditError(
                f"no audit key: no credential {KEY_CREDENTIAL!r} and no key file {path} "
                "(pass --key-file, or the state dir of the runs)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        # written whole under a private name, then linked into place: a process starting at the
        # same moment finds either no key file or a complete one, and never replaces it
        tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)
            logger.info("created the audit key file {} (mode 0600)", path)
        except FileExistsError:
            pass  # another process created it meanwhile: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    return read_audit_key_file(path)


def read_audit_key_file(path: Path) -> AuditKey:
    """The key in ``path`` (its first line, stripped); the file must be mode 0600 or stricter."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AuditError(f"audit key file not found: {path}") from None
    if os.name == "posix" and st.st_mode & 0o077:
        raise AuditError(
            f"audit key file {path} is accessible by group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run 'chmod 600 {path}'"
        )
    lines = path.read_text(encoding="utf-8").strip().splitlines()
    return AuditKey(lines[0].strip().encode("utf-8") if lines else b"", f"key file {path}")


def canonical_json(event: AuditEvent) -> str:
    doc = event.model_dump(mode="json")
    doc["timestamp"] = event.timestamp.isoformat(timespec="microseconds")
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, event: AuditEvent, key: AuditKey) -> str:
    return key.mac(prev_hash, canonical_json(event).encode())


def _legacy_hash(prev_hash: str, canonical: str) -> str:
    """The unkeyed SHA-256 chain of earlier versions, recognised to say so instead of 'altered'."""
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


class JsonlAuditSink:
    """Writes audit events to a JSON-lines file (mode 0600), flushed (and optionally fsynced)
    per event. Registered with the run's plugin manager as the ``audit-jsonl`` plugin; returns
    each event's hash, which the engine seals."""

    def __init__(self, path: Path, key: AuditKey, *, fsync: bool = False) -> None:
        self.path = path
        self.key = key
        self.fsync = fsync
        self._fh: IO[str] | None = None
        self._prev = GENESIS
        self.count = 0

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size:
            _drop_torn_tail(self.path)
            last = _last_line(self.path)
            if last:
                self._prev = json.loads(last)["hash"]
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._fh = os.fdopen(fd, "a", encoding="utf-8")

    @hookimpl
    def ai_trading_audit_event(self, event: AuditEvent) -> str:
        if self._fh is None:
            self.open()
        assert self._fh is not None
        canonical = canonical_json(event)
        digest = self.key.mac(self._prev, canonical.encode())
        record: dict[str, Any] = json.loads(canonical)
        record["prev_hash"] = self._prev
        record["hash"] = digest
        try:
            self._fh.write(json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")
            self._fh.flush()
            if self.fsync:
                os.fsync(self._fh.fileno())
        except OSError as exc:
            raise AuditError(f"cannot write audit trail {self.path}: {exc}") from exc
        self._prev = digest
        self.count += 1
        return digest

    def events_after(self, run_id: str, sequence: int) -> list[tuple[AuditEvent, str]]:
        """The events of ``run_id`` after ``sequence`` at the end of the file, oldest first,
        each with its hash: what a process killed between this sink's write and the
        storage's recorded here only (see ``Engine.adopt_audit_tail``)."""
        if not self.path.exists() or not self.path.stat().st_size:
            return []
        _drop_torn_tail(self.path)
        with self.path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 262_144))
            lines = fh.read().decode("utf-8", errors="replace").splitlines()
        out: list[tuple[AuditEvent, str]] = []
        for line in reversed(lines[1:] if size > 262_144 else lines):
            try:
                record = json.loads(line)
            except ValueError:
                break
            if record.get("run_id") != run_id or int(record.get("sequence", 0)) <= sequence:
                break
            digest = record.pop("hash")
            record.pop("prev_hash", None)
            out.append((AuditEvent.model_validate(record), digest))
        return out[::-1]

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _drop_torn_tail(path: Path) -> None:
    """A process killed in the middle of a write leaves a last line without its newline: that
    record was never complete (nor acted on), so it is cut off before the chain continues."""
    with path.open("rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        block = min(size, 65536)
        fh.seek(size - block)
        tail = fh.read()
        cut = tail.rfind(b"\n")
        keep = size - block + cut + 1 if cut >= 0 else (0 if block == size else size)
        if keep == size:
            return
        fh.truncate(keep)
    logger.warning(
        "audit trail {}: dropped a torn last record ({} bytes) left by an interrupted write", path, size - keep
    )


def _last_line(path: Path) -> str:
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        block = min(size, 65536)
        fh.seek(size - block)
        lines = fh.read().decode("utf-8").strip().splitlines()
    return lines[-1] if lines else ""


@dataclass(frozen=True)
class AuditHead:
    """A sealed head as recorded outside the trail (run document, manifest, database run row,
    an exported anchor): the seal's hash and the number of events it closes, seal included."""

    run_id: str
    head: str
    events: int
    source: str


def head_of_document(document: Mapping[str, Any], source: str) -> AuditHead | None:
    """The ``audit`` section of a run document or manifest as an :class:`AuditHead`; None
    when it records none (a run without an audit trail)."""
    audit = document.get("audit")
    if not isinstance(audit, Mapping) or not audit.get("head"):
        return None
    return AuditHead(str(document.get("run_id", "")), str(audit["head"]), int(audit.get("events", 0)), source)


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    lines: int
    problem: str = ""
    line: int | None = None
    head: str = ""
    sealed: bool = False
    seals: dict[str, tuple[str, int]] = field(default_factory=dict)  # run id -> (last seal hash, events)


def verify_audit_file(
    path: Path, key: AuditKey, *, expected: tuple[AuditHead, ...] = ()
) -> AuditVerification:
    """Check the HMAC chain, the seals, and the heads recorded elsewhere (``expected``: from
    the run document, the manifest, an export). Reports the first problem with its line
    (1-based): an altered, forged, inserted or removed line, an empty file, a trail that does
    not end with a seal (truncated, or the run did not stop cleanly), a recorded head missing
    from the trail."""
    if not path.is_file():
        raise AuditError(f"audit file not found: {path}")
    prev = GENESIS
    n = 0
    sealed = False
    seals: dict[str, tuple[str, int]] = {}
    hashes: dict[str, tuple[str, int]] = {}

    def fail(line: int | None, message: str) -> AuditVerification:
        return AuditVerification(False, n, message, line, prev, sealed, seals)

    with path.open(encoding="utf-8") as fh:
        for n, raw in enumerate(fh, start=1):
            try:
                record = json.loads(raw)
                stored_prev, stored_hash = record.pop("prev_hash"), record.pop("hash")
                event = AuditEvent.model_validate(record)
            except (ValueError, KeyError) as exc:
                return fail(n, f"line {n}: unreadable record ({exc})")
            where = f"line {n} (run {event.run_id}, sequence {event.sequence})"
            if stored_prev != prev:
                return fail(n, f"{where}: chain broken, a line before it was removed or altered")
            canonical = canonical_json(event)
            if key.mac(prev, canonical.encode()) != stored_hash:
                if n == 1 and _legacy_hash(prev, canonical) == stored_hash:
                    return fail(
                        n,
                        f"{where}: written with the unkeyed SHA-256 chain of an earlier version; "
                        "its integrity cannot be proven against anyone who could write the file",
                    )
                return fail(
                    n,
                    f"{where}: content altered or forged (its HMAC does not verify with key "
                    f"{key.key_id} from {key.source})",
                )
            if sealed and event.kind != "session":
                return fail(n, f"{where}: a {event.kind!r} event after the seal (appended after the run was closed)")
            if event.kind == SEAL_KIND:
                if event.payload.get("last_hash") != prev or event.payload.get("events") != event.sequence - 1:
                    return fail(n, f"{where}: the seal does not match the chain it closes")
                seals[event.run_id] = (stored_hash, event.sequence)
            sealed = event.kind == SEAL_KIND
            hashes[stored_hash] = (event.run_id, event.sequence)
            prev = stored_hash
    if n == 0:
        return AuditVerification(False, 0, "the audit file is empty (no events, not even a seal): truncated?")
    for anchor in expected:
        found = hashes.get(anchor.head)
        if found is None or found != (anchor.run_id or found[0], anchor.events):
            return fail(
                None,
                f"the head {anchor.head[:16]}… ({anchor.events} events) that {anchor.source} records for run "
                f"{anchor.run_id} is not in the trail: truncated or rewritten",
            )
    if not sealed:
        return fail(
            n,
            f"line {n}: the trail does not end with a seal (truncated, forged at the end, or the run did not "
            "stop cleanly)",
        )
    return AuditVerification(True, n, "", None, prev, sealed, seals)


def credentials_for_commands(host: Any = None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Credentials a command (``audit verify``, ``verify-db``) may find the audit key in:
    the secrets store through the plugins' ``ai_trading_load_credentials`` (``host``), then
    ``AI_TRADING_CREDENTIALS__<NAME>`` environment variables, which win."""
    found: dict[str, Any] = {}
    if host is not None:
        # the secrets store needs no config to open (its file and key come from the environment)
        for part in reversed(host.pm.hook.ai_trading_load_credentials(config=None)):
            found.update(part or {})
    env = os.environ if env is None else env
    prefix = "AI_TRADING_CREDENTIALS__"
    found.update({k[len(prefix) :].lower(): v for k, v in env.items() if k.upper().startswith(prefix)})
    return found


def audit_key_for_command(key_file: Path | None, state_dir: Path, credentials: Mapping[str, Any]) -> AuditKey:
    """The key a verifying command uses: ``--key-file``, else the ``audit_hmac_key``
    credential, else ``<state_dir>/audit-hmac.key`` (never created here)."""
    if key_file is not None:
        return read_audit_key_file(Path(key_file))
    return resolve_audit_key(credentials, state_dir, create=False)


def read_anchors(path: Path) -> tuple[AuditHead, ...]:
    """Heads exported by ``audit export-heads`` (JSON lines ``{"run_id", "head", "events"}``)."""
    heads = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AuditError(f"cannot read the exported heads {path}: {exc}") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            heads.append(AuditHead(str(doc["run_id"]), str(doc["head"]), int(doc["events"]), f"{path}:{n}"))
        except (ValueError, KeyError, TypeError) as exc:
            raise AuditError(f"{path}:{n}: not an exported head ({exc})") from None
    return tuple(heads)


def heads_of_manifests(runs_dir: Path, *, stored_only: bool = False) -> tuple[AuditHead, ...]:
    """The sealed heads recorded in ``<runs_dir>/*/manifest.json``; with ``stored_only``, only
    those of runs configured with a ``[storage]`` (whose chain is in a database too)."""
    heads = []
    for path in sorted(Path(runs_dir).glob("*/manifest.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        head = head_of_document(doc, str(path)) if isinstance(doc, dict) else None
        config = doc.get("config") if isinstance(doc, dict) else None
        if head is not None and (not stored_only or (isinstance(config, dict) and config.get("storage"))):
            heads.append(head)
    return tuple(heads)
