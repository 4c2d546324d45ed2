"""The live event loop: cross-sections from a streaming data source through the engine,
until the stream ends or the process is asked to stop.

A stop request (SIGTERM, SIGINT, or :meth:`LiveControl.request_stop` from code) is handled
between two steps, never inside one: the slice being processed finishes, then no further
slice reaches the engine, so no new order is decided. Open orders are then treated by the
stop policy:

``"cancel"``
    the engine goes to HALTED (source ``"shutdown"``), which cancels every open order at the
    broker and records the risk event, audit event and alert that any halt records.
``"keep"``
    open orders stay working at the broker (e.g. good-till-cancelled exits a restart will
    reconcile); the engine's state is left as it was and the shutdown is written to the audit
    trail.

:func:`run_live` then returns and the runner finishes as for any run: ``engine.finish()``, the
run document, ``storage.record_run``.

Every slice reaches the engine at most once: a slice not newer than the last one stepped
(a source replaying a bar after a reconnect) is dropped and counted (``control.duplicates``).
A source with ``health()`` (:class:`~ai_trading_core.feeds.FeedHealth`) is polled every
``health_poll_s`` seconds while the loop waits for bars: ``reduce`` puts the engine in
REDUCING (source ``"data_feed"``; the engine's alert says why) and a healthy feed lifts it
again, unless something else has escalated the state meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from loguru import logger

from .engine import Engine
from .enums import RiskState
from .feeds import FeedHealth
from .market import MarketSlice, to_datetime

StopPolicy = Literal["cancel", "keep"]
FEED_STATE_SOURCE = "data_feed"  # the risk-state source of a REDUCING asked for by the data feed
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)


@dataclass
class LiveControl:
    """The handle a running live loop exposes: how far it got and how to stop it."""

    engine: Engine
    stop_policy: StopPolicy
    steps: int = 0
    duplicates: int = 0  # slices dropped because they were not newer than the last one stepped
    last_timestamp: int | None = None
    stop_reason: str = ""
    open_orders_at_stop: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def request_stop(self, reason: str) -> None:
        """Stop after the current step. The first reason given is kept."""
        if not self._stop.is_set():
            self.stop_reason = reason
            logger.warning("live run stopping: {}", reason)
            self._stop.set()


OnStep = Callable[[LiveControl], None]


async def _next(it: AsyncIterator[MarketSlice]) -> MarketSlice:
    return await it.__anext__()


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, control: LiveControl) -> list[signal.Signals]:
    installed: list[signal.Signals] = []
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, control.request_stop, f"received {sig.name}")
        except (ValueError, RuntimeError, NotImplementedError) as exc:  # not the main thread, or no signals here
            logger.warning("cannot install a {} handler ({}); stop the run with request_stop", sig.name, exc)
            continue
        installed.append(sig)
    return installed


async def run_live(
    engine: Engine,
    source: Any,
    *,
    stop_policy: StopPolicy = "cancel",
    on_step: OnStep | None = None,
    after: int | None = None,
    health_poll_s: float = 0.25,
) -> LiveControl:
    """Feed ``source.stream()`` (an async iterator of :class:`MarketSlice`) through
    ``engine.step`` until the stream ends or a stop is requested, then apply ``stop_policy``
    to the open orders (see the module docstring). The engine must already be started.

    :param on_step: called after every step with the :class:`LiveControl` (progress, or a
        programmatic stop: ``control.request_stop(reason)``).
    :param after: nanoseconds; slices at or before it are dropped (the warm-up's last bar).
    :param health_poll_s: seconds between two looks at ``source.health()``, if it has one.
    :returns: the control, with the number of steps taken and why the loop stopped.
    """
    if stop_policy not in ("cancel", "keep"):
        raise ValueError(f"stop_policy must be 'cancel' or 'keep', got {stop_policy!r}")
    control = LiveControl(engine, stop_policy, last_timestamp=after)
    loop = asyncio.get_running_loop()
    installed = _install_signal_handlers(loop, control)
    health: Callable[[], FeedHealth] | None = getattr(source, "health", None)
    stream = source.stream()
    stop_wait = asyncio.ensure_future(control._stop.wait())
    try:
        while not control.stopping:
            nxt = asyncio.ensure_future(_next(stream))
            while True:
                await asyncio.wait(
                    {nxt, stop_wait},
                    timeout=health_poll_s if health is not None else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if health is not None:
                    _apply_health(engine, health())
                if nxt.done() or stop_wait.done():
                    break
            if not nxt.done():  # stop requested while waiting for the next bar
                nxt.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await nxt
                break
            try:
                market = nxt.result()
            except StopAsyncIteration:
                control.request_stop("data stream ended")
                break
            if control.last_timestamp is not None and market.timestamp <= control.last_timestamp:
                control.duplicates += 1
                logger.warning(
                    "live: dropped a slice at {} (not newer than the last one, {}): never decided twice",
                    to_datetime(market.timestamp).isoformat(),
                    to_datetime(control.last_timestamp).isoformat(),
                )
                continue
            control.last_timestamp = market.timestamp
            engine.step(market)
            control.steps += 1
            if on_step is not None:
                on_step(control)
    finally:
        stop_wait.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stop_wait
        for sig in installed:
            loop.remove_signal_handler(sig)
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    _apply_stop_policy(control)
    return control


def _apply_health(engine: Engine, health: FeedHealth) -> None:
    """REDUCING while the feed asks for it; back to ACTIVE when it no longer does, but only
    when the feed was what put the engine there (a risk check's REDUCING or a HALT stays)."""
    if health.reduce and engine.state is RiskState.ACTIVE:
        engine._change_state(
            RiskState.REDUCING, FEED_STATE_SOURCE, f"data feed {health.status.value}: {health.reason}",
            measured=health.silence_s,
        )
    elif (
        not health.reduce
        and engine.state is RiskState.REDUCING
        and engine._state_source == FEED_STATE_SOURCE
    ):
        engine._change_state(RiskState.ACTIVE, FEED_STATE_SOURCE, "data feed healthy again", force=True)


def _apply_stop_policy(control: LiveControl) -> None:
    engine = control.engine
    control.open_orders_at_stop = len(engine.book.open_orders())
    reason = control.stop_reason or "stopped"
    if control.stop_policy == "cancel":
        # HALTED cancels every open order at the broker (Engine._change_state).
        # TODO(kernel): an Engine.halt(source, reason, cancel_open: bool) would replace these private calls.
        engine._change_state(RiskState.HALTED, "shutdown", f"shutdown: {reason}")
        if engine.has_open_orders():  # already HALTED before the stop: _change_state did nothing
            engine._cancel_open_orders(f"shutdown: {reason}")
    engine._audit(
        "session",
        "session",
        {
            "event": "shutdown",
            "reason": reason,
            "policy": control.stop_policy,
            "steps": control.steps,
            "open_orders": control.open_orders_at_stop,
            "open_orders_after": len(engine.book.open_orders()),
        },
    )
    logger.info(
        "live run stopped after {} steps ({}); policy {}: {} open orders at stop, {} left",
        control.steps,
        reason,
        control.stop_policy,
        control.open_orders_at_stop,
        len(engine.book.open_orders()),
    )
