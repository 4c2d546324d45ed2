"""Serving the app with waitress (a production WSGI server, not Werkzeug's development
server), behind the Host header check; it can be started and stopped (CLI,
``MonitoringDashboard``, tests)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from typing import Any

from waitress.server import create_server

from .auth import BasicAuth, require_auth_beyond_loopback
from .security import HostHeaderGuard, allowed_hosts


class DashboardServer:
    """Serves ``app`` on ``host:port`` (port 0 picks a free one, see :attr:`port`).

    Refuses to listen beyond loopback without ``auth``; the app must then have been created
    with the same ``auth`` (it enforces it on every route). Requests whose Host header is not
    this server's name (``host``, the loopback names for a loopback bind, and
    ``extra_hosts``) are answered 400.

    :param threads: worker threads answering requests.
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        auth: BasicAuth | None = None,
        extra_hosts: Iterable[str] = (),
        threads: int = 8,
    ) -> None:
        require_auth_beyond_loopback(host, auth)
        self.app = app
        self.host = host
        extra = tuple(extra_hosts)
        allowed_hosts(host, 1, extra)  # a wildcard bind without names fails before binding
        self._guard = HostHeaderGuard(app.server.wsgi_app, frozenset())
        self._server: Any = create_server(
            self._guard,
            host=host,
            port=port,
            threads=threads,
            ident="ai-trading-dashboard",
            clear_untrusted_proxy_headers=True,
        )
        self.port = int(self._server.effective_port)
        self._guard.allowed = allowed_hosts(host, self.port, extra)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> DashboardServer:
        """Serve on a background thread; returns at once."""
        self._thread = threading.Thread(target=self._server.run, name="dashboard-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted."""
        try:
            self._server.run()
        finally:
            self.stop()

    def stop(self) -> None:
        server = self._server
        server.task_dispatcher.shutdown(timeout=5)
        for channel in list(server._map.values()):  # the listening socket and open connections
            with contextlib.suppress(OSError):
                channel.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
