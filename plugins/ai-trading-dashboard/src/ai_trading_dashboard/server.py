"""Serving the app: a threaded werkzeug server that can be started and stopped (CLI,
``MonitoringDashboard``, tests)."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from .auth import BasicAuth, require_auth_beyond_loopback


class DashboardServer:
    """Serves ``app`` on ``host:port`` (port 0 picks a free one, see :attr:`port`).

    Refuses to listen beyond loopback without ``auth``; the app must then have been created
    with the same ``auth`` (it enforces it on every route)."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 8080, *, auth: BasicAuth | None = None
    ) -> None:
        require_auth_beyond_loopback(host, auth)
        self.app = app
        self.host = host
        self._server: BaseWSGIServer = make_server(host, port, app.server, threaded=True)
        self.port = int(self._server.server_port)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> DashboardServer:
        """Serve on a background thread; returns at once."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="dashboard-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
