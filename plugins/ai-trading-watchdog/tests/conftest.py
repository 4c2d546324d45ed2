"""Redis for the heartbeat tests: the real server at 127.0.0.1:6379, database 12
(``AI_TRADING_TEST_REDIS_URL`` overrides). Each test gets its own key prefix and its keys are
deleted afterwards; the database is never flushed. Tests marked ``redis`` skip, naming the
reason, only when the server is unreachable. Also: a TCP proxy in front of it whose link can
be cut and restored, a black hole (accepts connections, never answers) and a closed port."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

REDIS_URL = os.environ.get("AI_TRADING_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")


@dataclass
class RedisTarget:
    url: str
    prefix: str  # unique to the test
    client: Any  # redis.Redis on url

    def url_via(self, port: int) -> str:
        """``url`` with its host and port replaced by 127.0.0.1:``port`` (same database)."""
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))


@pytest.fixture
def redis_target() -> Iterator[RedisTarget]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis server unreachable at {REDIS_URL}: {exc}")
    prefix = f"test-watchdog-{uuid.uuid4().hex[:12]}"
    yield RedisTarget(REDIS_URL, prefix, client)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def closed_port() -> int:
    """A local port nobody listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BlackHole:
    """Listens, never accepts or answers: a connect succeeds (the kernel's backlog), every
    command then waits for its socket timeout."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target``; :meth:`cut` drops every connection and stops
    listening (connections are then refused), :meth:`restore` listens on the same port again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.restore()

    def restore(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.05)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, args=(self._listener, self._stop), daemon=True)
        self._thread.start()

    def cut(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self.target, timeout=2)
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def redis_proxy(redis_target: RedisTarget) -> Iterator[TcpProxy]:
    parts = urlsplit(redis_target.url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    yield proxy
    proxy.cut()
