"""Read a file an admin keeps (config, subscriber file, template, local feed) without
trusting what is at its path.

A FIFO named like a config file blocks a read until someone writes to it (forever, in a
cron run holding the lock); a device never ends; a file may be any size. `read_regular`
opens without blocking, asks the opened file (not the path, which may change meanwhile)
whether it is a regular file, and reads at most `limit` bytes.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

CONFIG_BYTES = 1024 * 1024  # a config, subscriber or template file: real ones are a few KB

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def read_regular(path: Path | str, limit: int = CONFIG_BYTES) -> bytes:
    """The bytes of the regular file at `path` (a link is followed), if it holds at most
    `limit` of them. Raises `OSError` as `open` does, or with `strerror` saying what the
    path is instead (EINVAL: "not a regular file: a FIFO (named pipe)") or how large it
    is (EFBIG), so callers name the file and quote `strerror`."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket cannot be opened at all: say it is one
            _refuse_kind(path, os.stat(path).st_mode)
        raise
    try:
        info = os.fstat(fd)
        _refuse_kind(path, info.st_mode)
        if info.st_size > limit:
            _too_large(path, limit)
        chunks, size = [], 0
        while chunk := os.read(fd, limit + 1 - size):  # it may grow while read
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                _too_large(path, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _refuse_kind(path: Path | str, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a file")
    raise OSError(errno.EINVAL, f"not a regular file: {kind}", os.fspath(path))


def _too_large(path: Path | str, limit: int) -> None:
    raise OSError(errno.EFBIG, f"larger than the {limit:,}-byte limit", os.fspath(path))
