"""``ai-trading dashboard``: serve the dashboard; ``ai-trading dashboard-hash-password``."""

from __future__ import annotations

from pathlib import Path

import click

from .auth import BasicAuth, hash_password, require_auth_beyond_loopback


@click.command("dashboard")
@click.option("--port", default=8080, show_default=True, type=int, help="TCP port (0: any free port)")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="interface; beyond loopback needs --user"
)
@click.option(
    "--db",
    "db_url",
    envvar="AI_TRADING_STORAGE_URL",
    default=None,
    help="database of stored runs (default sqlite:///<state-dir>/ai-trading.db)",
)
@click.option(
    "--run-json",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="a run document (ai-trading run --json-out) instead of a database",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".ai-trading"),
    show_default=True,
    help="state directory of the trading process (breakers, halt requests)",
)
@click.option(
    "--user", envvar="AI_TRADING_DASHBOARD_USER", default=None, help="user name for HTTP basic auth"
)
@click.option(
    "--password-hash",
    envvar="AI_TRADING_DASHBOARD_PASSWORD_HASH",
    default=None,
    help="scrypt hash from `ai-trading dashboard-hash-password` (never the password itself)",
)
@click.option(
    "--redis",
    "redis_url",
    envvar="AI_TRADING_DASHBOARD_REDIS_URL",
    default=None,
    help="watch running runs through the live feed on this Redis (redis://...)",
)
@click.option("--redis-prefix", default="ai_trading", show_default=True, help="key prefix of the live feed")
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    help="another name browsers use to reach the dashboard (a reverse proxy's); the Host header is checked",
)
@click.option("--threads", default=8, show_default=True, type=int, help="worker threads of the WSGI server")
def dashboard_command(
    port: int,
    host: str,
    db_url: str | None,
    run_json: Path | None,
    state_dir: Path,
    user: str | None,
    password_hash: str | None,
    redis_url: str | None,
    redis_prefix: str,
    allowed_hosts: tuple[str, ...],
    threads: int,
) -> None:
    """Serve the monitoring dashboard (portfolio, positions, orders, fills, risk, strategies,
    trades, system) with waitress."""
    from ai_trading_core.errors import AiTradingError

    from .app import create_app
    from .feed import RedisRunFeed
    from .live import EventBuffer
    from .server import DashboardServer
    from .sources import JsonRunSource, StorageRunSource

    try:
        if bool(user) != bool(password_hash):
            raise click.UsageError("--user and --password-hash go together")
        auth = BasicAuth(user, password_hash) if user and password_hash else None
        require_auth_beyond_loopback(host, auth)
        source = (
            JsonRunSource(run_json)
            if run_json
            else StorageRunSource(db_url or f"sqlite:///{(state_dir / 'ai-trading.db').as_posix()}")
        )
        events = EventBuffer()
        feed = RedisRunFeed(redis_url, redis_prefix) if redis_url else None
        server = DashboardServer(
            create_app(source, auth=auth, events=events, feed=feed, state_dir=state_dir),
            host,
            port,
            auth=auth,
            extra_hosts=allowed_hosts,
            threads=threads,
        )
    except AiTradingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"dashboard on {server.url} ({'authenticated' if auth else 'loopback only, no login'}"
        f"{', live feed ' + feed.prefix if feed else ''})",
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if feed is not None:
            feed.close()


@click.command("dashboard-hash-password")
@click.password_option("--password", prompt=True, help="the password to hash (prompted, never echoed)")
def hash_password_command(password: str) -> None:
    """Print the scrypt hash to store as the dashboard's --password-hash."""
    click.echo(hash_password(password))


def register(cli: click.Group) -> None:
    cli.add_command(dashboard_command)
    cli.add_command(hash_password_command)
