"""A local server speaking Binance's spot REST JSON for every endpoint ``ccxt.binance`` calls
for spot trading (exchangeInfo, klines, order POST/GET/DELETE, openOrders, myTrades, account),
with signed requests verified and faults injected. ccxt itself is pointed at it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

API_KEY = "binance-test-key"
SECRET = "binance-test-secret-value"
T0_MS = 1_704_067_200_000  # 2024-01-01T00:00Z
OPEN = {"NEW", "PARTIALLY_FILLED"}


def exchange_symbol(symbol: str, base: str, quote: str, tick: str, step: str, min_qty: str) -> dict[str, Any]:
    """One entry of /api/v3/exchangeInfo ``symbols``, as Binance sends it."""
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": tick,
                "maxPrice": "1000000.00000000",
                "tickSize": tick,
            },
            {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": "9000.00000000", "stepSize": step},
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


@dataclass
class FakeBinanceServer:
    """Binance spot on 127.0.0.1. ``order_faults`` is consumed one entry per POST
    /api/v3/order: ``accept_then_hang`` (accepts, answers after ``hang_s``),
    ``accept_then_500`` / ``accept_then_503`` (accepts, answers 5xx), ``429`` and ``500``
    (refused before processing), ``hold_then_accept`` (processed ``hold_s`` after it
    arrived, the client has given up by then). ``auto_fill`` fills market orders at ``prices[symbol]``;
    ``duplicate_trades`` lists every trade twice in /myTrades. Like Binance, a
    ``newClientOrderId`` is refused as a duplicate only while an order with it is open."""

    markets: list[dict[str, Any]] = field(default_factory=list)
    klines: dict[str, list[list[Any]]] = field(default_factory=dict)  # by Binance symbol id
    balances: dict[str, Decimal] = field(default_factory=dict)
    prices: dict[str, Decimal] = field(default_factory=dict)
    order_faults: list[str] = field(default_factory=list)
    auto_fill: bool = False
    duplicate_trades: bool = False
    commission_rate: Decimal = Decimal("0.001")  # taker fee, charged in the quote asset
    hang_s: float = 2.0
    hold_s: float = 4.0  # hold_then_accept: the POST is processed this long after it arrived
    max_balance: dict[str, Decimal] = field(default_factory=dict)  # largest base balance seen
    orders: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    order_posts: int = 0
    requests: list[tuple[str, str, float]] = field(default_factory=list)  # (method, path, monotonic)
    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _next_id: int = 1000

    @staticmethod
    def kline(open_ms: int, close: float, step_ms: int = 3_600_000) -> list[Any]:
        """One /api/v3/klines row as Binance sends it."""
        return [
            open_ms,
            f"{close - 1:.8f}",
            f"{close + 2:.8f}",
            f"{close - 3:.8f}",
            f"{close:.8f}",
            "12.50000000",
            open_ms + step_ms - 1,
            f"{12.5 * close:.8f}",
            42,
            "6.0",
            f"{6 * close:.8f}",
            "0",
        ]

    t0_ms: int = T0_MS
    api_key: str = API_KEY
    secret: str = SECRET

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application(middlewares=[self._record])
            app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
            app.router.add_get("/api/v3/klines", self._klines)
            app.router.add_post("/api/v3/order", self._post_order)
            app.router.add_get("/api/v3/order", self._get_order)
            app.router.add_delete("/api/v3/order", self._cancel_order)
            app.router.add_get("/api/v3/openOrders", self._open_orders)
            app.router.add_get("/api/v3/allOrders", self._all_orders)
            app.router.add_get("/api/v3/myTrades", self._my_trades)
            app.router.add_get("/api/v3/account", self._account)
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-binance", daemon=True)
        self._thread.start()
        assert ready.wait(5)

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def urls(self) -> dict[str, str]:
        """The ``urls['api']`` entries ccxt.binance uses for spot."""
        return {"public": f"{self.url}/api/v3", "private": f"{self.url}/api/v3"}

    def order_by_client_id(self, coid: str) -> list[dict[str, Any]]:
        return [o for o in self.orders if o["clientOrderId"] == coid]

    # ---------------------------------------------------------------- plumbing
    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path, time.monotonic()))
        response: web.StreamResponse = await handler(request)
        return response

    @staticmethod
    def _error(status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response({"code": code, "msg": msg}, status=status, headers=headers)

    async def _signed(self, request: web.Request) -> dict[str, str] | web.Response:
        """The request's parameters after checking the API key header and the HMAC-SHA256
        signature over the query string or form body, as Binance does."""
        raw = request.query_string if request.method in ("GET", "DELETE") else await request.text()
        if request.headers.get("X-MBX-APIKEY") != API_KEY:
            return self._error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        payload, _, signature = raw.rpartition("&signature=")
        expected = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            return self._error(400, -1022, "Signature for this request is not valid.")
        return dict(parse_qsl(payload))

    def _now_ms(self) -> int:
        return T0_MS + len(self.requests)

    # ---------------------------------------------------------------- market data
    async def _exchange_info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "timezone": "UTC",
                "serverTime": self._now_ms(),
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 6000,
                    },
                    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                ],
                "exchangeFilters": [],
                "symbols": self.markets,
            }
        )

    async def _klines(self, request: web.Request) -> web.Response:
        q = request.query
        rows = self.klines.get(q["symbol"])
        if rows is None:
            return self._error(400, -1121, "Invalid symbol.")
        limit = min(int(q.get("limit", "500")), 1000)
        start = int(q.get("startTime", "0"))
        end = int(q.get("endTime", str(2**62)))
        page = [r for r in rows if start <= r[0] <= end][:limit]
        return web.json_response(page)

    # ---------------------------------------------------------------- orders
    def _order_json(self, o: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in o.items() if not k.startswith("_")}

    async def _post_order(self, request: web.Request) -> web.StreamResponse:
        self.order_posts += 1
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        fault = self.order_faults.pop(0) if self.order_faults else None
        if fault == "429":
            return self._error(
                429,
                -1003,
                "Too many requests; current limit of IP is 6000 requests per minute.",
                {"Retry-After": "1"},
            )
        if fault == "500":
            return self._error(
                500, -1001, "Internal error; unable to process your request. Please try again."
            )
        coid = p.get("newClientOrderId", "")
        if any(o["status"] in OPEN for o in self.order_by_client_id(coid)):
            return self._error(400, -2010, "Duplicate order sent.")
        base, quote = self._assets(p["symbol"])
        qty = Decimal(p["quantity"])
        if p["side"] == "SELL" and self.balances.get(base, Decimal(0)) < qty:
            return self._error(400, -2010, "Account has insufficient balance for requested action.")
        if fault == "hold_then_accept":
            # processed hold_s later whatever happens to this connection (the client gave up)
            asyncio.get_running_loop().call_later(self.hold_s, self._place, p)
            await asyncio.sleep(self.hold_s + 0.5)
            return web.Response(status=503, text="Service Unavailable")
        order, fills = self._place(p)
        if fault == "accept_then_hang":
            await asyncio.sleep(self.hang_s)
        if fault == "accept_then_500":
            return self._error(
                500, -1001, "Internal error; unable to process your request. Please try again."
            )
        if fault == "accept_then_503":
            return web.Response(status=503, text="Service Unavailable")
        body = self._order_json(order) | {"transactTime": order["time"], "fills": fills}
        for k in ("time", "updateTime", "isWorking", "stopPrice", "icebergQty"):
            body.pop(k)
        return web.json_response(body)

    def _place(self, p: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        coid = p.get("newClientOrderId", "")
        qty = Decimal(p["quantity"])
        self._next_id += 1
        now = self._now_ms()
        order = {
            "symbol": p["symbol"],
            "orderId": self._next_id,
            "orderListId": -1,
            "clientOrderId": coid,
            "price": p.get("price", "0.00000000"),
            "origQty": p["quantity"],
            "executedQty": "0.00000000",
            "cummulativeQuoteQty": "0.00000000",
            "status": "NEW",
            "timeInForce": p.get("timeInForce", "GTC"),
            "type": p["type"],
            "side": p["side"],
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": now,
            "updateTime": now,
            "isWorking": True,
            "workingTime": now,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        self.orders.append(order)
        fills: list[dict[str, Any]] = []
        if self.auto_fill and p["type"] == "MARKET":
            fills.append(self.fill(order, qty, self.prices[p["symbol"]]))
        for base in {self._assets(o["symbol"])[0] for o in self.orders}:
            self.max_balance[base] = max(self.max_balance.get(base, Decimal(0)), self.balances.get(base, Decimal(0)))
        return order, fills

    def _assets(self, symbol_id: str) -> tuple[str, str]:
        for m in self.markets:
            if m["symbol"] == symbol_id:
                return str(m["baseAsset"]), str(m["quoteAsset"])
        raise KeyError(symbol_id)

    def fill(self, order: dict[str, Any], qty: Decimal, price: Decimal) -> dict[str, str | int]:
        """Execute ``qty`` of ``order`` at ``price``: a trade, balances moved, the commission
        charged in the quote asset."""
        base, quote = self._assets(order["symbol"])
        executed = Decimal(order["executedQty"]) + qty
        order["executedQty"] = f"{executed:.8f}"
        order["cummulativeQuoteQty"] = f"{Decimal(order['cummulativeQuoteQty']) + qty * price:.8f}"
        order["status"] = "FILLED" if executed >= Decimal(order["origQty"]) else "PARTIALLY_FILLED"
        order["updateTime"] = self._now_ms()
        commission = (qty * price * self.commission_rate).quantize(Decimal("1e-8"))
        sign = 1 if order["side"] == "BUY" else -1
        self.balances[base] = self.balances.get(base, Decimal(0)) + sign * qty
        self.balances[quote] = self.balances.get(quote, Decimal(0)) - sign * qty * price - commission
        self._next_id += 1
        trade = {
            "symbol": order["symbol"],
            "id": self._next_id,
            "orderId": order["orderId"],
            "orderListId": -1,
            "price": f"{price:.8f}",
            "qty": f"{qty:.8f}",
            "quoteQty": f"{qty * price:.8f}",
            "commission": f"{commission:.8f}",
            "commissionAsset": quote,
            "time": self._now_ms(),
            "isBuyer": order["side"] == "BUY",
            "isMaker": False,
            "isBestMatch": True,
        }
        self.trades.append(trade)
        return {
            "price": trade["price"],
            "qty": trade["qty"],
            "commission": trade["commission"],
            "commissionAsset": quote,
            "tradeId": trade["id"],
        }

    def _find(self, p: dict[str, str]) -> dict[str, Any] | None:
        found = [
            o
            for o in self.orders
            if o["symbol"] == p.get("symbol")
            and (str(o["orderId"]) == p.get("orderId") or o["clientOrderId"] == p.get("origClientOrderId"))
        ]
        return found[-1] if found else None

    async def _get_order(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        order = self._find(p)
        if order is None:
            return self._error(400, -2013, "Order does not exist.")
        return web.json_response(self._order_json(order))

    async def _cancel_order(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        order = self._find(p)
        if order is None or order["status"] not in OPEN:
            return self._error(400, -2011, "Unknown order sent.")
        order["status"] = "CANCELED"
        body = self._order_json(order) | {
            "origClientOrderId": order["clientOrderId"],
            "transactTime": self._now_ms(),
        }
        return web.json_response(body)

    async def _all_orders(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        out = [
            self._order_json(o)
            for o in self.orders
            if o["symbol"] == p["symbol"] and o["time"] >= int(p.get("startTime", "0"))
        ]
        return web.json_response(out[: int(p.get("limit", "500"))])

    async def _open_orders(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        out = [
            self._order_json(o)
            for o in self.orders
            if o["status"] in OPEN and ("symbol" not in p or o["symbol"] == p["symbol"])
        ]
        return web.json_response(out)

    async def _my_trades(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        out = [
            t
            for t in self.trades
            if t["symbol"] == p["symbol"]
            and t["time"] >= int(p.get("startTime", "0"))
            and ("orderId" not in p or str(t["orderId"]) == p["orderId"])
        ]
        out = out[: int(p.get("limit", "500"))]
        if self.duplicate_trades:
            out = [t for t in out for _ in range(2)]
        return web.json_response(out)

    async def _account(self, request: web.Request) -> web.Response:
        p = await self._signed(request)
        if isinstance(p, web.Response):
            return p
        return web.json_response(
            {
                "makerCommission": 10,
                "takerCommission": 10,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {
                    "maker": "0.00100000",
                    "taker": "0.00100000",
                    "buyer": "0.00000000",
                    "seller": "0.00000000",
                },
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": self._now_ms(),
                "accountType": "SPOT",
                "balances": [
                    {"asset": a, "free": f"{v:.8f}", "locked": "0.00000000"}
                    for a, v in sorted(self.balances.items())
                ],
                "permissions": ["SPOT"],
                "uid": 354937868,
            }
        )


@pytest.fixture
def binance_server() -> Iterator[FakeBinanceServer]:
    server = FakeBinanceServer(
        markets=[
            exchange_symbol("BTCUSDT", "BTC", "USDT", "0.01000000", "0.00001000", "0.00001000"),
            exchange_symbol("ETHUSDT", "ETH", "USDT", "0.01000000", "0.00010000", "0.00010000"),
        ],
        balances={"USDT": Decimal("100000"), "BTC": Decimal("0.5")},
    )
    server.start()
    yield server
    server.stop()
