"""One run at a time: an advisory lock file in `state_dir`.

`run`, `fetch` and the daemon hold it while they work. The lock is `flock`ed, so the
kernel releases it when its holder dies however it dies; the file also records the
holder's pid, so a lock left behind by a killed process is recognised (and reported) when
the next run takes it over.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from .errors import LockHeld, StateUnusable

LOCK_NAME = "syndicator.lock"


class RunLock:
    """`with RunLock(state_dir) as lock:` — raises `LockHeld` when it is taken.

    `lock.stale_pid` is the pid a killed holder left behind, if any.
    """

    def __init__(self, state_dir: Path, role: str = "run") -> None:
        self.path = state_dir / LOCK_NAME
        self.role = role
        self.stale_pid: int | None = None
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self._fd = self._take()
        return self

    def _take(self) -> int:
        """Lock the file at the path and write this holder into it; its descriptor.
        Raises `LockHeld` when another process holds it, and `StateUnusable` when the
        file cannot be made, locked or written."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # FileExistsError: a file in its place
            raise StateUnusable(self.path.parent, f"cannot create it: {exc.strerror}") from None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            reason = f"cannot open {self.path.name} to write: {exc.strerror}"
            raise StateUnusable(self.path.parent, reason) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, role = _read_holder(fd)
            os.close(fd)
            raise LockHeld(self.path, pid, role) from None
        except OSError as exc:  # no locks on this file system (some network mounts)
            os.close(fd)
            raise StateUnusable(
                self.path.parent, f"cannot lock {self.path.name}: {exc.strerror}"
            ) from None
        try:
            self.stale_pid, _ = _read_holder(fd)  # a clean exit empties the file
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {self.role}\n".encode(), 0)
            os.fsync(fd)
        except OSError as exc:  # full, or failing
            os.close(fd)
            raise StateUnusable(
                self.path.parent, f"cannot write {self.path.name}: {exc.strerror}"
            ) from None
        return fd

    def intact(self) -> bool:
        """Whether the lock file at the path is still the one this holder locked: not
        deleted or replaced (`rm -rf state/`, a clean-up script) since."""
        if self._fd is None:
            return False
        try:
            return os.stat(self.path).st_ino == os.fstat(self._fd).st_ino
        except FileNotFoundError:
            return False

    def retake(self) -> bool:
        """Lock the file at the path again after it was deleted or replaced: else the next
        run would lock a new file and work beside this holder. False when another process
        has locked the new one first; `StateUnusable` when it cannot be made again."""
        try:
            fd = self._take()
        except LockHeld:
            return False
        if self._fd is not None:
            os.close(self._fd)  # the old, unlinked file's lock goes with it
        self._fd = fd
        return True

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> tuple[int | None, str | None]:
    """The pid and role the holder wrote ("1234 daemon"; older versions wrote the pid alone)."""
    words = os.pread(fd, 64, 0).decode(errors="replace").split()
    pid = int(words[0]) if words and words[0].isdigit() else None
    return pid, words[1] if pid is not None and len(words) > 1 else None
