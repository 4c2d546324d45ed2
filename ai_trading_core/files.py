"""Atomic files: state, secrets and requests that a crash never leaves half-written.

A write goes to a temporary file in the target's directory (same file system, so the final
rename is atomic), is flushed and ``fsync``-ed, then moved over the target with
:func:`os.replace`; the directory is ``fsync``-ed so the rename itself survives a power loss.
A reader, or a process restarting after a crash, sees the old content or the new, never half
of one. When anything fails the old file is untouched and the temporary file is removed.

Files are created with mode ``0600`` (owner read/write only, as :func:`tempfile.mkstemp`
makes them): state and secrets files are nobody else's business.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from .errors import AiTradingError, StorageError

T = TypeVar("T")


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> None:
    """Replace the file at ``path`` with ``text`` atomically, creating parent directories.

    :raises OSError: the write, flush, fsync or rename failed; the old file is intact and no
        temporary file is left behind.
    """
    target = Path(path)
    data = text.encode(encoding)  # encode first: an encoding error must not touch the disk
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def atomic_write_json(
    path: str | os.PathLike[str], obj: Any, *, indent: int | None = 2, sort_keys: bool = True
) -> None:
    """Replace the file at ``path`` with ``obj`` as JSON (newline-terminated) atomically.

    :raises TypeError: ``obj`` is not JSON-serialisable (nothing is written).
    :raises OSError: as :func:`atomic_write_text`.
    """
    atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=sort_keys) + "\n")


def read_json(
    path: str | os.PathLike[str],
    default: T,
    *,
    what: str = "file",
    error: type[AiTradingError] = StorageError,
) -> Any | T:
    """The JSON document at ``path``, or ``default`` when the file does not exist.

    A file that exists but cannot be read or parsed raises ``error`` (a typed framework
    error chosen by the caller, :class:`StorageError` by default) naming ``what`` and the
    path: a state file that cannot be read must never be mistaken for an absent one. The
    file's text is not chained into the error (it may hold secrets).
    """
    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {target}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what} {target} is not valid JSON: {exc.msg} (line {exc.lineno})") from None


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename inside ``folder`` durable (POSIX). Where directories cannot be opened
    or synced (some platforms and file systems) this is a no-op: the rename has happened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["atomic_write_json", "atomic_write_text", "fsync_dir", "read_json"]
