"""Builds the configured components and runs them: the one code path behind
``ai-trading run`` for backtest, paper and live."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, cast

from loguru import logger

from .audit import JsonlAuditSink, resolve_audit_key
from .clock import Clock, SimulatedClock, WallClock
from .config import AppConfig, ComponentConfig
from .engine import AlertRouter, Engine, EngineComponents, combine_targets
from .enums import Role, RunMode, Timeframe
from .errors import ConfigError, DataError
from .feeds import ReplayFeed
from .guards import check_block_all, finite_bounds, strategy_factories
from .manifest import build_manifest, write_manifest
from .market import BarPanel, to_ns
from .plugins import PluginHost, create_plugin_host
from .profiles import check_profile
from .protocols import BlockStrategy, Reporter, ReportSection
from .recovery import RecoveredState
from .redaction import redact_config
from .registry import BuildContext, ComponentRegistry, redacted_params
from .result import PluginInfo, RunResult, Session
from .rundoc import build_run_document, json_safe

Progress = Callable[[int, int], None]


@contextmanager
def gc_paused(pause: bool = True) -> Iterator[None]:
    """Automatic garbage collection off for a bounded batch computation: a backtest and the
    building of its run document. They allocate hundreds of thousands of long-lived objects
    (orders, fills, trades, equity-curve rows) and make no reference cycles per bar, so the
    generational collector would only re-scan the growing heap again and again (about a
    quarter of a backtest's wall time: ``python -m benchmarks.inprocess --keep-gc``).
    Reference counting still frees everything else at once; collection resumes on exit,
    also after an error. Paper and live runs never pause."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        # Everything allocated meanwhile is still "young": the first collection after
        # enable() would scan it all at once. Move it to the oldest generation instead
        # (freeze then unfreeze: two list splices), where the next full collection sees it.
        gc.freeze()
        gc.unfreeze()
        gc.enable()


@dataclass
class RunOutcome:
    result: RunResult
    document: dict[str, Any]
    sections: list[tuple[Reporter, ReportSection]] = field(default_factory=list)
    audit_path: Path | None = None
    engine: Engine | None = None
    manifest_path: Path | None = None  # <output_dir>/<run_id>/manifest.json (see ai_trading_core.manifest)


def host_for_config(
    config: AppConfig, *, disable: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> PluginHost:
    """Load plugins as the config asks: an explicit ``[plugins] load`` list, or every
    installed plugin. Live mode refuses to autoload (no unlisted plugin may trade)."""
    if not config.plugins.load:
        check_profile(config)  # production: every problem visible without loading a plugin
    if config.run.mode is RunMode.LIVE and not config.plugins.load:
        raise ConfigError(
            "live mode requires an explicit [plugins] load = [...] list; autoloaded plugins may not trade"
        )
    host = create_plugin_host(only=config.plugins.load, disable=tuple(config.plugins.disable) + disable, env=env)
    host.raise_for_registry_errors()
    return host


def validate_config(config: AppConfig, host: PluginHost) -> None:
    """Check that every named component exists and its parameters validate, and that a
    ``production`` profile's config is safe for real money (:mod:`ai_trading_core.profiles`)."""
    check_profile(config, host)
    finite_bounds(config)
    r = host.registries
    checks: list[tuple[ComponentRegistry[Any], ComponentConfig]] = [
        (r.data_sources, config.data),
        (r.sizers, config.sizer),
        (r.brokers, config.broker),
    ]
    checks += [(r.strategies, s) for s in config.strategies]
    checks += [(r.risk_checks, c) for c in config.risk]
    checks += [(r.reporters, c) for c in config.reporters]
    checks += [(r.alert_channels, c) for c in config.alerts]
    if config.storage:
        checks.append((r.storage, config.storage))
    if config.cache:
        checks.append((r.caches, config.cache))
    ids = [s.instance_id for s in config.strategies]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"strategy ids must be unique, got {ids}; give each [[strategies]] an id")
    for registry, cc in checks:
        registry.get(cc.name).validate(cc.params, where=f"{registry.role.value} {cc.name!r}")


def redacted_config(config: AppConfig, host: PluginHost) -> dict[str, Any]:
    """The config as JSON with credentials and every component's ``SecretStr`` parameters
    masked (each component's own parameter model knows which fields are secret), and every
    URL/DSN password and secret-named value masked (:mod:`ai_trading_core.redaction`)."""
    doc = config.redacted()
    r = host.registries

    def mask(registry: ComponentRegistry[Any], section: dict[str, Any]) -> None:
        section["params"] = redacted_params(registry.get(section["name"]), section.get("params") or {})

    mask(r.data_sources, doc["data"])
    mask(r.sizers, doc["sizer"])
    mask(r.brokers, doc["broker"])
    lists: tuple[tuple[str, ComponentRegistry[Any]], ...] = (
        ("strategies", r.strategies),
        ("risk", r.risk_checks),
        ("reporters", r.reporters),
        ("alerts", r.alert_channels),
    )
    for key, registry in lists:
        for section in doc[key]:
            mask(registry, section)
    optional: tuple[tuple[str, ComponentRegistry[Any]], ...] = (("storage", r.storage), ("cache", r.caches))
    for key, registry in optional:
        if doc.get(key):
            mask(registry, doc[key])
    # then by construction: URL/DSN passwords and secret-named values of any parameter
    redacted: dict[str, Any] = redact_config(doc)
    return redacted


def _bound(value: date | datetime | None, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time.max if end else time.min, tzinfo=UTC)


def run_config(
    config: AppConfig,
    host: PluginHost | None = None,
    *,
    panel: BarPanel | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
    clock: Clock | None = None,
    block: bool | None = None,
) -> RunOutcome:
    """Run a config end to end and return the result and the run document.

    :param panel: use these bars instead of loading the configured data source.
    :param progress: called as ``progress(done, total)`` about a hundred times per run.
    :param block: force block mode on or off (default: ``run.engine``).
    """
    host = host or host_for_config(config)
    validate_config(config, host)
    run_id = run_id or uuid.uuid4().hex
    mode = config.run.mode
    alerts = AlertRouter()
    sim_clock = clock or (WallClock() if mode is RunMode.LIVE else SimulatedClock())
    r = host.registries
    stored: dict[str, Any] = {}
    for found in reversed(host.pm.hook.ai_trading_load_credentials(config=config)):
        stored.update(found or {})
    credentials = {**stored, **config.credentials}
    timeframe = {"value": panel.timeframe if panel is not None else Timeframe.D1}

    def ctx(cid: str) -> BuildContext:
        return BuildContext(
            component_id=cid,
            mode=mode,
            timeframe=timeframe["value"],
            initial_cash=config.run.initial_cash,
            currency=config.run.currency,
            state_dir=config.run.state_dir,
            credentials=credentials,
            clock=sim_clock,
            seed=config.run.seed,
            alert=alerts.emit,
            build=build_named,
            config_dir=config.source_path.parent if config.source_path is not None else None,
        )

    def build_named(role: str, name: str, params: Any, cid: str) -> Any:
        registry = r.by_role()[Role(role)]
        return registry.get(name).build(params, ctx(cid))

    def build(registry: ComponentRegistry[Any], cc: ComponentConfig) -> Any:
        return registry.get(cc.name).build(cc.params, ctx(cc.instance_id))

    source = None
    if panel is None:
        source = build(r.data_sources, config.data)
        panel = source.load(_bound(config.run.start, False), _bound(config.run.end, True))
    elif config.run.start or config.run.end:
        start, end = _bound(config.run.start, False), _bound(config.run.end, True)
        lo = to_ns(start) if start is not None else None
        hi = to_ns(end) if end is not None else None
        panel = panel.select(start=lo, end=hi)
    timeframe["value"] = panel.timeframe
    if mode is RunMode.LIVE:
        source = source or build(r.data_sources, config.data)
        if not callable(getattr(source, "stream", None)):
            raise ConfigError(f"live mode needs a streaming data source (stream()); {config.data.name!r} has none")
    if len(panel.timestamps) == 0:
        raise DataError(
            f"no bars between {config.run.start} and {config.run.end} from data source {config.data.name!r}"
        )

    strategies = []
    for sc in config.strategies:
        strategy = build(r.strategies, sc)
        strategy.strategy_id = sc.instance_id
        strategies.append((strategy, sc.weight))
    components = EngineComponents(
        strategies=strategies,
        sizer=build(r.sizers, config.sizer),
        broker=build(r.brokers, config.broker),
        risk_checks=[build(r.risk_checks, c) for c in config.risk],
        storage=build(r.storage, config.storage) if config.storage else None,
        sizer_name=config.sizer.name,
    )
    reporters: list[Reporter] = [build(r.reporters, c) for c in config.reporters]
    alerts.channels = [build(r.alert_channels, c) for c in config.alerts]
    cache = build(r.caches, config.cache) if config.cache else None
    components.step_observers = [
        c
        for c in (*reporters, components.storage, cache, *alerts.channels)
        if c is not None and callable(getattr(c, "observe_step", None))
    ]
    recovered = _recover(config, components.storage)
    if recovered is not None:
        run_id = recovered.checkpoint.run_id  # a resumed run keeps its id, documents and audit chain

    session = Session(
        run_id=run_id,
        mode=mode,
        config_hash=config.config_hash(),
        timeframe=panel.timeframe,
        symbols=panel.symbols,
        initial_cash=config.run.initial_cash,
        currency=config.run.currency,
        plugins=tuple(PluginInfo(p.name, p.distribution, p.version) for p in host.plugins),
        strategies=tuple(s.strategy_id for s, _ in strategies),
        name=config.run.name,
    )

    # Components that observe hooks themselves (a cache publishing fills, a storage sink)
    # are registered with this run's plugin manager for the run only.
    registered: list[object] = []
    for comp in [components.storage, cache, *components.risk_checks, *alerts.channels, *reporters]:
        if comp is not None and any(
            callable(getattr(comp, n, None)) and hasattr(getattr(comp, n), "ai_trading_impl")
            for n in dir(comp)
            if n.startswith("ai_trading_")
        ):
            host.pm.register(comp, name=f"component:{id(comp)}")
            registered.append(comp)
    audit_path = None
    sink: JsonlAuditSink | None = None
    # The HMAC key of the audit chain: the file sink and the storage (which resolves it the
    # same way from its build context) key their chains alike.
    audit_key = None
    if config.audit.enabled or config.storage:
        audit_key = resolve_audit_key(credentials, config.run.state_dir)
    if config.audit.enabled:
        assert audit_key is not None
        audit_path = config.audit.path or (config.run.output_dir / run_id / "audit.jsonl")
        sink = JsonlAuditSink(Path(audit_path), audit_key)
        host.pm.register(sink, name="audit-jsonl")
        registered.append(sink)
    bind = getattr(components.storage, "bind_run", None)
    if bind is not None:
        bind(run_id)
    describe_instruments = getattr(cache, "describe_instruments", None)
    if describe_instruments is not None:  # a live feed shows prices to each instrument's tick
        describe_instruments(panel.instruments)

    if isinstance(sim_clock, SimulatedClock) and sim_clock.now_ns() < int(panel.timestamps[0]):
        sim_clock.set(int(panel.timestamps[0]))
    engine = Engine(
        session,
        components,
        host,
        panel.instruments,
        sim_clock,
        on_error=config.run.on_error,
        rebalance=config.run.rebalance,
        alerts=alerts,
        expected_steps=len(panel.timestamps),
    )
    try:
        if recovered is not None:
            engine.restore(recovered)
            if sink is not None:  # the file may hold the event a kill kept from storage
                engine.adopt_audit_tail(sink.events_after(recovered.checkpoint.run_id, recovered.audit_sequence))
        engine.start()
        use_block = (config.run.engine == "block") if block is None else block
        if mode is RunMode.BACKTEST and use_block:
            with gc_paused():
                _run_block(
                    engine,
                    panel,
                    progress,
                    every_bar=config.run.rebalance == "every_bar",
                    fresh=strategy_factories(config, host, panel),
                )
        elif mode is RunMode.BACKTEST:
            with gc_paused():
                _run_backtest(engine, panel, progress)
        elif mode is RunMode.PAPER:
            asyncio.run(
                _run_async(
                    engine, ReplayFeed(panel, speed=config.run.replay_speed).stream(), len(panel.timestamps), progress
                )
            )
        else:
            from .live import run_live

            after = None
            if getattr(source, "history_is_warmup", False):
                # load() was the warm-up history: strategies see it, nothing is decided on
                # it, and the stream continues strictly after its last bar.
                for i in range(len(panel.timestamps)):
                    engine.warm(panel.slice_at(i))
                after = int(panel.timestamps[-1])
            extra = {"after": after} if after is not None else {}
            asyncio.run(run_live(engine, source, stop_policy=config.run.on_stop, **extra))
        if config.run.close_at_end:
            engine._flatten("end of run")
        result = engine.finish()
        sealed = engine.seal_audit()  # a clean stop closes the audit chain
        finish_run = getattr(components.storage, "finish_run", None)
        if mode is RunMode.PAPER and finish_run is not None and not engine.storage_lost:
            # the replay ran to its end: nothing to resume. A live run is one run across
            # restarts: after a stop (SIGTERM) the next start resumes it with its positions.
            finish_run(run_id)
        execution_report = getattr(components.broker, "execution_report", None)
        if execution_report is not None:  # execution brokers: child orders, shortfall, slippage
            result.extra["execution"] = execution_report()
        data_report = getattr(source, "run_extras", None)
        feed_extras = data_report() if data_report is not None else None
        if feed_extras:  # streaming and failover sources: where the bars came from
            result.extra["data_feed"] = feed_extras
    except BaseException:
        if components.storage is not None:
            components.storage.close()
        raise
    finally:
        for comp in registered:
            host.pm.unregister(comp)
            close = getattr(comp, "close", None)
            if close is not None and comp is not components.storage:
                close()
        components.broker.close()
    if config.run.benchmark:
        if config.run.benchmark not in panel.symbols:
            raise ConfigError(
                f"benchmark symbol {config.run.benchmark!r} is not in the data ({', '.join(panel.symbols)})"
            )
        result.benchmark = panel.close[:, panel.symbols.index(config.run.benchmark)].copy()
    for strategy, _ in strategies:
        extras = getattr(strategy, "run_extras", None)
        if extras is not None:
            result.extra.setdefault("strategies", {})[strategy.strategy_id] = extras()
    sections = []
    for reporter in reporters:
        sections.append((reporter, reporter.report(result)))
    with gc_paused(mode is RunMode.BACKTEST):
        document = build_run_document(result, config, [s for _, s in sections], redacted_config(config, host))
        if "execution" in result.extra:
            document["execution"] = json_safe(result.extra["execution"])
        if "data_feed" in result.extra:
            document["data_feed"] = json_safe(result.extra["data_feed"])
        if "health" in result.extra:  # paper and live: how the run ended (see run_failure)
            document["health"] = json_safe(result.extra["health"])
        if sealed is not None and audit_key is not None:  # the chain's head, anchored in the documents
            document["audit"] = {"head": sealed[0], "events": sealed[1], "key_id": audit_key.key_id}
        manifest = build_manifest(document, config, panel)
    manifest_path = write_manifest(manifest, config.run.output_dir / run_id)
    record_run = getattr(components.storage, "record_run", None)
    if record_run is not None and not engine.storage_lost:  # lost: the run stays resumable
        record_run(document)
    if components.storage is not None:
        components.storage.close()
    logger.info("run {} finished: equity {}", run_id, result.final_equity)
    return RunOutcome(result, document, sections, Path(audit_path) if audit_path else None, engine, manifest_path)


def run_failure(document: dict[str, Any]) -> str | None:
    """Why a paper or live run did not end well (it halted, did not reconcile with its broker,
    or lost its storage), or None. ``ai-trading run`` exits non-zero on it."""
    health = document.get("health") or {}
    problems = []
    if health.get("storage_lost"):
        problems.append("storage lost")
    if health.get("risk_state") == "halted" and health.get("risk_state_source") != "shutdown":
        # (a stop the operator asked for, with open orders cancelled, is a clean end)
        problems.append(f"halted: {health.get('halt_reason')}")
    if health.get("reconciled") is False:
        problems.append(f"does not reconcile with the broker: {health.get('reconcile_problem')}")
    return "; ".join(problems) or None


def _recover(config: AppConfig, storage: Any) -> RecoveredState | None:
    """The unfinished paper or live run of this config to resume, if any (see
    :mod:`ai_trading_core.recovery`)."""
    if config.run.mode is RunMode.BACKTEST or not config.run.resume:
        return None
    recover = getattr(storage, "recover", None)
    if recover is None:
        return None
    state: RecoveredState | None = recover(config.config_hash())
    return state


def _run_backtest(engine: Engine, panel: BarPanel, progress: Progress | None) -> None:
    total = len(panel.timestamps)
    every = max(total // 100, 1)
    for i in range(total):
        engine.step(panel.slice_at(i))
        if progress is not None and (i % every == 0 or i == total - 1):
            progress(i + 1, total)


def _run_block(
    engine: Engine,
    panel: BarPanel,
    progress: Progress | None,
    *,
    every_bar: bool,
    fresh: Sequence[tuple[str, Callable[[], Any]]] | None = None,
) -> None:
    """Block mode: ask every strategy for its targets over the whole panel at once
    (``signal_block``), then step the pipeline only on bars where something happens (a
    target changes, an order is open, or a component needs every bar) and record the other
    bars in one vectorised pass. Gives the same trades and equity as the per-bar path."""
    import numpy as np

    from .market import forward_fill

    missing = [s.strategy_id for s, _ in engine.c.strategies if not callable(getattr(s, "signal_block", None))]
    if missing:
        raise ConfigError(f"run.engine = 'block' needs strategies with signal_block; {', '.join(missing)} have none")
    block_strategies = [cast(BlockStrategy, s) for s, _ in engine.c.strategies]
    blocks = [np.asarray(s.signal_block(panel), dtype=np.float64) for s in block_strategies]
    if fresh is not None:  # research guard: signal_block must be what on_slice returns bar by bar
        check_block_all(fresh, panel, blocks)
    carried = [forward_fill(block) for block in blocks]
    weights = np.array([w for _, w in engine.c.strategies], dtype=float)
    combined = combine_targets(carried, weights)
    prev = np.vstack([np.full((1, combined.shape[1]), np.nan), combined[:-1]])
    with np.errstate(invalid="ignore"):
        event = (np.isfinite(combined) & (combined != prev)).any(axis=1)
    step_all = every_bar or bool(engine.c.risk_checks or engine.c.step_observers)
    close_filled = forward_fill(panel.close)
    total = len(panel.timestamps)
    every = max(total // 100, 1)
    ts = panel.timestamps
    event_rows = np.flatnonzero(event)
    i = 0
    next_report = 0
    while i < total:
        if step_all or event[i] or engine.has_open_orders() or _unacted(engine, combined[i]):
            market = panel.slice_at(i)
            if engine.history.count == i:  # the history holds rows 0..i-1: append, don't refill
                engine.history.push(market)
            else:
                engine.history.load(panel, i)
            engine.step(market, [x[i] for x in carried], push_history=False)
            i += 1
        else:
            # jump to the next event row; nothing happens in between
            k = int(np.searchsorted(event_rows, i))
            j = int(event_rows[k]) if k < len(event_rows) else total
            engine.mark_segment(ts[i:j], close_filled[i:j])
            i = j
        if progress is not None and (i >= next_report or i == total):
            progress(i, total)
            next_report = i + every


def _unacted(engine: Engine, combined_row: Any) -> bool:
    """A target the engine could not act on yet (no price) is retried on the next bar, as
    the per-bar path does."""
    import numpy as np

    with np.errstate(invalid="ignore"):
        return bool((np.isfinite(combined_row) & (combined_row != engine._combined)).any())


async def _run_async(engine: Engine, feed: Any, total: int, progress: Progress | None) -> None:
    every = max(total // 100, 1)
    i = 0
    async for market in feed:
        engine.step(market)
        i += 1
        if progress is not None and (i % every == 0 or i == total):
            progress(i, total)
