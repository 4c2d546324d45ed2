"""Research guards: the checks ``ai-trading validate`` and ``ai-trading run`` make before a
backtest's numbers are trusted (see docs/research-guards.md).

* :func:`check_config_data` (``validate``): the configured data loads (files exist, the
  symbols are there, bars fall between ``run.start`` and ``run.end``), the benchmark symbol is
  in it, and every configured strategy passes the look-ahead check (truncate and compare, on
  a sample of that data).
* :func:`check_block_targets` (``run`` with ``run.engine = "block"``): the strategy's
  ``signal_block`` equals what its ``on_slice`` returns bar by bar on the first rows of the
  panel, before the block path trusts it.

A strategy that declares ``deterministic = False`` (a class attribute: its signals depend on
something besides the bars, such as an unseeded random draw) gets a warning instead of a
refusal from both checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from loguru import logger

from .clock import SimulatedClock
from .config import AppConfig
from .enums import Role
from .errors import AiTradingError, ConfigError, DataError
from .market import BarPanel, FloatArray, to_ns
from .plugins import PluginHost
from .protocols import Strategy
from .registry import BuildContext

BLOCK_ATOL = 1e-9
"""Absolute tolerance between ``signal_block`` and ``on_slice`` targets (fractions): the
two paths may sum in a different floating-point order."""


class ResearchGuardError(AiTradingError):
    """A strategy failed a research guard: its signals use data from the future, or its
    block path disagrees with its per-bar path."""

    exit_code = 5


class LookaheadDetected(ResearchGuardError):
    """A strategy's signals up to a bar changed when only later bars were altered."""


class BlockMismatch(ResearchGuardError):
    """``signal_block`` returned targets that ``on_slice`` does not return bar by bar."""


@dataclass
class GuardReport:
    """What the data and strategy checks found: one line per check, and the warnings."""

    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def sample_rows(n_rows: int, warmup: int) -> int:
    """Rows of the panel the guards run on: enough for the warm-up three times over plus a
    margin (at least 250, a year of daily bars), at most the panel."""
    return min(n_rows, max(3 * max(int(warmup), 1) + 60, 250))


def is_deterministic(strategy: object) -> bool:
    return bool(getattr(strategy, "deterministic", True))


def _head(panel: BarPanel, rows: int) -> BarPanel:
    if rows >= len(panel.timestamps):
        return panel
    return panel.select(end=int(panel.timestamps[rows - 1]))


def build_context_factory(config: AppConfig, host: PluginHost, panel: BarPanel | None) -> Callable[[str], BuildContext]:
    """Build contexts like ``run_config``'s (same credentials, seed, timeframe), with a
    simulated clock: for components built only to be checked."""
    stored: dict[str, Any] = {}
    for found in reversed(host.pm.hook.ai_trading_load_credentials(config=config)):
        stored.update(found or {})
    credentials = {**stored, **config.credentials}
    clock = SimulatedClock(int(panel.timestamps[0]) if panel is not None and len(panel.timestamps) else 0)
    by_role = host.registries.by_role()

    def ctx(cid: str) -> BuildContext:
        kwargs: dict[str, Any] = {}
        if panel is not None:
            kwargs["timeframe"] = panel.timeframe
        return BuildContext(
            component_id=cid,
            mode=config.run.mode,
            initial_cash=config.run.initial_cash,
            currency=config.run.currency,
            state_dir=config.run.state_dir,
            credentials=credentials,
            clock=clock,
            seed=config.run.seed,
            build=lambda role, name, params, sub: by_role[Role(role)].get(name).build(params, ctx(sub)),
            config_dir=config.source_path.parent if config.source_path is not None else None,
            **kwargs,
        )

    return ctx


def strategy_factories(
    config: AppConfig, host: PluginHost, panel: BarPanel | None
) -> list[tuple[str, Callable[[], Strategy]]]:
    """(instance id, factory of a fresh instance) for every configured strategy."""
    ctx = build_context_factory(config, host, panel)
    registry = host.registries.strategies
    out: list[tuple[str, Callable[[], Strategy]]] = []
    for sc in config.strategies:

        def make(sc: Any = sc) -> Strategy:
            strategy: Strategy = registry.get(sc.name).build(sc.params, ctx(sc.instance_id))
            strategy.strategy_id = sc.instance_id
            return strategy

        out.append((sc.instance_id, make))
    return out


def load_config_panel(config: AppConfig, host: PluginHost) -> BarPanel:
    """The bars ``run`` would load: the configured data source between ``run.start`` and
    ``run.end``. Raises :class:`DataError` (or the source's own typed error) as run would."""
    from .runner import _bound

    ctx = build_context_factory(config, host, None)
    source = host.registries.data_sources.get(config.data.name).build(config.data.params, ctx(config.data.instance_id))
    panel: BarPanel = source.load(_bound(config.run.start, False), _bound(config.run.end, True))
    if len(panel.timestamps) == 0:
        raise DataError(
            f"no bars between {config.run.start} and {config.run.end} from data source {config.data.name!r}"
        )
    return panel


def check_config_data(config: AppConfig, host: PluginHost, *, lookahead: bool = True) -> GuardReport:
    """Everything ``run`` would check on the data, without running: the data loads, the
    benchmark symbol is in it, and (``lookahead``) every strategy passes the look-ahead
    check on a sample of it. Raises the typed error ``run`` would raise."""
    report = GuardReport()
    panel = load_config_panel(config, host)
    t, n = panel.shape
    report.lines.append(
        f"data: {n} symbols, {t} bars ({_iso(panel, 0)} .. {_iso(panel, t - 1)}, {panel.timeframe.value})"
    )
    if config.run.benchmark and config.run.benchmark not in panel.symbols:
        raise ConfigError(f"benchmark symbol {config.run.benchmark!r} is not in the data ({', '.join(panel.symbols)})")
    if lookahead:
        for sid, factory in strategy_factories(config, host, panel):
            report.lines.append(check_lookahead(sid, factory, panel, report))
    return report


def _iso(panel: BarPanel, i: int) -> str:
    from .market import to_datetime

    return to_datetime(int(panel.timestamps[i])).isoformat()


def check_lookahead(sid: str, factory: Callable[[], Strategy], panel: BarPanel, report: GuardReport) -> str:
    """Run :func:`~ai_trading_core.testing.lookahead.assert_no_lookahead` for one strategy on
    the first :func:`sample_rows` rows of ``panel``. Raises :class:`LookaheadDetected` (a
    warning in ``report`` for a strategy that declares ``deterministic = False``)."""
    from .testing.lookahead import LookaheadError, assert_no_lookahead

    probe = factory()
    rows = sample_rows(len(panel.timestamps), int(getattr(probe, "warmup", 0)))
    if rows < 3:
        return f"look-ahead {sid}: skipped (fewer than 3 bars)"
    sample = _head(panel, rows)
    try:
        targets = assert_no_lookahead(factory, sample)
    except LookaheadError as exc:
        message = f"{exc} (checked on the first {rows} bars)"
        if not is_deterministic(probe):
            report.warnings.append(f"look-ahead {sid}: {message}; the strategy declares itself non-deterministic")
            logger.warning("look-ahead check of {}: {}", sid, message)
            return f"look-ahead {sid}: WARNING (non-deterministic strategy): {message}"
        raise LookaheadDetected(f"strategy {sid}: {message}") from None
    signals = int(np.isfinite(targets).sum())
    paths = "on_slice and signal_block" if callable(getattr(probe, "signal_block", None)) else "on_slice"
    return f"look-ahead {sid}: OK on the first {rows} bars ({signals} signals; {paths})"


def check_block_targets(
    sid: str, factory: Callable[[], Strategy], panel: BarPanel, block: FloatArray, *, atol: float = BLOCK_ATOL
) -> str | None:
    """Compare ``block`` (what ``signal_block`` returned on ``panel``) with ``on_slice`` run bar
    by bar by a fresh instance on the first :func:`sample_rows` rows. Returns None when they
    agree, a warning for a strategy that declares ``deterministic = False``; raises
    :class:`BlockMismatch` otherwise."""
    from .testing.lookahead import LookaheadError, _first_difference, run_per_bar

    strategy = factory()
    t = len(panel.timestamps)
    rows = sample_rows(t, int(getattr(strategy, "warmup", 0)))
    expected_shape = panel.shape
    if block.shape != expected_shape:
        raise BlockMismatch(f"strategy {sid}: signal_block returned shape {block.shape}, expected {expected_shape}")
    try:
        per_bar = run_per_bar(strategy, _head(panel, rows))
    except LookaheadError as exc:
        raise BlockMismatch(f"strategy {sid}: {exc}") from None
    where = _first_difference(per_bar, block[:rows], atol)
    if where is None:
        return None
    r, c = where
    message = (
        f"strategy {sid}: signal_block row {r} ({panel.symbols[c]}, {_iso(panel, r)}) is {float(block[r, c])!r} but "
        f"on_slice returns {float(per_bar[r, c])!r} (compared on the first {rows} bars): the block path would not "
        f"trade what the per-bar path trades"
    )
    if not is_deterministic(strategy):
        logger.warning("{} (non-deterministic strategy: trusted)", message)
        return message
    raise BlockMismatch(
        message + "; use run.engine = 'per_bar', fix signal_block, or declare the strategy deterministic = False"
    )


def check_block_all(
    factories: Sequence[tuple[str, Callable[[], Strategy]]], panel: BarPanel, blocks: Sequence[FloatArray]
) -> list[str]:
    """:func:`check_block_targets` for every strategy; the warnings."""
    warnings = []
    for (sid, factory), block in zip(factories, blocks, strict=True):
        found = check_block_targets(sid, factory, panel, block)
        if found is not None:
            warnings.append(found)
    return warnings


def finite_bounds(config: AppConfig) -> None:
    """``run.start`` before ``run.end`` (a config error, not an empty run)."""
    start, end = config.run.start, config.run.end
    if start is None or end is None:
        return
    from .runner import _bound

    lo, hi = _bound(start, False), _bound(end, True)
    assert lo is not None and hi is not None
    if to_ns(lo) > to_ns(hi):
        raise ConfigError(f"run.start ({start}) is after run.end ({end})")


__all__ = [
    "BLOCK_ATOL",
    "BlockMismatch",
    "GuardReport",
    "LookaheadDetected",
    "ResearchGuardError",
    "check_block_targets",
    "check_config_data",
    "check_lookahead",
    "finite_bounds",
    "load_config_panel",
    "sample_rows",
    "strategy_factories",
]
