"""Publish rendered bytes as static files: only what changed, every write atomic.

A write goes to a temporary file in the same folder, is made durable, then renamed over
the target, so a process killed at any instant leaves each file wholly old or wholly new.
`write_atomic` does that for one file (fsync each); `Publisher` does it for many with one
`os.sync` per batch, which is what makes publishing 100,000 files affordable. Unchanged
bytes are not written at all. Files under a managed folder that the new set no longer
contains are removed (pruned); nothing outside `root`, or outside the managed folders, is
ever touched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from .errors import SyndicatorError
from .models import PublishReport

TEMP_PREFIX = ".tmp-"


class PublishError(SyndicatorError):
    """A path would leave the output folder, or the disk refused a write."""


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


class Publisher:
    """Publish many files with one durability barrier per batch instead of one per file.

    `stage` writes each changed file to a temporary file beside its target; `commit` makes
    every staged byte durable (`os.sync`), renames the temporary files over their targets,
    and syncs again so the renames are durable too. A process killed at any instant leaves
    each target wholly old or wholly new; leftover temporary files are pruned later.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._staged: list[tuple[Path, Path]] = []  # (temporary file, target)
        self._staged_bytes = 0
        self._managed: list[tuple[str, frozenset[str]]] = []
        self.report = PublishReport()

    @property
    def pending_bytes(self) -> int:
        return self._staged_bytes

    def stage(self, files: Mapping[str, bytes], *, managed: Iterable[str] = ()) -> int:
        """Stage `files` (relative POSIX path → bytes); return how many differ from disk.

        After the next `commit`, files under each `managed` folder that `files` does not
        name are removed.
        """
        changed = unchanged = size = 0
        for relative, data in sorted(files.items()):
            path = resolve_inside(self.root, relative)
            if _same_bytes(path, data):
                unchanged += 1
                continue
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.chmod(temp, 0o644)  # mkstemp makes 0600; web servers must read it
            except OSError as exc:
                raise PublishError(f"{path}: cannot write: {exc.strerror}") from exc
            self._staged.append((Path(temp), path))
            changed += 1
            size += len(data)
        keep = frozenset(files)
        self._managed.extend((folder, keep) for folder in managed)
        self._staged_bytes += size
        self.report = PublishReport(
            self.report.written + changed,
            self.report.unchanged + unchanged,
            self.report.removed,
            self.report.bytes_written + size,
        )
        return changed

    def commit(self) -> None:
        """Make everything staged durable and visible, then prune the managed folders."""
        if self._staged:
            os.sync()  # one barrier for the whole batch: the data is on disk before renames
            try:
                for temp, target in self._staged:
                    os.replace(temp, target)
            except OSError as exc:
                raise PublishError(f"{target}: cannot replace: {exc.strerror}") from exc
            os.sync()  # and the renames are durable before the ledger says "published"
        removed = 0
        for folder, keep in self._managed:
            removed += _prune(self.root, folder, keep)
        self.report = replace(self.report, removed=self.report.removed + removed)
        self._staged.clear()
        self._managed.clear()
        self._staged_bytes = 0

    def discard(self) -> None:
        """Forget what is staged (its temporary files are removed; targets stay as they were)."""
        for temp, _ in self._staged:
            temp.unlink(missing_ok=True)
        self._staged.clear()
        self._managed.clear()
        self._staged_bytes = 0


def publish(
    root: Path, files: Mapping[str, bytes], *, managed: Iterable[str] = ()
) -> PublishReport:
    """Make `root` hold `files` (relative POSIX path → bytes), as one batch.

    Files whose bytes are already there are left alone. Under each `managed` folder
    (relative to root), files not in `files` are removed, as are leftover temporary files
    of an interrupted run.
    """
    publisher = Publisher(root)
    publisher.stage(files, managed=managed)
    publisher.commit()
    return publisher.report


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def _prune(root: Path, folder: str, keep: Collection[str]) -> int:
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
    if not keep and not any(base.iterdir()):
        base.rmdir()  # a folder managed with nothing to keep goes entirely (retired subscriber)
    return removed
