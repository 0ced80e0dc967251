"""`syndicator daemon`: the same cycle as `run`, on a schedule, in one long-lived process.

APScheduler 3 runs one interval job per source (its own interval, with jitter), on a
single worker thread so two cycles never overlap; missed runs are coalesced into one and
run late rather than dropped. Signals only set flags; the main thread acts on them:
SIGHUP reloads the config (an invalid one is reported and the old one kept), and so does
an edit of the config files, noticed by `ConfigWatch` (the console's way too): within
`watch` seconds when the main file changes or a subscriber file is added, removed or
replaced (a new file renamed over it, as the CLI, the console and most editors save), and
within `RECHECK_LOOKS` looks (a minute by default) when one is rewritten in place.
SIGTERM and SIGINT let the cycle in progress finish its publish, then exit 0. The daemon
holds the run lock for its whole life, so a cron `run` beside it exits 3 instead of
racing it (and is told that the daemon publishes by itself). The web console's "Publish
now" asks it for a cycle with a file in `state_dir` (`request_cycle`), looked for every
0.2 s.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import stat
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from .config import Config
from .errors import DAEMON, ConfigErrors, StateUnusable, SyndicatorError
from .lock import RunLock
from .pipeline import run_once
from .publish.decide import outputs_left
from .publish.target import outputs_present
from .status import doubts, failures, named_few
from .watch import ConfigWatch

log = logging.getLogger("syndicator.daemon")

JITTER_SECONDS = 60
MISFIRE_GRACE_SECONDS = 3600  # a cycle missed by up to an hour (suspend, long run) still runs
WATCH_SECONDS = 10.0  # how often the config files are looked at for edits (0: never)
# Every subscriber file is stat'ed at every sixth look (a minute by default), for one
# rewritten in place; the looks between stat the main file and the folder only.
RECHECK_LOOKS = 6
# A file in state_dir that asks the running daemon for a cycle now (the console's "Publish
# now"): a file rather than a signal, since the console may not be allowed to signal the
# daemon, and a file left while no daemon runs is simply taken at its next start.
CYCLE_REQUEST = "cycle-requested"


@dataclass
class _State:
    """What the jobs read: the current config. Swapped whole on reload. And what the
    last cycle left in the output folder, for the main thread to look for."""

    config: Config
    outputs: frozenset[str] = frozenset()
    tried: object = None  # the output folder as it was when a restore was last started
    rng: random.Random = field(default_factory=random.Random)
    lock: threading.Lock = field(default_factory=threading.Lock)


_state: _State | None = None


def poll_job(source_ids: list[str]) -> None:
    """One scheduled cycle: poll these sources if due, then render and publish.
    (A module-level function, so APScheduler can reference it by name.)"""
    state = _state
    if state is None:
        raise RuntimeError("poll_job runs only inside the daemon")
    with state.lock:
        config = state.config
    try:
        report = run_once(config, datetime.now(UTC), only=set(source_ids), rng=state.rng)
    except SyndicatorError as exc:  # the database cannot be used: said, and tried next cycle
        log.error("cycle stopped: %s", exc)
        return
    with state.lock:
        state.outputs = outputs_left(report, state.outputs)
    for source in report.sources:
        level = logging.WARNING if source.failed else logging.INFO
        log.log(level, "%s: %s%s", source.source_id, source.outcome,
                f": {source.error}" if source.error else "")  # fmt: skip
        for doubt in doubts(source):
            log.warning("%s: %s", source.source_id, doubt)
    for problem in report.config_errors:
        log.warning("%s (subscriber skipped)", problem)
    failed, not_reached = failures(report.subscribers)
    for subscriber in failed:
        log.warning("subscriber %s: %s (last good outputs kept)",
                    subscriber.subscriber_id, subscriber.error)  # fmt: skip
    if not_reached:
        log.warning("%d subscriber(s) not reached after publishing stopped: %s "
                    "(last good outputs kept; the next cycle publishes them)",
                    len(not_reached), named_few(not_reached))  # fmt: skip
    rendered = sum(s.outcome == "published" for s in report.subscribers)
    log.info(
        "cycle done: %d subscriber(s) rendered, %d file(s) written, %d removed",
        rendered, report.publish.written, report.publish.removed,
    )  # fmt: skip
    if report.index_error:
        log.error("index.html and subscribers.opml: %s (last good ones kept)", report.index_error)
    if report.publish_error:
        log.error("publishing stopped: %s", report.publish_error)


def request_cycle(state_dir: Path) -> None:
    """Ask the daemon working on `state_dir` to run a cycle now (within a second)."""
    (state_dir / CYCLE_REQUEST).touch()


def _cycle_requested(state_dir: Path) -> bool:
    """Whether a cycle was asked for; the request is taken (removed) in asking."""
    try:
        os.unlink(state_dir / CYCLE_REQUEST)
    except FileNotFoundError:
        return False
    except OSError as exc:  # not ours to remove: said once per look, not acted on
        log.error("cannot take the cycle request in %s: %s", state_dir, exc.strerror)
        return False
    return True


def schedule_sources(scheduler: BackgroundScheduler, config: Config) -> None:
    """(Re)create one interval job per source, each starting now."""
    for job in scheduler.get_jobs():
        job.remove()
    now = datetime.now(UTC)
    for source in config.sources:
        scheduler.add_job(
            poll_job,
            "interval",
            args=[[source.id]],
            id=f"source:{source.id}",
            name=f"poll {source.id}",
            minutes=config.interval_minutes(source),
            jitter=JITTER_SECONDS,
            next_run_time=now,
        )


def run_daemon(config_path: Path, *, watch: float = WATCH_SECONDS) -> int:
    """Run until SIGTERM/SIGINT; return the exit code. Raises `ConfigErrors` at start-up
    when the config is invalid, and `LockHeld` when another run holds the lock. Every
    `watch` seconds (0: never) the config files are looked at (`ConfigWatch`: every
    subscriber file at every `RECHECK_LOOKS`th look), and reloaded if edited."""
    global _state
    files = ConfigWatch(config_path, recheck=watch * RECHECK_LOOKS)
    config = files.reload()
    stop = threading.Event()
    reload = threading.Event()

    def on_stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: finishing the cycle in progress", signal.Signals(signum).name)
        stop.set()

    def on_hup(signum: int, frame: FrameType | None) -> None:
        reload.set()

    with RunLock(config.site.state_dir, DAEMON) as lock:
        state = _state = _State(config)
        scheduler = _scheduler()
        schedule_sources(scheduler, config)
        previous = {
            sig: signal.signal(sig, handler)
            for sig, handler in (
                (signal.SIGTERM, on_stop),
                (signal.SIGINT, on_stop),
                (signal.SIGHUP, on_hup),
            )
        }
        scheduler.start()
        log.info("daemon started: %d source(s), %d subscriber(s)",
                 len(config.sources), len(config.subscribers))  # fmt: skip
        looked = time.monotonic()
        try:
            while not stop.wait(0.2):
                if _cycle_requested(state.config.site.state_dir):
                    log.info("a cycle was asked for (the console's Publish now): running it")
                    ids = [source.id for source in state.config.sources]
                    scheduler.add_job(poll_job, args=[ids], id="requested",
                                      name="requested cycle", replace_existing=True)  # fmt: skip
                if watch and time.monotonic() - looked >= watch:
                    looked = time.monotonic()
                    if not lock.intact():
                        _relock(lock)
                    _restore_missing(scheduler, state)
                    if files.changed():
                        log.info("config files changed: reloading")
                        reload.set()
                if reload.is_set():
                    reload.clear()
                    _reload(scheduler, files, state)
        finally:
            scheduler.shutdown(wait=True)  # the job in progress finishes its publish
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            _state = None
    log.info("daemon stopped")
    return 0


def _scheduler() -> BackgroundScheduler:
    """One cycle at a time: a missed poll runs once, late, not once per missed interval."""
    return BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
        timezone=UTC,
    )


def _restore_missing(scheduler: BackgroundScheduler, state: _State) -> None:
    """Publish again, at once, when an output the last cycle left is gone (the output
    folder deleted, a subscriber's folder removed by hand): one scandir, whatever the
    number of subscribers. The cycle polls no source; it re-renders what is missing.
    While the folder stays as it was when a restore was started (that cycle failed: a
    file in the way, no permission), it is not tried again each look; any change to it
    (the file removed) is."""
    with state.lock:
        output_dir = state.config.site.output_dir
        present = outputs_present(output_dir)
        missing = state.outputs - present
        if not missing:
            state.tried = None
            return
        seen = (_identity(output_dir), present)
        if seen == state.tried:
            return
        state.tried = seen
    log.warning("%d output(s) gone from %s: %s; publishing them again",
                len(missing), output_dir, named_few(sorted(missing)))  # fmt: skip
    scheduler.add_job(poll_job, args=[[]], id="restore", name="restore missing outputs",
                      replace_existing=True)  # fmt: skip


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What is at `path` (device, inode, type), not following a link; None when nothing is."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino, stat.S_IFMT(info.st_mode)


def _relock(lock: RunLock) -> None:
    """Lock the lock file again after it was deleted or replaced, saying how it went."""
    try:
        if lock.retake():
            log.warning("%s was deleted or replaced: locked again", lock.path)
        else:
            log.error("%s was deleted and another process has locked it since: two runs "
                      "may work at once", lock.path)  # fmt: skip
    except StateUnusable as exc:  # tried again at the next look
        log.error("%s was deleted or replaced and cannot be locked again: %s", lock.path, exc)


def _reload(scheduler: BackgroundScheduler, files: ConfigWatch, state: _State) -> None:
    try:
        config = files.reload()
    except ConfigErrors as exc:
        for error in exc.errors:
            log.error("config reload failed: %s", error)
        log.error("keeping the previous config")
        return
    except Exception:  # a bug must not stop the daemon: the old config still works
        log.exception("config reload failed unexpectedly; keeping the previous config")
        return
    with state.lock:
        state.config = config
    schedule_sources(scheduler, config)  # every source polled (if due) and all re-rendered
    log.info("config reloaded: %d source(s), %d subscriber(s)",
             len(config.sources), len(config.subscribers))  # fmt: skip


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
