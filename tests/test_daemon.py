"""`syndicator daemon` as a real process: signals, reloads, the lock, JSON logs."""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from .conftest import REPO


class Daemon:
    """A daemon subprocess whose stderr lines the test can wait for."""

    def __init__(self, config: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "syndicator", "--config", str(config), "daemon", *args],
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not logged; saw:\n" + "\n".join(self.seen))

    def drain(self) -> list[str]:
        """The lines logged since the last wait, without waiting."""
        drained = []
        while not self.lines.empty():
            drained.append(self.lines.get())
        self.seen.extend(drained)
        return drained

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    shutil.copytree(REPO / "config", tmp_path / "config")
    yield tmp_path / "config" / "syndicator.toml"


def syndicator(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syndicator", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_daemon_publishes_reloads_on_sighup_and_stops_cleanly(config: Path) -> None:
    daemon = Daemon(config)
    try:
        daemon.wait_for("cycle done: 3 subscriber(s) rendered")
        output = config.parent.parent / "output"
        assert (output / "grace-church" / "rss.xml").is_file()

        blocked = syndicator(config, "run")  # cron beside the daemon: refused, not racing
        assert blocked.returncode == 3 and f"process {daemon.proc.pid}" in blocked.stderr

        good = config.read_text()
        config.write_text(good + "\n[site\n")  # broken main file
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for("config reload failed")
        daemon.wait_for("keeping the previous config")

        config.write_text(good)
        (config.parent / "subscribers" / "new-church.toml").write_text(
            'name = "New Church"\nsite_url = "https://new.example/"\n'
        )
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for("config reloaded: 1 source(s), 4 subscriber(s)")
        daemon.wait_for("cycle done: 1 subscriber(s) rendered")
        assert (output / "new-church" / "rss.xml").is_file()
    finally:
        code = daemon.stop()
    assert code == 0
    daemon.wait_for("daemon stopped")


def test_edited_subscriber_files_are_published_without_a_signal(config: Path) -> None:
    """The admin adds, edits and removes churches while the daemon runs: each change is
    published within the watch interval, and a `run` beside it says so."""
    daemon = Daemon(config, "--watch", "0.5")
    output = config.parent.parent / "output"
    subscribers = config.parent / "subscribers"
    try:
        daemon.wait_for("cycle done: 3 subscriber(s) rendered")
        blocked = syndicator(config, "run")
        assert blocked.returncode == 3
        assert f"the daemon (process {daemon.proc.pid}) is running and publishes" in blocked.stderr
        assert f"kill -HUP {daemon.proc.pid}" in blocked.stderr

        added = syndicator(
            config, "subscribers", "add", "new-church", "--name", "New Church",
            "--site", "https://new.example/",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        daemon.wait_for("config files changed: reloading")
        daemon.wait_for("cycle done: 1 subscriber(s) rendered")
        assert "New Church" in (output / "new-church" / "widget.html").read_text()

        file = subscribers / "grace-church.toml"
        with file.open("a") as handle:  # edited in place, as an editor may save it
            handle.write('footer = "Edited while the daemon runs."\n')
        daemon.wait_for("config files changed: reloading")
        daemon.wait_for("cycle done: 1 subscriber(s) rendered")
        assert (
            "Edited while the daemon runs." in (output / "grace-church" / "widget.html").read_text()
        )

        (subscribers / "new-church.toml").unlink()
        daemon.wait_for("config files changed: reloading")
        daemon.wait_for("cycle done: 0 subscriber(s) rendered")
        assert not (output / "new-church").exists()  # retired
    finally:
        assert daemon.stop() == 0


def test_deleting_the_lock_file_does_not_let_a_run_work_beside_the_daemon(config: Path) -> None:
    daemon = Daemon(config, "--watch", "0.3")
    try:
        daemon.wait_for("cycle done: 3 subscriber(s) rendered")
        lock = config.parent.parent / "state" / "syndicator.lock"
        lock.unlink()
        daemon.wait_for("was deleted or replaced: locked again")
        blocked = syndicator(config, "run")
        assert blocked.returncode == 3 and "the daemon" in blocked.stderr
    finally:
        assert daemon.stop() == 0


def test_sigterm_mid_cycle_finishes_the_publish_then_exits_0(config: Path) -> None:
    subscribers = config.parent / "subscribers"
    for n in range(150):  # enough work that the first cycle is still running when we signal
        (subscribers / f"church-{n:03d}.toml").write_text(
            f'name = "Church {n}"\nsite_url = "https://c{n}.example/"\nfooter = "Footer {n}"\n'
        )
    daemon = Daemon(config)
    daemon.wait_for("daemon started")
    time.sleep(0.5)
    assert daemon.stop() == 0
    daemon.wait_for("daemon stopped")
    assert any("received SIGTERM" in line for line in daemon.seen)
    assert any("cycle done: 153 subscriber(s) rendered" in line for line in daemon.seen), (
        daemon.seen
    )
    output = config.parent.parent / "output"
    for feed in output.glob("*/rss.xml"):
        etree.fromstring(feed.read_bytes())  # every file whole
    assert len(list(output.glob("*/rss.xml"))) == 153
    assert not list(output.rglob(".tmp-*"))
    status = json.loads(syndicator(config, "status", "--json").stdout)
    assert {row["state"] for row in status["subscribers"]} == {"ok"}


def test_json_logs(config: Path) -> None:
    daemon = Daemon(config, "--json-logs")
    try:
        line = daemon.wait_for("cycle done")
    finally:
        assert daemon.stop(signal.SIGINT) == 0
    entry = json.loads(line)
    assert entry["level"] == "info" and entry["logger"] == "syndicator.daemon"
    assert entry["message"].startswith("cycle done") and entry["time"].endswith("+00:00")


def test_invalid_config_at_start_exits_2(config: Path) -> None:
    config.write_text(config.read_text().replace("[site]", "[site]\nnmae = 1"))
    result = syndicator(config, "daemon")
    assert result.returncode == 2 and "nmae" in result.stderr


def test_files_nested_too_deep_never_stop_the_daemon(config: Path) -> None:
    """A subscriber file nested 500 deep is that subscriber's problem; a main file nested
    50,000 deep is refused and the last good config kept: the daemon runs on."""
    daemon = Daemon(config, "--watch", "0.3")
    try:
        daemon.wait_for("cycle done: 3 subscriber(s) rendered")
        deep = config.parent / "subscribers" / "deep.toml"
        deep.write_text('name = "Deep"\nx = ' + "[" * 500 + "]" * 500 + "\n")
        daemon.wait_for("config reloaded: 1 source(s), 3 subscriber(s)")
        line = daemon.wait_for("(subscriber skipped)")
        assert "deep.toml" in line and "nested more than 20 deep at line 2" in line

        good = config.read_text()
        config.write_text("x = " + "{a = " * 50_000 + "1" + "}" * 50_000 + "\n" + good)
        assert "nested more than 20 deep at line 1" in daemon.wait_for("config reload failed")
        daemon.wait_for("keeping the previous config")
        time.sleep(1)
        assert daemon.proc.poll() is None

        config.write_text(good)
        deep.unlink()
        daemon.wait_for("config reloaded: 1 source(s), 3 subscriber(s)")
    finally:
        assert daemon.stop() == 0


def test_outputs_are_published_again_once_a_file_in_their_way_is_removed(
    config: Path,
) -> None:
    """A cycle that failed because the output folder was a file must not make the daemon
    forget what belongs there: once the file is gone, the outputs come back within the
    watch interval (not at the next poll), and while the file stays it is not retried
    at every look."""
    daemon = Daemon(config, "--watch", "0.5")
    output = config.parent.parent / "output"
    try:
        daemon.wait_for("cycle done: 3 subscriber(s) rendered")
        published = sorted(str(path.relative_to(output)) for path in output.rglob("*"))
        shutil.rmtree(output)
        output.write_text("someone's file\n")
        daemon.wait_for("publishing them again")
        daemon.wait_for("cycle done: 0 subscriber(s) rendered")
        # A look between the rmtree and the write saw no folder, then one saw the file:
        # a second try may be under way. Once it is over, the file alone starts none.
        time.sleep(1.5)
        daemon.drain()
        time.sleep(2)  # four looks with the file still there
        assert not [line for line in daemon.drain() if "publishing them again" in line]
        output.unlink()
        daemon.wait_for("publishing them again")
        daemon.wait_for("cycle done: 3 subscriber(s) rendered")
        assert sorted(str(path.relative_to(output)) for path in output.rglob("*")) == published
    finally:
        assert daemon.stop() == 0


def test_a_deleted_output_folder_is_published_again_within_the_watch_interval(
    config: Path,
) -> None:
    daemon = Daemon(config, "--watch", "0.5")
    output = config.parent.parent / "output"
    try:
        daemon.wait_for("cycle done: 3 subscriber(s) rendered")
        published = sorted(str(path.relative_to(output)) for path in output.rglob("*"))
        widget = (output / "grace-church" / "widget.html").read_bytes()
        gone = output.with_name("output-gone")
        output.rename(gone)  # at once: a look amid an rmtree would see part of it gone
        shutil.rmtree(gone)
        line = daemon.wait_for("publishing them again")
        assert "5 output(s) gone" in line and "grace-church" in line and "index.html" in line
        daemon.wait_for("cycle done: 3 subscriber(s) rendered")
        assert sorted(str(path.relative_to(output)) for path in output.rglob("*")) == published
        assert (output / "grace-church" / "widget.html").read_bytes() == widget

        (output / "hope-ministries").rename(gone)
        shutil.rmtree(gone)
        assert "1 output(s) gone" in daemon.wait_for("publishing them again")
        daemon.wait_for("cycle done: 1 subscriber(s) rendered")
        assert (output / "hope-ministries" / "rss.xml").is_file()
    finally:
        assert daemon.stop() == 0
