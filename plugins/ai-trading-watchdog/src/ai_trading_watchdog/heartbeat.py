"""The ``heartbeat`` risk check: approves every order and, on every step (at most once per
``interval_s`` of wall-clock time), writes the heartbeat ``{"pid", "ts", "ts_ns", "beats",
"bar_ts"}`` to ``<state_dir>/heartbeat.json`` and, when ``redis_url`` is set, to the Redis key
``<redis_prefix>:heartbeat:<redis_process>`` (with a TTL), so that a watchdog on another host
can see it.

A Redis outage never stops or slows trading: the Redis write happens on a background thread
(:mod:`.redis_heartbeat`), a failure is logged and raises one critical alert per outage through
``BuildContext.alert``, and the beats go on (the file keeps being written). The consequence of a
long outage is on the watchdog's side: it no longer sees fresh beats and, if *it* can reach
Redis, acts after ``--max-silence``.

``ts``/``ts_ns`` are the wall-clock time the beat was written: liveness, whatever the run
replays (a paper run over 2008's bars is alive now, not in 2008). ``bar_ts`` is the engine
clock's time (the bar being processed), for information only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger
from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from ai_trading_core import hookimpl
from ai_trading_core.batch import OrderBatch, VerdictBatch
from ai_trading_core.clock import WallClock
from ai_trading_core.enums import AlertSeverity, RiskDecision
from ai_trading_core.files import atomic_write_json
from ai_trading_core.models import Alert, Order, RiskVerdict
from ai_trading_core.protocols import RiskContext, RiskStateRequest

if TYPE_CHECKING:
    from ai_trading_core.result import RunResult, Session

    from .redis_heartbeat import RedisHeartbeatWriter

HEARTBEAT_FILE = "heartbeat.json"
_APPROVES = "heartbeat approves every order"
DEFAULT_REDIS_PREFIX = "ai_trading"
DEFAULT_REDIS_PROCESS = "trader"


def heartbeat_path(state_dir: str | Path) -> Path:
    """``<state_dir>/heartbeat.json``."""
    return Path(state_dir) / HEARTBEAT_FILE


class HeartbeatParams(BaseModel):
    """Parameters of the ``heartbeat`` risk check."""

    model_config = ConfigDict(extra="forbid")

    interval_s: float = Field(default=5.0, ge=0.0,
                              description="seconds of wall-clock time between two writes; 0 = every step")
    write_file: bool = Field(default=True, description="write <run.state_dir>/heartbeat.json")
    redis_url: str | None = Field(
        default=None,
        description="also write the heartbeat to this Redis (redis://, rediss:// or unix:// URL); "
        "needs ai-trading-watchdog[redis]; unset = file only")
    redis_password_credential: str | None = Field(
        default=None, description="name of the credential holding the Redis password (overrides the URL's)")
    redis_prefix: str = Field(default=DEFAULT_REDIS_PREFIX, min_length=1,
                              description="key prefix: the key is <redis_prefix>:heartbeat:<redis_process>")
    redis_process: str = Field(default=DEFAULT_REDIS_PROCESS, min_length=1,
                               description="names this trader in the key; one per trader sharing a Redis")
    redis_ttl_s: float = Field(
        default=600.0, gt=0.0,
        description="seconds the Redis key lives after each write; must exceed interval_s, and should exceed "
        "the watchdog's --max-silence so that a watchdog started late still sees a stale beat")

    @model_validator(mode="after")
    def _consistent(self) -> HeartbeatParams:
        if not self.write_file and not self.redis_url:
            raise ValueError("the heartbeat must go somewhere: write_file = true or a redis_url")
        if self.redis_url and self.redis_ttl_s <= self.interval_s:
            raise ValueError(f"redis_ttl_s ({self.redis_ttl_s:g}) must exceed interval_s ({self.interval_s:g}): "
                             "the key would expire between two beats")
        return self

    @field_serializer("redis_url", when_used="json")
    def _masked(self, url: str | None) -> str | None:  # run documents never carry a password
        from .redis_heartbeat import mask_url

        return None if url is None else mask_url(url)


class Heartbeat:
    """Writes ``{"pid", "ts", "ts_ns", "beats"}`` (plus ``bar_ts`` with a ``bar_clock``): to
    ``path`` atomically (a reader never sees half a file) when a path is given, and to Redis
    through ``redis`` when given. ``clock`` is the liveness clock, the one the watchdog
    compares with its own: the wall clock (``build_heartbeat`` passes :class:`WallClock`;
    tests inject a simulated one). ``bar_clock`` is the engine's clock (bar time in
    backtests and replays), recorded as ``bar_ts``.

    :param alert: receives one :class:`~ai_trading_core.models.Alert` per Redis outage, on
        the engine's thread (from :meth:`update`); a failing callable is logged, never raised.
    """

    def __init__(
        self, path: Path | None, clock: Any, *, interval_s: float, name: str = "heartbeat", pid: int | None = None,
        redis: RedisHeartbeatWriter | None = None, alert: Callable[..., None] | None = None,
        bar_clock: Any = None,
    ) -> None:
        self.name = name
        self.bar_clock = bar_clock
        self.path = path
        self.clock = clock if clock is not None else WallClock()
        self.interval_ns = int(interval_s * 1e9)
        self.pid = os.getpid() if pid is None else pid
        self.redis = redis
        self.alert = alert
        self.alerts_sent = 0
        self.beats = 0
        self._last_ns: int | None = None

    def check(self, orders: Sequence[Order], ctx: RiskContext) -> list[RiskVerdict]:
        now = self.clock.now()
        return [RiskVerdict(check=self.name, decision=RiskDecision.APPROVE, client_order_id=o.client_order_id,
                            symbol=o.symbol, requested_quantity=o.quantity, approved_quantity=o.quantity,
                            reason=_APPROVES, timestamp=now) for o in orders]

    def check_batch(self, batch: OrderBatch, ctx: RiskContext) -> VerdictBatch:
        """Approves every row, as :meth:`check`."""
        return VerdictBatch.approve_all(self.name, len(batch), _APPROVES)

    def update(self, ctx: RiskContext) -> RiskStateRequest | None:
        self.beat()
        return None

    def beat(self) -> bool:
        """Write the heartbeat if ``interval_s`` has passed since the last write; True if written
        (to Redis: handed to the writer thread)."""
        if self.redis is not None:
            self._report_outages()
        now_ns = int(self.clock.now_ns())
        if self._last_ns is not None and now_ns - self._last_ns < self.interval_ns:
            return False
        self.beats += 1
        payload: dict[str, Any] = {"pid": self.pid, "ts": self.clock.now().isoformat(), "ts_ns": now_ns,
                                   "beats": self.beats}
        if self.bar_clock is not None:
            payload["bar_ts"] = self.bar_clock.now().isoformat()
        if self.redis is not None:
            self.redis.offer(payload)
        if self.path is not None:
            atomic_write_json(self.path, payload)
        self._last_ns = now_ns
        return True

    def close(self) -> None:
        """Send the last beat still pending to Redis and stop the writer thread."""
        if self.redis is not None:
            self.redis.close()
            self._report_outages()

    @hookimpl
    def ai_trading_session_finish(self, session: Session, result: RunResult) -> None:
        # Carrying a hook makes the runner register this check for the run and close() it at
        # the end (also when the run fails), which stops the Redis writer thread.
        self.close()

    def _report_outages(self) -> None:
        assert self.redis is not None
        for error in self.redis.take_outages():
            self.alerts_sent += 1
            if self.alert is None:
                continue
            alert = Alert(
                severity=AlertSeverity.CRITICAL, source=self.name, key=f"{self.name}:redis-outage",
                message=f"heartbeat cannot reach {self.redis.where} ({error}); trading goes on, but a watchdog "
                        "reading Redis will halt it once the silence exceeds its --max-silence",
                timestamp=self.clock.now(), details={"error": error, "where": self.redis.where},
            )
            try:
                self.alert(alert)
            except Exception:  # an alert channel failing must not turn a heartbeat outage into a trading failure
                logger.exception("alert callback failed while reporting a heartbeat outage")
