"""Noticing that the config's files changed, for the long-lived processes that keep a
loaded config: the daemon and the web console. One mechanism serves both.

Each look (`ConfigWatch.changed`) stats two things, the main file and the subscribers
folder (inode, size, mtime): a subscriber file added, removed, or saved by replacing
it (the CLI's and the console's own writes, and most editors') changes the folder, so
it is seen at the next look, whatever the number of subscribers. A file rewritten in
place changes only itself: every file is stat'ed once `recheck` seconds have passed
since the last full look, so such an edit is seen within `recheck` seconds (plus one
look). That full look costs one stat per subscriber file (some 50 ms at 10,000 files;
`bench watch`), too much for every console request or every daemon look. Two changes
to the folder within one tick of the file system's clock may likewise wait for the full
look.

`reload` stamps the files before reading them, so an edit made while they are read is
seen at the next look; a config that does not load raises `ConfigErrors`, and the last
good one stays `config` (the same files are not read again until they change).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from .config import SUBSCRIBERS_DIR, Config, load_config

Stamp = tuple[int, int, int] | None  # (inode, size, mtime in ns); None: nothing there


class ConfigWatch:
    """The config at `path`, and whether its files changed since it was last read.
    `clock` gives monotonic seconds (tests pass their own)."""

    def __init__(
        self, path: Path, *, recheck: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = Path(path).absolute()
        self.recheck = recheck
        self.config: Config | None = None  # the last config that loaded
        self._clock = clock
        self._folder = self.path.parent / SUBSCRIBERS_DIR
        self._quick: tuple[Stamp, Stamp] = (None, None)
        self._files: frozenset[tuple[str, Stamp]] = frozenset()
        self._checked = -math.inf

    def changed(self) -> bool:
        """Whether the files differ from when the config was last read (True before the
        first read): the main file and the folder at every call, every subscriber file
        once `recheck` seconds have passed since they were last all looked at."""
        if self.config is None or self._quick_stamp() != self._quick:
            return True
        now = self._clock()
        if now - self._checked < self.recheck:
            return False
        if self._file_stamps() != self._files:
            return True
        self._checked = now
        return False

    def reload(self) -> Config:
        """Read the config now and return it. Raises `ConfigErrors` when it does not load
        (the last good one stays `config`)."""
        self._quick, self._files = self._quick_stamp(), self._file_stamps()
        self._checked = self._clock()
        self.config = load_config(self.path)
        return self.config

    def _quick_stamp(self) -> tuple[Stamp, Stamp]:
        return _stamp(self.path), _stamp(self._folder)

    def _file_stamps(self) -> frozenset[tuple[str, Stamp]]:
        try:
            with os.scandir(self._folder) as scan:
                names = [entry.path for entry in scan if entry.name.endswith(".toml")]
        except OSError:
            names = []  # no folder: its absence is in the quick stamp
        return frozenset((name, _stamp(name)) for name in names)


def _stamp(path: Path | str) -> Stamp:
    try:
        info = os.stat(path)
    except OSError:
        return None  # removed meanwhile: its absence is the change
    return info.st_ino, info.st_size, info.st_mtime_ns
