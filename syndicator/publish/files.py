"""Publish rendered bytes as static files: only what changed, every write atomic.

A write goes to a temporary file in the same folder, is made durable, then renamed over
the target, so a process killed at any instant leaves each file wholly old or wholly new.
`write_atomic` does that for one file (fsync each); `Publisher` does it for many with one
file-system sync per batch (`syncfs`), which is what makes publishing 100,000 files
affordable. Unchanged bytes are not written at all. Files under a managed folder that the
new set no longer contains are removed (pruned); nothing outside `root`, or outside the
managed folders, is ever touched.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from ..errors import PublishError
from ..models import PublishReport
from .ownership import OWNER_MARK, OWNER_MARK_TEXT, TEMP_PREFIX, is_leftover, temp_names


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace `path` with `data` so that readers only ever see the old or the new bytes;
    the new file gets `mode` (by default readable by a web server)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)  # mkstemp makes 0600
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
    _check_inside(relative)
    return root.joinpath(*relative.split("/"))


def _check_inside(relative: str) -> None:
    parts = relative.split("/")
    if any(part in {"", ".", ".."} or "\\" in part or "\0" in part for part in parts):
        raise PublishError(f"refusing to publish outside the output folder: {relative!r}")


class Publisher:
    """Publish many files with one durability barrier per batch instead of one per file.

    `stage` writes each changed file to a temporary file beside its target; `commit` makes
    every staged byte durable (`sync_file_systems`), renames the temporary files over their
    targets, and syncs again so the renames are durable too. A process killed at any
    instant leaves each target wholly old or wholly new; leftover temporary files are
    pruned later.

    Paths are handled as strings and folders created once per batch: at hundreds of
    thousands of files, pathlib and `tempfile` cost as much as the writing itself.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = os.path.normpath(os.fspath(root))
        self._real_root: str | None = None  # resolved when the first folder is made
        self._staged: list[tuple[str, str]] = []  # (temporary file, target)
        self._staged_bytes = 0
        self._staged_files = 0
        self._managed: list[tuple[str, frozenset[str]]] = []
        self._folders: set[str] = set()  # known to exist since the last commit
        self._made: set[str] = set()  # made by this batch: nothing in them to compare
        self._top_level = False  # a file directly in the root is staged
        self._temps = temp_names()
        self.report = PublishReport()

    @property
    def pending_bytes(self) -> int:
        return self._staged_bytes

    def stage(
        self,
        files: Mapping[str, bytes],
        *,
        managed: Iterable[str] = (),
        keep: Iterable[str] = (),
    ) -> int:
        """Stage `files` (relative POSIX path → bytes); return how many differ from disk.

        After the next `commit`, files under each `managed` folder that neither `files`
        nor `keep` (files known to be as they should, left alone) name are removed, and
        the folder carries OWNER_MARK (unless `files` is empty: it is retired). All
        or nothing: when one file cannot be staged, the files this call staged already
        are dropped again (what earlier calls staged stays) and PublishError says which
        file and why.
        """
        managed = list(managed)
        if files and managed:  # not when retiring a folder: it goes, mark and all
            files = {**files, **{f"{folder}/{OWNER_MARK}": OWNER_MARK_TEXT for folder in managed}}
        changed = unchanged = size = 0
        root = self._root
        first = len(self._staged)
        top_level = False
        try:
            for relative, data in sorted(files.items()):
                _check_inside(relative)
                path = f"{root}/{relative}"
                folder = os.path.dirname(path)
                if folder not in self._made and _same_bytes(path, data):
                    unchanged += 1
                    continue
                try:
                    temp = self._write_temp(folder, data)
                except OSError as exc:
                    raise PublishError(
                        f"{path}: cannot write: {exc.strerror}", errno=exc.errno
                    ) from exc
                self._staged.append((temp, path))
                top_level = top_level or "/" not in relative
                changed += 1
                size += len(data)
        except BaseException:
            self._unstage(first)
            raise
        self._top_level = self._top_level or top_level
        kept = frozenset(files).union(keep)
        self._managed.extend((folder, kept) for folder in managed)
        self._staged_bytes += size
        self._staged_files += changed
        self.report = replace(self.report, unchanged=self.report.unchanged + unchanged)
        return changed

    def _write_temp(self, folder: str, data: bytes) -> str:
        """`data` in a new temporary file in `folder` (created if need be): its path."""
        if folder not in self._folders:
            self._make_folder(folder)
            self._folders.add(folder)
        while True:
            temp = f"{folder}/{next(self._temps)}"
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            except FileExistsError:  # a leftover with the same name: take the next one
                continue
            break
        try:
            os.fchmod(fd, 0o644)  # web servers must read it, whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            os.unlink(temp)
            raise
        os.close(fd)
        return temp

    def _make_folder(self, folder: str) -> None:
        """Create `folder` and any missing parent, readable by a web server whatever the
        umask; refuse one that leads outside the root (through a symbolic link) before
        creating anything there."""
        missing = []
        path = folder
        while not os.path.isdir(path) and path != os.path.dirname(path):
            missing.append(path)
            path = os.path.dirname(path)
        if path == self._root or path.startswith(self._root + "/"):
            self._check_real(path)  # the deepest folder that exists, inside the root
        for path in reversed(missing):
            try:
                os.mkdir(path)
            except FileExistsError:
                if not os.path.isdir(path):
                    raise NotADirectoryError(errno.ENOTDIR, "a file is in the way", path) from None
                continue  # made meanwhile by someone else: not ours to change
            os.chmod(path, 0o755)  # noqa: S103 - the outputs are public: a web server serves them
            self._made.add(path)

    def _check_real(self, folder: str) -> None:
        if self._real_root is None:
            self._real_root = os.path.realpath(self._root)
        real = os.path.realpath(folder)
        if real != self._real_root and not real.startswith(self._real_root + os.sep):
            raise PublishError(
                f"{folder}: refusing to publish outside the output folder "
                f"(it leads to {real}; is it a symbolic link?)"
            )

    def _unstage(self, first: int) -> None:
        """Drop what was staged from position `first` on, removing its temporary files."""
        for temp, _ in self._staged[first:]:
            with contextlib.suppress(OSError):  # gone, or a read-only disk: pruned later
                os.unlink(temp)
        del self._staged[first:]

    def commit(self) -> dict[str, PublishError]:
        """Make everything staged durable and visible, then prune the managed folders.

        Returns the managed folders that could not be pruned, each with its error (their
        new files are in place; only stale ones may remain). A failed rename raises.
        """
        if self._staged:
            # One barrier for the whole batch: the data is on disk before the renames.
            folders = {os.path.dirname(target) for _, target in self._staged}
            sync_file_systems(folders)
            try:
                for temp, target in self._staged:
                    os.replace(temp, target)
            except OSError as exc:
                raise PublishError(
                    f"{target}: cannot replace: {exc.strerror}", errno=exc.errno
                ) from exc
            # And the renames are durable before the ledger says "published".
            sync_file_systems(folders)
        if self._top_level:
            _remove_leftover_temps(self._root)  # top-level files are in no managed folder
        removed = 0
        refused: dict[str, PublishError] = {}
        for folder, keep in self._managed:
            try:
                removed += _prune(self.root, folder, keep)
            except PublishError as exc:
                refused[folder] = exc
        self.report = PublishReport(  # what is written counts once it is in place
            self.report.written + self._staged_files,
            self.report.unchanged,
            self.report.removed + removed,
            self.report.bytes_written + self._staged_bytes,
        )
        self._clear()
        return refused

    def discard(self) -> None:
        """Forget what is staged (its temporary files are removed; targets stay as they were)."""
        self._unstage(0)
        self._clear()

    def _clear(self) -> None:
        self._staged.clear()
        self._managed.clear()
        self._folders.clear()  # pruning may have removed some
        self._made.clear()
        self._top_level = False
        self._staged_bytes = 0
        self._staged_files = 0


def sync_file_systems(folders: Iterable[str]) -> None:
    """Flush every file system that holds one of `folders` to disk, each once.

    With `syncfs(2)` (Linux), only those file systems are flushed, not every disk of the
    machine as `os.sync` does, and a failed write-back is reported (since Linux 5.8) as
    PublishError instead of passing unnoticed; elsewhere `os.sync` is the fallback.
    """
    if _SYNCFS is None:
        os.sync()
        return
    devices: dict[int, str] = {}
    try:
        for folder in folders:
            devices.setdefault(os.stat(folder).st_dev, folder)
        for folder in devices.values():
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                if _SYNCFS(fd) != 0:
                    number = ctypes.get_errno()
                    raise OSError(number, os.strerror(number), folder)
            finally:
                os.close(fd)
    except OSError as exc:
        raise PublishError(
            f"{exc.filename}: cannot write to disk: {exc.strerror}", errno=exc.errno
        ) from exc


def _find_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # no C library to ask, or one without syncfs
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_SYNCFS = _find_syncfs()


def publish(
    root: Path, files: Mapping[str, bytes], *, managed: Iterable[str] = ()
) -> PublishReport:
    """Make `root` hold `files` (relative POSIX path → bytes), as one batch.

    Files whose bytes are already there are left alone. Under each `managed` folder
    (relative to root), files not in `files` are removed, as are leftover temporary files
    of an interrupted run.
    """
    publisher = Publisher(root)
    try:
        publisher.stage(files, managed=managed)
        for error in publisher.commit().values():
            raise error
    finally:
        publisher.discard()  # after a failure: no temporary files left behind
    return publisher.report


def _same_bytes(path: str, data: bytes) -> bool:
    """Whether the regular file at `path` holds `data` (a link there is replaced, not
    followed). A folder where the file goes is that subscriber's error, found now: the
    rename would fail at commit, for the whole batch."""
    try:
        status = os.lstat(path)
        if stat.S_ISDIR(status.st_mode):
            raise PublishError(
                f"{path}: a folder is in the way of this file; it is not ours: move it away"
            )
        if not stat.S_ISREG(status.st_mode) or status.st_size != len(data):
            return False
        with open(path, "rb") as handle:
            return handle.read() == data
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:  # no permission, a bad sector…
        # One file's read error is that subscriber's, not the disk's.
        raise PublishError(f"{path}: cannot read: {exc.strerror}") from exc


def _prune(root: Path, folder: str, keep: Collection[str]) -> int:
    base = resolve_inside(root, folder)
    if base.is_symlink():
        raise PublishError(f"{base}: refusing to prune a symbolic link (it leads elsewhere)")
    if not base.is_dir():
        return 0
    # Folder by folder through open handles, never by path: a folder swapped for a link
    # while this runs (by whoever else can write here) cannot lead it outside.
    try:
        parent = os.open(base.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise PublishError(f"{base.parent}: cannot open: {exc.strerror}", errno=exc.errno) from exc
    try:
        handle = _open_folder(parent, base.name, os.fspath(base))
        if handle is None:  # swapped for a link since the check above
            raise PublishError(f"{base}: refusing to prune a symbolic link (it leads elsewhere)")
        try:
            removed = _prune_tree(handle, os.fspath(base), folder, keep)
            gone = not keep and _is_empty(handle)
        finally:
            os.close(handle)
        if gone:  # a folder managed with nothing to keep goes (retired subscriber)
            _at(os.rmdir, base.name, parent, os.fspath(base))
    finally:
        os.close(parent)
    return removed


_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_folder(parent: int, name: str, shown: str) -> int | None:
    """The folder `name` in the open folder `parent`, never through a link; None when
    `name` is a link or a file (swapped for one since it was seen as a folder)."""
    try:
        return os.open(name, _FOLDER_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            return None
        raise PublishError(f"{shown}: cannot open: {exc.strerror}", errno=exc.errno) from exc


def _is_empty(handle: int) -> bool:
    with os.scandir(handle) as scan:
        return next(scan, None) is None


def _at(action: Callable[..., None], name: str, parent: int, shown: str) -> None:
    """`action` (unlink, rmdir) on `name` in the open folder `parent`; the path shown
    in the error."""
    try:
        action(name, dir_fd=parent)
    except OSError as exc:
        raise PublishError(f"{shown}: cannot remove: {exc.strerror}", errno=exc.errno) from exc


def _prune_tree(handle: int, shown: str, relative: str, keep: Collection[str]) -> int:
    """Remove what `keep` does not name in the open folder `handle` (at `relative` to the
    output root), and every temporary file; then the folders left empty. Returns how many
    files went. A folder swapped for a link meanwhile is not entered: the link goes."""
    removed = 0
    try:
        with os.scandir(handle) as scan:
            entries = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in scan]
    except OSError as exc:
        raise PublishError(f"{shown}: cannot read: {exc.strerror}", errno=exc.errno) from exc
    for name, is_folder in entries:
        path, where = f"{relative}/{name}", f"{shown}/{name}"
        child = _open_folder(handle, name, where) if is_folder else None
        if child is not None:
            try:
                removed += _prune_tree(child, where, path, keep)
                empty = _is_empty(child)
            finally:
                os.close(child)
            if empty:
                _at(os.rmdir, name, handle, where)
            continue
        if name.startswith(TEMP_PREFIX):
            _at(os.unlink, name, handle, where)
        elif path not in keep:
            _at(os.unlink, name, handle, where)
            removed += 1
    return removed


def _remove_leftover_temps(folder: str) -> None:
    """Temporary files directly in `folder` (the output root, which may hold a web
    site's own files: only names the publisher gives): left by a run killed mid-publish."""
    with os.scandir(folder) as scan:
        leftovers = [e.path for e in scan if is_leftover(e.name) and e.is_file()]
    for path in leftovers:
        with contextlib.suppress(OSError):  # best effort: the next publish tries again
            os.unlink(path)
