"""The secrets file: a JSON document mapping each secret's name to a Fernet token.

Names are stored in clear (so ``list`` needs no key); values only as tokens. Each token
encrypts its secret's *name* with the value (format version 2), and Fernet authenticates
both: a token moved or copied to another name, or two tokens swapped, no longer decrypts to
that name and is refused. Version 1 files (values without their names) are read, and
rewritten as version 2 by the next ``set``, ``remove`` or ``rotate``. Every write is
atomic (:mod:`ai_trading_core.files`: a temporary file, fsync, ``os.replace``, mode 0600): a
crash or an error leaves either the old file or the new one, never half of one. Nothing is
written unless every entry decrypts with the key in use, so a wrong key can never produce a
file that mixes keys.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cryptography.fernet import InvalidToken
from pydantic import SecretStr

from ai_trading_core.errors import SecretsError
from ai_trading_core.files import atomic_write_json, read_json

from .keys import KeyRing

FORMAT = "ai-trading-secrets"
VERSION = 2
READABLE_VERSIONS = (1, 2)
_BOUND = b"ai-trading-secret/v2\x00"  # plaintext = _BOUND + name + NUL + value
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise SecretsError(
            f"invalid secret name {name!r}: use letters, digits, '_', '.', '-' "
            "(starting with a letter or '_')"
        )
    return name


class SecretsFile:
    """An encrypted secrets file at ``path`` (which need not exist yet)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._version = VERSION

    def __repr__(self) -> str:
        return f"SecretsFile({str(self.path)!r})"

    # ------------------------------------------------------------------ reading
    def tokens(self) -> dict[str, str]:
        """Name → Fernet token; empty when the file does not exist."""
        doc = read_json(self.path, None, what="secrets file", error=SecretsError)
        if doc is None:
            return {}
        if (
            not isinstance(doc, dict)
            or doc.get("format") != FORMAT
            or not isinstance(doc.get("secrets"), dict)
        ):
            raise SecretsError(f"{self.path} is not an ai-trading secrets file")
        if doc.get("version") not in READABLE_VERSIONS:
            raise SecretsError(
                f"secrets file {self.path} has version {doc.get('version')!r}; this plugin reads "
                f"{', '.join(map(str, READABLE_VERSIONS))}"
            )
        self._version = int(doc["version"])
        secrets: dict[str, Any] = doc["secrets"]
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in secrets.items()):
            raise SecretsError(f"secrets file {self.path}: every entry must map a name to a token string")
        return dict(secrets)

    def names(self) -> list[str]:
        return sorted(self.tokens())

    def decrypt_all(self, ring: KeyRing) -> dict[str, SecretStr]:
        """Every secret, decrypted. A token the keys cannot open raises :class:`SecretsError`
        naming the secret and where the key came from."""
        return {name: self._decrypt(name, token, ring) for name, token in sorted(self.tokens().items())}

    def get(self, name: str, ring: KeyRing) -> SecretStr:
        tokens = self.tokens()
        if name not in tokens:
            raise SecretsError(f"no secret {name!r} in {self.path}")
        return self._decrypt(name, tokens[name], ring)

    def _decrypt(self, name: str, token: str, ring: KeyRing) -> SecretStr:
        try:
            plain = ring.fernet().decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise SecretsError(
                f"cannot decrypt secret {name!r} in {self.path} with the key from {ring.source}: "
                "wrong key, or the file was altered"
            ) from None
        if self._version == 1:
            return SecretStr(plain.decode("utf-8"))
        bound_name, sep, value = plain[len(_BOUND) :].partition(b"\x00")
        if not plain.startswith(_BOUND) or not sep or bound_name != name.encode("utf-8"):
            raise SecretsError(
                f"secret {name!r} in {self.path} holds the value of another name: entries were swapped, "
                "copied or renamed outside 'ai-trading secrets'; refusing it"
            )
        return SecretStr(value.decode("utf-8"))

    @staticmethod
    def _encrypt(name: str, plain: str, ring: KeyRing) -> str:
        bound = _BOUND + name.encode("utf-8") + b"\x00" + plain.encode("utf-8")
        return ring.fernet().encrypt(bound).decode("ascii")

    # ------------------------------------------------------------------ writing
    def set(self, name: str, value: str | SecretStr, ring: KeyRing) -> None:
        """Add or replace one secret, encrypted under the ring's newest key. Every existing
        entry must decrypt with ``ring`` first, else nothing is written."""
        check_name(name)
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not plain:
            raise SecretsError(f"refusing to store an empty value for secret {name!r}")
        tokens = self.tokens()
        values = {other: v.get_secret_value() for other, v in self.decrypt_all(ring).items()}
        if self._version == 1:  # a version 1 file is rewritten with every value bound to its name
            tokens = {n: self._encrypt(n, v, ring) for n, v in values.items()}
        tokens[name] = self._encrypt(name, plain, ring)
        self._write(tokens)

    def remove(self, name: str, ring: KeyRing) -> None:
        """Delete one secret. Needs the key: every entry, the removed one included, must
        decrypt with ``ring`` first (whoever cannot read the secrets cannot delete them), else
        nothing is written."""
        tokens = self.tokens()
        if name not in tokens:
            raise SecretsError(f"no secret {name!r} in {self.path}")
        values = {n: v.get_secret_value() for n, v in self.decrypt_all(ring).items() if n != name}
        if self._version == 1:  # rewritten bound to the names
            self._write({n: self._encrypt(n, v, ring) for n, v in values.items()})
        else:
            self._write({n: t for n, t in tokens.items() if n != name})

    def rotate(self, old: KeyRing, new: KeyRing) -> int:
        """Re-encrypt every entry under ``new``'s newest key; returns the number of entries.

        Tokens are opened with any key of ``old`` or ``new`` (a half-finished earlier rotation
        is fine), all in memory; if one fails nothing is written. Afterwards the file opens
        with the new key alone, and a process holding ``new,old`` reads it throughout.
        """
        tokens = self.tokens()
        both = KeyRing(new.keys[:1] + old.keys + new.keys[1:], f"{new.source} and {old.source}")
        values: dict[str, str] = {}
        for name, token in tokens.items():
            try:
                values[name] = self._decrypt(name, token, both).get_secret_value()
            except SecretsError as exc:
                raise SecretsError(f"cannot rotate {self.path}: {exc}; nothing was changed") from None
        primary_only = KeyRing(new.keys[:1], new.source)
        rotated = {name: self._encrypt(name, value, primary_only) for name, value in values.items()}
        self._version = VERSION
        for name, token in rotated.items():
            self._decrypt(name, token, primary_only)
        self._write(rotated)
        return len(rotated)

    def _write(self, tokens: dict[str, str]) -> None:
        doc = {"format": FORMAT, "version": VERSION, "secrets": dict(sorted(tokens.items()))}
        self._version = VERSION
        try:
            atomic_write_json(self.path, doc, sort_keys=False)
        except OSError as exc:
            raise SecretsError(
                f"cannot write secrets file {self.path}: {exc}; the previous file is unchanged"
            ) from exc
