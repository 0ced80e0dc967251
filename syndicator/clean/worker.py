"""Cleaning within a budget: each article is cleaned in a child process that may take so
much time and so much memory; an article that needs more is refused by id, the child is
replaced, and the others are cleaned.

Cleaning is linear in an article's size (see `clean.sanitize`, `normalise._shape`); this is
the backstop for any shape that is not yet known, so that no article can hold a run (and
its lock) for long, or take the machine's memory.
"""

from __future__ import annotations

import atexit
import os
import resource
import signal
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CleanError
from ..models import Article, Entry
from .normalise import clean_entry

if TYPE_CHECKING:
    from ..config import CleanSettings

# A long real article cleans in ~20 ms and a few MB; the worst shape known (a run of "&")
# in about 3 s and 40 MB per MB (`bench.py clean`), and a feed is at most 10 MiB. The
# systemd units' MemoryMax=1G holds the run and this child together.
CLEAN_SECONDS = 30.0
CLEAN_MEGABYTES = 512  # on top of what the child uses before it reads any article
START_SECONDS = 120.0  # a child's start (its imports) is its own, not an article's


@dataclass(frozen=True, slots=True)
class Budget:
    """What cleaning one article may take: wall-clock seconds, megabytes of memory."""

    seconds: float = CLEAN_SECONDS
    megabytes: int = CLEAN_MEGABYTES


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an article was not cleaned; `details` is the child's traceback of a bug."""

    reason: str
    details: str | None = None


class CleaningWorker:
    """Cleans entries one at a time in a child process held to `budget`.

    The child (`python -m syndicator.clean.worker`: it imports the clean stage only) is
    started on first use and kept for the next article and the next run; one that runs
    out of time or memory is killed, and the next article gets a new one. `shared` gives
    the process's one worker for a budget.
    """

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget()
        self._child: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._receive: Connection | None = None
        self._lock = threading.Lock()  # one article at a time, whoever asks

    def clean(self, entry: Entry, settings: CleanSettings) -> Article | Refusal:
        """`clean_entry(entry, settings)` within the budget, or why it was refused."""
        with self._lock:
            send, receive = self._ready()
            try:
                send.send((entry, settings))
                done = receive.poll(self.budget.seconds)
                answer = receive.recv() if done else None
            except (EOFError, OSError):
                return Refusal(self._ended())
            if answer is None or answer[0] == "memory":
                self.close()  # what it was doing may be half done: the next gets a new one
            if answer is None:
                return Refusal(
                    f"took longer than the {self.budget.seconds:g} s an article may take: "
                    "not cleaned, so not published"
                )
        kind, value, details = answer
        if kind == "cleaned" and isinstance(value, Article):
            return value
        if kind == "memory":
            return Refusal(
                f"needed more than the {self.budget.megabytes:,} MB an article may take: "
                "not cleaned, so not published"
            )
        return Refusal(str(value), details)

    def close(self) -> None:
        """Stop the child, if there is one (a later `clean` starts another)."""
        for end in (self._send, self._receive):
            if end is not None:
                end.close()
        if self._child is not None:
            self._child.kill()
            self._child.wait()
        self._child = self._send = self._receive = None

    def _ready(self) -> tuple[Connection, Connection]:
        if self._send is not None and self._receive is not None:
            return self._send, self._receive
        theirs_in, ours_out = os.pipe()
        ours_in, theirs_out = os.pipe()
        package = str(Path(__file__).resolve().parents[2])  # found wherever we run from
        path = os.pathsep.join(filter(None, [package, os.environ.get("PYTHONPATH")]))
        self._child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", __name__, str(theirs_in), str(theirs_out)],
            pass_fds=(theirs_in, theirs_out),
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": path, _MEGABYTES: str(self.budget.megabytes)},
        )
        os.close(theirs_in)
        os.close(theirs_out)
        self._send = Connection(ours_out, readable=False)
        self._receive = Connection(ours_in, writable=False)
        try:
            started = self._receive.poll(START_SECONDS) and self._receive.recv() == _READY
        except (EOFError, OSError):
            started = False
        if not started:
            self.close()
            raise CleanError(f"the cleaning process did not start in {START_SECONDS:g} s")
        return self._send, self._receive

    def _ended(self) -> str:
        child = self._child
        self.close()
        code = child.returncode if child is not None else None
        how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit {code}"
        return (
            f"its cleaning process ended ({how}), most likely for want of memory (an "
            f"article may take {self.budget.megabytes:,} MB): not cleaned, so not published"
        )


_shared: dict[Budget, CleaningWorker] = {}


def shared(budget: Budget) -> CleaningWorker:
    """The process's worker for `budget`: its child outlives a run, so a daemon or a test
    session starts it once. Stopped when the process exits."""
    if not _shared:
        atexit.register(_close_shared)
    return _shared.setdefault(budget, CleaningWorker(budget))


def _close_shared() -> None:
    for worker in _shared.values():
        worker.close()


_READY = "ready"
_MEGABYTES = "SYNDICATOR_CLEAN_MEGABYTES"


def _serve(receive: Connection, send: Connection) -> None:
    """The child: clean each entry it is sent and answer (kind, value, details), until
    its pipe closes or it runs out of memory."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    _limit_memory(int(os.environ[_MEGABYTES]))
    send.send(_READY)
    while True:
        try:
            entry, settings = receive.recv()
        except EOFError:
            return
        try:
            answer: tuple[str, object, str | None] = ("cleaned", clean_entry(entry, settings), None)
        except CleanError as exc:
            answer = ("refused", str(exc), None)
        except MemoryError:
            answer = ("memory", None, None)
        except Exception as exc:  # a bug: said with its traceback, the others carry on
            answer = ("failed", repr(exc), traceback.format_exc())
        del entry, settings
        send.send(answer)
        if answer[0] == "memory":
            return  # the parent starts another


def _limit_memory(megabytes: int) -> None:
    """Cap the child's address space at what it maps now plus `megabytes`."""
    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):  # not Linux: address space alone
        mapped = 0
    limit = mapped + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


if __name__ == "__main__":
    _serve(
        Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False)
    )
