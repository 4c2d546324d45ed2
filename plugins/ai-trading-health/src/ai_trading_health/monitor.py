"""Liveness and readiness of a running trading loop, served as JSON over HTTP.

* ``GET /livez``: 200 while the loop has processed a bar (or the session started) within
  ``liveness_timeout`` seconds by the run's clock; else 503. A deployment restarts the
  process when it fails.
* ``GET /readyz``: 200 when the data is fresh (the newest bar closed less than
  ``max_staleness`` seconds ago), the broker is connected and reconciled (set when the session
  starts, which the engine does only after ``Broker.connect``) and storage is reachable;
  else 503 with the failing checks. A deployment routes no work to a process that is not
  ready.

Every time is read from the injected clock; the server runs only between session start and
finish (or :meth:`HealthMonitor.close`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ai_trading_core.clock import Clock
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import to_datetime

from ai_trading_core.endpoints import bearer_token, require_bearer
from .params import HealthParams
from .probes import StorageProbe

_NS = 1_000_000_000


@dataclass(frozen=True)
class HealthReport:
    ok: bool
    checks: dict[str, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "fail", "checks": self.checks}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        return None


class HealthMonitor:
    """Tracks the loop's ticks and answers /livez and /readyz.

    :param clock: the run's clock (all ages are measured with it).
    :param storage_probe: returns None when storage is reachable, else a reason.
    :param token: the bearer token every request must carry; None serves loopback only
        (a host beyond loopback without a token is refused).
    """

    def __init__(
        self, params: HealthParams, clock: Clock, storage_probe: StorageProbe, *, token: str | None = None
    ) -> None:
        if token is None:  # loopback only: refuses a host beyond it
            bearer_token({}, params.token_credential, required=False, host=params.host, what="health")
        self.params = params
        self.token = token
        self.clock = clock
        self.storage_probe = storage_probe
        self.bar_seconds = 0.0
        self.started_ns: int | None = None
        self.last_tick_ns: int | None = None
        self.last_bar_ns: int | None = None
        self.broker_reconciled = False
        self._lock = threading.Lock()
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ what the loop reports
    def started(self, bar_seconds: float) -> None:
        """The session started: the broker is connected and its state reconciled."""
        with self._lock:
            self.bar_seconds = bar_seconds
            self.started_ns = self.clock.now_ns()
            self.broker_reconciled = True
        self.start_server()

    def tick(self, bar_timestamp_ns: int) -> None:
        """The loop processed the bar opening at ``bar_timestamp_ns``."""
        with self._lock:
            self.last_tick_ns = self.clock.now_ns()
            self.last_bar_ns = bar_timestamp_ns

    def finished(self) -> None:
        with self._lock:
            self.broker_reconciled = False
        self.close()

    # ------------------------------------------------------------------ verdicts
    def liveness(self) -> HealthReport:
        with self._lock:
            now, last = self.clock.now_ns(), self.last_tick_ns or self.started_ns
        if last is None:
            check = {"ok": False, "reason": "the session has not started"}
        else:
            age = (now - last) / _NS
            check = {
                "ok": age <= self.params.liveness_timeout,
                "seconds_since_tick": age,
                "limit": self.params.liveness_timeout,
            }
        return HealthReport(bool(check["ok"]), {"loop_ticking": check})

    def readiness(self) -> HealthReport:
        with self._lock:
            now, last_bar, reconciled = self.clock.now_ns(), self.last_bar_ns, self.broker_reconciled
            limit = self.params.max_staleness or 2 * self.bar_seconds or None
            bar_seconds = self.bar_seconds
        if last_bar is None:
            fresh: dict[str, Any] = {"ok": False, "reason": "no bar yet"}
        else:
            age = max(now - last_bar - int(bar_seconds * _NS), 0) / _NS
            fresh = {
                "ok": limit is not None and age < limit,
                "age_seconds": age,
                "limit": limit,
                "last_bar": to_datetime(last_bar).isoformat(),
            }
        problem = self.storage_probe()
        checks = {
            "data_fresh": fresh,
            "broker_reconciled": {"ok": reconciled},
            "storage_reachable": {"ok": problem is None, **({"reason": problem} if problem else {})},
        }
        return HealthReport(all(c["ok"] for c in checks.values()), checks)

    # ------------------------------------------------------------------ HTTP
    def app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/livez":
            report = self.liveness()
        elif path == "/readyz":
            report = self.readiness()
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"status": "not found", "paths": ["/livez", "/readyz"]}']
        body = json.dumps(report.to_json()).encode()
        status = "200 OK" if report.ok else "503 Service Unavailable"
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    @property
    def port(self) -> int | None:
        return int(self._server.server_port) if self._server is not None else None

    def url(self, path: str) -> str:
        if self._server is None:
            raise RuntimeError("the health server is not running")
        return f"http://{self.params.host}:{self.port}{path}"

    def start_server(self) -> None:
        if self._server is not None:
            return
        try:
            app = self.app if self.token is None else require_bearer(self.app, self.token, "ai-trading-health")
            server = make_server(self.params.host, self.params.port, app, handler_class=_QuietHandler)
        except OSError as exc:
            raise ConfigError(
                f"health endpoint cannot listen on {self.params.host}:{self.params.port}: {exc}"
            ) from exc
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="ai-trading-health", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the HTTP server (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
