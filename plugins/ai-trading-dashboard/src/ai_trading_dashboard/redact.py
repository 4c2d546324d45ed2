"""Scrubbing of anything that might be a secret before it reaches a browser."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "**********"
_SECRET_KEY = re.compile(r"(secret|password|passwd|token|api[_-]?key|private[_-]?key|credential|auth)", re.I)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^/\s:@]*:)(?P<pw>[^@\s/]+)(?P<tail>@)", re.I)
# Names that end in ``_credential`` only *name* a credential; they are safe to show.
_CREDENTIAL_REFERENCE = re.compile(r"_credential$", re.I)


def redact(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with secrets replaced by ``**********``: values under keys that
    look secret (password, token, api_key, secret, credentials, ...), passwords inside URLs
    (``scheme://user:pw@host``), and the whole ``credentials`` table."""
    if key and _SECRET_KEY.search(key) and not _CREDENTIAL_REFERENCE.search(key):
        if isinstance(value, dict):
            return {k: REDACTED for k in value}
        return REDACTED if value not in (None, "") else value
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}{m['tail']}", value)
    return value
