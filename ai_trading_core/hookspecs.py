"""Hook specifications of the ``ai_trading`` project: specs only, grouped by lifecycle phase.

Three kinds of hook:

* **Registration hooks** run once at start-up. Each receives a typed registry and adds named
  component factories. Components are then called directly by the engine.
* **Observer hooks** are told what happened (session, signal, order, fill, risk verdict,
  risk state, alert). Each implementation is isolated: one that raises is logged and
  alerted, the run goes on. ``ai_trading_audit_event`` is the exception: audit sinks are on
  the decision path and a failing sink halts trading.
* **Around-order hook**: ``ai_trading_submit_order`` is called for every order; plugins
  surround it with ``wrapper=True`` implementations (kill switch, audit, metrics).

Per-bar work never goes through these hooks. Every documented hook has a section in
``docs/hooks.md``; ``tests/test_docs.py`` fails when one is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import hookspec

if TYPE_CHECKING:
    from collections.abc import Mapping

    import click
    from pydantic import SecretStr

    from .config import AppConfig
    from .models import Alert, AuditEvent, Fill, Order, OrderUpdate, RiskEvent, RiskVerdict, Signal
    from .protocols import Broker
    from .registry import (
        AlertChannelRegistry,
        BrokerRegistry,
        CacheRegistry,
        DataSourceRegistry,
        ReporterRegistry,
        RiskCheckRegistry,
        SizerRegistry,
        StorageRegistry,
        StrategyRegistry,
    )
    from .result import RunResult, Session


# --------------------------------------------------------------------------- registration
@hookspec
def ai_trading_register_data_sources(registry: DataSourceRegistry) -> None:
    """Register data source factories.

    Called once per plugin manager, before any config is read.

    :param registry: call ``registry.register(name, factory, params=Model)``; the factory
        receives the validated ``Model`` and a ``BuildContext`` and returns a ``DataSource``.
    :return: nothing; a duplicate name raises ``DuplicateComponentError``.
    """


@hookspec
def ai_trading_register_strategies(registry: StrategyRegistry) -> None:
    """Register strategy factories (return objects implementing ``Strategy``).

    Called once at start-up. :param registry: the strategy registry. :return: nothing.
    """


@hookspec
def ai_trading_register_sizers(registry: SizerRegistry) -> None:
    """Register position sizer factories (``PositionSizer``).

    Called once at start-up. :param registry: the sizer registry. :return: nothing.
    """


@hookspec
def ai_trading_register_risk_checks(registry: RiskCheckRegistry) -> None:
    """Register pre-trade risk check factories (``RiskCheck``).

    Called once at start-up. :param registry: the risk check registry. :return: nothing.
    """


@hookspec
def ai_trading_register_brokers(registry: BrokerRegistry) -> None:
    """Register broker factories (``Broker``).

    Called once at start-up. :param registry: the broker registry. :return: nothing.
    """


@hookspec
def ai_trading_register_reporters(registry: ReporterRegistry) -> None:
    """Register reporter factories (``Reporter``), which add metrics and attribution to the
    run document and print summaries.

    Called once at start-up. :param registry: the reporter registry. :return: nothing.
    """


@hookspec
def ai_trading_register_storage(registry: StorageRegistry) -> None:
    """Register storage backends (``Storage``): durable orders, fills and runs.

    Called once at start-up. :param registry: the storage registry. :return: nothing.
    """


@hookspec
def ai_trading_register_caches(registry: CacheRegistry) -> None:
    """Register caches (``Cache``).

    Called once at start-up. :param registry: the cache registry. :return: nothing.
    """


@hookspec
def ai_trading_register_alert_channels(registry: AlertChannelRegistry) -> None:
    """Register alert channels (``AlertChannel``): log, webhook, e-mail, ...

    Called once at start-up. :param registry: the alert channel registry. :return: nothing.
    """


@hookspec
def ai_trading_register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``ai-trading`` CLI.

    Called once when the CLI starts, after plugins load. :param cli: the root ``click``
    group; add commands with ``cli.add_command``. A name already taken is an error.
    :return: nothing.
    """


@hookspec
def ai_trading_load_credentials(config: AppConfig) -> Mapping[str, SecretStr] | None:
    """Supply credentials from a store (an encrypted secrets file, a vault).

    Called once per run, before any component is built. Results of all implementations are
    merged, later plugins first; values in the config's ``[credentials]`` table or the
    ``AI_TRADING_CREDENTIALS__*`` environment win over them.

    :param config: the validated run configuration.
    :return: credential name → ``SecretStr``, or None when the plugin has nothing to add.
        An undecryptable store raises ``SecretsError`` and the run does not start.
    """


# --------------------------------------------------------------------------- session lifecycle
@hookspec
def ai_trading_session_start(session: Session) -> None:
    """A run is about to process its first bar.

    :param session: run id, mode, config hash, timeframe, symbols, plugins.
    :return: nothing. Observer: an exception is logged and alerted, the run goes on.
    """


@hookspec
def ai_trading_session_finish(session: Session, result: RunResult) -> None:
    """A run has processed its last bar (or stopped).

    :param session: as given to ``ai_trading_session_start``.
    :param result: equity curve, trades, orders, fills, risk events of the run.
    :return: nothing. Observer.
    """


# --------------------------------------------------------------------------- decisions
@hookspec
def ai_trading_signal(signal: Signal) -> None:
    """A strategy's target for a symbol changed.

    Called only on changes, never per bar. :param signal: strategy id, symbol, strength in
    [-1, 1], confidence, correlation id. :return: nothing. Observer.
    """


@hookspec
def ai_trading_risk_verdict(verdict: RiskVerdict) -> None:
    """A risk check decided on an order.

    :param verdict: check name, decision (approve/resize/reject), limit, measured value,
        requested and approved quantity, correlation id. :return: nothing. Observer.
    """


@hookspec
def ai_trading_risk_state(event: RiskEvent) -> None:
    """The risk state changed (ACTIVE, REDUCING, HALTED).

    :param event: previous and new state, source, reason, measured value and limit.
    :return: nothing. Observer.
    """


# --------------------------------------------------------------------------- orders
@hookspec(firstresult=True)
def ai_trading_submit_order(order: Order, broker: Broker) -> OrderUpdate | None:
    """Send one order to the active broker.

    Called for every order after it passed the risk checks and was persisted. The kernel's
    default implementation (``trylast``) calls ``broker.submit_order(order)``. Plugins wrap
    it with ``@hookimpl(wrapper=True)`` to refuse (raise ``TradingHalted``), audit or time
    the submission whichever broker is active.

    :param order: the order, status NEW, with its deterministic ``client_order_id``.
    :param broker: the active broker component.
    :return: the broker's acknowledgement (first non-None result).
    """


@hookspec
def ai_trading_order(order: Order) -> None:
    """An order was created or changed status.

    :param order: a snapshot of the order after the change. :return: nothing. Observer.
    """


@hookspec
def ai_trading_fill(fill: Fill) -> None:
    """An execution was applied to the portfolio (each ``execution_id`` once).

    :param fill: the execution. :return: nothing. Observer.
    """


# --------------------------------------------------------------------------- alerts and audit
@hookspec
def ai_trading_alert(alert: Alert) -> None:
    """Something needs a human's attention (circuit breaker, limit breach, plugin failure,
    stale feed, reconciliation mismatch).

    :param alert: severity, source, message, de-duplication key. :return: nothing. Observer.
    """


@hookspec
def ai_trading_audit_event(event: AuditEvent) -> str | None:
    """Append one event to the audit trail.

    Called for every decision (decision context, risk verdicts, orders, acknowledgements,
    fills, risk state changes), all linked by ``correlation_id``. Sinks must be durable on
    return. Unlike observers, a sink that raises halts trading: an unrecorded decision is
    never acted on.

    :param event: sequence number, run id, kind, correlation id, timestamp, payload.
    :return: nothing, or a sink's chain hash of the event (hex): the engine seals the chain
        with the last one (see ``ai_trading_core.audit``).
    """


def observer_hooks() -> tuple[str, ...]:
    """Names of hooks whose implementations are isolated from each other."""
    return (
        "ai_trading_session_start",
        "ai_trading_session_finish",
        "ai_trading_signal",
        "ai_trading_risk_verdict",
        "ai_trading_risk_state",
        "ai_trading_order",
        "ai_trading_fill",
        "ai_trading_alert",
    )


def registration_hooks() -> dict[str, str]:
    """Registration hook name → role value."""
    return {
        "ai_trading_register_data_sources": "data_source",
        "ai_trading_register_strategies": "strategy",
        "ai_trading_register_sizers": "sizer",
        "ai_trading_register_risk_checks": "risk_check",
        "ai_trading_register_brokers": "broker",
        "ai_trading_register_reporters": "reporter",
        "ai_trading_register_storage": "storage",
        "ai_trading_register_caches": "cache",
        "ai_trading_register_alert_channels": "alert_channel",
        "ai_trading_register_commands": "command",
    }
