"""``ai-trading watchdog``: run next to (never inside) a live trader."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from loguru import logger

from ai_trading_core.clock import WallClock
from ai_trading_core.config import AppConfig, load_config
from ai_trading_core.errors import ConfigError
from ai_trading_core.runner import host_for_config

from .heartbeat import DEFAULT_REDIS_PREFIX, DEFAULT_REDIS_PROCESS, HeartbeatParams, heartbeat_path
from .watchdog import (
    Assessment,
    FileHeartbeatSource,
    HeartbeatSource,
    HeartbeatUnreachable,
    Liveness,
    Watch,
    intervene,
)

EXIT_INTERVENED = 3
EXIT_UNREACHABLE = 4
REMIND_EVERY_S = 60.0  # while the heartbeat store stays unreachable, say so again this often


@click.command("watchdog")
@click.option("--broker-config", "config_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the trader's config file: its [plugins], [broker], [storage] and credentials are used")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where the trader writes heartbeat.json (default: the config's run.state_dir)")
@click.option("--redis-url", default=None, envvar="AI_TRADING_WATCHDOG_REDIS_URL", show_envvar=True,
              help="read the heartbeat from this Redis instead of the file (redis://, rediss:// or unix:// URL; "
                   "default: the config's heartbeat check's redis_url when it writes no file)")
@click.option("--redis-prefix", default=None,
              help="key prefix (default: the config's heartbeat check's redis_prefix, else ai_trading)")
@click.option("--redis-process", default=None,
              help="the trader's name in the key (default: the config's heartbeat check's redis_process, "
                   "else trader)")
@click.option("--max-silence", type=click.FloatRange(min=0.0, min_open=True), default=30.0, show_default=True,
              help="seconds without a heartbeat before acting")
@click.option("--poll", type=click.FloatRange(min=0.0, min_open=True), default=1.0, show_default=True,
              help="seconds between two looks at the heartbeat")
@click.option("--once", is_flag=True, help="look once, act if stale, and exit")
def watchdog_command(
    config_path: Path, state_dir: Path | None, redis_url: str | None, redis_prefix: str | None,
    redis_process: str | None, max_silence: float, poll: float, once: bool,
) -> None:
    """Cancel the trader's open orders and halt the kill switch when its heartbeat stops.

    The heartbeat is read from <state_dir>/heartbeat.json, or from the Redis key
    <prefix>:heartbeat:<process> with --redis-url. A missing file or key (never written, or
    expired before this watchdog saw a beat) means the trader has not started: nothing to do.
    A heartbeat that disappears after a beat was seen counts as silence from that beat.

    A heartbeat store that cannot be read (Redis down or unreachable from here) is NOT taken
    for a dead trader: the watchdog never cancels because its own link is down. It logs the
    problem (again every minute while it lasts) and keeps watching; once the store answers,
    silence is counted from that moment.

    Exits 0 (with --once: the trader is alive or has not started), 3 after intervening, or
    4 (with --once) when the heartbeat could not be read.
    """
    config = load_config(config_path)
    if state_dir is not None:
        config.run.state_dir = state_dir
    source = _source(config, redis_url, redis_prefix, redis_process)
    clock = WallClock()
    watch = Watch(max_silence)
    reminded_ns: int | None = None
    previous: Liveness | None = None
    logger.info("watchdog: watching {} (max silence {:g} s)", source.where, max_silence)
    try:
        while True:
            now_ns = clock.now_ns()
            try:
                beat = source.read()
            except HeartbeatUnreachable as exc:
                a = watch.unreachable(str(exc), now_ns)
                if reminded_ns is None or now_ns - reminded_ns >= REMIND_EVERY_S * 1e9:
                    reminded_ns = now_ns
                    logger.error("watchdog: {}; not acting (the trader may be alive), still watching", exc)
            else:
                if reminded_ns is not None:
                    reminded_ns = None
                    logger.warning("watchdog: {} answers again; silence is counted from now", source.where)
                a = watch.seen(beat, now_ns)
            if a.liveness is not previous and a.liveness is not Liveness.UNREACHABLE:
                logger.info("watchdog: heartbeat {} (pid {}, age {} s)", a.liveness.value, a.pid,
                            "-" if a.age_s is None else f"{a.age_s:.1f}")
            previous = a.liveness
            if a.liveness is Liveness.STALE:
                reason = (f"watchdog: no heartbeat from pid {a.pid} for {a.age_s:.1f} s (max {max_silence:g} s) "
                          f"in {source.where}")
                done = intervene(config, host_for_config(config), clock, reason=reason)
                click.echo(json.dumps({**_report(a, source), "open_orders": done.order_ids,
                                       "cancelled": done.cancelled, "failed": done.failed, "halted": done.halted},
                                      sort_keys=True))
                raise SystemExit(EXIT_INTERVENED)
            if once:
                click.echo(json.dumps(_report(a, source), sort_keys=True))
                if a.liveness is Liveness.UNREACHABLE:
                    raise SystemExit(EXIT_UNREACHABLE)
                return
            time.sleep(poll)
    finally:
        source.close()


def _report(a: Assessment, source: HeartbeatSource) -> dict[str, Any]:
    report: dict[str, Any] = {"liveness": a.liveness.value, "age_s": a.age_s, "pid": a.pid,
                              "source": source.where}
    if a.error is not None:
        report["error"] = a.error
    return report


def _heartbeat_params(config: AppConfig) -> HeartbeatParams | None:
    """The params of the config's first ``heartbeat`` risk check, if it has one."""
    for check in config.risk:
        if check.name == "heartbeat":
            try:
                return HeartbeatParams.model_validate(dict(check.params or {}))
            except ValueError as exc:
                raise ConfigError(f"risk check 'heartbeat': {exc}") from None
    return None


def _source(config: AppConfig, redis_url: str | None, prefix: str | None, process: str | None) -> HeartbeatSource:
    """Redis when ``--redis-url`` is given or the trader's heartbeat check writes to Redis only;
    else the file. Prefix, process and password default to the trader's heartbeat check."""
    params = _heartbeat_params(config)
    if redis_url is None and params is not None and not params.write_file:
        redis_url = params.redis_url
    if redis_url is None:
        if prefix is not None or process is not None:
            raise click.UsageError("--redis-prefix and --redis-process need --redis-url")
        return FileHeartbeatSource(heartbeat_path(config.run.state_dir))
    from .redis_heartbeat import RedisHeartbeatSource, redis_key

    password = None
    if params is not None and params.redis_password_credential:
        secret = config.credentials.get(params.redis_password_credential)
        if secret is None:
            raise ConfigError(f"credential {params.redis_password_credential!r} (the heartbeat check's "
                              "redis_password_credential) is not configured")
        password = secret.get_secret_value()
    prefix = prefix or (params.redis_prefix if params is not None else DEFAULT_REDIS_PREFIX)
    process = process or (params.redis_process if params is not None else DEFAULT_REDIS_PROCESS)
    return RedisHeartbeatSource(redis_url, redis_key(prefix, process), password=password)
