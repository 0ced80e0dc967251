"""Publish rendered bytes as static files: only what changed, every write atomic.

A write goes to a temporary file in the same folder, is flushed and fsynced, then renamed
over the target (and the folder fsynced), so a process killed at any instant leaves each
file wholly old or wholly new. Unchanged bytes are not written at all. Files under a
managed folder that the new set no longer contains are removed (pruned); nothing outside
`root`, and nothing outside the managed folders, is ever touched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import SyndicatorError

TEMP_PREFIX = ".tmp-"


class PublishError(SyndicatorError):
    """A path would leave the output folder, or the disk refused a write."""


@dataclass(frozen=True, slots=True)
class PublishReport:
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    bytes_written: int = 0


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers only ever see the old or the new bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes 0600; web servers must read it
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def resolve_inside(root: Path, relative: str) -> Path:
    """`root / relative`, refusing absolute paths, `..` and anything else that leaves root."""
    parts = relative.split("/")
    if any(part in {"", ".", ".."} or "\\" in part or "\0" in part for part in parts):
        raise PublishError(f"refusing to publish outside the output folder: {relative!r}")
    return root.joinpath(*parts)


def publish(
    root: Path, files: Mapping[str, bytes], *, managed: Iterable[str] = ()
) -> PublishReport:
    """Make `root` hold `files` (relative POSIX path → bytes).

    Files whose bytes are already there are left alone. Under each `managed` folder
    (relative to root), files not in `files` are removed, as are leftover temporary files
    of an interrupted run.
    """
    written = unchanged = size = 0
    for relative, data in sorted(files.items()):
        path = resolve_inside(root, relative)
        if _same_bytes(path, data):
            unchanged += 1
            continue
        try:
            write_atomic(path, data)
        except OSError as exc:
            raise PublishError(f"{path}: cannot write: {exc.strerror}") from exc
        written += 1
        size += len(data)
    removed = sum(_prune(root, folder, files) for folder in managed)
    return PublishReport(written, unchanged, removed, size)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def _prune(root: Path, folder: str, keep: Mapping[str, bytes]) -> int:
    base = resolve_inside(root, folder)
    if not base.is_dir():
        return 0
    removed = 0
    for path in sorted(base.rglob("*"), reverse=True):  # children before their folders
        relative = path.relative_to(root).as_posix()
        if path.is_dir():
            if not any(path.iterdir()):
                path.rmdir()
        elif relative not in keep or path.name.startswith(TEMP_PREFIX):
            path.unlink()
            removed += not path.name.startswith(TEMP_PREFIX)
    return removed
