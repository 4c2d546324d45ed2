"""Atomic files: the new content or the old, never half of one, and no temporary left over."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ai_trading_core import files
from ai_trading_core.errors import RiskError, StorageError
from ai_trading_core.files import atomic_write_json, atomic_write_text, read_json


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_creates_parents_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.txt"
    atomic_write_text(path, "one\n")
    assert path.read_text() == "one\n"
    atomic_write_text(path, "two\n")
    assert path.read_text() == "two\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert leftovers(path.parent) == []


def test_json_round_trip_and_format(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    atomic_write_json(path, {"b": 1, "a": [1.5, None, "x"]})
    assert path.read_text() == '{\n  "a": [\n    1.5,\n    null,\n    "x"\n  ],\n  "b": 1\n}\n'
    assert read_json(path, None) == {"a": [1.5, None, "x"], "b": 1}
    atomic_write_json(path, {"b": 1, "a": 2}, indent=None, sort_keys=False)
    assert path.read_text() == '{"b": 1, "a": 2}\n'


def test_read_missing_returns_default(tmp_path: Path) -> None:
    sentinel: dict[str, int] = {}
    assert read_json(tmp_path / "none.json", sentinel) is sentinel
    assert read_json(tmp_path / "none.json", None) is None


def test_read_invalid_raises_the_callers_error(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"secret": "hunter2"')
    with pytest.raises(StorageError, match=r"file .*s\.json is not valid JSON: .*\(line 1\)") as info:
        read_json(path, None)
    assert info.value.__cause__ is None and "hunter2" not in str(info.value)
    with pytest.raises(RiskError, match="kill switch state .* is not valid JSON"):
        read_json(path, None, what="kill switch state", error=RiskError)
    folder = tmp_path / "dir.json"
    folder.mkdir()
    with pytest.raises(StorageError, match="cannot read"):
        read_json(folder, None)


@pytest.mark.parametrize("failing", ["fsync", "replace", "write"])
def test_failure_mid_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "state.json"
    atomic_write_json(path, {"halted": False})
    before = path.read_bytes()

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    if failing == "write":
        real_fdopen = os.fdopen

        class HalfWrittenFile:
            """Writes half the bytes to the real temporary file, then runs out of space."""

            def __init__(self, fd: int, mode: str) -> None:
                self.fh = real_fdopen(fd, mode)

            def __enter__(self) -> HalfWrittenFile:
                return self

            def __exit__(self, *exc: object) -> None:
                self.fh.close()

            def write(self, data: bytes) -> int:
                self.fh.write(data[: len(data) // 2])
                self.fh.flush()
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(files.os, "fdopen", HalfWrittenFile)
    else:
        monkeypatch.setattr(files.os, failing, disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_json(path, {"halted": True, "reason": "x" * 10_000})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []
    assert read_json(path, None) == {"halted": False}


def test_interrupt_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.txt"
    atomic_write_text(path, "old")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old" and leftovers(tmp_path) == []


def test_unserialisable_object_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with pytest.raises(TypeError):
        atomic_write_json(path, {"when": object()})
    assert not path.exists() and leftovers(tmp_path) == []


def test_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    """Each replacement is complete: every read between writes parses to one whole version."""
    path = tmp_path / "s.json"
    for n in range(50):
        atomic_write_json(path, {"n": n, "pad": "y" * (n * 97)})
        doc = json.loads(path.read_text())
        assert doc["n"] == n and len(doc["pad"]) == n * 97
    assert leftovers(tmp_path) == []
