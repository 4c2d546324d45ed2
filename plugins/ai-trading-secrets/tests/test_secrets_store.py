from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ai_trading_secrets import (
    KeyRing,
    SecretsFile,
    credentials_from_environment,
    generate_key,
    load_credentials,
    parse_keys,
    read_key_file,
    resolve_keys,
    with_secrets_file,
    write_key_file,
)
from cryptography.fernet import Fernet, MultiFernet
from pydantic import SecretStr

from ai_trading_core.config import config_from_dict
from ai_trading_core.errors import SecretsError


def ring(*keys: bytes) -> KeyRing:
    return KeyRing(tuple(keys), "test keys")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def old_key() -> bytes:
    return generate_key()


@pytest.fixture
def new_key() -> bytes:
    return generate_key()


def test_set_and_read_back(tmp_path: Path, old_key: bytes) -> None:
    store = SecretsFile(tmp_path / "s.json")
    store.set("broker_key", "AKIA-123", ring(old_key))
    store.set("db_password", SecretStr("p@ss wörd"), ring(old_key))
    got = store.decrypt_all(ring(old_key))
    assert {k: v.get_secret_value() for k, v in got.items()} == {
        "broker_key": "AKIA-123",
        "db_password": "p@ss wörd",
    }
    raw = (tmp_path / "s.json").read_text()
    assert "AKIA-123" not in raw and "p@ss" not in raw
    doc = json.loads(raw)
    # Each value is a Fernet token that cryptography itself decrypts with the key, to the
    # secret's name and value (the name bound to the value, authenticated with it).
    assert Fernet(old_key).decrypt(doc["secrets"]["broker_key"].encode()) == b"ai-trading-secret/v2\x00broker_key\x00AKIA-123"
    assert doc["version"] == 2
    assert store.names() == ["broker_key", "db_password"]
    assert os.stat(tmp_path / "s.json").st_mode & 0o777 == 0o600


def test_rotation_round_trip(tmp_path: Path, old_key: bytes, new_key: bytes) -> None:
    path = tmp_path / "s.json"
    store = SecretsFile(path)
    values = {"a": "alpha", "b": "béta", "c": "x" * 500}
    for k, v in values.items():
        store.set(k, v, ring(old_key))
    during = ring(new_key, old_key)  # a process in the middle of the switch
    assert {k: s.get_secret_value() for k, s in store.decrypt_all(during).items()} == values

    assert store.rotate(ring(old_key), ring(new_key)) == 3

    assert {k: s.get_secret_value() for k, s in store.decrypt_all(ring(new_key)).items()} == values
    assert {k: s.get_secret_value() for k, s in store.decrypt_all(during).items()} == values
    with pytest.raises(SecretsError, match="cannot decrypt secret 'a'"):
        store.decrypt_all(ring(old_key))
    tokens = store.tokens()
    for k, v in values.items():  # the new key alone opens every token
        assert Fernet(new_key).decrypt(tokens[k].encode()).decode().endswith(f"\x00{k}\x00{v}")
    # A rotation with the keys the other way round brings it back.
    assert store.rotate(ring(new_key), ring(old_key)) == 3
    assert {k: s.get_secret_value() for k, s in store.decrypt_all(ring(old_key)).items()} == values


def test_rotation_finishes_a_half_done_rotation(tmp_path: Path, old_key: bytes, new_key: bytes) -> None:
    store = SecretsFile(tmp_path / "s.json")
    store.set("a", "1", ring(old_key))
    store.set("b", "2", ring(new_key, old_key))  # written under the new key mid-switch
    assert store.rotate(ring(old_key), ring(new_key)) == 2
    assert store.get("a", ring(new_key)).get_secret_value() == "1"
    assert store.get("b", ring(new_key)).get_secret_value() == "2"


def test_wrong_key_is_a_clear_error_and_writes_nothing(tmp_path: Path, old_key: bytes) -> None:
    path = tmp_path / "s.json"
    store = SecretsFile(path)
    store.set("token", "secret-value-1", ring(old_key))
    before = path.read_bytes()
    wrong = ring(generate_key())
    with pytest.raises(SecretsError) as info:
        store.decrypt_all(wrong)
    assert "cannot decrypt secret 'token'" in str(info.value) and "wrong key" in str(info.value)
    with pytest.raises(SecretsError, match="wrong key"):
        store.set("other", "v", wrong)
    with pytest.raises(SecretsError, match="nothing was changed"):
        store.rotate(wrong, ring(generate_key()))
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_failed_write_leaves_the_old_file(
    tmp_path: Path, old_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.json"
    store = SecretsFile(path)
    store.set("a", "1", ring(old_key))
    before = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(SecretsError, match="previous file is unchanged"):
        store.set("b", "2", ring(old_key))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []
    assert store.names() == ["a"]


def test_key_file_mode_is_checked(tmp_path: Path, old_key: bytes) -> None:
    key_file = tmp_path / "k"
    write_key_file(key_file, old_key)
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    assert read_key_file(key_file).keys == (old_key,)
    os.chmod(key_file, 0o644)
    with pytest.raises(SecretsError, match=r"mode 0644.*chmod 600"):
        read_key_file(key_file)
    with pytest.raises(SecretsError, match="already exists"):
        write_key_file(key_file, generate_key())
    with pytest.raises(SecretsError, match="not found"):
        read_key_file(tmp_path / "missing")


def test_parse_keys_and_environment(old_key: bytes, new_key: bytes, tmp_path: Path) -> None:
    env = {"AI_TRADING_SECRETS_KEY": f"{new_key.decode()}, {old_key.decode()}"}
    r = resolve_keys(env=env)
    assert r.keys == (new_key, old_key)
    assert new_key.decode() not in repr(r) and "environment variable" in r.source
    with pytest.raises(SecretsError, match=r"key #2 .* is not a Fernet key") as info:
        parse_keys(f"{old_key.decode()},not-a-key-XYZ", "env")
    assert "not-a-key-XYZ" not in str(info.value)
    with pytest.raises(SecretsError, match="no secrets key"):
        resolve_keys(env={})
    key_file = tmp_path / "k"
    write_key_file(key_file, old_key)
    assert resolve_keys(env={"AI_TRADING_SECRETS_KEY_FILE": str(key_file)}).keys == (old_key,)
    # MultiFernet semantics: the first key encrypts, every key decrypts.
    token = r.fernet().encrypt(b"x")
    assert Fernet(new_key).decrypt(token) == b"x"
    assert r.fernet().decrypt(MultiFernet([Fernet(old_key)]).encrypt(b"y")) == b"y"


def test_malformed_files(tmp_path: Path, old_key: bytes) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json")
    with pytest.raises(SecretsError, match="not valid JSON"):
        SecretsFile(path).names()
    path.write_text(json.dumps({"a": "b"}))
    with pytest.raises(SecretsError, match="not an ai-trading secrets file"):
        SecretsFile(path).names()
    with pytest.raises(SecretsError, match="invalid secret name"):
        SecretsFile(tmp_path / "t.json").set("bad name!", "v", ring(old_key))
    with pytest.raises(SecretsError, match="empty value"):
        SecretsFile(tmp_path / "t.json").set("ok", "", ring(old_key))
    assert SecretsFile(tmp_path / "absent.json").names() == []


def test_credentials_fill_the_config(tmp_path: Path, old_key: bytes) -> None:
    path = tmp_path / "s.json"
    SecretsFile(path).set("broker_key", "from-file", ring(old_key))
    SecretsFile(path).set("webhook_token", "file-token", ring(old_key))
    creds = load_credentials(path, old_key.decode())
    assert (
        isinstance(creds["broker_key"], SecretStr) and creds["broker_key"].get_secret_value() == "from-file"
    )
    config = config_from_dict(
        {
            "data": {"name": "synthetic"},
            "strategies": [{"name": "sma_crossover"}],
            "credentials": {"webhook_token": "from-config"},
        }
    )
    filled = with_secrets_file(config, path, [old_key])
    assert filled.credentials["broker_key"].get_secret_value() == "from-file"
    assert filled.credentials["webhook_token"].get_secret_value() == "from-config"  # config wins
    assert "from-file" not in json.dumps(filled.redacted())
    env = {"AI_TRADING_SECRETS_FILE": str(path), "AI_TRADING_SECRETS_KEY": old_key.decode()}
    assert credentials_from_environment(env)["broker_key"].get_secret_value() == "from-file"
    assert credentials_from_environment({}) == {}


def test_swapped_values_are_refused(tmp_path: Path, old_key: bytes) -> None:
    """Two encrypted values exchanged between names (each still a valid token under the key):
    refused, naming the entry, instead of handing the broker key to the database."""
    path = tmp_path / "s.json"
    store = SecretsFile(path)
    store.set("broker_key", "AKIA-123", ring(old_key))
    store.set("db_password", "hunter2-db", ring(old_key))
    doc = json.loads(path.read_text())
    secrets = doc["secrets"]
    secrets["broker_key"], secrets["db_password"] = secrets["db_password"], secrets["broker_key"]
    path.write_text(json.dumps(doc))
    with pytest.raises(SecretsError, match="'broker_key' .* holds the value of another name"):
        store.get("broker_key", ring(old_key))
    with pytest.raises(SecretsError, match="another name"):
        store.decrypt_all(ring(old_key))
    # copying one token under a second name is refused the same way
    doc["secrets"]["copy"] = doc["secrets"]["db_password"]
    path.write_text(json.dumps(doc))
    with pytest.raises(SecretsError, match="'copy' .* another name"):
        store.get("copy", ring(old_key))


def test_remove_needs_the_key(tmp_path: Path, old_key: bytes) -> None:
    path = tmp_path / "s.json"
    store = SecretsFile(path)
    store.set("a", "1", ring(old_key))
    store.set("b", "2", ring(old_key))
    before = path.read_bytes()
    with pytest.raises(SecretsError, match="cannot decrypt"):
        store.remove("a", ring(generate_key()))
    assert path.read_bytes() == before
    store.remove("a", ring(old_key))
    assert store.names() == ["b"] and store.get("b", ring(old_key)).get_secret_value() == "2"


def test_version_1_files_are_read_and_upgraded_on_write(tmp_path: Path, old_key: bytes) -> None:
    path = tmp_path / "s.json"
    token = Fernet(old_key).encrypt(b"legacy-value").decode()
    path.write_text(json.dumps({"format": "ai-trading-secrets", "version": 1, "secrets": {"old": token}}))
    store = SecretsFile(path)
    assert store.get("old", ring(old_key)).get_secret_value() == "legacy-value"
    store.set("new", "v", ring(old_key))
    doc = json.loads(path.read_text())
    assert doc["version"] == 2
    assert Fernet(old_key).decrypt(doc["secrets"]["old"].encode()).endswith(b"\x00old\x00legacy-value")
    assert {k: v.get_secret_value() for k, v in store.decrypt_all(ring(old_key)).items()} == {
        "old": "legacy-value",
        "new": "v",
    }
