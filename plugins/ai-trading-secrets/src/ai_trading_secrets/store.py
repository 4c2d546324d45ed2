"""The secrets file: a JSON document mapping each secret's name to a Fernet token.

Names are stored in clear (so ``list`` needs no key); values only as tokens. Every write is
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
VERSION = 1
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
        if doc.get("version") != VERSION:
            raise SecretsError(
                f"secrets file {self.path} has version {doc.get('version')!r}; this plugin reads {VERSION}"
            )
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
        return SecretStr(plain.decode("utf-8"))

    # ------------------------------------------------------------------ writing
    def set(self, name: str, value: str | SecretStr, ring: KeyRing) -> None:
        """Add or replace one secret, encrypted under the ring's newest key. Every existing
        entry must decrypt with ``ring`` first, else nothing is written."""
        check_name(name)
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not plain:
            raise SecretsError(f"refusing to store an empty value for secret {name!r}")
        tokens = self.tokens()
        for other, token in tokens.items():
            self._decrypt(other, token, ring)
        tokens[name] = ring.fernet().encrypt(plain.encode("utf-8")).decode("ascii")
        self._write(tokens)

    def remove(self, name: str) -> None:
        tokens = self.tokens()
        if name not in tokens:
            raise SecretsError(f"no secret {name!r} in {self.path}")
        del tokens[name]
        self._write(tokens)

    def rotate(self, old: KeyRing, new: KeyRing) -> int:
        """Re-encrypt every entry under ``new``'s newest key; returns the number of entries.

        Tokens are opened with any key of ``old`` or ``new`` (a half-finished earlier rotation
        is fine), all in memory; if one fails nothing is written. Afterwards the file opens
        with the new key alone, and a process holding ``new,old`` reads it throughout.
        """
        tokens = self.tokens()
        both = KeyRing(new.keys[:1] + old.keys + new.keys[1:], f"{new.source} and {old.source}")
        rotated: dict[str, str] = {}
        for name, token in tokens.items():
            try:
                rotated[name] = both.fernet().rotate(token.encode("ascii")).decode("ascii")
            except (InvalidToken, UnicodeEncodeError):
                raise SecretsError(
                    f"cannot rotate {self.path}: secret {name!r} does not decrypt "
                    f"with the key from {old.source}; nothing was changed"
                ) from None
        primary_only = KeyRing(new.keys[:1], new.source)
        for name, token in rotated.items():
            self._decrypt(name, token, primary_only)
        self._write(rotated)
        return len(rotated)

    def _write(self, tokens: dict[str, str]) -> None:
        doc = {"format": FORMAT, "version": VERSION, "secrets": dict(sorted(tokens.items()))}
        try:
            atomic_write_json(self.path, doc, sort_keys=False)
        except OSError as exc:
            raise SecretsError(
                f"cannot write secrets file {self.path}: {exc}; the previous file is unchanged"
            ) from exc
