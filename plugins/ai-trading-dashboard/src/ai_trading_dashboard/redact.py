"""Scrubbing of anything that might be a secret before it reaches a browser."""

from __future__ import annotations

import re
from typing import Any

from ai_trading_core.redaction import redact_url

REDACTED = "**********"
_SECRET_KEY = re.compile(r"(secret|password|passwd|token|api[_-]?key|private[_-]?key|credential|auth)", re.I)
# Names that end in ``_credential`` only *name* a credential; they are safe to show.
_CREDENTIAL_REFERENCE = re.compile(r"_credential$", re.I)
# A webhook's URL path (and query) is usually its secret (Slack, Discord, Teams, generic).
_WEBHOOK_KEY = re.compile(r"(webhook|hook_url|hooks?$)", re.I)
_WEBHOOK_URL = re.compile(
    r"(?P<origin>https?://(?P<host>[^/\s?#]+))(?P<rest>[/?#][^\s\"']*)", re.I
)
_WEBHOOK_HOST = re.compile(
    r"(^|\.)(hooks\.slack\.com|discord(app)?\.com|webhook\.office\.com|outlook\.office\.com)(:\d+)?$", re.I
)


def mask_webhook_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0/B0/XYZ`` -> ``https://hooks.slack.com/**********``:
    the origin stays (which service), the path and query (the secret) go."""
    return _WEBHOOK_URL.sub(lambda m: f"{m['origin']}/{REDACTED}" if m["rest"].strip("/") else m[0], url)


_WEBHOOK_COMPONENT = re.compile(r"webhook|slack|discord|teams|mattermost", re.I)


def _mask_every_url(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask_every_url(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_every_url(v) for v in value]
    return mask_webhook_url(value) if isinstance(value, str) else value


def _mask_known_webhooks(text: str) -> str:
    return _WEBHOOK_URL.sub(
        lambda m: f"{m['origin']}/{REDACTED}"
        if _WEBHOOK_HOST.search(m["host"]) or "/webhook" in m["rest"].lower()
        else m[0],
        text,
    )


def redact(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with secrets replaced by ``**********``: values under keys that
    look secret (password, token, api_key, secret, credentials, ...), passwords inside URLs
    (``scheme://user:pw@host``), the whole ``credentials`` table, and webhook URLs (under a
    key naming a webhook, or to a known webhook service): their path and query, which are the
    secret, become ``**********``."""
    if key and _SECRET_KEY.search(key) and not _CREDENTIAL_REFERENCE.search(key):
        if isinstance(value, dict):
            return {k: REDACTED for k in value}
        return REDACTED if value not in (None, "") else value
    if isinstance(value, dict):
        out = {k: redact(v, str(k)) for k, v in value.items()}
        name = value.get("name")
        if isinstance(name, str) and _WEBHOOK_COMPONENT.search(name):
            return _mask_every_url(out)  # a webhook channel's config: its URL is its secret
        return out
    if isinstance(value, list | tuple):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        value = redact_url(value)  # the kernel's: URL/DSN passwords, secret query parameters
        if key and _WEBHOOK_KEY.search(key):
            return mask_webhook_url(value)
        return _mask_known_webhooks(value)
    return value
