"""The ``alpaca`` broker: the kernel's ``Broker`` protocol over alpaca-py's ``TradingClient``.

Guarantees (see the package README for the failure table):

* exactly one order at Alpaca per intent: every order carries the engine's deterministic
  client order id; a lost answer raises ``BrokerTimeout`` (the engine marks the order
  UNKNOWN and calls :meth:`lookup_order`), a 422 "client_order_id must be unique" is looked
  up and returned as the existing order's state; nothing is ever resent blindly;
* every fill applied once: fills come from the trade_updates stream (de-duplicated by
  ``execution_id``) and from REST polling of open orders; both are reconciled on the
  order's cumulative filled quantity, which can never be applied twice;
* an unknown order is not a rejected one: a lookup that answers 404 right after a lost
  answer proves nothing (Alpaca accepts late); the engine keeps the order UNKNOWN for
  ``unknown_order_budget_s`` and asks :meth:`orders_since` before it gives up;
* trading refused until reconciled: positions, cash and open orders are compared with the
  account at :meth:`connect` and every ``reconcile_every_s``; a mismatch makes
  :meth:`submit_order` raise ``NotReconciled`` (a ``TradingHalted``) and alerts;
* a new run starts from the account (:meth:`account_state`): its cash and its positions
  in the run's symbols, never ``initial_cash`` over the broker;
* a fill recovered over REST (a gap in the stream) is booked at its own execution price,
  from the account's FILL activities, never at the order's rounded average price.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from alpaca.common.enums import Sort
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest
from loguru import logger
from pydantic import SecretStr

from ai_trading_core.enums import AlertSeverity, OrderStatus, Side
from ai_trading_core.errors import BrokerError, BrokerTimeout
from ai_trading_core.market import MarketSlice
from ai_trading_core.models import Alert, Fill, Order, OrderUpdate
from ai_trading_core.protocols import AccountState, BrokerContext, BrokerEvents

from . import parsing
from .config import AlpacaBrokerParams
from .errors import DuplicateClientOrderId, NotReconciled, OrderNotFound
from .providers import AlpacaCaller, RequestPacer, harden
from .streaming import TradeUpdatesListener

_ZERO = Decimal(0)


@dataclass
class _Tracked:
    """What the broker knows about one of its orders."""

    symbol: str
    side: Side
    broker_id: str | None = None
    applied_qty: Decimal = _ZERO  # cumulative quantity already reported as fills
    applied_notional: Decimal = _ZERO
    status: OrderStatus = OrderStatus.SUBMITTED
    done: bool = False  # terminal at Alpaca and every fill applied: no more polling
    quantity: Decimal | None = None  # ordered units, when known
    covered: list[tuple[Decimal, Decimal]] | None = None
    """Stretches (lo, hi] of the order's cumulative filled quantity already reported. An
    execution occupies (cum - qty, cum] whether the stream or REST reports it, so a fill seen
    twice, or out of order (the final fill before the partial), is reported exactly once."""

    def unfilled(self) -> Decimal | None:
        """Units this order may still move the position by (None: unknown)."""
        return None if self.quantity is None else max(self.quantity - self.applied_qty, _ZERO)

    def uncovered(self, lo: Decimal, hi: Decimal) -> Decimal:
        """How much of (lo, hi] is not reported yet."""
        if self.covered is None:
            self.covered = [(_ZERO, self.applied_qty)] if self.applied_qty else []
        overlap = sum((max(_ZERO, min(hi, b) - max(lo, a)) for a, b in self.covered), _ZERO)
        return hi - lo - overlap

    def cover(self, lo: Decimal, hi: Decimal) -> None:
        spans = sorted([*(self.covered or []), (lo, hi)])
        merged: list[tuple[Decimal, Decimal]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self.covered = merged


class AlpacaBroker:
    """Alpaca paper or live account. Nothing touches the network before :meth:`connect`."""

    name = "alpaca"

    def __init__(
        self,
        params: AlpacaBrokerParams,
        api_key: SecretStr,
        secret_key: SecretStr,
        *,
        alert: Callable[[Alert], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.params = params
        self._key = api_key
        self._secret = secret_key
        self._alert = alert
        self._sleep = sleep
        self._call = AlpacaCaller(
            RequestPacer(params.max_requests_per_minute, monotonic, sleep),
            params.max_rate_limit_retries,
            params.rate_limit_wait_s,
            sleep,
        )
        self._client: TradingClient | None = None
        self._listener: TradeUpdatesListener | None = None
        self._clock: Any = None
        self._symbols: tuple[str, ...] = ()
        self._orders: dict[str, _Tracked] = {}
        self._seen_exec: set[str] = set()
        self._expected: dict[str, Decimal] = {}
        self._last_reconcile_ns: int | None = None
        self._seen_connections = 0
        self._expected_cash: Decimal | None = None  # the ledger's cash implied by the fills reported
        self._account: AccountState | None = None
        self.mismatch: str | None = None
        self.reconciliations = 0
        self.unknown_order_budget_s = params.unknown_order_budget_s
        self.refused_order_retries = params.refused_order_retries

    def __repr__(self) -> str:  # never show keys
        return f"AlpacaBroker(paper={self.params.paper}, base_url={self.params.base_url!r})"

    # ------------------------------------------------------------------ lifecycle
    def connect(self, ctx: BrokerContext) -> None:
        self._clock = ctx.clock
        self._symbols = ctx.symbols
        client = TradingClient(
            self._key.get_secret_value(),
            self._secret.get_secret_value(),
            paper=self.params.paper,
            raw_data=True,
            url_override=self.params.base_url,
        )
        self._client = harden(client, self.params.request_timeout_s)
        if ctx.adopt_account:
            # A new run takes the account as it is (cash, positions in its symbols).
            self._account = self._read_account()
            self._expected = {s: q for s, (q, _) in self._account.positions.items()}
            self._expected_cash = self._account.cash
        else:
            # A resumed run (ai_trading_core.recovery): the engine's recovered ledger is what
            # the account must show, and the orders it placed before the restart are ours.
            self._expected = {s: Decimal(q) for s, q in ctx.positions.items()}
            self._expected_cash = ctx.cash if ctx.cash is not None else ctx.initial_cash
        for order in ctx.recovered_orders:
            self._orders[order.client_order_id] = _Tracked(
                order.symbol,
                order.side,
                broker_id=order.broker_order_id,
                applied_qty=order.filled_quantity,
                applied_notional=order.filled_quantity * (order.average_fill_price or _ZERO),
                quantity=order.quantity,
            )
        self._start_open_orders()
        if ctx.recovered_orders:
            # Fills they got while the trader was down arrive with the first poll; reconcile
            # then, and refuse trading until it agrees.
            self.mismatch = "recovered orders not yet looked up"
            self._last_reconcile_ns = None
        else:
            self.reconcile()
        if self.params.stream:
            self._listener = TradeUpdatesListener(
                self._key.get_secret_value(),
                self._secret.get_secret_value(),
                self.params.paper,
                self.params.stream_url,
                self.params.stale_after_s,
            )
            self._listener.start()

    def account_state(self) -> AccountState | None:
        """The account at connect (a new run), the ledger the engine starts from."""
        return self._account

    def _read_account(self) -> AccountState:
        raw = self._call("account", self._rest().get_account)
        cash = parsing.decimal(raw["cash"], "account cash")
        positions: dict[str, tuple[Decimal, Decimal]] = {}
        for p in self._call("positions", self._rest().get_all_positions):
            symbol = str(p["symbol"])
            if symbol in self._symbols:
                qty = parsing.decimal(p["qty"], f"position {symbol} qty")
                qty = -abs(qty) if str(p.get("side")) == "short" else qty
                positions[symbol] = (qty, parsing.decimal(p.get("avg_entry_price") or "0", "avg_entry_price"))
        return AccountState(cash=cash, positions=positions)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self._client is not None:
            self._client._session.close()
            self._client = None

    # ------------------------------------------------------------------ orders
    def submit_order(self, order: Order) -> OrderUpdate:
        if self.mismatch is not None:
            raise NotReconciled(f"alpaca: trading refused until the account is reconciled: {self.mismatch}")
        known = self._orders.get(order.client_order_id)
        if known is not None:  # idempotent: a known id is looked up, never resent
            found = self.lookup_order(order.client_order_id)
            if found is not None:
                return found
        self._orders[order.client_order_id] = _Tracked(order.symbol, order.side, quantity=order.quantity)
        request = parsing.order_request(order, self.params.extended_hours)
        try:
            raw = self._call(f"submit {order.client_order_id}", self._rest().submit_order, request)
        except DuplicateClientOrderId:
            # Alpaca has it (a retry after a lost answer): "look it up", never "refused".
            found = self.lookup_order(order.client_order_id)
            if found is None:
                raise BrokerTimeout(
                    f"alpaca: {order.client_order_id} reported as existing but not found yet"
                ) from None
            return found
        return self._track(raw)

    def orders_since(self, since: datetime) -> list[OrderUpdate]:
        """Every order of the account submitted since ``since`` (open and closed), oldest
        first: the last word on an order whose lookups found nothing."""
        request = GetOrdersRequest(
            status=QueryOrderStatus.ALL, after=since - timedelta(minutes=5), limit=500, direction=Sort.ASC
        )
        raw = self._call("orders since", self._rest().get_orders, request)
        out = []
        for o in raw or []:
            coid = str(o.get("client_order_id"))
            out.append(self._track(o) if coid in self._orders else parsing.order_update(o, self._now()))
        return out

    def lookup_order(self, client_order_id: str) -> OrderUpdate | None:
        try:
            raw = self._call(
                f"lookup {client_order_id}", self._rest().get_order_by_client_id, client_order_id
            )
        except OrderNotFound:
            return None
        return self._track(raw)

    def cancel_order(self, client_order_id: str) -> OrderUpdate:
        current = self.lookup_order(client_order_id)
        if current is None:
            # Not found is not "never placed": it may still be accepted late. It stays unknown
            # and the engine keeps looking it up.
            return OrderUpdate(
                client_order_id=client_order_id,
                status=OrderStatus.UNKNOWN,
                timestamp=self._now(),
                reason="cancel requested, but alpaca does not know the order (yet)",
            )
        if current.status.is_terminal:
            return current
        try:
            self._call(f"cancel {client_order_id}", self._rest().cancel_order_by_id, current.broker_order_id)
        except BrokerError as exc:
            # 422 "order is not cancelable" (filled meanwhile) and friends: report what it is now.
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
        raw = self._call("positions", self._rest().get_all_positions)
        out: dict[str, Decimal] = {}
        for p in raw:
            qty = parsing.decimal(p["qty"], f"position {p.get('symbol')} qty")
            out[str(p["symbol"])] = -abs(qty) if str(p.get("side")) == "short" else qty
        return out

    # ------------------------------------------------------------------ events
    def on_market(self, market: MarketSlice) -> BrokerEvents:
        events = BrokerEvents()
        if self._listener is not None:
            for data in self._listener.drain():
                self._apply_stream_event(data, events)
        self._poll_open_orders(events)
        reconnected = self._listener is not None and self._listener.connections > self._seen_connections
        if reconnected and self._listener is not None:
            self._seen_connections = self._listener.connections
        due = self._last_reconcile_ns is None or (
            self._now_ns() - self._last_reconcile_ns >= self.params.reconcile_every_s * 1e9
        )
        if due or reconnected:
            self.reconcile(events)
        return events

    def _apply_stream_event(self, data: dict[str, Any], events: BrokerEvents) -> None:
        raw_order = data.get("order") or {}
        coid = str(raw_order.get("client_order_id", ""))
        tracked = self._orders.get(coid)
        if tracked is None:
            logger.warning("alpaca trade update for an order this run did not place: {}", coid)
            return
        event = str(data.get("event"))
        if event in ("fill", "partial_fill"):
            exec_id = str(data.get("execution_id") or "")
            if not exec_id or exec_id in self._seen_exec:
                return
            self._seen_exec.add(exec_id)
            cumulative = parsing.decimal(raw_order.get("filled_qty"), "filled_qty")
            qty = parsing.decimal(data.get("qty"), "qty")
            new = tracked.uncovered(cumulative - qty, cumulative)
            if new <= 0:  # already reported (a REST poll, a redelivery)
                return
            price = parsing.decimal(data.get("price"), "price")
            stamp = parsing.timestamp(data["timestamp"]) if data.get("timestamp") else self._now()
            self._emit_fill(events, tracked, coid, exec_id, new, price, stamp, (cumulative - qty, cumulative))
        update = parsing.order_update(raw_order, self._now())
        if update.status is not OrderStatus.FILLED or tracked.applied_qty >= (
            update.filled_quantity or _ZERO
        ):
            self._emit_update(events, tracked, update)

    def _poll_open_orders(self, events: BrokerEvents) -> None:
        for coid, tracked in list(self._orders.items()):
            if tracked.done:
                continue
            try:
                raw = self._call(f"poll {coid}", self._rest().get_order_by_client_id, coid)
            except OrderNotFound:
                continue
            except BrokerError as exc:
                logger.warning("{}", exc)
                continue
            self._catch_up(raw, tracked, events)
            update = parsing.order_update(raw, self._now())
            self._emit_update(events, tracked, update)
            tracked.done = update.status.is_terminal

    def _catch_up(self, raw: dict[str, Any], tracked: _Tracked, events: BrokerEvents) -> None:
        """Fills the stream did not deliver (a gap during a reconnect): each execution at its
        own price from the account's FILL activities; what those do not cover yet, from the
        order's cumulative quantity and average price."""
        filled = raw.get("filled_qty")
        cumulative = parsing.decimal(filled, "filled_qty") if filled not in (None, "") else _ZERO
        if cumulative <= tracked.applied_qty:
            return
        coid = str(raw["client_order_id"])
        for act in self._fill_activities(raw):
            cum = parsing.decimal(act["cum_qty"], "activity cum_qty")
            qty = parsing.decimal(act["qty"], "activity qty")
            new = tracked.uncovered(cum - qty, cum)
            if new <= 0:
                continue
            exec_id = str(act["id"])
            self._seen_exec.add(exec_id)
            price = parsing.decimal(act["price"], "activity price")
            stamp = parsing.timestamp(act["transaction_time"]) if act.get("transaction_time") else self._now()
            self._emit_fill(events, tracked, coid, exec_id, new, price, stamp, (cum - qty, cum))
        if cumulative <= tracked.applied_qty:
            return
        avg = parsing.decimal(raw.get("filled_avg_price"), "filled_avg_price")
        qty = cumulative - tracked.applied_qty
        price = ((avg * cumulative - tracked.applied_notional) / qty).quantize(Decimal("1e-9")).normalize()
        stamp = parsing.timestamp(raw["filled_at"]) if raw.get("filled_at") else self._now()
        self._emit_fill(
            events,
            tracked,
            str(raw["client_order_id"]),
            f"{raw['id']}:cum:{cumulative}",
            qty,
            price,
            stamp,
            (_ZERO, cumulative),
        )

    def _fill_activities(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        """The account's FILL activities of one order, in execution order ([] when the
        account cannot list them: the average-price fallback applies)."""
        params: dict[str, Any] = {"direction": "asc", "page_size": 100}
        submitted = raw.get("submitted_at") or raw.get("created_at")
        if submitted:
            params["after"] = (parsing.timestamp(submitted) - timedelta(minutes=1)).isoformat()
        out: list[dict[str, Any]] = []
        for _ in range(50):  # pages of 100 executions
            try:
                page = self._call("fill activities", self._rest().get, "/account/activities/FILL", params)
            except BrokerError as exc:
                logger.warning("{}: booking the fill at the order's average price", exc)
                return []
            if not isinstance(page, list):
                return []
            out += [a for a in page if str(a.get("order_id")) == str(raw["id"])]
            if len(page) < params["page_size"]:
                break
            params["page_token"] = str(page[-1]["id"])
        return sorted(out, key=lambda a: parsing.decimal(a["cum_qty"], "activity cum_qty"))

    def _emit_fill(
        self,
        events: BrokerEvents,
        tracked: _Tracked,
        coid: str,
        exec_id: str,
        qty: Decimal,
        price: Decimal,
        stamp: datetime,
        span: tuple[Decimal, Decimal] | None = None,
    ) -> None:
        tracked.uncovered(_ZERO, _ZERO)  # materialise the covered stretches
        tracked.cover(*(span or (tracked.applied_qty, tracked.applied_qty + qty)))
        tracked.applied_qty += qty
        tracked.applied_notional += qty * price
        if self._expected_cash is not None:
            self._expected_cash -= qty * price if tracked.side is Side.BUY else -qty * price
        self._expected[tracked.symbol] = self._expected.get(tracked.symbol, _ZERO) + (
            qty if tracked.side is Side.BUY else -qty
        )
        events.fills.append(
            Fill(
                execution_id=exec_id,
                client_order_id=coid,
                symbol=tracked.symbol,
                side=tracked.side,
                quantity=qty,
                price=price,
                timestamp=stamp,
                venue="alpaca",
            )
        )

    def _emit_update(self, events: BrokerEvents, tracked: _Tracked, update: OrderUpdate) -> None:
        if update.broker_order_id:
            tracked.broker_id = update.broker_order_id
        # Fills drive PARTIALLY_FILLED / FILLED in the engine; only report other changes, and
        # FILLED once every fill is reported (an order recovered after a restart has them all).
        pending_fills = tracked.applied_qty < (update.filled_quantity or _ZERO)
        if (
            update.status is OrderStatus.PARTIALLY_FILLED
            or (update.status is OrderStatus.FILLED and pending_fills)
            or update.status is tracked.status
        ):
            tracked.status = update.status
            return
        tracked.status = update.status
        events.updates.append(update)

    def _track(self, raw: dict[str, Any]) -> OrderUpdate:
        coid = str(raw["client_order_id"])
        tracked = self._orders.get(coid)
        if tracked is None:
            tracked = self._orders[coid] = _Tracked(str(raw.get("symbol")), parsing.side(raw))
        if tracked.quantity is None and raw.get("qty") not in (None, ""):
            tracked.quantity = parsing.decimal(raw["qty"], "qty")
        update = parsing.order_update(raw, self._now())
        tracked.broker_id = update.broker_order_id
        if update.status is OrderStatus.FILLED and tracked.applied_qty >= (update.filled_quantity or _ZERO):
            tracked.status = update.status  # every fill already reported
            return update
        if update.status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
            # Fills arrive through on_market; acknowledge the order here.
            return update.model_copy(update={"status": OrderStatus.ACCEPTED})
        tracked.status = update.status
        return update

    # ------------------------------------------------------------------ reconciliation
    def reconcile(self, events: BrokerEvents | None = None) -> bool:
        """Compare the account's positions in this run's symbols with the fills reported to
        the engine, and its open orders with the orders this run placed. Returns True when
        they agree; otherwise refuses trading (until a later reconciliation agrees) and alerts."""
        self._last_reconcile_ns = self._now_ns()
        self.reconciliations += 1
        # Cash is read before positions: a fill landing in between shows in the positions (as
        # in flight) and the cash comparison waits for the next reconciliation.
        cash = self._account_cash()
        problems, in_flight = self._position_problems()
        if (problems or in_flight) and events is not None:
            # A fill may have landed between the order poll and the position read: catch up
            # once more before calling it a mismatch.
            self._poll_open_orders(events)
            cash = self._account_cash()
            problems, in_flight = self._position_problems()
        if in_flight and not problems:
            # Our own open orders explain the difference: a fill landed at Alpaca after the
            # poll. Not a mismatch (halting on it would stop a healthy trader); look again on
            # the next step, by when the poll has the fill or the difference is unexplained.
            logger.info("alpaca: fills in flight, reconciling again next step: {}", "; ".join(in_flight))
            self._last_reconcile_ns = None
        elif not problems:
            problems += self._cash_problems(cash)
        return self._conclude(problems)

    def _account_cash(self) -> Decimal | None:
        if self._expected_cash is None:
            return None
        raw = self._call("account", self._rest().get_account)
        return parsing.decimal(raw["cash"], "account cash")

    def _cash_problems(self, cash: Decimal | None) -> list[str]:
        """The account's cash against the ledger's (start cash moved by every fill reported),
        within ``cash_tolerance``."""
        if self._expected_cash is None or cash is None:
            return []
        diff = cash - self._expected_cash
        if abs(diff) <= self.params.cash_tolerance:
            return []
        return [f"cash: account {cash}, expected {self._expected_cash} (difference {diff})"]

    def _position_problems(self) -> tuple[list[str], list[str]]:
        """(differences between the account and the fills reported to the engine that no
        open order of this run explains, differences its open orders could still explain)."""
        account = self.positions()
        low: dict[str, Decimal] = {}
        high: dict[str, Decimal] = {}
        unbounded: set[str] = set()
        for tracked in self._orders.values():
            if tracked.done:
                continue
            rest = tracked.unfilled()
            if rest is None:
                unbounded.add(tracked.symbol)
            elif tracked.side is Side.BUY:
                high[tracked.symbol] = high.get(tracked.symbol, _ZERO) + rest
            else:
                low[tracked.symbol] = low.get(tracked.symbol, _ZERO) - rest
        problems, in_flight = [], []
        for symbol in sorted(set(self._symbols) | set(self._expected)):
            have = account.get(symbol, _ZERO)
            want = self._expected.get(symbol, _ZERO)
            if have == want:
                continue
            text = f"{symbol}: account {have}, expected {want}"
            explained = symbol not in unbounded and low.get(symbol, _ZERO) <= have - want <= high.get(symbol, _ZERO)
            (in_flight if explained else problems).append(text)
        return problems, in_flight

    def _conclude(self, problems: list[str]) -> bool:
        raw = self._call(
            "open orders", self._rest().get_orders, GetOrdersRequest(status=QueryOrderStatus.OPEN)
        )
        foreign = [
            str(o.get("client_order_id"))
            for o in raw or []
            if str(o.get("client_order_id")) not in self._orders
        ]
        if foreign:
            problems.append(
                f"{len(foreign)} open order(s) not placed by this run: {', '.join(foreign[:5])}"
            )
        if problems:
            self._refuse("; ".join(problems))
            return False
        if self.mismatch is not None:
            logger.info("alpaca account reconciled again")
        self.mismatch = None
        return True

    def _start_open_orders(self) -> None:
        raw = self._call(
            "open orders", self._rest().get_orders, GetOrdersRequest(status=QueryOrderStatus.OPEN)
        )
        if not raw:
            return
        raw = [o for o in raw if str(o.get("client_order_id")) not in self._orders]  # adopted on resume
        if not raw or self.params.on_start_open_orders == "refuse":
            return  # reconcile() reports them and refuses trading
        for o in raw:
            logger.warning("alpaca: cancelling open order {} found on start", o.get("client_order_id"))
            self._call(f"cancel {o.get('client_order_id')}", self._rest().cancel_order_by_id, str(o["id"]))

    def _refuse(self, reason: str) -> None:
        first = self.mismatch is None
        self.mismatch = reason
        logger.error("alpaca: trading refused: {}", reason)
        if first and self._alert is not None:
            self._alert(
                Alert(
                    severity=AlertSeverity.CRITICAL,
                    source="alpaca",
                    timestamp=self._now(),
                    message=f"account does not reconcile: {reason}",
                    key="alpaca:reconcile",
                )
            )

    # ------------------------------------------------------------------ helpers
    def _rest(self) -> TradingClient:
        if self._client is None:
            raise BrokerError("alpaca broker used before connect()")
        return self._client

    def _now(self) -> datetime:
        now: datetime = self._clock.now()
        return now

    def _now_ns(self) -> int:
        return int(self._clock.now_ns())
