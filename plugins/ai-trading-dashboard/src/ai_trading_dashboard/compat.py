"""``MonitoringDashboard(perf_calculator, port=8080).start_dashboard()``, the seed project's
entry point, kept as a thin wrapper over :func:`create_app` and :class:`DashboardServer`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .app import create_app
from .auth import BasicAuth
from .feed import RedisRunFeed
from .live import EventBuffer
from .server import DashboardServer
from .sources import JsonRunSource, RunSource, StorageRunSource


class MonitoringDashboard:
    """:param perf_calculator: an ``ai_trading_analytics.PerformanceCalculator``; its
        ``periods_per_year`` is kept for compatibility (pages annualise by the run's timeframe).
    :param port: TCP port (8080). :param host: interface, loopback by default.
    :param db_url: database of stored runs (default ``sqlite:///.ai-trading/ai-trading.db``).
    :param run_json: a run document file instead of a database.
    :param redis_url: watch running runs through the live feed on this Redis."""

    def __init__(
        self,
        perf_calculator: Any = None,
        port: int = 8080,
        *,
        host: str = "127.0.0.1",
        db_url: str | None = None,
        run_json: str | Path | None = None,
        auth: BasicAuth | None = None,
        events: EventBuffer | None = None,
        state_dir: Path = Path(".ai-trading"),
        redis_url: str | None = None,
        redis_prefix: str = "ai_trading",
    ) -> None:
        self.perf_calculator = perf_calculator
        self.port = port
        self.host = host
        self.auth = auth
        self.events = events if events is not None else EventBuffer()
        self.state_dir = state_dir
        self._db_url = db_url
        self._run_json = run_json
        self._redis = (redis_url, redis_prefix)
        self.server: DashboardServer | None = None

    def _source(self) -> RunSource:
        if self._run_json is not None:
            return JsonRunSource(self._run_json)
        return StorageRunSource(self._db_url or f"sqlite:///{(self.state_dir / 'ai-trading.db').as_posix()}")

    def start_dashboard(self, *, block: bool = True) -> DashboardServer:
        """Build the app and serve it; ``block=False`` serves on a background thread and
        returns the server (call ``stop()`` on it)."""
        url, prefix = self._redis
        feed = RedisRunFeed(url, prefix) if url else None
        app = create_app(self._source(), auth=self.auth, events=self.events, feed=feed, state_dir=self.state_dir)
        self.server = DashboardServer(app, self.host, self.port, auth=self.auth)
        if block:
            self.server.serve_forever()
        else:
            self.server.start()
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
