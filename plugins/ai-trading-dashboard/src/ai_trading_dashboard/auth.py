"""HTTP basic authentication with scrypt-hashed passwords.

The configuration stores only ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` (make one with
``ai-trading dashboard hash-password``); the password itself is never stored or logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from ai_trading_core.endpoints import is_loopback
from ai_trading_core.errors import ConfigError

_N, _R, _P, _LEN = 2**14, 8, 1, 32


def hash_password(password: str | SecretStr, *, salt: bytes | None = None) -> str:
    """An scrypt hash (n=16384, r=8, p=1, 16-byte random salt) in the stored format."""
    secret = password.get_secret_value() if isinstance(password, SecretStr) else password
    if not secret:
        raise ConfigError("the dashboard password must not be empty")
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison against a stored hash; a malformed hash never matches."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(hash_b64)
        digest = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


def check_hash_format(stored: str) -> str:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ConfigError(
            "dashboard password hash must look like scrypt$n$r$p$salt$hash "
            "(create it with `ai-trading dashboard hash-password`)"
        )
    return stored


@dataclass(frozen=True)
class BasicAuth:
    """One user name and the scrypt hash of its password."""

    username: str
    password_hash: str

    def __post_init__(self) -> None:
        if not self.username:
            raise ConfigError("dashboard user name must not be empty")
        check_hash_format(self.password_hash)

    def __repr__(self) -> str:  # the hash is not a secret, but it has no business in logs either
        return f"BasicAuth(username={self.username!r})"

    def check(self, authorization: Any) -> bool:
        """``flask.request.authorization`` (or None) against the stored credentials."""
        if authorization is None or getattr(authorization, "type", "basic") != "basic":
            return False
        user, password = authorization.get("username"), authorization.get("password")
        if not user or password is None:
            return False
        return hmac.compare_digest(str(user), self.username) & verify_password(
            str(password), self.password_hash
        )


def require_auth_beyond_loopback(host: str, auth: BasicAuth | None) -> None:
    if auth is None and not is_loopback(host):
        raise ConfigError(
            f"the dashboard listens on {host}, beyond loopback: configure a user and a password hash "
            "(--user and --password-hash or AI_TRADING_DASHBOARD_USER / _PASSWORD_HASH)"
        )
