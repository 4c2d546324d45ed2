"""Environment profiles: selection by TRADING_ENVIRONMENT / --env, overrides from
``[profiles.<name>]`` and files beside the config, ``.env`` files, the production safety
rules (through the real CLI), and the profile recorded in the run document and manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ai_trading_core.config import load_config
from ai_trading_core.errors import ConfigError
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.profiles import ENV_VAR, deep_merge, is_loopback, production_problems

BASE = """
[run]
initial_cash = "100000"
start = 2005-01-03
end = 2005-12-30
output_dir = "out"
state_dir = "state"

[data]
name = "arch_indices"
params = { symbols = ["SP500"] }

[[strategies]]
name = "sma_crossover"
params = { fast = 10, slow = 30 }
"""

SAFE = (
    BASE
    + """
[plugins]
load = ["sample-data", "sma", "sim", "killswitch"]

[[risk]]
name = "kill_switch"
"""
)

UNSAFE = (
    BASE
    + """
[credentials]
alpaca_api_key = "PK-PLAIN-CANARY"

[[reporters]]
name = "prometheus"
params = { host = "0.0.0.0", port = 0 }

[storage]
name = "sql"
params = { url = "postgresql://trader:hunter2@db.example/trading" }
"""
)


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_") and k != ENV_VAR}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "ai_trading_core.cli", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    for key in [k for k in os.environ if k.startswith("AI_TRADING_")]:
        monkeypatch.delenv(key)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- production via the CLI
def test_production_validate_refuses_an_unsafe_config_one_line_per_problem(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", UNSAFE)
    proc = cli("validate", str(config), cwd=tmp_path, env={ENV_VAR: "production"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = proc.stderr
    assert "Traceback" not in err
    problems = [line for line in err.splitlines() if line.startswith("  - ")]
    assert err.splitlines()[0].endswith(f"profile 'production' refuses this config ({len(problems)} problems):")
    expected = [
        "plugins.load: production needs an explicit [plugins] load",
        'risk: production needs a kill switch ([[risk]] name = "kill_switch")',
        "credentials.alpaca_api_key: a secret written in the config file",
        "storage.params.url: a URL with a password written in the config file",
        "reporters[0] (prometheus): listens on 0.0.0.0, beyond loopback, without authentication",
    ]
    assert len(problems) == len(expected)
    for text, line in zip(expected, problems, strict=True):
        assert text in line
    # the secrets themselves never reach the output
    assert "PK-PLAIN-CANARY" not in err and "hunter2" not in err


def test_production_validate_accepts_a_safe_config(tmp_path: Path) -> None:
    config = write(tmp_path / "config.toml", SAFE)
    proc = cli("validate", str(config), cwd=tmp_path, env={ENV_VAR: "production"})
    assert proc.returncode == 0, proc.stderr
    assert "OK (profile production; backtest;" in proc.stdout
    # the same unsafe config passes outside production: the rules belong to the profile
    from ai_trading_core.runner import host_for_config, validate_config

    unsafe = write(tmp_path / "unsafe.toml", UNSAFE.replace('"0.0.0.0"', '"127.0.0.1"'))
    staging = load_config(unsafe, env_file=None, profile="staging")
    validate_config(staging, host_for_config(staging))
    production = load_config(unsafe, env_file=None, profile="production")
    with pytest.raises(ConfigError, match="production needs an explicit"):
        host_for_config(production)


def test_production_with_plugins_loaded_checks_secret_params_and_broker_accounts(tmp_path: Path) -> None:
    """With a load list the components' own models are consulted: a SecretStr parameter written
    in the file, and Alpaca's default ``paper = true`` in live mode."""
    text = (
        BASE.replace("[run]", '[run]\nmode = "live"')
        + """
[plugins]
load = ["sample-data", "sma", "alpaca", "killswitch", "metrics"]

[[risk]]
name = "kill_switch"

[[risk]]
name = "prometheus"
params = { host = "::", port = 0 }

[broker]
name = "alpaca"
params = { api_key = "PK-CANARY" }
"""
    )
    config = write(tmp_path / "live.toml", text)
    proc = cli("validate", "--env", "production", str(config), cwd=tmp_path)
    assert proc.returncode == 2
    problems = [line for line in proc.stderr.splitlines() if line.startswith("  - ")]
    assert any("broker.params.api_key: a secret written in the config file" in p for p in problems)
    assert any("broker (alpaca): a paper/sandbox broker account in live mode" in p for p in problems)
    assert any("risk[1] (prometheus): listens on ::" in p for p in problems)
    assert len(problems) == 3, problems
    assert "PK-CANARY" not in proc.stderr


def test_paper_mode_with_a_live_broker_account_is_refused() -> None:
    host = create_plugin_host(only=["sample-data", "sma", "alpaca", "killswitch"])
    doc = {
        "run": {"mode": "paper"},
        "plugins": {"load": ["sample-data", "sma", "alpaca", "killswitch"]},
        "data": {"name": "arch_indices", "params": {"symbols": ["SP500"]}},
        "strategies": [{"name": "sma_crossover"}],
        "risk": [{"name": "kill_switch"}],
        "broker": {"name": "alpaca", "params": {"paper": False}},
    }
    from ai_trading_core.config import config_from_dict

    problems = production_problems(config_from_dict(doc), host)
    assert problems == ["broker (alpaca): a live broker account in paper mode (real orders)"]
    doc["broker"]["params"] = {"paper": True, "base_url": "http://127.0.0.1:5000"}
    assert production_problems(config_from_dict(doc), host) == []
    doc["run"]["mode"] = "live"
    doc["broker"]["params"] = {"paper": False, "base_url": "https://paper-api.alpaca.markets"}
    assert production_problems(config_from_dict(doc), host) == [
        "broker (alpaca): a paper/sandbox broker account in live mode"
    ]


def test_an_endpoint_with_authentication_may_listen_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    from ai_trading_core.config import config_from_dict

    doc: dict[str, Any] = {
        "plugins": {"load": ["sample-data", "sma", "sim", "killswitch", "health"]},
        "data": {"name": "arch_indices"},
        "strategies": [{"name": "sma_crossover"}],
        "risk": [{"name": "kill_switch"}, {"name": "health", "params": {"host": "0.0.0.0"}}],
    }
    assert production_problems(config_from_dict(doc)) == [
        "risk[1] (health): listens on 0.0.0.0, beyond loopback, without authentication"
    ]
    doc["risk"][1]["params"]["token_credential"] = "health_token"
    # naming a credential is not enough: it must exist (the endpoint then requires its bearer token)
    assert len(production_problems(config_from_dict(doc))) == 1
    monkeypatch.setenv("AI_TRADING_CREDENTIALS__HEALTH_TOKEN", "s3cret-token-value")
    assert production_problems(config_from_dict(doc)) == []
    doc["risk"][1]["params"] = {"host": "0.0.0.0", "password_hash": "pbkdf2:..."}
    assert production_problems(config_from_dict(doc)) == []


def test_loopback_detection() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.5.5.5"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.1.2.3", "example.com"))


# --------------------------------------------------------------------------- selection and merging
def test_profile_table_and_beside_file_override_in_order(tmp_path: Path) -> None:
    config = write(
        tmp_path / "config.toml",
        BASE
        + """
[profiles.staging.run]
initial_cash = "50000"
seed = 7

[profiles.staging.broker]
name = "sim"
params = { slippage_bps = 3 }
""",
    )
    write(tmp_path / "config.staging.json", json.dumps({"run": {"seed": 11}}))
    base = load_config(config, env_file=None)
    assert base.profile is None and base.run.initial_cash == 100000 and base.run.seed == 0
    staged = load_config(config, env_file=None, profile="staging")
    assert staged.profile == "staging"
    assert str(staged.run.initial_cash) == "50000"  # from [profiles.staging]
    assert staged.run.seed == 11  # the file beside wins over the table
    assert staged.broker.params == {"slippage_bps": 3}
    assert staged.run.start is not None  # base keys survive the merge


def test_trading_environment_selects_and_the_environment_still_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "c.toml", BASE + '\n[profiles.research.run]\ninitial_cash = "250000"\n')
    monkeypatch.setenv(ENV_VAR, "research")
    assert str(load_config(config, env_file=None).run.initial_cash) == "250000"
    monkeypatch.setenv("AI_TRADING_RUN__INITIAL_CASH", "1234")
    loaded = load_config(config, env_file=None)
    assert loaded.profile == "research" and str(loaded.run.initial_cash) == "1234"
    # an explicit profile (--env) beats the variable
    monkeypatch.delenv("AI_TRADING_RUN__INITIAL_CASH")
    write(tmp_path / "c.other.toml", '[run]\ninitial_cash = "42"\n')
    assert str(load_config(config, env_file=None, profile="other").run.initial_cash) == "42"


def test_a_misspelt_profile_is_an_error_when_profiles_exist(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", BASE + '\n[profiles.production.run]\nseed = 1\n')
    write(tmp_path / "c.paper.toml", "[run]\nseed = 2\n")
    with pytest.raises(ConfigError, match=r"no profile 'prodution' \(defined: paper, production\)"):
        load_config(config, env_file=None, profile="prodution")
    # a config without any profile accepts any name (the profile's rules still apply)
    plain = write(tmp_path / "plain.toml", BASE)
    assert load_config(plain, env_file=None, profile="whatever").profile == "whatever"


def test_profiles_table_must_hold_tables(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", BASE + '\n[profiles]\nproduction = "yes"\n')
    with pytest.raises(ConfigError, match=r"one table per profile"):
        load_config(config, env_file=None)


def test_dotenv_beside_the_config_wins_over_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    conf_dir = tmp_path / "conf"
    work.mkdir()
    conf_dir.mkdir()
    config = write(conf_dir / "config.toml", BASE + '\n[profiles.research.run]\nname = "research"\n')
    write(work / ".env", "AI_TRADING_RUN__SEED=1\nAI_TRADING_RUN__CURRENCY=EUR\n")
    write(conf_dir / ".env", f"AI_TRADING_RUN__SEED=2\n{ENV_VAR}=research\nAPCA_API_KEY_ID=not-ours\n")
    monkeypatch.chdir(work)
    loaded = load_config(config)
    assert loaded.run.seed == 2  # beside the config wins over the working directory
    assert loaded.run.currency == "EUR"  # the working directory's .env still applies
    assert loaded.profile == "research" and loaded.run.name == "research"  # TRADING_ENVIRONMENT from .env
    monkeypatch.setenv("AI_TRADING_RUN__SEED", "3")
    assert load_config(config).run.seed == 3  # the process environment wins over both
    # an unknown AI_TRADING_ variable in a .env is still an error (a typo is never ignored)
    write(conf_dir / ".env", "AI_TRADING_RUNN__SEED=2\n")
    with pytest.raises(ConfigError, match="runn__seed"):
        load_config(config)


def test_load_config_without_a_path_finds_config_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="no config file given"):
        load_config()
    write(tmp_path / "config.json", json.dumps({"data": {"name": "arch_indices"}, "strategies": [{"name": "x"}]}))
    assert load_config().data.name == "arch_indices"
    other = write(tmp_path / "elsewhere.toml", BASE)
    monkeypatch.setenv("AI_TRADING_CONFIG", str(other))
    assert load_config().source_path == other


def test_deep_merge_replaces_arrays_and_merges_tables() -> None:
    base: dict[str, Any] = {"run": {"a": 1, "b": 2}, "risk": [{"name": "x"}]}
    merged = deep_merge(base, {"run": {"b": 3}, "risk": [{"name": "y"}]})
    assert merged == {"run": {"a": 1, "b": 3}, "risk": [{"name": "y"}]}
    assert base["run"] == {"a": 1, "b": 2}  # inputs untouched


# --------------------------------------------------------------------------- recorded in the run
def test_profile_recorded_in_run_document_and_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the config's output and state dirs are relative
    config = write(tmp_path / "config.toml", SAFE + '\n[profiles.production.run]\nname = "prod-run"\n')
    out = tmp_path / "run.json"
    proc = cli("run", "--quiet", "--env", "production", str(config), "--json-out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["profile"] == "production" and doc["name"] == "prod-run"
    manifest = json.loads((tmp_path / "out" / doc["run_id"] / "manifest.json").read_text())
    assert manifest["profile"] == "production"
    # without a profile the key is there, null
    from ai_trading_core.runner import run_config

    outcome = run_config(load_config(config, env_file=None))
    assert outcome.document["profile"] is None
    assert outcome.manifest_path is not None and json.loads(outcome.manifest_path.read_text())["profile"] is None


def test_the_profiles_example_is_safe_in_production(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "profiles.toml"
    proc = cli("validate", str(example), cwd=tmp_path, env={ENV_VAR: "production"})
    assert proc.returncode == 0, proc.stderr
    assert "OK (profile production; backtest;" in proc.stdout and "3 risk checks" in proc.stdout
    production = load_config(example, env_file=None, profile="production")
    assert [c.name for c in production.risk] == ["kill_switch", "circuit_breaker", "portfolio_limits"]
    assert production.run.on_error == "flatten" and production.run.start is not None
    assert load_config(example, env_file=None, profile="paper").run.mode.value == "paper"
    assert load_config(example, env_file=None).risk == []
