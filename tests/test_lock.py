"""The run lock on a real file: who holds it, and what a killed holder left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syndicator.errors import DAEMON, LockHeld, StateUnusable
from syndicator.lock import LOCK_NAME, RunLock


def test_the_holder_records_its_pid_and_role_and_a_clean_exit_empties_the_file(
    tmp_path: Path,
) -> None:
    with RunLock(tmp_path, DAEMON) as lock:
        assert lock.stale_pid is None
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()} daemon\n"
    assert (tmp_path / LOCK_NAME).read_text() == ""


@pytest.mark.parametrize("left", ["4321\n", "4321 run\n", "4321 daemon\n"])
def test_a_killed_holders_pid_is_recognised_whatever_version_wrote_it(
    tmp_path: Path, left: str
) -> None:
    (tmp_path / LOCK_NAME).write_text(left)  # nobody holds the flock: the holder died
    with RunLock(tmp_path) as lock:
        assert lock.stale_pid == 4321


def test_a_held_lock_names_the_daemon_and_how_to_make_it_publish(tmp_path: Path) -> None:
    with RunLock(tmp_path, DAEMON), pytest.raises(LockHeld) as held:
        with RunLock(tmp_path):
            pass
    assert held.value.pid == os.getpid() and held.value.role == DAEMON
    assert "publishes by itself" in str(held.value) and f"kill -HUP {os.getpid()}" in str(
        held.value
    )
    with RunLock(tmp_path), pytest.raises(LockHeld) as held:
        with RunLock(tmp_path, DAEMON):
            pass
    assert "another run or the daemon); try later" in str(held.value)


def test_a_holder_whose_file_was_deleted_locks_it_again(tmp_path: Path) -> None:
    with RunLock(tmp_path, DAEMON) as lock:
        assert lock.intact()
        (tmp_path / LOCK_NAME).unlink()  # `rm -rf state/` while the daemon runs
        assert not lock.intact()
        assert lock.retake() and lock.intact()
        with pytest.raises(LockHeld), RunLock(tmp_path):  # a run beside it is refused again
            pass
        (tmp_path / LOCK_NAME).unlink()
        with RunLock(tmp_path):  # someone locked the new file first: it stays theirs
            assert not lock.retake()


def test_a_file_in_place_of_the_state_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("not a folder")
    with pytest.raises(StateUnusable, match="state: the state folder cannot be used: cannot"):
        RunLock(tmp_path / "state").__enter__()
