"""What the watchdog decides (pure) and what it does when the trader has gone silent.

The watchdog runs in its own process: a trader that hangs, is killed (``kill -9``) or loses
its machine cannot cancel its own orders, so something outside it must.

Where the heartbeat comes from (a *source*: ``read()`` returns the beat or None): the file
``<state_dir>/heartbeat.json`` (:class:`FileHeartbeatSource`) or the Redis key
``<prefix>:heartbeat:<process>`` (:class:`~.redis_heartbeat.RedisHeartbeatSource`). How
successive reads become a decision (:class:`Watch`):

- a fresh beat: the trader is alive (FRESH);
- no heartbeat at all, ever (no file, no key: never written, or a key whose TTL ran out before
  this watchdog looked): the trader has not started, nothing to do (ABSENT);
- a beat older than ``max_silence``: act (STALE). A heartbeat that *disappears* after the
  watchdog has seen one (the Redis key expired because the trader stopped beating, the file
  was deleted) does not reset anything: silence is measured from the newest beat seen;
- a store that cannot be read (Redis down, or unreachable from the watchdog's host): the
  trader's state is UNKNOWN (``unreachable``) and the watchdog never acts on it (its own
  broken link is no evidence that the trader is dead); it reports the problem and keeps
  watching. Once the store answers again, silence is counted from that moment, not from the
  last beat: a trader whose link went down together with the watchdog's gets a full
  ``max_silence`` to beat again before the watchdog acts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from loguru import logger

from ai_trading_core.clock import Clock, WallClock
from ai_trading_core.config import AppConfig
from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import AiTradingError, DataError
from ai_trading_core.plugins import PluginHost
from ai_trading_core.protocols import BrokerContext
from ai_trading_core.registry import BuildContext


class Liveness(StrEnum):
    FRESH = "fresh"  # the trader beat within max_silence
    STALE = "stale"  # the trader has been silent longer than max_silence: act
    ABSENT = "absent"  # no heartbeat yet (trader not started, or another state dir / key)
    UNREACHABLE = "unreachable"  # the heartbeat store cannot be read: unknown, never acted on


@dataclass(frozen=True, slots=True)
class Assessment:
    liveness: Liveness
    age_s: float | None  # seconds since the last beat, None without a heartbeat
    pid: int | None = None
    error: str | None = None  # why the heartbeat could not be read (UNREACHABLE)


class HeartbeatUnreachable(AiTradingError):
    """The heartbeat store could not be read: the trader's state is unknown, not dead."""


def parse_heartbeat(data: str | bytes, where: str) -> dict[str, Any]:
    """A heartbeat document (JSON object with an integer ``ts_ns``) parsed.

    :raises DataError: ``data`` is not a heartbeat (corrupt or foreign); ``where`` names it.
    """
    try:
        beat = json.loads(data)
        int(beat["ts_ns"])
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise DataError(f"{where} is not a heartbeat: {exc}") from None
    if not isinstance(beat, dict):
        raise DataError(f"{where} is not a heartbeat")
    return beat


def read_heartbeat(path: Path) -> dict[str, Any] | None:
    """The heartbeat file's content, None if there is none.

    :raises DataError: the file exists but is not a heartbeat (corrupt or foreign).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return parse_heartbeat(text, f"{path} (heartbeat file)")


class HeartbeatSource(Protocol):
    where: str  # for messages: the file, or the Redis server and key (never a password)

    def read(self) -> dict[str, Any] | None:
        """The heartbeat, None when there is none; raises ``HeartbeatUnreachable`` when the
        store cannot be read and ``DataError`` when it holds something else."""

    def close(self) -> None: ...


class FileHeartbeatSource:
    """``<state_dir>/heartbeat.json``: for a watchdog sharing the trader's disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    def read(self) -> dict[str, Any] | None:
        return read_heartbeat(self.path)

    def close(self) -> None:
        pass


def assess(
    beat: dict[str, Any] | None, now_ns: int, max_silence_s: float, *, watched_since_ns: int | None = None,
) -> Assessment:
    """Decide whether the trader is alive. A beat exactly ``max_silence_s`` old is still fresh;
    a beat from the future (clock skew) counts as age 0.

    :param now_ns: the watchdog's clock, nanoseconds since the epoch (UTC).
    :param max_silence_s: seconds of silence tolerated.
    :param watched_since_ns: silence before this moment is not counted (the watchdog could not
        see the heartbeat then); ``age_s`` still reports the beat's true age.
    """
    if beat is None:
        return Assessment(Liveness.ABSENT, None)
    ts_ns = int(beat["ts_ns"])
    age_s = max(now_ns - ts_ns, 0) / 1e9
    silence_s = max(now_ns - max(ts_ns, watched_since_ns or ts_ns), 0) / 1e9
    pid = beat.get("pid")
    liveness = Liveness.STALE if silence_s > max_silence_s else Liveness.FRESH
    return Assessment(liveness, age_s, int(pid) if pid is not None else None)


class Watch:
    """Successive reads of one heartbeat source turned into assessments (the rules are in the
    module docstring). Pure: the caller reads the source and passes the time."""

    def __init__(self, max_silence_s: float) -> None:
        self.max_silence_s = max_silence_s
        self.last: dict[str, Any] | None = None  # the newest beat seen
        self.watched_since_ns: int | None = None  # set when the store answers again after an outage
        self.unreachable_since_ns: int | None = None

    def seen(self, beat: dict[str, Any] | None, now_ns: int) -> Assessment:
        """The source answered with ``beat`` (None: no heartbeat there)."""
        if self.unreachable_since_ns is not None:
            self.unreachable_since_ns, self.watched_since_ns = None, now_ns
        if beat is not None and (self.last is None or int(beat["ts_ns"]) >= int(self.last["ts_ns"])):
            self.last = beat
        return assess(self.last, now_ns, self.max_silence_s, watched_since_ns=self.watched_since_ns)

    def unreachable(self, error: str, now_ns: int) -> Assessment:
        """The source could not be read: UNREACHABLE, whatever was seen before."""
        if self.unreachable_since_ns is None:
            self.unreachable_since_ns = now_ns
        last = self.last
        age_s = max(now_ns - int(last["ts_ns"]), 0) / 1e9 if last is not None else None
        pid = last.get("pid") if last is not None else None
        return Assessment(Liveness.UNREACHABLE, age_s, int(pid) if pid is not None else None, error)


@dataclass
class Intervention:
    """What the watchdog did when the trader went silent."""

    order_ids: list[str]
    cancelled: list[str]
    failed: dict[str, str]
    halted: bool


def _context(config: AppConfig, host: PluginHost, clock: Clock) -> BuildContext:
    r = host.registries

    def build_named(role: str, name: str, params: Any, cid: str) -> Any:
        from ai_trading_core.enums import Role

        return r.by_role()[Role(role)].get(name).build(params, ctx)

    ctx = BuildContext(component_id="watchdog", mode=config.run.mode, initial_cash=config.run.initial_cash,
                       currency=config.run.currency, state_dir=config.run.state_dir,
                       credentials=credentials(config, host), clock=clock, seed=config.run.seed, build=build_named)
    return ctx


def credentials(config: AppConfig, host: PluginHost) -> dict[str, Any]:
    """The credentials the trader itself runs with: those the plugins load
    (``ai_trading_load_credentials``, e.g. the encrypted secrets file) under the config's own,
    so the watchdog can reach a broker whose keys live in the secrets file."""
    stored: dict[str, Any] = {}
    for found in reversed(host.pm.hook.ai_trading_load_credentials(config=config)):
        stored.update(found or {})
    return {**stored, **config.credentials}


def _ids(items: Iterable[Any]) -> list[str]:
    return [str(getattr(item, "client_order_id", item)) for item in items]


LIST_ORDERS_SINCE = timedelta(days=7)  # how far back a broker's order list is read for open ones


def broker_open_order_ids(broker: Any, clock: Clock) -> list[str] | None:
    """The open orders as the broker itself lists them: ``open_orders()``, else the order
    list of :class:`~ai_trading_core.protocols.OrderListing` (``orders_since``, the last
    seven days) reduced to the orders not yet terminal. None when it can list neither."""
    fn = getattr(broker, "open_orders", None)
    if callable(fn):
        return _ids(fn())
    since = getattr(broker, "orders_since", None)
    if callable(since):
        return [u.client_order_id for u in since(clock.now() - LIST_ORDERS_SINCE) if not u.status.is_terminal]
    return None


def open_order_ids(broker: Any, storage: Any | None, clock: Clock | None = None) -> list[str]:
    """The client order ids to cancel: the broker's own list of open orders first (what is
    really working at the broker, including orders the trader never recorded), then the
    storage's (``open_order_ids()``: orders recorded but not listed, e.g. an answer lost in
    flight), without duplicates."""
    listed = broker_open_order_ids(broker, clock if clock is not None else WallClock())
    ids: list[str] = list(listed or [])
    fn = getattr(storage, "open_order_ids", None) if storage is not None else None
    if callable(fn):
        ids += [i for i in _ids(fn()) if i not in ids]
    elif listed is None:
        logger.error("watchdog: neither the broker nor the storage can list open orders; nothing to cancel by id")
    return ids


def intervene(config: AppConfig, host: PluginHost, clock: Clock, *, reason: str) -> Intervention:
    """Build the configured broker (and storage, if configured), cancel every open order it
    knows, and halt the kill switch (``ai_trading_killswitch``, when installed) so a trader
    that comes back does not resume trading without an operator's ``ai-trading resume``."""
    ctx = _context(config, host, clock)
    r = host.registries
    halted = _halt(config.run.state_dir, reason, clock)
    broker = r.brokers.get(config.broker.name).build(config.broker.params, ctx)
    storage = r.storage.get(config.storage.name).build(config.storage.params, ctx) if config.storage else None
    cancelled: list[str] = []
    failed: dict[str, str] = {}
    try:
        broker.connect(BrokerContext(instruments={}, symbols=(), initial_cash=Decimal(config.run.initial_cash),
                                     currency=config.run.currency, timeframe=Timeframe.D1, clock=clock))
        ids = open_order_ids(broker, storage, clock)
        for cid in ids:
            try:
                broker.cancel_order(cid)
            except Exception as exc:  # noqa: BLE001 - one failed cancel must not stop the others
                failed[cid] = f"{type(exc).__name__}: {exc}"
                logger.error("watchdog: cancel of {} failed: {}", cid, exc)
                continue
            cancelled.append(cid)
    finally:
        broker.close()
        if storage is not None:
            storage.close()
    logger.critical("watchdog: {}; cancelled {} of {} open orders; kill switch {}", reason, len(cancelled),
                    len(ids), "halted" if halted else "not installed")
    return Intervention(ids, cancelled, failed, halted)


def _halt(state_dir: Path, reason: str, clock: Clock) -> bool:
    try:
        from ai_trading_killswitch.state import halt
    except ImportError:
        return False
    try:
        halt(state_dir, reason=reason, by="watchdog", now=clock.now())
    except AiTradingError as exc:
        logger.error("watchdog: kill switch halt failed: {}", exc)
        return False
    return True
