"""Secrets never leave the process in clear.

Canary secrets are planted where real ones live: the config's ``[credentials]``, an
``AI_TRADING_CREDENTIALS__*`` environment variable, an encrypted secrets file, and
``SecretStr`` parameters of components (a broker, a risk check, a reporter) of a test plugin.
Backtest and paper runs are then driven in-process and through the ``ai-trading`` CLI with
failures injected (a raising risk check, a raising observer, a broker refusing a submission,
a crash at connect, a parameter that fails validation), and every file the runs wrote and
every byte they printed is searched for the canaries.

Passwords inside URL- and secret-shaped parameters (the storage URL, the cache URL, a webhook
URL, the health token, the audit HMAC key) go through subprocess runs against real PostgreSQL,
SQLite and Redis; files, tables, Redis keys, stdout/stderr and the HTML report are searched.

Any kernel leak found would be listed in ``KNOWN_KERNEL_LEAKS``; the list is empty.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from ai_trading_core import rundoc
from ai_trading_core.config import config_from_dict, load_config
from ai_trading_core.errors import AiTradingError
from ai_trading_core.logs import add_json_log
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import run_config

secrets_plugin = pytest.importorskip("ai_trading_secrets")

# Short enough (< 40 characters) that a careless error message would echo them whole.
CANARIES = {
    "credential": "cnry-cred-Zq81-broker-key",
    "environment": "cnry-envv-Hx55-webhook",
    "secrets_file": "cnry-file-Lm07-vault",
    "broker_param": "cnry-parm-Ab12-api-key",
    "risk_param": "cnry-risk-Cd34-token",
    "reporter_param": "cnry-rept-Ef56-password",
    "passphrase": "cnry-pass-Gh78-phrase",
    "short_passphrase": "cnry-shrt-Jk9",  # fails the passphrase's length check
}

CANARY_PLUGIN = textwrap.dedent('''
    """A test plugin whose components hold secrets and fail on purpose, with messages of
    their own that never include the secrets."""

    from __future__ import annotations

    from pydantic import BaseModel, ConfigDict, Field, SecretStr

    from ai_trading_core import hookimpl
    from ai_trading_core.errors import BrokerError
    from ai_trading_core.models import RiskVerdict
    from ai_trading_core.enums import RiskDecision
    from ai_trading_core.protocols import ReportSection


    class BrokerParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        api_key: SecretStr
        passphrase: SecretStr = Field(default=SecretStr("x" * 16), min_length=16)
        refuse_submission: int = 3
        crash_on_connect: bool = False
        credentials: list[str] = Field(default_factory=list)


    class RefusingBroker:
        """The simulated broker, refusing its n-th submission like a venue in an outage."""

        name = "canary_broker"

        def __init__(self, inner, params, secrets):
            self.inner = inner
            self.params = params
            self.secrets = secrets
            self.submissions = 0

        def connect(self, ctx):
            if self.params.crash_on_connect:
                raise RuntimeError("venue handshake failed: connection reset")
            self.inner.connect(ctx)

        def submit_order(self, order):
            self.submissions += 1
            if self.submissions == self.params.refuse_submission:
                raise BrokerError("venue refused the order: simulated outage")
            return self.inner.submit_order(order)

        def cancel_order(self, client_order_id):
            return self.inner.cancel_order(client_order_id)

        def lookup_order(self, client_order_id):
            return self.inner.lookup_order(client_order_id)

        def on_market(self, market):
            return self.inner.on_market(market)

        def positions(self):
            return self.inner.positions()

        def close(self):
            self.inner.close()


    class CheckParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        token: SecretStr
        fail_at: int = 6


    class FlakyLimitCheck:
        """Approves orders until its n-th call, then raises (a limit service gone away)."""

        name = "canary_check"

        def __init__(self, params):
            self.params = params
            self.calls = 0

        def check(self, orders, ctx):
            self.calls += 1
            if self.calls == self.params.fail_at:
                raise RuntimeError("limit service unavailable")
            from ai_trading_core.market import to_datetime

            return [RiskVerdict(check=self.name, decision=RiskDecision.APPROVE, symbol=o.symbol,
                                timestamp=to_datetime(ctx.timestamp)) for o in orders]

        def update(self, ctx):
            return None


    class ReporterParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        password: SecretStr


    class FailingObserver:
        """A reporter whose fill observer raises on every fill."""

        name = "canary_observer"

        def __init__(self, params):
            self.params = params

        @hookimpl
        def ai_trading_fill(self, fill):
            raise ValueError("observer could not format the fill")

        def report(self, result):
            return ReportSection(metrics={"canary_observer_bars": len(result.timestamps)})

        def render(self, result, section, console):
            console.print(f"canary observer saw {len(result.timestamps)} bars")


    def _broker(params, ctx):
        secrets = {name: ctx.secret(name) for name in params.credentials}
        return RefusingBroker(ctx.build("broker", "sim", {"commission_bps": 1}, ctx.component_id + ".sim"),
                              params, secrets)


    @hookimpl
    def ai_trading_register_brokers(registry):
        registry.register("canary_broker", _broker, params=BrokerParams)


    @hookimpl
    def ai_trading_register_risk_checks(registry):
        registry.register("canary_check", lambda p, ctx: FlakyLimitCheck(p), params=CheckParams)


    @hookimpl
    def ai_trading_register_reporters(registry):
        registry.register("canary_observer", lambda p, ctx: FailingObserver(p), params=ReporterParams)
''')

# Leaks found in the kernel and not yet fixed, by where they occur (none at present: the run
# document's config masks SecretStr component parameters through each component's model, and
# validation errors echo values only for numeric/boolean/choice errors).
KNOWN_KERNEL_LEAKS: dict[str, tuple[str, ...]] = {}


def find_canaries(text: str) -> list[str]:
    return sorted(kind for kind, value in CANARIES.items() if value in text)


def json_paths_with_canaries(doc: Any, path: str = "") -> list[tuple[str, str]]:
    """(json path, canary kind) for every string value of ``doc`` holding a canary."""
    out: list[tuple[str, str]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += json_paths_with_canaries(v, f"{path}.{k}" if path else str(k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += json_paths_with_canaries(v, f"{path}[{i}]")
    elif isinstance(doc, str):
        out += [(path, kind) for kind in find_canaries(doc)]
    return out


def scan_tree(root: Path) -> dict[str, list[str]]:
    """Relative file path → canary kinds found in it (bytes searched, any encoding)."""
    leaks: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found = sorted(kind for kind, value in CANARIES.items() if value.encode() in data)
        if found:
            leaks[str(path.relative_to(root))] = found
    return leaks


def leaks_outside_run_document_params(root: Path) -> dict[str, list[str]]:
    """Canaries found under ``root``, except those in the run documents' ``config.*.params``
    (the first known kernel leak), which are checked to be the only ones in the documents."""
    leaks = scan_tree(root)
    for mode in ("backtest", "paper"):
        doc_leaks = json_paths_with_canaries(json.loads((root / mode / "document.json").read_text()))
        assert all(p.startswith("config.") and ".params." in p for p, _ in doc_leaks), doc_leaks
        leaks.pop(f"{mode}/document.json", None)
    return leaks


@pytest.fixture(scope="module")
def canary_plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The canary plugin installed as a distribution would be: a package plus a dist-info
    with its entry point, on a path given to subprocesses and to this process."""
    root = tmp_path_factory.mktemp("site")
    pkg = root / "ai_trading_canary"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text(CANARY_PLUGIN)
    info = root / "ai_trading_canary-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ai-trading-canary\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text("[ai_trading]\ncanary = ai_trading_canary.plugin\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(root))
        yield root
    for name in [m for m in sys.modules if m.startswith("ai_trading_canary")]:
        del sys.modules[name]


def make_secrets_file(folder: Path) -> tuple[Path, bytes]:
    key = secrets_plugin.generate_key()
    path = folder / "secrets.json"
    ring = secrets_plugin.parse_keys(key.decode(), "test key")
    secrets_plugin.SecretsFile(path).set("vault_token", CANARIES["secrets_file"], ring)
    return path, key


def config_dict(out: Path, mode: str, *, credentials: list[str]) -> dict[str, Any]:
    return {
        "run": {
            "mode": mode,
            "output_dir": str(out / "runs"),
            "state_dir": str(out / "state"),
            "name": f"canary-{mode}",
        },
        "plugins": {"load": ["sample-data", "sim", "sma", "summary", "canary"]},
        "data": {"name": "synthetic", "params": {"n_symbols": 4, "n_bars": 150, "seed": 3}},
        "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 3, "slow": 8}}],
        "risk": [{"name": "canary_check", "params": {"token": CANARIES["risk_param"], "fail_at": 6}}],
        "broker": {
            "name": "canary_broker",
            "params": {
                "api_key": CANARIES["broker_param"],
                "passphrase": CANARIES["passphrase"],
                "refuse_submission": 3,
                "credentials": credentials,
            },
        },
        "reporters": [
            {"name": "summary"},
            {"name": "canary_observer", "params": {"password": CANARIES["reporter_param"]}},
        ],
        "logging": {"level": "DEBUG"},
        "credentials": {"broker_key": CANARIES["credential"]},
    }


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def write_toml(doc: dict[str, Any], path: Path) -> None:
    lines: list[str] = []
    for section, body in doc.items():
        if isinstance(body, list):
            for item in body:
                lines += [f"[[{section}]]", *(f"{k} = {_toml(v)}" for k, v in item.items()), ""]
        else:
            lines += [f"[{section}]", *(f"{k} = {_toml(v)}" for k, v in body.items()), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


# ---------------------------------------------------------------------------------------- in-process
@pytest.fixture(scope="module")
def in_process_runs(tmp_path_factory: pytest.TempPathFactory, canary_plugin_dir: Path) -> dict[str, Any]:
    from loguru import logger
    from rich.console import Console

    tmp_path = tmp_path_factory.mktemp("in-process")
    secrets_path, key = make_secrets_file(tmp_path / "inputs")
    module = importlib.import_module("ai_trading_canary.plugin")
    out = tmp_path / "out"
    outcomes = {}
    stdout, stderr = io.StringIO(), io.StringIO()
    handlers = [add_json_log(out / "log.jsonl", "DEBUG"), logger.add(stderr, level="DEBUG", diagnose=False)]
    try:
        with pytest.MonkeyPatch.context() as mp, redirect_stdout(stdout), redirect_stderr(stderr):
            mp.setenv("AI_TRADING_CREDENTIALS__WEBHOOK_TOKEN", CANARIES["environment"])
            for mode in ("backtest", "paper"):
                doc = config_dict(
                    out / mode, mode, credentials=["broker_key", "webhook_token", "vault_token"]
                )
                doc["plugins"]["load"].remove("canary")
                config = secrets_plugin.with_secrets_file(config_from_dict(doc), secrets_path, key)
                host = create_plugin_host(only=config.plugins.load, extra_plugins={"canary": module})
                outcome = run_config(config, host)
                (out / mode / "document.json").write_text(json.dumps(outcome.document, indent=1))
                with (out / mode / "render.txt").open("w") as fh:
                    for reporter, section in outcome.sections:
                        reporter.render(outcome.result, section, Console(file=fh, width=120))
                outcomes[mode] = outcome
    finally:
        for handler in handlers:
            logger.remove(handler)
    return {"out": out, "outcomes": outcomes, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}


def test_failures_were_really_injected_in_process(in_process_runs: dict[str, Any]) -> None:
    for mode, outcome in in_process_runs["outcomes"].items():
        orders = outcome.result.orders
        assert any("venue refused the order" in (o.reason or "") for o in orders), mode
        assert any("limit service unavailable" in e.reason for e in outcome.result.risk_events), mode
        assert outcome.result.fills, mode
        assert outcome.engine is not None and outcome.engine.state.value == "halted"
    log = (in_process_runs["out"] / "log.jsonl").read_text()
    assert "observer could not format the fill" in log and "limit service unavailable" in log
    audits = list(in_process_runs["out"].rglob("audit.jsonl"))
    assert len(audits) == 2 and all(a.stat().st_size for a in audits)


def test_in_process_runs_leak_nothing_outside_known_kernel_leaks(in_process_runs: dict[str, Any]) -> None:
    out = in_process_runs["out"]
    assert find_canaries(in_process_runs["stdout"]) == []
    assert find_canaries(in_process_runs["stderr"]) == []
    assert leaks_outside_run_document_params(out) == {}
    # The secrets file holds no plaintext either.
    assert scan_tree(out.parent / "inputs") == {}


def test_run_document_holds_no_component_secret(in_process_runs: dict[str, Any]) -> None:
    for mode in ("backtest", "paper"):
        doc = json.loads((in_process_runs["out"] / mode / "document.json").read_text())
        assert json_paths_with_canaries(doc) == []


# ---------------------------------------------------------------------------------------- CLI
def cli(
    *args: str, site: Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_")}
    full["PYTHONPATH"] = str(site) + os.pathsep + full.get("PYTHONPATH", "")
    full["AI_TRADING_LOAD_PLUGINS"] = "sample-data,sim,sma,summary,canary"
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "ai_trading_core.cli", "--log-level", "DEBUG", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory, canary_plugin_dir: Path) -> dict[str, Any]:
    tmp_path = tmp_path_factory.mktemp("cli")
    work = tmp_path / "work"
    work.mkdir()
    inputs = tmp_path / "inputs"
    env = {"AI_TRADING_CREDENTIALS__WEBHOOK_TOKEN": CANARIES["environment"]}
    runs: dict[str, subprocess.CompletedProcess[str]] = {}
    for mode in ("backtest", "paper"):
        path = inputs / f"{mode}.toml"
        write_toml(config_dict(work / mode, mode, credentials=["broker_key", "webhook_token"]), path)
        runs[mode] = cli(
            "run",
            str(path),
            "--json-out",
            str(work / mode / "document.json"),
            site=canary_plugin_dir,
            cwd=work,
            env=env,
        )
    crash = config_dict(work / "crash", "paper", credentials=["broker_key"])
    crash["broker"]["params"]["crash_on_connect"] = True
    write_toml(crash, inputs / "crash.toml")
    runs["crash"] = cli("run", str(inputs / "crash.toml"), site=canary_plugin_dir, cwd=work, env=env)
    invalid = config_dict(work / "invalid", "backtest", credentials=[])
    invalid["broker"]["params"]["passphrase"] = CANARIES["short_passphrase"]
    invalid["risk"][0]["params"]["token"] = 12345  # wrong type next to a secret
    write_toml(invalid, inputs / "invalid.toml")
    runs["invalid"] = cli("run", str(inputs / "invalid.toml"), site=canary_plugin_dir, cwd=work, env=env)
    runs["validate"] = cli(
        "validate", str(inputs / "invalid.toml"), site=canary_plugin_dir, cwd=work, env=env
    )
    return {"work": work, "runs": runs}


def test_cli_runs_did_what_was_injected(cli_runs: dict[str, Any]) -> None:
    runs = cli_runs["runs"]
    work: Path = cli_runs["work"]
    for mode in ("backtest", "paper"):
        # the injected failing risk check halts the run: the CLI may report that with exit 4
        assert runs[mode].returncode in (0, 4), runs[mode].stderr[-2000:]
        doc = json.loads((work / mode / "document.json").read_text())
        assert any("venue refused the order" in (o["reason"] or "") for o in rundoc.rows(doc, "orders"))
        assert any("limit service unavailable" in e["reason"] for e in doc["risk_events"])
        (log,) = (work / mode / "runs").glob("*/log.jsonl")
        assert "observer could not format the fill" in log.read_text()
        (audit,) = (work / mode / "runs").glob("*/audit.jsonl")
        assert audit.stat().st_size > 0
        assert "canary observer saw 150 bars" in runs[mode].stdout
    assert runs["crash"].returncode != 0 and "venue handshake failed" in runs["crash"].stderr
    assert runs["invalid"].returncode == 2 and "passphrase" in runs["invalid"].stderr
    assert runs["validate"].returncode == 2


def test_cli_runs_leak_nothing_outside_known_kernel_leaks(cli_runs: dict[str, Any]) -> None:
    runs = cli_runs["runs"]
    work: Path = cli_runs["work"]
    for name, proc in runs.items():
        assert find_canaries(proc.stdout) == [], name
        assert find_canaries(proc.stderr) == [], name
    assert leaks_outside_run_document_params(work) == {}


def test_validation_errors_hold_no_secret(cli_runs: dict[str, Any]) -> None:
    for name in ("invalid", "validate"):
        assert find_canaries(cli_runs["runs"][name].stderr) == [], name


def test_known_kernel_leaks_are_the_only_ones(cli_runs: dict[str, Any]) -> None:
    """Every canary found anywhere is accounted for by ``KNOWN_KERNEL_LEAKS``."""
    allowed = {kind for kinds in KNOWN_KERNEL_LEAKS.values() for kind in kinds}
    found: set[str] = set()
    for proc in cli_runs["runs"].values():
        found |= set(find_canaries(proc.stdout + proc.stderr))
    for kinds in scan_tree(cli_runs["work"]).values():
        found |= set(kinds)
    assert found <= allowed, found - allowed
    assert not found & {"credential", "environment", "secrets_file"}


def test_loading_the_config_file_keeps_secrets_secret(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    write_toml(config_dict(tmp_path, "backtest", credentials=[]), path)
    config = load_config(path, env_file=None)
    assert CANARIES["credential"] not in repr(config) and CANARIES["credential"] not in str(config.redacted())
    with pytest.raises(AiTradingError) as info:
        load_config(tmp_path / "missing.toml")
    assert find_canaries(str(info.value)) == []


# ---------------------------------------------------------------------------------------- URLs, DSNs
# Passwords inside URL- and secret-shaped parameters: the storage URL (PostgreSQL), the cache
# URL (Redis, a real ACL user with that password), a webhook URL (userinfo and query token), and
# the tokens and keys held as credentials (health endpoint, audit HMAC key). A subprocess
# ``ai-trading run`` per storage (PostgreSQL, SQLite) writes its files, tables, Redis keys,
# stdout/stderr and HTML report; none may hold any of them.
URL_CANARIES = {
    "pg_password": "cnryPGpw7781",
    "redis_password": "cnryRDpw4419",
    "webhook_password": "cnryWHpw2290",
    "webhook_query_token": "cnryWHqt6631",
    "health_token": "cnry-health-token-5512",
    "audit_key": "cnry-audit-hmac-key-0123456789abcdef-0123456789",
}


def _url_canaries_in(data: bytes | str) -> list[str]:
    raw = data.encode() if isinstance(data, str) else data
    return sorted(kind for kind, value in URL_CANARIES.items() if value.encode() in raw)


@pytest.fixture(scope="module")
def url_canary_services() -> Iterator[dict[str, Any]]:
    """A throw-away PostgreSQL database, a Redis ACL user whose password is a canary, and a
    local webhook receiver; skipped (with the reason) when a server is unreachable."""
    import http.server
    import secrets as pysecrets
    import threading

    psycopg = pytest.importorskip("psycopg")
    redis = pytest.importorskip("redis")
    try:
        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL unreachable on 127.0.0.1:5432: {exc}".splitlines()[0])
    r = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        r.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis unreachable on 127.0.0.1:6379: {exc}")
    tag = pysecrets.token_hex(4)
    db_name, redis_user = f"ai_trading_canary_{tag}", f"canary_{tag}"
    admin.execute(f'CREATE DATABASE "{db_name}"')
    r.execute_command("ACL", "SETUSER", redis_user, "on", f">{URL_CANARIES['redis_password']}", "~*", "&*", "+@all")
    received: list[bytes] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the base class's name
            received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {
            "pg_url": f"postgresql://postgres:{URL_CANARIES['pg_password']}@127.0.0.1:5432/{db_name}",
            "pg_db": db_name,
            "redis_url": f"redis://{redis_user}:{URL_CANARIES['redis_password']}@127.0.0.1:6379/0",
            "redis": r,
            "prefix": f"canary{tag}",
            "webhook": f"http://hook:{URL_CANARIES['webhook_password']}@127.0.0.1:{server.server_port}/hook"
            f"?token={URL_CANARIES['webhook_query_token']}",
            "received": received,
        }
    finally:
        server.shutdown()
        for key in r.scan_iter(match=f"canary{tag}*"):
            r.delete(key)
        r.execute_command("ACL", "DELUSER", redis_user)
        admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        admin.close()


def _url_canary_config(work: Path, services: dict[str, Any], storage_url: str | None) -> dict[str, Any]:
    storage: dict[str, Any] = {"name": "sql", "params": {"timescale": "off"}}
    if storage_url:
        storage["params"]["url"] = storage_url
    return {
        "run": {"mode": "backtest", "output_dir": str(work / "runs"), "state_dir": str(work / "state"), "name": "c"},
        "plugins": {"load": ["sample-data", "sim", "sma", "storage", "redis", "alerts", "health", "analytics"]},
        "data": {"name": "synthetic", "params": {"n_symbols": 3, "n_bars": 120, "seed": 5}},
        "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 3, "slow": 8}}],
        "risk": [{"name": "health", "params": {"port": 0}}],
        "storage": storage,
        "cache": {
            "name": "redis",
            "params": {"url": services["redis_url"], "prefix": services["prefix"], "live_feed": True},
        },
        "alerts": [{"name": "webhook", "params": {"url": services["webhook"]}}],
        "reporters": [{"name": "analytics"}],
        "audit": {"enabled": True},
    }


@pytest.fixture(scope="module")
def url_canary_runs(tmp_path_factory: pytest.TempPathFactory, url_canary_services: dict[str, Any]) -> dict[str, Any]:
    env = {
        "AI_TRADING_CREDENTIALS__HEALTH_TOKEN": URL_CANARIES["health_token"],
        "AI_TRADING_CREDENTIALS__AUDIT_HMAC_KEY": URL_CANARIES["audit_key"],
    }
    runs: dict[str, Any] = {}
    for name, storage_url in (("postgres", url_canary_services["pg_url"]), ("sqlite", None)):
        work = tmp_path_factory.mktemp(f"url-canary-{name}")
        write_toml(_url_canary_config(work, url_canary_services, storage_url), work / "c.toml")
        full = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_")}
        full.update(env)
        full["AI_TRADING_LOAD_PLUGINS"] = "sample-data,sim,sma,storage,redis,alerts,health,analytics"
        proc = subprocess.run(
            [sys.executable, "-m", "ai_trading_core.cli", "--log-level", "DEBUG", "run", str(work / "c.toml"),
             "--json-out", str(work / "doc.json"), "--report", str(work / "report.html")],
            capture_output=True, text=True, env=full, cwd=work, timeout=300,
        )
        verify = subprocess.run(
            [sys.executable, "-m", "ai_trading_core.cli", "audit", "verify-db",
             "--url", storage_url or f"sqlite:///{work / 'state' / 'ai-trading.db'}", "--runs-dir", str(work / "runs")],
            capture_output=True, text=True, env=full, cwd=work, timeout=300,
        )
        runs[name] = {"work": work, "proc": proc, "verify": verify}
    # errors: the same passwords in URLs of servers that do not answer
    work = tmp_path_factory.mktemp("url-canary-unreachable")
    down = dict(url_canary_services)
    down["redis_url"] = f"redis://u:{URL_CANARIES['redis_password']}@127.0.0.1:1/0"
    for name, storage_url in (
        ("unreachable-db", f"postgresql://postgres:{URL_CANARIES['pg_password']}@127.0.0.1:1/nothing"),
        ("unreachable-cache", None),
    ):
        write_toml(_url_canary_config(work / name, down if name.endswith("cache") else url_canary_services,
                                      storage_url), work / name / "c.toml")
        proc = subprocess.run(
            [sys.executable, "-m", "ai_trading_core.cli", "--log-level", "DEBUG", "run", str(work / name / "c.toml")],
            capture_output=True, text=True, env=full, cwd=work / name, timeout=300,
        )
        runs[name] = {"work": work / name, "proc": proc, "verify": proc}
    return runs


def _database_text(url: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    parts = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            parts += [repr(tuple(row)) for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    engine.dispose()
    return "\n".join(parts)


def test_url_canary_runs_worked(url_canary_runs: dict[str, Any]) -> None:
    import stat

    assert url_canary_runs["unreachable-db"]["proc"].returncode != 0
    assert "127.0.0.1:1" in url_canary_runs["unreachable-db"]["proc"].stderr  # the error names the server
    for name, run in url_canary_runs.items():
        if name.startswith("unreachable"):
            continue
        assert run["proc"].returncode == 0, (name, run["proc"].stderr[-3000:])
        assert run["verify"].returncode == 0, (name, run["verify"].stderr[-3000:])
        doc = json.loads((run["work"] / "doc.json").read_text())
        # the redacted URLs still say where the data went
        assert doc["config"]["cache"]["params"]["url"].startswith("redis://canary_")
        assert "**********@127.0.0.1" in doc["config"]["cache"]["params"]["url"]
        assert doc["audit"]["head"] and (run["work"] / "report.html").stat().st_size > 0
        (manifest,) = (run["work"] / "runs").glob("*/manifest.json")
        for private in (manifest, run["work"] / "doc.json", *(run["work"] / "runs").glob("*/audit.jsonl")):
            assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    assert "**********@127.0.0.1:5432" in json.loads(
        (url_canary_runs["postgres"]["work"] / "doc.json").read_text()
    )["config"]["storage"]["params"]["url"]


def test_url_canaries_appear_in_no_file_output_or_table(
    url_canary_runs: dict[str, Any], url_canary_services: dict[str, Any]
) -> None:
    found: dict[str, list[str]] = {}
    for name, run in url_canary_runs.items():
        for stream in ("stdout", "stderr"):
            for proc in ("proc", "verify"):
                hits = _url_canaries_in(getattr(run[proc], stream))
                if hits:
                    found[f"{name} {proc} {stream}"] = hits
        for path in sorted(p for p in run["work"].rglob("*") if p.is_file() and p.name != "c.toml"):
            hits = _url_canaries_in(path.read_bytes())
            if hits:
                found[f"{name} {path.relative_to(run['work'])}"] = hits
    tables = {
        "postgres tables": _database_text(url_canary_services["pg_url"]),
        "sqlite tables": _database_text(f"sqlite:///{url_canary_runs['sqlite']['work'] / 'state' / 'ai-trading.db'}"),
    }
    for where, text in tables.items():
        assert "'seal'" in text, where  # the tables were really read (the audit rows)
        if _url_canaries_in(text):
            found[where] = _url_canaries_in(text)
    r = url_canary_services["redis"]
    keys = list(r.scan_iter(match=f"{url_canary_services['prefix']}*"))
    assert keys, "the runs wrote nothing to Redis"
    for key in keys:
        kind = r.type(key).decode()
        value = {
            "string": lambda: r.get(key),
            "hash": lambda: repr(r.hgetall(key)).encode(),
            "list": lambda: repr(r.lrange(key, 0, -1)).encode(),
            "set": lambda: repr(r.smembers(key)).encode(),
            "zset": lambda: repr(r.zrange(key, 0, -1)).encode(),
            "stream": lambda: repr(r.xrange(key)).encode(),
        }.get(kind, lambda: b"")()
        hits = _url_canaries_in(key + (value or b""))
        if hits:
            found[f"redis {key.decode()}"] = hits
    assert found == {}


# ---------------------------------------------------------------------------------------- the function
@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("postgresql://trader:pw@db:5432/prod", "postgresql://trader:**********@db:5432/prod"),
        ("postgresql+psycopg://trader:p%40ss@db/prod?sslmode=require", "postgresql+psycopg://trader:**********@db/prod?sslmode=require"),
        ("redis://:pw@cache:6379/0", "redis://:**********@cache:6379/0"),
        ("rediss://user:pw@cache:6380", "rediss://user:**********@cache:6380"),
        ("https://u:x@hooks.example/a?token=abc&x=1", "https://u:**********@hooks.example/a?token=**********&x=1"),
        ("postgresql://db/x?user=u&password=pw", "postgresql://db/x?user=u&password=**********"),
        ("host=db password=pw dbname=x", "host=db password=********** dbname=x"),
        ("host=db password='p w' dbname=x", "host=db password=********** dbname=x"),
        ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/**********"),
        ("sqlite:///.ai-trading/ai-trading.db", "sqlite:///.ai-trading/ai-trading.db"),
        ("postgresql://trader@db/prod", "postgresql://trader@db/prod"),
        ("see postgresql://a:b@h/d and redis://:c@h", "see postgresql://a:**********@h/d and redis://:**********@h"),
    ],
)
def test_redact_url(given: str, written: str) -> None:
    from ai_trading_core.redaction import redact_url

    assert redact_url(given) == written
    assert redact_url(written) == written  # idempotent


def test_redact_config_masks_by_name_and_by_shape() -> None:
    from ai_trading_core.redaction import MASK, redact_config

    doc = {
        "storage": {"name": "sql", "params": {"url": "postgresql://u:pw@h/d", "pool_size": 5}},
        "broker": {"params": {"api_key": "k", "passphrase": "p", "token_limit": 5, "credentials": ["broker_key"]}},
        "alerts": [{"params": {"url": "https://hooks.slack.com/services/x", "token_credential": "hook_token"}}],
        "auth": {"user": "u", "password": "p"},
        "none": {"password": None, "secret": ""},
    }
    out = redact_config(doc)
    assert out["storage"]["params"] == {"url": f"postgresql://u:{MASK}@h/d", "pool_size": 5}
    assert out["broker"]["params"] == {
        "api_key": MASK,
        "passphrase": MASK,
        "token_limit": 5,
        "credentials": ["broker_key"],  # credential names, not secrets
    }
    assert out["alerts"][0]["params"] == {"url": f"https://hooks.slack.com/{MASK}", "token_credential": "hook_token"}
    assert out["auth"] == {"user": MASK, "password": MASK}
    assert out["none"] == {"password": None, "secret": ""}
    assert doc["storage"]["params"]["url"] == "postgresql://u:pw@h/d"  # a copy: the input is untouched
