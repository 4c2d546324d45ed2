"""The ``ccxt`` spot broker: the kernel's ``Broker`` protocol over a ccxt exchange object.

Guarantees (see the package README for the failure table):

* exactly one order at the exchange per intent: every order carries the engine's
  deterministic client order id; a lost answer (timeout, HTTP 5xx, dropped connection)
  raises ``BrokerTimeout`` and the engine looks the order up by client order id; a
  "duplicate client order id" refusal is looked up and returned as the existing order's
  state; a known id is never sent again (Binance would accept a repeated id once the first
  order is filled, placing a second order);
* every fill applied once: fills come from ``fetch_my_trades``, de-duplicated by trade id
  and matched to this run's orders by exchange order id, and never exceed the order's
  filled quantity;
* an unknown order is not a rejected one: "not found" right after a lost answer proves
  nothing; the engine keeps the order UNKNOWN for ``unknown_order_budget_s`` and asks
  :meth:`orders_since` (``fetch_orders`` since it was sent) before it gives up;
* trading refused until reconciled: the change of each symbol's base-asset balance since
  :meth:`connect` is compared with the fills reported (net of fees paid in the base asset)
  every ``reconcile_every_s`` of clock time; a mismatch makes :meth:`submit_order` raise
  ``NotReconciled`` (a ``TradingHalted``) and alerts.

``positions()`` is that balance change: the engine starts flat, and a spot account's
holdings from before the run are not the run's position.

Exchanges without client order ids: the adapter needs the exchange to accept and report a
client order id (``client_order_id_param``). Without one, an order whose answer is lost
cannot be told apart from an order that was never placed: it stays unknown for the budget,
then may be declared rejected and its intent sent again; the balance reconciliation is what
catches a duplicate then (see docs/failure-modes.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from loguru import logger
from pydantic import SecretStr

from ai_trading_core.enums import AlertSeverity, OrderStatus, Side
from ai_trading_core.errors import BrokerError, BrokerTimeout, UnknownSymbolError
from ai_trading_core.market import MarketSlice
from ai_trading_core.models import Alert, Fill, Order, OrderUpdate
from ai_trading_core.protocols import BrokerContext, BrokerEvents

from . import parsing
from .config import CcxtBrokerParams
from .errors import DuplicateClientOrderId, NotReconciled, OrderNotFound
from .providers import CcxtCaller, make_exchange

_ZERO = Decimal(0)


@dataclass
class _Tracked:
    """What the broker knows about one of its orders."""

    symbol: str
    side: Side
    broker_id: str | None = None
    applied_qty: Decimal = _ZERO  # quantity already reported as fills
    status: OrderStatus = OrderStatus.SUBMITTED
    done: bool = False  # terminal at the exchange and every fill applied: no more polling


class CcxtBroker:
    """A spot account at any ccxt exchange with client order ids (tested against Binance's
    format). Nothing touches the network before :meth:`connect`. ``exchange`` may be a
    prepared ccxt object; otherwise one is built from ``params`` and the keys."""

    name = "ccxt"

    def __init__(
        self,
        params: CcxtBrokerParams,
        api_key: SecretStr | None = None,
        secret: SecretStr | None = None,
        password: SecretStr | None = None,
        *,
        exchange: Any = None,
        alert: Callable[[Alert], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.params = params
        self._key, self._secret, self._password = api_key, secret, password
        self._exchange = exchange
        self._alert = alert
        self._call = CcxtCaller(
            params.exchange, params.max_rate_limit_retries, params.rate_limit_wait_s, sleep
        )
        self.coid_param = params.client_order_id_param or (
            "newClientOrderId" if params.exchange.startswith("binance") else "clientOrderId"
        )
        self._clock: Any = None
        self._symbols: tuple[str, ...] = ()
        self._markets: dict[str, Any] = {}
        self._orders: dict[str, _Tracked] = {}
        self._by_broker_id: dict[str, str] = {}
        self._seen_trades: set[str] = set()
        self._trades_since: dict[str, int] = {}
        self._baseline: dict[str, Decimal] = {}  # base-asset balance at connect, per symbol
        self._expected: dict[str, Decimal] = {}  # base-asset change implied by the fills
        self._unsupported: str | None = None
        self._last_reconcile_ns: int | None = None
        self.mismatch: str | None = None
        self.reconciliations = 0
        self.unknown_order_budget_s = params.unknown_order_budget_s
        self.refused_order_retries = params.refused_order_retries

    def __repr__(self) -> str:  # never show keys
        return f"CcxtBroker(exchange={self.params.exchange!r}, urls={sorted(self.params.urls)})"

    # ------------------------------------------------------------------ lifecycle
    def connect(self, ctx: BrokerContext) -> None:
        self._clock = ctx.clock
        self._symbols = ctx.symbols
        if self._exchange is None:
            self._exchange = make_exchange(
                self.params, self._key, self._secret, self._password, sandbox=self.params.sandbox
            )
        self._markets = self._call("load markets", self._ex().load_markets)
        missing = [s for s in self._symbols if s not in self._markets]
        if missing:
            raise UnknownSymbolError(f"ccxt {self.params.exchange}: unknown symbol(s) {', '.join(missing)}")
        balances = self._base_balances()
        self._baseline = {s: balances.get(self._base(s), _ZERO) for s in self._symbols}
        if ctx.positions or ctx.recovered_orders:
            # Balances are reconciled as changes since connect; a resumed run would need the
            # balances of its first start, which this adapter does not persist. Fail closed,
            # and stay closed whatever later reconciliations find.
            self._unsupported = (
                "resuming a run is not supported by the ccxt adapter (balances are reconciled from the "
                "start of a run): check the account and start a new run with run.resume = false"
            )
        self._start_open_orders()
        self.reconcile()

    def close(self) -> None:
        session = getattr(self._exchange, "session", None)
        if session is not None:
            session.close()

    # ------------------------------------------------------------------ orders
    def submit_order(self, order: Order) -> OrderUpdate:
        if self.mismatch is not None:
            raise NotReconciled(
                f"ccxt {self.params.exchange}: trading refused until reconciled: {self.mismatch}"
            )
        if order.client_order_id in self._orders:  # idempotent: a known id is looked up, never resent
            found = self.lookup_order(order.client_order_id)
            if found is not None:
                return found
            raise BrokerError(
                f"ccxt: {order.client_order_id} was submitted before and is not found; not resent"
            )
        if order.symbol not in self._markets:
            raise BrokerError(f"ccxt {self.params.exchange}: {order.symbol} is not a market of this exchange")
        self._orders[order.client_order_id] = _Tracked(order.symbol, order.side)
        args = parsing.order_args(order, self.coid_param)
        try:
            raw = self._call(f"submit {order.client_order_id}", self._ex().create_order, **args)
        except DuplicateClientOrderId:
            # the exchange has it (a retry after a lost answer): look it up, never "refused"
            found = self.lookup_order(order.client_order_id)
            if found is None:
                raise BrokerTimeout(
                    f"ccxt: {order.client_order_id} reported as existing but not found yet"
                ) from None
            return found
        return self._track(order.client_order_id, raw)

    def orders_since(self, since: datetime) -> list[OrderUpdate]:
        """The orders of the run's symbols placed since ``since`` (open and closed): the
        last word on an order whose lookups found nothing."""
        since_ms = int((since - timedelta(minutes=5)).timestamp() * 1000)
        out = []
        for symbol in self._symbols:
            for raw in self._call(f"orders {symbol}", self._ex().fetch_orders, symbol, since_ms) or []:
                coid = str(raw.get("clientOrderId") or "")
                if coid in self._orders:
                    out.append(self._track(coid, raw, symbol))
                elif coid:
                    out.append(parsing.order_update(raw, coid, self._now()))
        return out

    def lookup_order(self, client_order_id: str) -> OrderUpdate | None:
        tracked = self._orders.get(client_order_id)
        symbols = (tracked.symbol,) if tracked is not None else self._symbols
        for symbol in symbols:
            try:
                raw = self._fetch_by_client_id(client_order_id, symbol)
            except OrderNotFound:
                continue
            return self._track(client_order_id, raw, symbol)
        return None

    def cancel_order(self, client_order_id: str) -> OrderUpdate:
        current = self.lookup_order(client_order_id)
        if current is None:
            # not found is not "never placed": it may still be accepted late
            return OrderUpdate(
                client_order_id=client_order_id,
                status=OrderStatus.UNKNOWN,
                timestamp=self._now(),
                reason=f"cancel requested, but {self.params.exchange} does not know the order (yet)",
            )
        if current.status.is_terminal:
            return current
        symbol = self._orders[client_order_id].symbol
        try:
            self._call(f"cancel {client_order_id}", self._ex().cancel_order, current.broker_order_id, symbol)
        except BrokerError as exc:
            # Filled or cancelled meanwhile ("Unknown order sent."): report what it is now.
            logger.warning("{}", exc)
            after = self.lookup_order(client_order_id)
            return after if after is not None else current
        return OrderUpdate(
            client_order_id=client_order_id,
            status=OrderStatus.CANCEL_PENDING,
            timestamp=self._now(),
            broker_order_id=current.broker_order_id,
        )

    def positions(self) -> Mapping[str, Decimal]:
        """Per symbol of the run: the change of the base asset's total balance since
        :meth:`connect`, in units of the base asset."""
        balances = self._base_balances()
        return {s: balances.get(self._base(s), _ZERO) - self._baseline.get(s, _ZERO) for s in self._symbols}

    # ------------------------------------------------------------------ events
    def on_market(self, market: MarketSlice) -> BrokerEvents:
        events = BrokerEvents()
        self._poll(events)
        due = self._last_reconcile_ns is None or (
            self._now_ns() - self._last_reconcile_ns >= self.params.reconcile_every_s * 1e9
        )
        if due:
            self.reconcile(events)
        return events

    def _poll(self, events: BrokerEvents) -> None:
        active = [(c, t) for c, t in self._orders.items() if not t.done]
        for symbol in sorted({t.symbol for _, t in active}):
            try:
                self._apply_trades(symbol, events)
            except BrokerError as exc:
                logger.warning("{}", exc)
        for coid, tracked in active:
            try:
                raw = self._fetch_by_client_id(coid, tracked.symbol)
            except OrderNotFound:
                continue
            except BrokerError as exc:
                logger.warning("{}", exc)
                continue
            update = parsing.order_update(raw, coid, self._now())
            if update.broker_order_id:
                self._remember(coid, tracked, update.broker_order_id)
            filled = update.filled_quantity or _ZERO
            if tracked.applied_qty < filled:
                continue  # trades not visible yet: report the status once they are applied
            self._emit_update(events, tracked, update)
            tracked.done = update.status.is_terminal

    def _apply_trades(self, symbol: str, events: BrokerEvents) -> None:
        limit = self.params.trades_page_limit
        while True:
            since = self._trades_since.get(symbol)
            page = self._call(f"trades {symbol}", self._ex().fetch_my_trades, symbol, since, limit)
            newest = since
            for trade in page:
                self._apply_trade(trade, events)
                stamp = trade.get("timestamp")
                if stamp is not None and (newest is None or stamp > newest):
                    newest = int(stamp)
            if newest is not None:
                self._trades_since[symbol] = newest  # inclusive: overlaps are de-duplicated by id
            if len(page) < limit or newest == since:
                return

    def _apply_trade(self, trade: dict[str, Any], events: BrokerEvents) -> None:
        trade_id = str(trade.get("id") or "")
        coid = self._by_broker_id.get(str(trade.get("order")))
        if not trade_id or coid is None or trade_id in self._seen_trades:
            return
        self._seen_trades.add(trade_id)
        tracked = self._orders[coid]
        qty = parsing.decimal(trade.get("amount"), f"trade {trade_id} amount")
        price = parsing.decimal(trade.get("price"), f"trade {trade_id} price")
        fee = trade.get("fee") or {}
        commission = _ZERO
        base_fee = _ZERO
        market = self._markets[tracked.symbol]
        if fee.get("cost"):
            cost = parsing.decimal(fee["cost"], f"trade {trade_id} fee")
            if fee.get("currency") == market.get("quote"):
                commission = cost
            elif fee.get("currency") == market.get("base"):
                base_fee = cost
        tracked.applied_qty += qty
        signed = qty if tracked.side is Side.BUY else -qty
        self._expected[tracked.symbol] = self._expected.get(tracked.symbol, _ZERO) + signed - base_fee
        stamp = trade.get("timestamp")
        events.fills.append(
            Fill(
                execution_id=f"{self.params.exchange}:{trade_id}",
                client_order_id=coid,
                symbol=tracked.symbol,
                side=tracked.side,
                quantity=qty,
                price=price,
                commission=commission,
                timestamp=datetime.fromtimestamp(stamp / 1000, tz=UTC) if stamp else self._now(),
                venue=self.params.exchange,
            )
        )

    def _emit_update(self, events: BrokerEvents, tracked: _Tracked, update: OrderUpdate) -> None:
        # Fills drive PARTIALLY_FILLED / FILLED in the engine; only report other changes.
        if (
            update.status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)
            or update.status is tracked.status
        ):
            tracked.status = update.status
            return
        tracked.status = update.status
        events.updates.append(update)

    def _track(self, coid: str, raw: dict[str, Any], symbol: str | None = None) -> OrderUpdate:
        tracked = self._orders.get(coid)
        if tracked is None:
            tracked = self._orders[coid] = _Tracked(
                str(raw.get("symbol") or symbol), parsing.side(raw.get("side"))
            )
        update = parsing.order_update(raw, coid, self._now())
        if update.broker_order_id:
            self._remember(coid, tracked, update.broker_order_id)
        stamp = raw.get("timestamp")
        if stamp is not None and tracked.symbol not in self._trades_since:
            self._trades_since[tracked.symbol] = int(stamp)
        if update.status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
            # Fills arrive through on_market; acknowledge the order here.
            return update.model_copy(update={"status": OrderStatus.ACCEPTED})
        tracked.status = update.status
        return update

    def _remember(self, coid: str, tracked: _Tracked, broker_id: str) -> None:
        tracked.broker_id = broker_id
        self._by_broker_id[broker_id] = coid

    # ------------------------------------------------------------------ reconciliation
    def reconcile(self, events: BrokerEvents | None = None) -> bool:
        """Compare each symbol's base-asset balance change with the fills reported, and the
        open orders with the orders this run placed. Returns True when they agree;
        otherwise refuses trading (until a later reconciliation agrees) and alerts."""
        self._last_reconcile_ns = self._now_ns()
        self.reconciliations += 1
        problems = self._balance_problems()
        if problems and events is not None:
            # A trade may have landed between the poll and the balance read: catch up once.
            self._poll(events)
            problems = self._balance_problems()
        if self._unsupported:
            problems.append(self._unsupported)
        for symbol in self._symbols:
            foreign = [
                str(o.get("clientOrderId"))
                for o in self._call(f"open orders {symbol}", self._ex().fetch_open_orders, symbol)
                if str(o.get("clientOrderId")) not in self._orders
            ]
            if foreign:
                problems.append(f"{symbol}: open order(s) not placed by this run: {', '.join(foreign[:5])}")
        if problems:
            self._refuse("; ".join(problems))
            return False
        if self.mismatch is not None:
            logger.info("ccxt {}: account reconciled again", self.params.exchange)
        self.mismatch = None
        return True

    def _balance_problems(self) -> list[str]:
        have = self.positions()
        return [
            f"{s}: balance change {have.get(s, _ZERO)}, expected {self._expected.get(s, _ZERO)}"
            for s in self._symbols
            if have.get(s, _ZERO) != self._expected.get(s, _ZERO)
        ]

    def _start_open_orders(self) -> None:
        if self.params.on_start_open_orders == "refuse":
            return  # reconcile() reports them and refuses trading
        for symbol in self._symbols:
            for o in self._call(f"open orders {symbol}", self._ex().fetch_open_orders, symbol):
                logger.warning("ccxt: cancelling open order {} found on start", o.get("clientOrderId"))
                self._call(f"cancel {o.get('clientOrderId')}", self._ex().cancel_order, str(o["id"]), symbol)

    def _refuse(self, reason: str) -> None:
        first = self.mismatch is None
        self.mismatch = reason
        logger.error("ccxt {}: trading refused: {}", self.params.exchange, reason)
        if first and self._alert is not None:
            self._alert(
                Alert(
                    severity=AlertSeverity.CRITICAL,
                    source=f"ccxt:{self.params.exchange}",
                    timestamp=self._now(),
                    message=f"account does not reconcile: {reason}",
                    key=f"ccxt:{self.params.exchange}:reconcile",
                )
            )

    # ------------------------------------------------------------------ helpers
    def _fetch_by_client_id(self, coid: str, symbol: str) -> dict[str, Any]:
        raw: dict[str, Any] = self._call(
            f"lookup {coid}", self._ex().fetch_order, None, symbol, {"clientOrderId": coid}
        )
        return raw

    def _base_balances(self) -> dict[str, Decimal]:
        raw = self._call("balance", self._ex().fetch_balance)
        totals = raw.get("total") or {}
        return {
            str(asset): parsing.decimal(v, f"balance {asset}") for asset, v in totals.items() if v is not None
        }

    def _base(self, symbol: str) -> str:
        return str(self._markets[symbol]["base"])

    def _ex(self) -> Any:
        if self._exchange is None:
            raise BrokerError("ccxt broker used before connect()")
        return self._exchange

    def _now(self) -> datetime:
        now: datetime = self._clock.now()
        return now

    def _now_ns(self) -> int:
        return int(self._clock.now_ns())
