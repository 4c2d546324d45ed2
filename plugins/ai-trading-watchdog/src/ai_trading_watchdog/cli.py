"""``ai-trading watchdog``: run next to (never inside) a live trader."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ai_trading_core.clock import WallClock
from ai_trading_core.config import load_config
from ai_trading_core.runner import host_for_config

from .heartbeat import heartbeat_path
from .watchdog import Liveness, assess, intervene, read_heartbeat

EXIT_INTERVENED = 3


@click.command("watchdog")
@click.option("--broker-config", "config_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the trader's config file: its [plugins], [broker], [storage] and credentials are used")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where the trader writes heartbeat.json (default: the config's run.state_dir)")
@click.option("--max-silence", type=click.FloatRange(min=0.0, min_open=True), default=30.0, show_default=True,
              help="seconds without a heartbeat before acting")
@click.option("--poll", type=click.FloatRange(min=0.0, min_open=True), default=1.0, show_default=True,
              help="seconds between two looks at the heartbeat")
@click.option("--once", is_flag=True, help="look once, act if stale, and exit")
def watchdog_command(config_path: Path, state_dir: Path | None, max_silence: float, poll: float, once: bool) -> None:
    """Cancel the trader's open orders and halt the kill switch when its heartbeat stops.

    Exits 0 (with --once: the trader is alive or has not started) or 3 after intervening.
    """
    config = load_config(config_path)
    if state_dir is not None:
        config.run.state_dir = state_dir
    path = heartbeat_path(config.run.state_dir)
    clock = WallClock()
    while True:
        a = assess(read_heartbeat(path), clock.now_ns(), max_silence)
        if a.liveness is Liveness.STALE:
            reason = f"watchdog: no heartbeat from pid {a.pid} for {a.age_s:.1f} s (max {max_silence:g} s)"
            done = intervene(config, host_for_config(config), clock, reason=reason)
            click.echo(json.dumps({"liveness": a.liveness.value, "age_s": a.age_s, "pid": a.pid,
                                   "open_orders": done.order_ids, "cancelled": done.cancelled,
                                   "failed": done.failed, "halted": done.halted}, sort_keys=True))
            raise SystemExit(EXIT_INTERVENED)
        if once:
            click.echo(json.dumps({"liveness": a.liveness.value, "age_s": a.age_s, "pid": a.pid}, sort_keys=True))
            return
        time.sleep(poll)
