"""The ``ai-trading`` command line.

Errors that the framework raises on purpose (:class:`AiTradingError`) end with one line on
stderr naming the problem and a non-zero exit code; never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import AiTradingError, ConfigError
from .logs import add_json_log, configure_logging
from .plugins import PluginHost, create_plugin_host

err_console = Console(stderr=True)


def _plugin_rows(host: PluginHost) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for p in host.plugins:
        rows.append(
            {
                "name": p.name,
                "distribution": p.distribution,
                "version": p.version,
                "builtin": p.builtin,
                "loaded": True,
                "roles": host.roles_of(p.name),
                "hooks": host.hooks_of(p.name),
                "components": host.components_of(p.name),
            }
        )
    for f in host.failures:
        e = f.error
        rows.append(
            {
                "name": e.entry_point,
                "distribution": e.distribution,
                "version": e.version,
                "builtin": False,
                "loaded": False,
                "roles": [],
                "hooks": [],
                "components": {},
                "error": e.reason,
            }
        )
    return rows


_env_option = click.option(
    "--env",
    "env_name",
    metavar="NAME",
    help="Environment profile ([profiles.NAME] or CONFIG.NAME.toml/.json); default $TRADING_ENVIRONMENT.",
)


class LazyCommand(click.Command):
    """A plugin command known by name and one-line help, imported only when it is run or its
    own ``--help`` is asked for (see :meth:`CommandGroup.add_lazy_command`)."""

    def __init__(self, name: str, ref: str, short_help: str) -> None:
        super().__init__(name, short_help=short_help, help=short_help)
        self.ref = ref

    def resolve(self) -> click.Command:
        from .registry import resolve_reference

        command = resolve_reference(self.ref)
        if not isinstance(command, click.Command):
            raise ConfigError(f"command {self.name!r}: {self.ref} is not a click command")
        return command

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        # Run inside any group (a plugin may add lazy subcommands to another plugin's group):
        # the context, and so the invocation and its --help, belong to the real command.
        return self.resolve().make_context(info_name, args, parent=parent, **extra)


#: commands of first-party plugins, for a useful error when the plugin is not installed
PLUGIN_COMMANDS = {
    "dashboard": "ai-trading-dashboard",
    "data": "ai-trading-storage",
    "db": "ai-trading-storage",
    "halt": "ai-trading-killswitch",
    "new-plugin": "ai-trading-scaffold",
    "resume": "ai-trading-killswitch",
    "risk": "ai-trading-circuit-breaker",
    "secrets": "ai-trading-secrets",
    "sweep": "ai-trading-dask",
    "watchdog": "ai-trading-watchdog",
}


class CommandGroup(click.Group):
    """The ``ai-trading`` group. Plugins may add commands lazily, so that ``ai-trading --help``
    and every other command do not import what one plugin command needs."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        dist = PLUGIN_COMMANDS.get(name)
        if dist and name not in self.commands and not ctx.resilient_parsing:
            ctx.fail(
                f"No such command {name!r}: it comes with the {dist} plugin, which is not installed "
                f"or is disabled (pip install {dist}; see `ai-trading plugins list`)."
            )
        return super().resolve_command(ctx, args)

    def add_lazy_command(self, name: str, ref: str, short_help: str) -> None:
        """Add the click command at ``"package.module:attribute"`` under ``name``, imported on
        first use; ``short_help`` is what ``ai-trading --help`` lists."""
        self.add_command(LazyCommand(name, ref, short_help), name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if isinstance(command, LazyCommand):
            command = command.resolve()
            self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own listing calls get_command for every name: read the stubs instead.
        listed = [(n, c) for n in self.list_commands(ctx) if (c := self.commands.get(n)) and not c.hidden]
        if listed:
            limit = formatter.width - 6 - max(len(n) for n, _ in listed)
            with formatter.section("Commands"):
                formatter.write_dl([(n, c.get_short_help_str(limit)) for n, c in listed])


def build_cli(host: PluginHost) -> click.Group:
    @click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="ai-trading")
    @click.option(
        "--disable-plugin", "disabled", multiple=True, metavar="NAME", help="Do not load this plugin (repeatable)."
    )
    @click.option("--log-level", default="WARNING", show_default=True, help="Level of the stderr log.")
    @click.pass_context
    def cli(ctx: click.Context, disabled: tuple[str, ...], log_level: str) -> None:
        """ai-trading: an algorithmic trading framework where every feature is a plugin."""
        configure_logging(log_level)
        ctx.obj = {"disabled": disabled, "host": host}

    @cli.group()
    def plugins() -> None:
        """Inspect installed plugins."""

    @plugins.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    def plugins_list(as_json: bool) -> None:
        """List plugins with distribution, version, roles and hooks; failures included."""
        rows = _plugin_rows(host)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        table = Table(title="ai-trading plugins")
        for col in ("name", "distribution", "version", "roles", "components"):
            table.add_column(col)
        for r in rows:
            comps = "; ".join(f"{k}: {', '.join(v)}" for k, v in r["components"].items())
            if r["loaded"]:
                table.add_row(r["name"], r["distribution"], r["version"], ", ".join(r["roles"]), comps)
            else:
                table.add_row(
                    f"[red]{r['name']}[/red]",
                    r["distribution"],
                    r["version"],
                    "[red]FAILED[/red]",
                    f"[red]{r['error']}[/red]",
                )
        # Piped output has no terminal width: rich would assume 80 columns and cut names.
        Console(width=None if sys.stdout.isatty() else 4096).print(table)

    @cli.command()
    @click.argument("config_path", type=click.Path(path_type=Path))
    @_env_option
    @click.option(
        "--no-data",
        is_flag=True,
        help="Skip the checks that load the configured data (symbols, benchmark, look-ahead).",
    )
    @click.pass_context
    def validate(ctx: click.Context, config_path: Path, env_name: str | None, no_data: bool) -> None:
        """Check a config: every component exists and its parameters validate (and, in the
        production profile, that it is safe for real money); the data loads as run would load
        it, and every strategy passes the look-ahead check on a sample of it."""
        from .config import load_config
        from .guards import check_config_data
        from .runner import host_for_config, validate_config

        config = load_config(config_path, profile=env_name)
        run_host = host_for_config(config, disable=ctx.obj["disabled"])
        validate_config(config, run_host)
        if not no_data:
            for line in check_config_data(config, run_host).lines:
                click.echo(line)
        names = ", ".join(s.instance_id for s in config.strategies)
        profile = f"profile {config.profile}; " if config.profile else ""
        click.echo(
            f"{config_path}: OK ({profile}{config.run.mode.value}; data {config.data.name}; strategies {names}; "
            f"sizer {config.sizer.name}; {len(config.risk)} risk checks; broker {config.broker.name})"
        )

    @cli.command()
    @click.argument("config_path", type=click.Path(path_type=Path))
    @click.option("--json-out", type=click.Path(path_type=Path), help="Write the run document (JSON) here.")
    @click.option(
        "--report",
        "report_path",
        type=click.Path(path_type=Path),
        help="Write an HTML report here (reporters that support it).",
    )
    @click.option("--mode", type=click.Choice(["backtest", "paper", "live"]), help="Override run.mode.")
    @click.option("--quiet", is_flag=True, help="No progress bar or summary.")
    @_env_option
    @click.pass_context
    def run(
        ctx: click.Context,
        config_path: Path,
        json_out: Path | None,
        report_path: Path | None,
        mode: str | None,
        quiet: bool,
        env_name: str | None,
    ) -> None:
        """Run a config in backtest, paper or live mode."""
        import uuid

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from .config import load_config
        from .runner import host_for_config, run_config

        overrides = {"run": {"mode": mode}} if mode else None
        config = (
            load_config(config_path, profile=env_name)
            if overrides is None
            else _with_mode(config_path, mode, env_name)
        )
        run_host = host_for_config(config, disable=ctx.obj["disabled"])
        if report_path is not None:
            _check_report_writer(config, run_host)
        run_id = uuid.uuid4().hex
        log_path = config.logging.json_path or (config.run.output_dir / run_id / "log.jsonl")
        handler = add_json_log(Path(log_path), config.logging.level)
        console = Console()
        active = ", ".join(f"{p.name} {p.version}" for p in run_host.plugins if not p.builtin)
        if not quiet:
            console.print(
                f"[bold]ai-trading {__version__}[/bold] {config.run.mode.value} run {run_id[:12]} "
                f"— plugins: {active or 'none'}"
            )
        try:
            if quiet:
                outcome = run_config(config, run_host, run_id=run_id)
            else:
                with Progress(
                    TextColumn("[progress.description]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=err_console,
                    transient=True,
                    # Off a terminal the bar only leaves an empty line on stderr before "wrote ..." or "error: ...".
                    disable=not err_console.is_terminal,
                ) as bar:
                    task = bar.add_task("bars", total=None)

                    def progress(done: int, total: int) -> None:
                        bar.update(task, completed=done, total=total)

                    outcome = run_config(config, run_host, run_id=run_id, progress=progress)
        finally:
            from loguru import logger

            logger.remove(handler)
        if json_out is not None:
            from .files import atomic_write_text

            json_out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(json_out, json.dumps(outcome.document, indent=1, allow_nan=False))  # mode 0600
        if report_path is not None:
            writers = [(r, s) for r, s in outcome.sections if hasattr(r, "write_report")]
            if not writers and REPORT_WRITER not in run_host.registries.reporters:
                raise ConfigError(
                    '--report needs a reporter that writes reports (e.g. [[reporters]] name = "analytics")'
                )
            if not writers:  # none configured: the installed analytics reporter writes it
                from .registry import BuildContext

                analytics = run_host.registries.reporters.get(REPORT_WRITER).build({}, BuildContext(REPORT_WRITER))
                writers = [(analytics, analytics.report(outcome.result))]
            for reporter, section in writers:
                reporter.write_report(outcome.result, section, report_path)
        if not quiet:
            for reporter, section in outcome.sections:
                reporter.render(outcome.result, section, console)
            if not outcome.sections:
                m = outcome.document["metrics"]
                console.print(
                    f"final equity {m['final_equity']:,.2f}, total return {m['total_return']:.2%}, "
                    f"{m['trade_count']} closed trades"
                )
            if outcome.result.risk_events:
                for e in outcome.result.risk_events:
                    console.print(
                        f"[yellow]risk event[/yellow] {e.timestamp:%Y-%m-%d} {e.source}: "
                        f"{e.previous_state.value} → {e.state.value} ({e.reason})"
                    )
            where = [str(p) for p in (json_out, report_path, outcome.audit_path) if p is not None]
            if where:
                err_console.print("wrote " + ", ".join(where))
        failure = getattr(outcome.engine, "failure", "")
        if failure:
            # the run document is written; the exit code says the run did not go as configured
            raise RunHalted(f"run {outcome.result.session.run_id} halted: {failure}")
        from .runner import run_failure

        failure = run_failure(outcome.document)
        if failure is not None:
            raise RunEndedBadly(f"run {outcome.result.session.run_id[:12]}: {failure}")

    @cli.group()
    def audit() -> None:
        """Audit trail tools."""

    @audit.command("verify")
    @click.argument("path", type=click.Path(path_type=Path))
    @click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), help="the audit key file (0600)")
    @click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(".ai-trading"),
        show_default=True,
        help="where the run kept its audit key (audit-hmac.key) when no credential names one",
    )
    @click.option(
        "--document",
        "documents",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="a run document (--json-out) or manifest whose recorded head must be in the trail (repeatable); "
        "manifest.json beside PATH is checked by default",
    )
    @click.option(
        "--anchors", type=click.Path(dir_okay=False, path_type=Path), help="heads exported by 'audit export-heads'"
    )
    def audit_verify(
        path: Path,
        key_file: Path | None,
        state_dir: Path,
        documents: tuple[Path, ...],
        anchors: Path | None,
    ) -> None:
        """Verify a JSON-lines audit file: its HMAC chain, its seal, and the heads the run
        document, the manifest and exported anchors record."""
        from .audit import (
            audit_key_for_command,
            credentials_for_commands,
            head_of_document,
            read_anchors,
            verify_audit_file,
        )

        key = audit_key_for_command(key_file, state_dir, credentials_for_commands(host))
        beside = path.parent / "manifest.json"
        expected = []
        for doc_path in (*documents, *([beside] if beside.is_file() and not documents else [])):
            try:
                doc = json.loads(doc_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read run document {doc_path}: {exc}") from None
            head = head_of_document(doc, str(doc_path)) if isinstance(doc, dict) else None
            if head is None:
                raise AuditChainBroken(f"{doc_path} records no audit head (written before sealing, or edited)")
            expected.append(head)
        if anchors is not None:
            expected += [a for a in read_anchors(anchors) if a.run_id in _run_ids_in(path)]
        result = verify_audit_file(path, key, expected=tuple(expected))
        if not result.ok:
            raise AuditChainBroken(f"{path}: {result.problem}")
        checked = f", {len(expected)} recorded head(s) found" if expected else ""
        click.echo(f"{path}: OK, {result.lines} events, HMAC chain intact, sealed{checked} (key {key.key_id})")

    @audit.command("export-heads")
    @click.option(
        "--runs-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("runs"),
        show_default=True,
        help="the runs' output dir (run.output_dir): heads are read from its manifests",
    )
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="append here instead of stdout")
    @click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), help="the audit key file (0600)")
    @click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(".ai-trading"),
        show_default=True,
        help="where the runs kept their audit key (audit-hmac.key) when no credential names one",
    )
    def audit_export_heads(runs_dir: Path, out: Path | None, key_file: Path | None, state_dir: Path) -> None:
        """Print the sealed audit heads of the runs' manifests as JSON lines, for anchoring where
        the key holder cannot rewrite them (a WORM bucket, another party); 'audit verify
        --anchors' checks a trail against them. Each run's audit.jsonl beside its manifest is
        verified first: nothing is exported while one does not verify."""
        from .audit import audit_key_for_command, credentials_for_commands, heads_of_manifests, verify_audit_file

        key = audit_key_for_command(key_file, state_dir, credentials_for_commands(host))
        heads = heads_of_manifests(runs_dir)
        for head in heads:
            trail = Path(head.source).with_name("audit.jsonl")
            if not trail.is_file():  # an [audit] path elsewhere: 'audit verify' it there
                err_console.print(f"{trail} not found: head of run {head.run_id} exported unverified")
                continue
            result = verify_audit_file(trail, key, expected=(head,))
            if not result.ok:
                raise AuditChainBroken(f"{trail}: {result.problem}; nothing exported")
        lines = [json.dumps({"run_id": h.run_id, "head": h.head, "events": h.events}, sort_keys=True) for h in heads]
        if out is None:
            for line in lines:
                click.echo(line)
        else:
            with out.open("a", encoding="utf-8") as fh:
                fh.writelines(line + "\n" for line in lines)
            err_console.print(f"appended {len(lines)} head(s) to {out}")

    cli.add_lazy_command(  # type: ignore[attr-defined]
        "replay", "ai_trading_core.replay:replay_command",
        "Re-run a recorded run from its manifest.json and check it reproduces exactly.",
    )
    _register_plugin_commands(host, cli)
    return cli


def _register_plugin_commands(host: PluginHost, cli: click.Group) -> None:
    """Call each plugin's ``ai_trading_register_commands`` on its own: a plugin that raises is
    recorded as a load failure (the CLI still starts), and a command name taken twice is an
    error naming both plugins, never a silent replacement."""
    import traceback

    from .errors import PluginLoadError
    from .plugins import PluginFailure

    owners = {name: "core" for name in cli.commands}
    for impl in reversed(host.pm.hook.ai_trading_register_commands.get_hookimpls()):
        before = dict(cli.commands)
        try:
            impl.function(cli)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the CLI down
            info = host.plugin(impl.plugin_name)
            err = PluginLoadError(
                impl.plugin_name,
                info.distribution if info else "unknown",
                info.version if info else "unknown",
                f"ai_trading_register_commands raised {type(exc).__name__}: {exc}",
            )
            err.__cause__ = exc
            host.failures.append(PluginFailure(err, traceback.format_exc()))
            cli.commands.clear()
            cli.commands.update(before)
            continue
        for name, command in cli.commands.items():
            if name in before and before[name] is not command:
                raise ConfigError(
                    f"command {name!r} registered twice: by plugin {owners[name]!r} and by plugin {impl.plugin_name!r}"
                )
            owners.setdefault(name, impl.plugin_name)


class AuditChainBroken(AiTradingError):
    exit_code = 3


def _run_ids_in(path: Path) -> set[str]:
    """The run ids of a JSON-lines audit file (unreadable lines are the verifier's to report)."""
    ids: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                ids.add(str(json.loads(line)["run_id"]))
            except (ValueError, KeyError, TypeError):
                continue
    return ids


class RunHalted(AiTradingError):
    """The run failed closed on an error (a fill that could not be booked, a sizer or risk
    check that raised): its document was written, the exit code is non-zero."""

    exit_code = 4


class RunEndedBadly(AiTradingError):
    """A paper or live run halted, did not reconcile with its broker, or lost its storage."""

    exit_code = 4


def _with_mode(config_path: Path, mode: str | None, profile: str | None = None) -> Any:
    import os

    from .config import load_config

    os.environ["AI_TRADING_RUN__MODE"] = mode or ""
    try:
        return load_config(config_path, profile=profile)
    finally:
        del os.environ["AI_TRADING_RUN__MODE"]


def _disabled_from_argv(argv: list[str]) -> list[str]:
    out = []
    for i, arg in enumerate(argv):
        if arg == "--disable-plugin" and i + 1 < len(argv):
            out.append(argv[i + 1])
        elif arg.startswith("--disable-plugin="):
            out.append(arg.split("=", 1)[1])
    return out


#: the reporter ``run --report`` uses when the config lists none that writes reports
REPORT_WRITER = "analytics"


def _check_report_writer(config: Any, host: PluginHost) -> None:
    """Before the run: ``--report`` needs the ``analytics`` reporter installed (it is then used
    without being listed in the config) or a configured reporter that may write reports."""
    if REPORT_WRITER in host.registries.reporters or config.reporters:
        return
    raise ConfigError(
        "--report needs a reporter that writes HTML reports: install ai-trading-analytics "
        "(pip install ai-trading-analytics) or list one in the config"
    )


def _check_disabled_names(names: list[str]) -> None:
    """``--disable-plugin`` takes installed entry point names; a typo would silently disable
    nothing (and leave, say, a risk check's replacement running), so it is an error."""
    if not names:
        return
    from .plugins import installed_plugin_names

    installed = installed_plugin_names()
    unknown = [n for n in names if n not in installed]
    if unknown:
        raise ConfigError(
            f"--disable-plugin {unknown[0]!r}: no installed plugin of that name "
            f"(installed: {', '.join(sorted(installed)) or 'none'})"
        )


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    configure_logging("ERROR")
    try:
        disabled = _disabled_from_argv(argv)
        _check_disabled_names(disabled)
        host = create_plugin_host(disable=disabled)
        cli = build_cli(host)
        cli.main(args=argv, prog_name="ai-trading", standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AiTradingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
