"""Reading the live run feed that the ``redis`` cache component publishes (see
``ai_trading_redis.feed`` for the key layout): the registry of runs, and per run an
incrementally read event stream plus the latest snapshot.

A dashboard reads the stream from its beginning the first time a run is opened, then only
what is new, so a dashboard started (or reloaded) in the middle of a run shows the whole run.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loguru import logger

from ai_trading_core.clock import WallClock

STEPS_KEPT = 50_000  # per-step points held per run (older ones are thinned, not dropped wholesale)
ALERTS_KEPT = 500
READ_BATCH = 5_000
READS_PER_REFRESH = 20  # at most 100,000 stream entries per refresh, so a request never stalls


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class LiveRun:
    """What the dashboard knows of one run from the feed."""

    run_id: str
    meta: dict[str, Any] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    fills: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    risk_events: list[dict[str, Any]] = field(default_factory=list)
    last_id: str = "-"
    version: int = 0
    """Grows whenever something new arrived (the browser skips redraws otherwise)."""

    def apply(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "step":
            self.steps.append(data)
            if len(self.steps) > STEPS_KEPT:  # thin the older half: the shape stays, memory is bounded
                half = len(self.steps) // 2
                self.steps = self.steps[:half:2] + self.steps[half:]
        elif kind == "order":
            self.orders[str(data.get("client_order_id"))] = data
        elif kind == "fill":
            self.fills.append(data)
        elif kind == "alert":
            self.alerts = [*self.alerts[-(ALERTS_KEPT - 1) :], data]
        elif kind == "risk_state":
            self.risk_events.append(data)
        elif kind == "run":
            self.meta = {**self.meta, "status": data.get("status", self.meta.get("status"))}

    @property
    def status(self) -> str:
        return str(self.meta.get("status") or "unknown")

    @property
    def risk_state(self) -> str:
        if self.risk_events:
            return str(self.risk_events[-1].get("state") or "active")
        return str(self.snapshot.get("risk_state") or self.meta.get("risk_state") or "active")

    def open_orders(self) -> list[dict[str, Any]]:
        closed = {"filled", "cancelled", "rejected", "expired"}
        return [o for o in self.orders.values() if o.get("status") not in closed]


class RedisRunFeed:
    """The live runs published under ``prefix`` on the Redis at ``url``.

    :param stale_after: seconds without a heartbeat after which a ``running`` run is shown as
        ``stalled`` (its process died or lost Redis).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        prefix: str = "ai_trading",
        *,
        stale_after: float = 30.0,
        clock: Any = None,
    ) -> None:
        import redis

        self.url = url
        self.prefix = prefix
        self.stale_after = stale_after
        self.clock = clock if clock is not None else WallClock()
        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=1.0)
        self._runs: dict[str, LiveRun] = {}
        self._lock = threading.Lock()
        self.error: str | None = None

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # ------------------------------------------------------------------ registry
    def runs(self) -> list[dict[str, Any]]:
        """Every registered run's metadata, newest start first, with ``status`` corrected to
        ``stalled`` for a running run whose heartbeat expired. Empty (and :attr:`error` set)
        when Redis cannot be reached."""
        import redis

        try:
            ids = [_text(i) for i in self.client.zrevrange(self.key("runs"), 0, 199)]
            if not ids:
                self.error = None
                return []
            pipe = self.client.pipeline(transaction=False)
            for rid in ids:
                pipe.get(self.key("run", rid))
                pipe.exists(self.key("heartbeat", rid))
            replies = pipe.execute()
        except (redis.RedisError, OSError) as exc:
            self.error = f"Redis at {self.client.connection_pool.connection_kwargs.get('host')}: {exc}"
            logger.warning("dashboard: live feed unavailable: {}", exc)
            return []
        self.error = None
        out = []
        for rid, raw, alive in zip(ids, replies[::2], replies[1::2], strict=True):
            if raw is None:
                continue  # expired after the run ended
            try:
                meta = json.loads(raw)
            except ValueError:
                continue
            if meta.get("status") == "running" and not alive:
                meta["status"] = "stalled"
            meta["run_id"] = rid
            out.append(meta)
        return out

    # ------------------------------------------------------------------ one run
    def run(self, run_id: str) -> LiveRun:
        """The run, brought up to date with everything published since the last call."""
        import redis

        with self._lock:
            live = self._runs.get(run_id)
            if live is None:
                live = self._runs[run_id] = LiveRun(run_id)
            try:
                self._refresh(live)
                self.error = None
            except (redis.RedisError, OSError) as exc:
                self.error = f"live feed unavailable: {exc}"
            return live

    def _refresh(self, live: LiveRun) -> None:
        stream = self.key("run", live.run_id, "events")
        changed = False
        for _ in range(READS_PER_REFRESH):
            start = "-" if live.last_id == "-" else f"({live.last_id}"
            entries: list[Any] = self.client.xrange(stream, min=start, max="+", count=READ_BATCH) or []
            for entry_id, raw_fields in entries:
                fields = raw_fields or {}
                kind = _text(fields.get(b"kind", b""))
                try:
                    data = json.loads(fields.get(b"data", b"{}"))
                except ValueError:
                    continue
                if isinstance(data, dict):
                    live.apply(kind, data)
                live.last_id = _text(entry_id)
            changed = changed or bool(entries)
            if len(entries) < READ_BATCH:
                break
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.key("run", live.run_id))
        pipe.get(self.key("run", live.run_id, "snapshot"))
        pipe.exists(self.key("heartbeat", live.run_id))
        meta, snap, alive = pipe.execute()
        if meta is not None:
            live.meta = json.loads(meta)
            if live.meta.get("status") == "running" and not alive:
                live.meta["status"] = "stalled"
        if snap is not None:
            snapshot = json.loads(snap)
            if snapshot != live.snapshot:
                live.snapshot, changed = snapshot, True
        if changed:
            live.version += 1

    def feed_status(self, live: LiveRun) -> dict[str, Any]:
        """Data feed and broker status as seen through the feed: age of the last bar's
        arrival (wall-clock seconds) and of the broker's last order update or fill."""
        now = self.clock.now()
        feed = live.snapshot.get("feed") or {}
        broker = live.snapshot.get("broker") or {}
        received = _parse_time(
            feed.get("received_at") or (live.steps[-1].get("received_at") if live.steps else None)
        )
        broker_at = _parse_time(broker.get("last_update_at"))
        age = (now - received).total_seconds() if received else None
        running = live.status == "running"
        if not running:
            state = live.status
        elif age is None:
            state = "waiting for the first bar"
        elif age > self.stale_after:
            state = "stale"
        else:
            state = "live"
        return {
            "state": state,
            "last_bar": feed.get("last_bar") or (live.steps[-1].get("timestamp") if live.steps else None),
            "received_at": received.isoformat() if received else None,
            "age_seconds": age,
            "broker_last_update_at": broker_at.isoformat() if broker_at else None,
            "broker_age_seconds": (now - broker_at).total_seconds() if broker_at else None,
            "open_orders": broker.get("open_orders"),
        }

    def close(self) -> None:
        self.client.close()
