"""The heartbeat in Redis: the trader's writer and the watchdog's reader.

Needs the ``redis`` client (``pip install 'ai-trading-watchdog[redis]'``); nothing else in
the plugin imports this module unless a Redis URL is configured, so the file-only heartbeat
works without it.

Key and value: ``<prefix>:heartbeat:<process>`` (the key layout of the ``ai-trading-redis``
plugin, whose ``last_heartbeat(process)`` reads it too) holds the same JSON object as
``heartbeat.json``: ``{"beats", "pid", "ts", "ts_ns"}``, written with ``SET ... PX <ttl>``.

**Writer** (:class:`RedisHeartbeatWriter`, in the trader): the engine hands each beat to one
daemon thread through a single-slot mailbox and returns at once, so a slow, unreachable or
black-holed Redis never delays a step, and a backlog cannot build up (a newer beat replaces
one not yet sent). The thread only sends what the engine handed it: a hung engine stops the
beats even though the thread lives on. A failed write is logged once per outage and reported
through :meth:`RedisHeartbeatWriter.take_outages` (the check raises the alert on the engine's
thread); the thread then waits ``retry_s`` before it sends the newest beat again. There are no
client-side retries; every command has a ``timeout_s`` socket timeout.

**Reader** (:class:`RedisHeartbeatSource`, in the watchdog): a missing key is "no heartbeat"
(``None``), exactly like a missing file; a server that cannot be reached or answers with an
error raises :class:`HeartbeatUnreachable`, which the watchdog never mistakes for a silent
trader.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from loguru import logger

from ai_trading_core.errors import ConfigError

from .watchdog import HeartbeatUnreachable, parse_heartbeat

__all__ = ["HeartbeatUnreachable", "RedisHeartbeatSource", "RedisHeartbeatWriter", "mask_url", "redis_key"]

INSTALL_HINT = "pip install 'ai-trading-watchdog[redis]'"


def redis_key(prefix: str, process: str) -> str:
    """``<prefix>:heartbeat:<process>``."""
    return f"{prefix}:heartbeat:{process}"


def mask_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``**********``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:**********@{host}"))


def _redis_module() -> Any:
    try:
        import redis
    except ImportError:
        raise ConfigError(f"a heartbeat in Redis needs the redis client: {INSTALL_HINT}") from None
    return redis


def make_client(url: str, *, password: str | None = None, timeout_s: float) -> Any:
    """A ``redis.Redis`` for ``url`` with ``timeout_s`` to connect and per command, and no
    retries; ``password`` (when given) overrides the URL's.

    :raises ConfigError: the client is not installed, or the URL is not a Redis URL.
    """
    redis = _redis_module()
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    kwargs: dict[str, Any] = dict(socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                  retry=Retry(NoBackoff(), 0), retry_on_timeout=False, health_check_interval=0)
    try:
        client = redis.Redis.from_url(url, **kwargs)
    except ValueError as exc:
        raise ConfigError(f"not a Redis URL ({mask_url(url)}): {exc}") from None
    if password is not None:  # from_url lets the URL's password win over a keyword; this one must win
        client.connection_pool.connection_kwargs["password"] = password
    return client


def describe(client: Any, key: str) -> str:
    """``redis host:port/db key`` (never the password)."""
    kw = client.connection_pool.connection_kwargs
    where = kw.get("path") or f"{kw.get('host', '?')}:{kw.get('port', '?')}"
    return f"redis {where}/{kw.get('db', 0)} key {key}"


def encode_beat(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(payload), sort_keys=True, separators=(",", ":")).encode("utf-8")


class RedisHeartbeatWriter:
    """Sends heartbeats to Redis from a background thread; see the module docstring.

    :param ttl_s: seconds the key lives after each write (``PX``).
    :param timeout_s: socket timeout to connect and per command, seconds.
    :param retry_s: seconds the thread waits after a failed write before it tries again.
    """

    def __init__(
        self, url: str, key: str, *, ttl_s: float, password: str | None = None, timeout_s: float = 0.5,
        retry_s: float = 1.0,
    ) -> None:
        self.client = make_client(url, password=password, timeout_s=timeout_s)
        self.key = key
        self.where = describe(self.client, key)
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.retry_s = retry_s
        self.written = 0  # beats stored
        self.failed = 0  # writes that failed
        self._cond = threading.Condition()
        self._pending: bytes | None = None
        self._busy = False
        self._closed = False
        self._down = False
        self._outages: list[str] = []  # errors that started an outage, not yet reported
        self._thread: threading.Thread | None = None

    def offer(self, payload: Mapping[str, Any]) -> None:
        """Hand a beat to the writer thread; never blocks on the network."""
        data = encode_beat(payload)
        with self._cond:
            if self._closed:
                return
            self._pending = data
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"heartbeat-redis {self.key}", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def take_outages(self) -> list[str]:
        """Errors that began an outage since the last call (one per outage)."""
        with self._cond:
            taken, self._outages = self._outages, []
        return taken

    @property
    def down(self) -> bool:
        """True after a failed write, until a write succeeds."""
        return self._down

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the last beat handed over has been sent (or has failed); True if so."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout=timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Send the beat still pending (bounded by ``timeout``), stop the thread, close the client."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self.client.close()

    # ------------------------------------------------------------------ thread
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._pending is None:
                    return  # closed, nothing left to send
                data, self._pending, self._busy = self._pending, None, True
            ok = self._write(data)
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                if not ok:
                    if self._closed:
                        return
                    self._cond.wait_for(lambda: self._closed, timeout=self.retry_s)

    def _write(self, data: bytes) -> bool:
        try:
            self.client.set(self.key, data, px=self.ttl_ms)
        except Exception as exc:  # noqa: BLE001 - an outage must never reach the trader
            self.failed += 1
            if not self._down:
                self._down = True
                message = f"{type(exc).__name__}: {exc}"
                logger.warning("heartbeat: cannot write to {}: {}; trading goes on, retrying", self.where, message)
                with self._cond:
                    self._outages.append(message)
            return False
        if self._down:
            self._down = False
            logger.info("heartbeat: {} reachable again after {} failed write(s)", self.where, self.failed)
        self.written += 1
        return True


class RedisHeartbeatSource:
    """Reads the heartbeat key for the watchdog.

    :param timeout_s: socket timeout to connect and per command, seconds.
    """

    def __init__(self, url: str, key: str, *, password: str | None = None, timeout_s: float = 1.0) -> None:
        self.client = make_client(url, password=password, timeout_s=timeout_s)
        self.key = key
        self.where = describe(self.client, key)

    def read(self) -> dict[str, Any] | None:
        """The heartbeat, None when the key does not exist (never written, or its TTL ran out).

        :raises HeartbeatUnreachable: Redis cannot be reached or answered with an error.
        :raises DataError: the key holds something that is not a heartbeat.
        """
        redis = _redis_module()
        try:
            data = self.client.get(self.key)
        except (redis.RedisError, OSError) as exc:
            raise HeartbeatUnreachable(f"cannot read {self.where}: {type(exc).__name__}: {exc}") from None
        if data is None:
            return None
        return parse_heartbeat(data, self.where)

    def close(self) -> None:
        self.client.close()
