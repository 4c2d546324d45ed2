"""A local server speaking Alpaca's market data protocols, with scripted bars and faults:

* REST ``GET /v2/stocks/bars`` (and ``/v1beta3/crypto/us/bars``): the bars published so far,
  filtered by ``start``/``end``, paginated with ``next_page_token`` as Alpaca does;
* the trading API's ``GET /v2/clock`` and ``GET /v2/calendar`` (market hours);
* the market data websocket (``/v2/iex``, ``/v2/sip``, ``/v1beta3/crypto/us``) in Alpaca's
  msgpack protocol: ``[{"T": "success", "msg": "connected"}]`` on connect, ``{"action":
  "auth", "key", "secret"}`` answered ``authenticated`` (or ``error`` 402), ``{"action":
  "subscribe", "bars": [...]}`` answered with a ``subscription`` message, then minute bars
  ``{"T": "b", "S", "o", "h", "l", "c", "v", "t": <msgpack Timestamp>, "n", "vw"}``, one
  frame per minute carrying every symbol's bar. Pings are answered (aiohttp autoping).

alpaca-py's own ``StockDataStream`` and historical clients are pointed at it.

Bars: ``history`` minutes are published at start (the warm-up a run loads over REST); the
``live`` minutes are published one every ``bar_interval_s`` seconds of wall clock once the
first client subscribes. ``events`` script faults by live bar index: ``("drop", seconds)``
closes every socket and refuses new ones for that long before publishing the bar;
``("mute", None)`` leaves the current sockets open (answering pings) but sends them nothing
more; ``("pause", seconds)`` stops publishing anything for that long (a vendor outage);
``("die", None)`` kills the server for good: sockets closed, reconnects refused, REST answers
503, nothing published any more. ``publish_on_subscribe = False`` waits for
:meth:`start_publishing` instead of the first subscription.
``on_publish(index, bar)`` is called for every live bar (tests keep the trading server's fill
prices in step with it).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgpack
import numpy as np
from aiohttp import WSMsgType, web

KEY, SECRET = "PKTEST", "secret"


@dataclass
class Bar:
    ts: datetime
    prices: dict[str, tuple[Decimal, Decimal, Decimal, Decimal, int]]  # symbol -> o, h, l, c, v


def scripted_bars(symbols: list[str], n: int, start: datetime, seed: int = 7) -> list[Bar]:
    """A random walk per symbol in cents, one bar per minute from ``start``."""
    rng = np.random.default_rng(seed)
    out = []
    level = {s: 100.0 + 50 * i for i, s in enumerate(symbols)}
    for k in range(n):
        prices = {}
        for s in symbols:
            o = level[s]
            c = max(o * (1 + rng.normal(0, 0.004)), 1.0)
            hi, lo = max(o, c) * 1.001, min(o, c) * 0.999
            q = [Decimal(f"{x:.2f}") for x in (o, hi, lo, c)]
            prices[s] = (q[0], q[1], q[2], q[3], int(rng.integers(100, 5000)))
            level[s] = float(q[3])
        out.append(Bar(start + timedelta(minutes=k), prices))
    return out


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeMarketDataServer:
    symbols: list[str]
    history: int = 30
    live: int = 70
    start: datetime = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    bar_interval_s: float = 0.15
    events: dict[int, list[tuple[str, Any]]] = field(default_factory=dict)
    market_open: bool = True
    seed: int = 7
    on_publish: Callable[[int, Bar], None] | None = None
    publish_on_subscribe: bool = True
    dead: bool = False
    # observed
    published: list[Bar] = field(default_factory=list)
    ws_connections: int = 0
    subscriptions: int = 0
    bar_requests: int = 0
    clock_requests: int = 0
    calendar_requests: int = 0
    url: str = ""
    done: threading.Event = field(default_factory=threading.Event)
    _all: list[Bar] = field(default_factory=list)
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _muted: set[int] = field(default_factory=set)
    _refuse_until: float = 0.0
    _publisher: asyncio.Task[None] | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        self._all = scripted_bars(self.symbols, self.history + self.live, self.start, self.seed)
        self.published = list(self._all[: self.history])

    # ---------------------------------------------------------------- lifecycle
    def start_server(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_get("/v2/stocks/bars", self._bars)
            app.router.add_get("/v1beta3/crypto/us/bars", self._bars)
            app.router.add_get("/v2/clock", self._clock)
            app.router.add_get("/v2/calendar", self._calendar)
            for path in ("/v2/iex", "/v2/sip", "/v1beta3/crypto/us"):
                app.router.add_get(path, self._socket)
            self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-alpaca-market-data", daemon=True)
        self._thread.start()
        assert ready.wait(5)

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def close() -> None:
            if self._publisher is not None:
                self._publisher.cancel()
            for ws in list(self._sockets):
                await ws.close()

        asyncio.run_coroutine_threadsafe(close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(5)

    def stream_url(self, feed: str = "iex") -> str:
        return self.url.replace("http://", "ws://") + f"/v2/{feed}"

    @property
    def live_bars(self) -> list[Bar]:
        return self._all[self.history :]

    @property
    def history_bars(self) -> list[Bar]:
        return self._all[: self.history]

    # ---------------------------------------------------------------- publishing
    def start_publishing(self) -> None:
        """Start publishing the live bars now (from any thread)."""
        assert self._loop is not None

        def start() -> None:
            if self._publisher is None:
                self._publisher = asyncio.ensure_future(self._publish_all())

        self._loop.call_soon_threadsafe(start)

    def _frame(self, bar: Bar) -> bytes:
        msgs = []
        for symbol, (o, h, lo, c, v) in bar.prices.items():
            msgs.append(
                {
                    "T": "b",
                    "S": symbol,
                    "o": float(o),
                    "h": float(h),
                    "l": float(lo),
                    "c": float(c),
                    "v": v,
                    "t": msgpack.Timestamp.from_unix_nano(int(bar.ts.timestamp()) * 1_000_000_000),
                    "n": 10,
                    "vw": float(c),
                }
            )
        return msgpack.packb(msgs)

    async def _publish_all(self) -> None:
        loop = asyncio.get_running_loop()
        for k, bar in enumerate(self.live_bars):
            for action, arg in self.events.get(k, []):
                if action == "drop":
                    self._refuse_until = loop.time() + float(arg)
                    for ws in list(self._sockets):
                        await ws.close()
                    self._sockets.clear()
                elif action == "mute":
                    self._muted.update(id(ws) for ws in self._sockets)
                elif action == "pause":
                    await asyncio.sleep(float(arg))
                elif action == "die":
                    self.dead = True
                    self._refuse_until = float("inf")
                    for ws in list(self._sockets):
                        await ws.close()
                    self._sockets.clear()
                    return
            self.published.append(bar)
            if self.on_publish is not None:
                self.on_publish(k, bar)
            frame = self._frame(bar)
            for ws in list(self._sockets):
                if not ws.closed and id(ws) not in self._muted:
                    await ws.send_bytes(frame)
            await asyncio.sleep(self.bar_interval_s)
        self.done.set()

    # ---------------------------------------------------------------- REST
    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message}, status=status)

    def _authorized(self, request: web.Request) -> bool:
        if self.dead:
            raise web.HTTPServiceUnavailable(text="dead")
        return request.headers.get("APCA-API-KEY-ID") == KEY and request.headers.get("APCA-API-SECRET-KEY") == SECRET

    async def _bars(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(401, 40110000, "request is not authorized")
        self.bar_requests += 1
        q = request.query
        symbols = q["symbols"].split(",")
        lo = datetime.fromisoformat(q["start"]) if q.get("start") else None
        hi = datetime.fromisoformat(q["end"]) if q.get("end") else None
        limit = int(q.get("limit", "10000"))
        token = int(q.get("page_token", "0") or 0)
        flat = []
        for s in symbols:
            for bar in self.published:
                if s in bar.prices and (lo is None or bar.ts >= lo) and (hi is None or bar.ts <= hi):
                    o, h, low, c, v = bar.prices[s]
                    flat.append((s, {"t": _iso(bar.ts), "o": float(o), "h": float(h), "l": float(low),
                                     "c": float(c), "v": v, "n": 10, "vw": float(c)}))
        page = flat[token : token + limit]
        out: dict[str, list[dict[str, Any]]] = {}
        for s, b in page:
            out.setdefault(s, []).append(b)
        nxt = str(token + limit) if token + limit < len(flat) else None
        return web.json_response({"bars": out, "next_page_token": nxt})

    async def _clock(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(401, 40110000, "request is not authorized")
        self.clock_requests += 1
        now = datetime.now(UTC)
        nxt = now + timedelta(hours=6)
        return web.json_response(
            {
                "timestamp": now.isoformat(),
                "is_open": self.market_open,
                "next_open": (nxt if not self.market_open else now + timedelta(days=1)).isoformat(),
                "next_close": (nxt if self.market_open else now + timedelta(days=1, hours=6)).isoformat(),
            }
        )

    async def _calendar(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(401, 40110000, "request is not authorized")
        self.calendar_requests += 1
        first = date.fromisoformat(request.query.get("start", date.today().isoformat()))
        last = date.fromisoformat(request.query.get("end", first.isoformat()))
        days = []
        d = first
        while d <= last:
            if d.weekday() < 5:
                days.append({"date": d.isoformat(), "open": "09:30", "close": "16:00", "session_open": "0400",
                             "session_close": "2000", "settlement_date": (d + timedelta(days=1)).isoformat()})
            d += timedelta(days=1)
        return web.json_response(days)

    # ---------------------------------------------------------------- websocket
    async def _socket(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        if loop.time() < self._refuse_until:
            return web.Response(status=503, text="unavailable")
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        self.ws_connections += 1
        await ws.send_bytes(msgpack.packb([{"T": "success", "msg": "connected"}]))
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    break
                data = msgpack.unpackb(msg.data) if msg.type == WSMsgType.BINARY else json.loads(msg.data)
                action = data.get("action")
                if action == "auth":
                    if data.get("key") != KEY or data.get("secret") != SECRET:
                        await ws.send_bytes(msgpack.packb([{"T": "error", "code": 402, "msg": "auth failed"}]))
                        await ws.close()
                        break
                    await ws.send_bytes(msgpack.packb([{"T": "success", "msg": "authenticated"}]))
                elif action == "subscribe":
                    bars = list(data.get("bars", []))
                    await ws.send_bytes(
                        msgpack.packb(
                            [
                                {"T": "subscription", "trades": [], "quotes": [], "bars": bars, "updatedBars": [],
                                 "dailyBars": [], "statuses": [], "lulds": [], "corrections": [],
                                 "cancelErrors": []}
                            ]
                        )
                    )
                    self.subscriptions += 1
                    self._sockets.append(ws)
                    if self._publisher is None and self.publish_on_subscribe:
                        self._publisher = loop.create_task(self._publish_all())
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws
