"""HTTP hardening: the Host header check (DNS rebinding), security headers (CSP,
Referrer-Policy) and login throttling with failed logins logged as security events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from loguru import logger

from ai_trading_core.errors import ConfigError

from .auth import is_loopback

WILDCARDS = ("0.0.0.0", "::", "[::]", "")


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host header values a browser sends to ``host:port``: the bound name, and for a
    loopback bind the other loopback names; plus ``extra`` names (a reverse proxy's or the
    machine's public name), each with and without the port.

    :raises ConfigError: a wildcard bind (``0.0.0.0``/``::``) without any ``extra`` name:
        the names the browser uses must be listed, otherwise any name would be accepted.
    """
    names = {n.strip().lower() for n in extra if n.strip()}
    if host in WILDCARDS:
        if not names:
            raise ConfigError(
                f"the dashboard listens on every interface ({host or '0.0.0.0'}): name the host(s) browsers "
                "use with --allowed-host (the Host header is checked against them)"
            )
    else:
        names.add(host.lower().strip("[]"))
    if is_loopback(host):
        names.update({"localhost", "127.0.0.1", "::1"})
    out: set[str] = set()
    for name in names:
        bare = name.strip("[]")
        shown = f"[{bare}]" if ":" in bare else bare
        out.update({shown, f"{shown}:{port}"})
    return frozenset(out)


class HostHeaderGuard:
    """WSGI middleware: answers 400 to a request whose Host header is not one of ``allowed``
    (a page on another site resolving its own name to this address must not reach the app)."""

    def __init__(self, app: Callable[..., Any], allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        host = str(environ.get("HTTP_HOST") or "").strip().lower()
        if host not in self.allowed:
            logger.bind(security_event="host_rejected").warning(
                "security: request refused, Host header {!r} is not this dashboard's ({})",
                host[:100],
                environ.get("REMOTE_ADDR"),
            )
            body = b"host not allowed\n"
            start_response(
                "400 Bad Request",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.app(environ, start_response)


def content_security_policy(script_hashes: Iterable[str]) -> str:
    """Scripts only from this origin (plus the hashes of Dash's own inline bootstrap),
    nothing framed, no plugins, connections only back to this origin."""
    scripts = " ".join(["'self'", *(h if h.startswith("'") else f"'{h}'" for h in script_hashes)])
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            # plotly and the grid set inline styles on the elements they draw
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class LoginThrottle:
    """Failed logins per client address: after ``limit`` failures within ``window`` seconds
    the address is locked out for ``lockout`` seconds (doubling on each new lockout, at most
    ``max_lockout``). Every failure is logged as a security event (``security_event`` field
    ``login_failed``, and ``login_locked`` when a lockout starts)."""

    def __init__(
        self,
        limit: int = 5,
        window: float = 60.0,
        lockout: float = 60.0,
        max_lockout: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.lockout, self.max_lockout = limit, window, lockout, max_lockout
        self._monotonic = monotonic
        self._failures: dict[str, list[float]] = {}
        self._locked: dict[str, tuple[float, float]] = {}  # address -> (until, last lockout length)
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> float:
        """Seconds the address must still wait (0 when it may try)."""
        with self._lock:
            until, _ = self._locked.get(address, (0.0, 0.0))
            return max(0.0, until - self._monotonic())

    def failed(self, address: str, user: str) -> None:
        now = self._monotonic()
        length = 0.0
        with self._lock:
            recent = [t for t in self._failures.get(address, []) if now - t < self.window] + [now]
            self._failures[address] = recent
            locked = len(recent) >= self.limit
            if locked:
                _, previous = self._locked.get(address, (0.0, 0.0))
                length = min(self.max_lockout, previous * 2 if previous else self.lockout)
                self._locked[address] = (now + length, length)
                self._failures[address] = []
        logger.bind(security_event="login_failed", address=address, user=user).warning(
            "security: failed dashboard login for user {!r} from {}", user[:64], address
        )
        if locked:
            logger.bind(security_event="login_locked", address=address).warning(
                "security: {} failed dashboard logins from {} within {:.0f} s: locked out for {:.0f} s",
                len(recent),
                address,
                self.window,
                length,
            )

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)
