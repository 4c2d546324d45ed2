"""Redaction by construction: one place that knows what a secret looks like.

Everything the framework writes about a config (the run document, the manifest, the database's
``runs.document``, logs, the dashboard, error messages) passes through :func:`redact_config`
or :func:`redact_url` first. A secret is recognised by where it sits, not by its value:

- the password of a URL or DSN: ``scheme://user:PASSWORD@host``, a secret-named query
  parameter (``?password=``, ``&token=``, ``api_key``, ``sslpassword`` ...), and the
  ``password=...`` keyword of a libpq connection string;
- the path of a webhook URL on a service whose path is the secret (Slack, Discord, Microsoft
  Teams): ``https://hooks.slack.com/**********``;
- the value under a key whose name says secret (password, passphrase, secret, token, api_key,
  private_key, credentials, auth, ...); names ending in ``_credential`` only *name* a
  credential and stay readable;
- the whole ``credentials`` table.

Redaction is idempotent, and a redacted URL stays a URL (host, port, database and user are
kept), so a reader still sees where a run stored its data.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "**********"

_SECRET_NAME = re.compile(
    r"(secret|passw(or)?d|passphrase|passwd|pwd|token|api[_-]?key|apikey|private[_-]?key|credential|auth|signature)",
    re.I,
)
# Names that end in ``_credential`` (or ``_credentials``) only *name* a credential.
_CREDENTIAL_REFERENCE = re.compile(r"_credentials?$", re.I)
# scheme://user:password@host  (the user part may be empty: redis://:pw@host)
_URL_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^/\s:@?#]*:)(?P<pw>[^@\s/?#]*)(?P<tail>@)", re.I)
# ?password=...&x=1 in a URL, and password=... in a libpq "key=value" DSN
_QUERY_SECRET = re.compile(
    r"(?P<head>(?:[?&;]|^|\s)(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)=)(?P<value>'(?:[^'\\]|\\.)*'|[^&;#\s]*)"
)


# A webhook URL's path is its secret on these services (Slack, Discord, Microsoft Teams).
_WEBHOOK_SERVICE = re.compile(
    r"(?P<origin>https?://(?:[^/\s?#@]*@)?(?:[a-z0-9-]+\.)*(?:hooks\.slack\.com|discord(?:app)?\.com|"
    r"webhook\.office\.com|outlook\.office\.com)(?::\d+)?)(?P<rest>/[^\s\"']*)",
    re.I,
)


def is_secret_name(name: str) -> bool:
    """Whether a parameter or query-string name says its value is a secret."""
    return bool(_SECRET_NAME.search(name)) and not _CREDENTIAL_REFERENCE.search(name)


def redact_url(text: str) -> str:
    """``text`` with every URL/DSN password masked: the userinfo password of each
    ``scheme://user:pw@host`` in it, secret-named query parameters and libpq keywords.
    Anything else is returned unchanged."""
    if not text:
        return text
    out = _URL_USERINFO.sub(lambda m: f"{m['head']}{MASK}{m['tail']}" if m["pw"] else m[0], text)
    out = _WEBHOOK_SERVICE.sub(lambda m: f"{m['origin']}/{MASK}" if m["rest"].strip("/") != MASK else m[0], out)
    if "=" in out:

        def query(m: re.Match[str]) -> str:
            if not is_secret_name(m["name"]) or not m["value"] or m["value"] == MASK:
                return m[0]
            return f"{m['head']}{MASK}"

        out = _QUERY_SECRET.sub(query, out)
    return out


def redact_config(value: Any, key: str = "") -> Any:
    """A copy of a JSON-like ``value`` with secrets masked: string values under secret-named
    keys (dicts under them have every value masked), URL/DSN passwords inside every string.
    Numbers, booleans, ``None`` and lists under a secret name are kept, lists with their URLs
    redacted (a ``token_limit`` of 5 is not a secret; a list of credential *names* is how a
    component asks for credentials)."""
    if key and is_secret_name(key):
        if isinstance(value, dict):
            return {k: MASK for k in value}
        if isinstance(value, str) and value:
            return MASK
        return value
    if isinstance(value, dict):
        return {k: redact_config(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_config(v) for v in value]
    if isinstance(value, str):
        return redact_url(value)
    return value


__all__ = ["MASK", "is_secret_name", "redact_config", "redact_url"]
