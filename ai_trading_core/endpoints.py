"""HTTP endpoints a run serves (health, metrics, the dashboard): the loopback rule and
bearer-token protection. An endpoint without authentication may listen on loopback only."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import ConfigError

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` (brackets and spaces ignored);
    ``0.0.0.0``/``::`` listen everywhere and are not loopback."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bearer_token(
    credentials: Mapping[str, Any], name: str, *, required: bool, host: str, what: str
) -> str | None:
    """The token held by credential ``name`` (secrets store, ``[credentials]`` or
    ``AI_TRADING_CREDENTIALS__<NAME>``), None when there is none and ``required`` is false.
    Refuses to serve beyond loopback without one."""
    value = next((v for k, v in credentials.items() if k.lower() == name.lower()), None)
    token = (value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)) if value else None
    if token is not None and len(token) < 16:
        raise ConfigError(f"the {what} bearer token in credential {name!r} is shorter than 16 characters")
    if token is None and required:
        raise ConfigError(
            f"credential {name!r} (the {what} bearer token) is not configured "
            f"(set it in the secrets store, [credentials].{name} or AI_TRADING_CREDENTIALS__{name.upper()})"
        )
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"the {what} endpoint listens on {host}, beyond loopback: configure a bearer token in "
            f"credential {name!r} (secrets store, [credentials] or AI_TRADING_CREDENTIALS__{name.upper()}), "
            "or bind to 127.0.0.1"
        )
    return token


def require_bearer(app: WsgiApp, token: str, realm: str) -> WsgiApp:
    """``app`` answering only requests with ``Authorization: Bearer <token>`` (compared in
    constant time); others get 401 and learn nothing about the run."""
    expected = f"Bearer {token}".encode()

    def guarded(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        given = environ.get("HTTP_AUTHORIZATION", "").encode("latin-1", errors="replace")
        if hmac.compare_digest(given, expected):
            return app(environ, start_response)
        body = b'{"status": "unauthorized"}'
        start_response(
            "401 Unauthorized",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("WWW-Authenticate", f'Bearer realm="{realm}"'),
            ],
        )
        return [body]

    return guarded
