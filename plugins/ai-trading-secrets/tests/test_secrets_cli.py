"""The ``ai-trading secrets`` commands, run as a user runs them: in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ai_trading_secrets import SecretsFile, generate_key, read_key_file


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_")}
    full["AI_TRADING_LOAD_PLUGINS"] = "secrets"
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "ai_trading_core.cli", "secrets", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=120,
    )


def test_cli_set_list_rotate_and_wrong_key(tmp_path: Path) -> None:
    value = "canary-cli-value-3f9a"
    r = run("init-key", "--key-file", "old.key", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    old = read_key_file(tmp_path / "old.key")
    r = run("set", "broker_key", "--key-file", "old.key", stdin=value + "\n", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run("set", "db_password", "--key-file", "old.key", stdin="pw\n", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    secrets_path = tmp_path / ".ai-trading" / "secrets.json"
    assert (
        SecretsFile(secrets_path).get("broker_key", old).get_secret_value() == value
    )  # trailing newline dropped

    r = run("list", "--verify", "--key-file", "old.key", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["broker_key", "db_password"]

    assert run("init-key", "--key-file", "new.key", cwd=tmp_path).returncode == 0
    r = run("rotate", "--key-file", "old.key", "--new-key-file", "new.key", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "re-encrypted 2 secret(s)" in r.stdout
    new = read_key_file(tmp_path / "new.key")
    assert SecretsFile(secrets_path).get("broker_key", new).get_secret_value() == value

    # The old key alone no longer opens it: a one-line error, non-zero exit, file unchanged.
    before = secrets_path.read_bytes()
    r = run("set", "another", "--key-file", "old.key", stdin="v\n", cwd=tmp_path)
    assert r.returncode != 0
    assert r.stderr.startswith("error: cannot decrypt secret") and "wrong key" in r.stderr
    assert "Traceback" not in r.stderr
    assert run("init-key", "--key-file", "stranger.key", cwd=tmp_path).returncode == 0
    r = run("rotate", "--key-file", "stranger.key", "--new-key-file", "old.key", cwd=tmp_path)
    assert r.returncode != 0 and "nothing was changed" in r.stderr
    assert secrets_path.read_bytes() == before
    assert not [p for p in secrets_path.parent.iterdir() if p.name.endswith(".tmp")]

    # Both keys in the environment, newest first: reads during the switch.
    both = f"{new.keys[0].decode()},{old.keys[0].decode()}"
    r = run("list", "--verify", env={"AI_TRADING_SECRETS_KEY": both}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr

    key_texts = [k.decode() for k in (*old.keys, *new.keys)]
    for out in (r.stdout, r.stderr):
        assert value not in out and not any(k in out for k in key_texts)

    # remove needs the key: without one, or with a wrong one, nothing is removed
    r = run("remove", "db_password", cwd=tmp_path)
    assert r.returncode != 0 and "no secrets key" in r.stderr
    r = run("remove", "db_password", "--key-file", "stranger.key", cwd=tmp_path)
    assert r.returncode != 0 and "cannot decrypt" in r.stderr
    assert secrets_path.read_bytes() == before
    r = run("remove", "db_password", "--key-file", "new.key", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert SecretsFile(secrets_path).names() == ["broker_key"]


def test_cli_refuses_a_readable_key_file(tmp_path: Path) -> None:
    key = tmp_path / "loose.key"
    key.write_bytes(generate_key() + b"\n")
    os.chmod(key, 0o644)
    r = run("set", "x", "--key-file", str(key), stdin="v", cwd=tmp_path)
    assert r.returncode != 0 and "chmod 600" in r.stderr
    assert not (tmp_path / ".ai-trading" / "secrets.json").exists()


@pytest.mark.parametrize("args", [("list",), ("list", "--file", "none.json")])
def test_cli_list_without_file_or_key(tmp_path: Path, args: tuple[str, ...]) -> None:
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == ""
