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

from .errors import SyndicatorError

LOCK_NAME = "syndicator.lock"


class LockHeld(SyndicatorError):
    """Another run, or the daemon, is working on the same state."""

    def __init__(self, path: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid else "another process"
        super().__init__(f"{path}: {holder} is running (another run or the daemon); try later")
        self.path = path
        self.pid = pid


class RunLock:
    """`with RunLock(state_dir) as lock:` — raises `LockHeld` when it is taken.

    `lock.stale_pid` is the pid a killed holder left behind, if any.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self.stale_pid: int | None = None
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise LockHeld(self.path, pid) from None
        self.stale_pid = _read_pid(fd)  # a clean exit empties the file
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

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


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
