"""Encryption keys: Fernet keys (32 url-safe base64-encoded bytes) read from the environment
or from a key file, combined into a :class:`KeyRing` whose first key encrypts and whose every
key decrypts (``cryptography``'s ``MultiFernet``). During a rotation a process holding
``new,old`` reads secrets written under either key."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

from ai_trading_core.errors import SecretsError

ENV_KEY = "AI_TRADING_SECRETS_KEY"
"""One key, or several separated by commas, newest first."""
ENV_KEY_FILE = "AI_TRADING_SECRETS_KEY_FILE"
"""Path of a key file (mode 0600): one key per line, newest first; ``#`` starts a comment."""


@dataclass(frozen=True)
class KeyRing:
    """Fernet keys, newest first. ``source`` says where they came from (an environment
    variable's name or a file path), never what they are."""

    keys: tuple[bytes, ...]
    source: str

    def __post_init__(self) -> None:
        if not self.keys:
            raise SecretsError(f"no key in {self.source}")

    def __repr__(self) -> str:
        return f"KeyRing({len(self.keys)} key(s) from {self.source})"

    def fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(k) for k in self.keys])

    def primary(self) -> Fernet:
        return Fernet(self.keys[0])


def generate_key() -> bytes:
    """A new random Fernet key."""
    return Fernet.generate_key()


def parse_keys(text: str, source: str) -> KeyRing:
    """Keys separated by commas or newlines; blank parts and ``#`` comments are ignored.
    A part that is not a Fernet key raises :class:`SecretsError` naming its position, never
    its value."""
    parts: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        parts += [p.strip() for p in line.split(",") if p.strip()]
    keys = []
    for i, part in enumerate(parts, start=1):
        try:
            Fernet(part.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise SecretsError(
                f"key #{i} in {source} is not a Fernet key (32 url-safe base64-encoded bytes); "
                "make one with 'ai-trading secrets init-key'"
            ) from None
        keys.append(part.encode("ascii"))
    return KeyRing(tuple(keys), source)


def read_key_file(path: Path) -> KeyRing:
    """Keys from ``path``. The file must not be readable or writable by group or others
    (mode 0600 or stricter): a world-readable key defeats the encryption."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SecretsError(f"key file not found: {path}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SecretsError(f"key file {path} is not a regular file")
    if os.name == "posix" and st.st_mode & 0o077:
        raise SecretsError(
            f"key file {path} is accessible by group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run 'chmod 600 {path}'"
        )
    return parse_keys(path.read_text(encoding="ascii", errors="replace"), f"key file {path}")


def write_key_file(path: Path, key: bytes) -> None:
    """Create ``path`` with mode 0600 holding ``key``. Refuses to overwrite: replacing a key
    file loses every secret encrypted under the old key."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SecretsError(f"key file {path} already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def resolve_keys(key_file: Path | None = None, env: Mapping[str, str] | None = None) -> KeyRing:
    """The key ring to use: an explicit key file, else ``AI_TRADING_SECRETS_KEY``, else the
    file named by ``AI_TRADING_SECRETS_KEY_FILE``."""
    env = os.environ if env is None else env
    if key_file is not None:
        return read_key_file(key_file)
    if env.get(ENV_KEY, "").strip():
        return parse_keys(env[ENV_KEY], f"environment variable {ENV_KEY}")
    if env.get(ENV_KEY_FILE, "").strip():
        return read_key_file(Path(env[ENV_KEY_FILE]))
    raise SecretsError(
        f"no secrets key: set {ENV_KEY} (newest key first, comma-separated) or pass --key-file"
    )


def as_key_ring(key: str | bytes | Sequence[str | bytes] | KeyRing, source: str = "the given key") -> KeyRing:
    """Accept a key ring, one key, a comma-separated string of keys or a list of keys."""
    if isinstance(key, KeyRing):
        return key
    if isinstance(key, bytes):
        key = key.decode("ascii", errors="replace")
    if isinstance(key, str):
        return parse_keys(key, source)
    text = ",".join(k.decode("ascii", errors="replace") if isinstance(k, bytes) else k for k in key)
    return parse_keys(text, source)
