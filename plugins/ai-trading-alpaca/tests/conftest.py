"""A local server speaking Alpaca's REST JSON (trading and stock bars) and the trade_updates
websocket protocol, with fault injection. alpaca-py itself is pointed at it."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import WSMsgType, web

STAMP = "2024-01-02T15:00:00Z"


@dataclass
class FakeAlpacaServer:
    """Alpaca's paper API on 127.0.0.1. ``order_faults`` is consumed one entry per POST
    /v2/orders: ``accept_then_504``, ``accept_then_500``, ``accept_then_drop``,
    ``accept_then_hang``, ``accept_then_502``, ``429``, ``429_retry_after``, ``500``, ``403``
    (insufficient buying power), ``hold_then_accept`` (the
    request is held ``hold_s`` before it is processed: the client times out first, then the
    order appears and fills). ``auto_fill`` fills market orders at
    ``prices[symbol]`` right after accepting them (or ``fill_delay_s`` later); ``duplicate_fills`` sends each fill event
    twice; ``silent_handshake`` never answers the websocket's authentication."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # by client order id
    positions: dict[str, Decimal] = field(default_factory=dict)
    prices: dict[str, Decimal] = field(default_factory=dict)
    bars: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    order_faults: list[str] = field(default_factory=list)
    auto_fill: bool = False
    fill_delay_s: float = 0.0  # auto_fill this long after accepting
    duplicate_fills: bool = False
    silent_handshake: bool = False
    hang_s: float = 3.0
    # ---- order-safety faults (tests/test_order_safety*.py)
    cash: Decimal = Decimal("100000")
    activities: list[dict[str, Any]] = field(default_factory=list)  # account FILL activities
    max_position: dict[str, Decimal] = field(default_factory=dict)  # largest |position| seen
    hold_s: float = 8.0  # hold_then_accept
    retry_after_s: str = "0.3"  # 429_retry_after
    lookup_hangs: int = 0  # this many lookups by client order id hang for hang_s
    list_lag_s: float = 0.0  # order lists omit orders younger than this (a briefly stale list)
    drop_stream_on_fill: bool = False  # close the trade_updates sockets instead of sending a fill
    mute_stream: bool = False  # send no trade update (the socket stays open, answers pings)
    ignore_pings: bool = False  # with mute_stream: do not answer pings either
    fill_prices: tuple[str, ...] = ()  # auto_fill in parts: 40% at the first price, the rest at the second
    leave_remainder: bool = False  # with fill_prices: only the first part fills, the rest stays open
    reorder_events: bool = False  # the final fill event first, then the partial, then a stale "new"
    fill_on_cancel: bool = False  # a cancel request is answered, then one more unit fills, then canceled
    refuse_oversell: bool = False  # a sell beyond the shares held (less open sells): 403 insufficient qty
    _created: dict[str, float] = field(default_factory=dict)  # loop time each order was created
    bars_page_size: int = 10_000
    bar_requests: int = 0
    order_posts: int = 0
    ws_connections: int = 0
    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/v2/orders", self._post_order)
            app.router.add_get("/v2/orders", self._list_orders)
            app.router.add_get("/v2/orders:by_client_order_id", self._by_client_id)
            app.router.add_delete("/v2/orders/{id}", self._cancel)
            app.router.add_get("/v2/positions", self._positions)
            app.router.add_get("/v2/account", self._account)
            app.router.add_get("/v2/account/activities/FILL", self._activities)
            app.router.add_get("/v2/stocks/bars", self._bars)
            app.router.add_get("/stream", self._stream)
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

        self._thread = threading.Thread(target=run, name="fake-alpaca", daemon=True)
        self._thread.start()
        assert ready.wait(5)

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def close_sockets() -> None:
            for ws in list(self._sockets):
                await ws.close()

        asyncio.run_coroutine_threadsafe(close_sockets(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(5)

    @property
    def stream_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/stream"

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` (a coroutine function) on the server's loop and wait."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(fn(*args), self._loop).result(5)

    # ---------------------------------------------------------------- order model
    def _new_order(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "client_order_id": body["client_order_id"],
            "created_at": STAMP,
            "updated_at": STAMP,
            "submitted_at": STAMP,
            "filled_at": None,
            "expired_at": None,
            "canceled_at": None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
            "symbol": body["symbol"],
            "asset_class": "us_equity",
            "notional": None,
            "qty": str(body["qty"]),
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": "simple",
            "order_type": body["type"],
            "type": body["type"],
            "side": body["side"],
            "time_in_force": body["time_in_force"],
            "limit_price": body.get("limit_price"),
            "stop_price": body.get("stop_price"),
            "status": "new",
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }

    async def fill(self, client_order_id: str, qty: str, price: str, *, send: bool = True) -> None:
        """Execute ``qty`` of an order at ``price`` and publish the trade update."""
        order = self.orders[client_order_id]
        if order["status"] in ("canceled", "filled"):
            return  # a cancelled order does not fill (a late auto_fill)
        q, p = Decimal(qty), Decimal(price)
        prev_q = Decimal(order["filled_qty"])
        prev_avg = Decimal(order["filled_avg_price"] or "0")
        cum = prev_q + q
        order["filled_qty"] = str(cum)
        # Alpaca reports the average price rounded; a ledger booking it would drift from cash
        order["filled_avg_price"] = str(((prev_avg * prev_q + p * q) / cum).quantize(Decimal("0.01")))
        done = cum >= Decimal(order["qty"])
        order["status"] = "filled" if done else "partially_filled"
        order["filled_at"] = STAMP
        sign = 1 if order["side"] == "buy" else -1
        symbol = order["symbol"]
        self.positions[symbol] = self.positions.get(symbol, Decimal(0)) + sign * q
        self.max_position[symbol] = max(self.max_position.get(symbol, Decimal(0)), abs(self.positions[symbol]))
        self.cash -= sign * q * p
        execution_id = str(uuid.uuid4())
        self.activities.append(
            {
                "id": f"20240102150000000::{execution_id}",
                "activity_type": "FILL",
                "transaction_time": STAMP,
                "type": "fill" if done else "partial_fill",
                "price": price,
                "qty": qty,
                "side": order["side"],
                "symbol": symbol,
                "leaves_qty": str(Decimal(order["qty"]) - cum),
                "order_id": order["id"],
                "cum_qty": str(cum),
                "order_status": order["status"],
            }
        )
        event = {
            "stream": "trade_updates",
            "data": {
                "event": "fill" if done else "partial_fill",
                "execution_id": execution_id,
                "order": dict(order),
                "timestamp": STAMP,
                "position_qty": str(self.positions[order["symbol"]]),
                "price": price,
                "qty": qty,
            },
        }
        if send and self.drop_stream_on_fill:
            await self.drop_sockets()  # the event is lost with the connection
        elif send:
            for _ in range(2 if self.duplicate_fills else 1):
                await self.broadcast(event)

    async def fill_in_parts(self, client_order_id: str) -> None:
        """auto_fill with ``fill_prices``: 40% at the first price, the rest at the second
        (unless ``leave_remainder``); with ``reorder_events`` the final event goes out first."""
        order = self.orders[client_order_id]
        total = Decimal(order["qty"])
        first = max((total * 4 / 10).to_integral_value(), Decimal(1))
        if self.leave_remainder or first >= total:
            await self.fill(client_order_id, str(first), self.fill_prices[0])
            return
        if not self.reorder_events:
            await self.fill(client_order_id, str(first), self.fill_prices[0])
            await self.fill(client_order_id, str(total - first), self.fill_prices[1])
            return
        held: list[dict[str, Any]] = []
        sockets, self._sockets = self._sockets, []
        await self.fill(client_order_id, str(first), self.fill_prices[0])
        await self.fill(client_order_id, str(total - first), self.fill_prices[1])
        self._sockets = sockets
        # what the two fills would have sent, delivered out of order, then a stale "new"
        for a in reversed(self.activities[-2:]):
            stale = dict(order, filled_qty=str(a["cum_qty"]), status=a["order_status"])
            held.append(
                {"stream": "trade_updates", "data": {"event": a["type"], "execution_id": a["id"].split("::")[1],
                 "order": stale, "timestamp": STAMP, "price": a["price"], "qty": a["qty"]}}
            )
        held.append({"stream": "trade_updates", "data": {"event": "new", "order": dict(order, status="new"),
                     "timestamp": STAMP}})
        for event in held:
            await self.broadcast(event)

    async def broadcast(self, event: dict[str, Any]) -> None:
        if self.mute_stream:
            return
        for ws in list(self._sockets):
            if not ws.closed:
                await ws.send_str(json.dumps(event))

    async def drop_sockets(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        self._sockets.clear()

    # ---------------------------------------------------------------- handlers
    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return web.json_response({"code": code, "message": message}, status=status)

    async def _post_order(self, request: web.Request) -> web.StreamResponse:
        self.order_posts += 1
        body = await request.json()
        fault = self.order_faults.pop(0) if self.order_faults else None
        if fault == "429":
            return self._error(429, 42910000, "rate limit exceeded")
        if fault == "429_retry_after":
            return web.json_response(
                {"code": 42910000, "message": "rate limit exceeded"},
                status=429,
                headers={"Retry-After": self.retry_after_s},
            )
        if fault == "hold_then_accept":
            # processed after hold_s whatever happens to this connection (the client gave up)
            loop = asyncio.get_running_loop()
            loop.call_later(self.hold_s, self._accept, body)
            await asyncio.sleep(self.hold_s + 0.5)
            return web.json_response(self.orders.get(body.get("client_order_id"), {}))
        if fault == "500":
            return self._error(500, 50010000, "internal server error")
        if fault == "403":
            return self._error(403, 40310000, "insufficient buying power")
        if self.refuse_oversell and body["side"] == "sell":
            held = self.positions.get(body["symbol"], Decimal(0))
            selling = sum(
                (Decimal(o["qty"]) - Decimal(o["filled_qty"]) for o in self.orders.values()
                 if o["symbol"] == body["symbol"] and o["side"] == "sell"
                 and o["status"] in ("new", "accepted", "partially_filled")),
                Decimal(0),
            )
            if Decimal(str(body["qty"])) > held - selling:
                return self._error(
                    403, 40310000,
                    f"insufficient qty available for order (requested: {body['qty']}, available: {held - selling})",
                )
        coid = body.get("client_order_id")
        if coid in self.orders:
            return self._error(422, 40010001, "client_order_id must be unique")
        order = self._accept(body)
        if fault == "accept_then_504":
            return self._error(504, 50400000, "gateway timeout")
        if fault == "accept_then_500":
            return self._error(500, 50010000, "internal server error")
        if fault == "accept_then_502":
            return self._error(502, 50200000, "bad gateway")
        if fault == "accept_then_drop":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=200)
        if fault == "accept_then_hang":
            await asyncio.sleep(self.hang_s)
        return web.json_response(order)

    def _accept(self, body: dict[str, Any]) -> dict[str, Any]:
        coid = body["client_order_id"]
        if coid in self.orders:
            return self.orders[coid]
        order = self._new_order(body)
        self.orders[coid] = order
        self._created[coid] = asyncio.get_running_loop().time()
        if self.auto_fill and body["type"] == "market":
            if self.fill_prices:
                run = lambda: asyncio.ensure_future(self.fill_in_parts(coid))  # noqa: E731
            else:
                run = lambda: asyncio.ensure_future(  # noqa: E731
                    self.fill(coid, str(body["qty"]), str(self.prices[body["symbol"]]))
                )
            asyncio.get_running_loop().call_later(self.fill_delay_s, run)
        return order

    async def _list_orders(self, request: web.Request) -> web.Response:
        status = request.query.get("status", "open")
        open_states = {"new", "accepted", "partially_filled", "pending_new", "pending_cancel"}
        young = asyncio.get_running_loop().time() - self.list_lag_s
        out = [
            o
            for coid, o in self.orders.items()
            if (status == "all" or (o["status"] in open_states) == (status == "open"))
            and not (self.list_lag_s and self._created.get(coid, 0.0) > young)
        ]
        return web.json_response(out)

    async def _activities(self, request: web.Request) -> web.Response:
        out = list(self.activities)
        token = request.query.get("page_token")
        if token:
            ids = [a["id"] for a in out]
            out = out[ids.index(token) + 1 :] if token in ids else []
        return web.json_response(out[: int(request.query.get("page_size", "100"))])

    async def _by_client_id(self, request: web.Request) -> web.Response:
        if self.lookup_hangs > 0:
            self.lookup_hangs -= 1
            await asyncio.sleep(self.hang_s)
        order = self.orders.get(request.query.get("client_order_id", ""))
        if order is None:
            return self._error(404, 40410000, "order not found")
        return web.json_response(order)

    async def _cancel(self, request: web.Request) -> web.Response:
        for order in self.orders.values():
            if order["id"] == request.match_info["id"]:
                if order["status"] in ("filled", "canceled"):
                    return self._error(422, 42210000, "order is not cancelable")
                if self.fill_on_cancel:
                    order["status"] = "pending_cancel"
                    asyncio.get_running_loop().call_later(
                        0.1, lambda o=order: asyncio.ensure_future(self._fill_then_cancel(o))
                    )
                    return web.Response(status=204)
                order["status"] = "canceled"
                order["canceled_at"] = STAMP
                await self.broadcast({"stream": "trade_updates", "data": {"event": "canceled", "order": dict(order),
                                      "timestamp": STAMP}})
                return web.Response(status=204)
        return self._error(404, 40410000, "order not found")

    async def _fill_then_cancel(self, order: dict[str, Any]) -> None:
        """The race of a cancel request with an execution: one more unit fills, then the
        remainder is cancelled."""
        if Decimal(order["filled_qty"]) < Decimal(order["qty"]) - 1:
            await self.fill(order["client_order_id"], "1", str(self.prices[order["symbol"]]))
        order["status"] = "canceled"
        order["canceled_at"] = STAMP
        await self.broadcast({"stream": "trade_updates", "data": {"event": "canceled", "order": dict(order),
                              "timestamp": STAMP}})

    async def _positions(self, request: web.Request) -> web.Response:
        out = []
        for symbol, qty in self.positions.items():
            if qty != 0:
                out.append(
                    {
                        "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
                        "symbol": symbol,
                        "exchange": "NASDAQ",
                        "asset_class": "us_equity",
                        "avg_entry_price": "100",
                        "qty": str(abs(qty)),
                        "side": "long" if qty > 0 else "short",
                        "cost_basis": str(abs(qty) * 100),
                    }
                )
        return web.json_response(out)

    async def _account(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "id": str(uuid.uuid4()),
                "account_number": "PA0000000",
                "status": "ACTIVE",
                "currency": "USD",
                "cash": str(self.cash),
            }
        )

    async def _bars(self, request: web.Request) -> web.Response:
        symbols = request.query["symbols"].split(",")
        self.bar_requests += 1
        limit = min(int(request.query.get("limit", "10000")), self.bars_page_size)
        token = int(request.query.get("page_token", "0") or 0)
        # Page across symbols in order, `limit` bars per page, as Alpaca does.
        flat = [(s, b) for s in symbols for b in self.bars.get(s, [])]
        page = flat[token : token + limit]
        out: dict[str, list[dict[str, Any]]] = {}
        for s, b in page:
            out.setdefault(s, []).append(b)
        nxt = str(token + limit) if token + limit < len(flat) else None
        return web.json_response({"bars": out, "next_page_token": nxt})

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=not self.ignore_pings)
        await ws.prepare(request)
        self.ws_connections += 1
        async for msg in ws:
            if msg.type in (WSMsgType.PING, WSMsgType.PONG):
                continue  # autoping off: a socket that no longer answers pings
            if msg.type != WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            if data.get("action") == "authenticate":
                if self.silent_handshake:
                    continue
                await ws.send_str(
                    json.dumps(
                        {
                            "stream": "authorization",
                            "data": {"status": "authorized", "action": "authenticate"},
                        }
                    )
                )
            elif data.get("action") == "listen":
                await ws.send_str(json.dumps({"stream": "listening", "data": {"streams": ["trade_updates"]}}))
                self._sockets.append(ws)
        if ws in self._sockets:
            self._sockets.remove(ws)
        return ws


@pytest.fixture
def alpaca_server() -> Iterator[FakeAlpacaServer]:
    server = FakeAlpacaServer()
    server.start()
    yield server
    server.stop()
