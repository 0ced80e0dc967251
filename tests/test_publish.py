"""Publishing static files: atomic, only what changed, pruning, never outside the root."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syndicator.publish import (
    OWNER_MARK,
    OWNER_MARK_TEXT,
    TEMP_PREFIX,
    Publisher,
    PublishError,
    publish,
    resolve_inside,
    strangers,
)
from syndicator.publish import files as publish_module

from .conftest import REPO


def test_writes_only_what_changed(tmp_path: Path) -> None:
    files = {"a/rss.xml": b"<rss/>", "a/feed.json": b"{}", "index.html": b"<html></html>"}
    first = publish(tmp_path, files)
    assert (first.written, first.unchanged) == (3, 0)
    assert first.bytes_written == sum(map(len, files.values()))
    stamp = (tmp_path / "a" / "rss.xml").stat().st_mtime_ns
    second = publish(tmp_path, files)
    assert (second.written, second.unchanged) == (0, 3)
    assert (tmp_path / "a" / "rss.xml").stat().st_mtime_ns == stamp  # not even touched
    third = publish(tmp_path, {**files, "a/feed.json": b'{"x": 1}'})
    assert (third.written, third.unchanged) == (1, 2)
    assert (tmp_path / "a" / "feed.json").read_bytes() == b'{"x": 1}'


def test_files_are_world_readable_and_no_temp_files_remain(tmp_path: Path) -> None:
    publish(tmp_path, {"a/b/c.html": b"x"})
    assert (tmp_path / "a" / "b" / "c.html").stat().st_mode & 0o777 == 0o644
    assert not [p for p in tmp_path.rglob(f"{TEMP_PREFIX}*")]


def test_files_are_world_readable_under_a_strict_umask(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        publish(tmp_path, {"a/b/c.html": b"x", "index.html": b"y"})
    finally:
        os.umask(previous)
    assert (tmp_path / "a" / "b" / "c.html").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "index.html").stat().st_mode & 0o777 == 0o644
    # …and a web server running as another user can reach them: the folders we made too.
    for folder in (tmp_path / "a", tmp_path / "a" / "b"):
        assert folder.stat().st_mode & 0o777 == 0o755, folder


def test_an_output_folder_made_under_a_strict_umask_can_be_served(tmp_path: Path) -> None:
    root = tmp_path / "srv" / "out"
    previous = os.umask(0o077)
    try:
        publish(root, {"grace/rss.xml": b"x"})
    finally:
        os.umask(previous)
    for folder in (tmp_path / "srv", root, root / "grace"):
        assert folder.stat().st_mode & 0o777 == 0o755, folder


def test_a_temporary_name_already_taken_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leftover temporary file that happens to have the next name is neither reused
    nor published; the leftover goes when its folder is pruned."""
    taken = f"{TEMP_PREFIX}leftover-0"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / taken).write_bytes(b"half of an old write")
    names = iter([taken, f"{TEMP_PREFIX}leftover-1", f"{TEMP_PREFIX}leftover-2"])
    monkeypatch.setattr("syndicator.publish.files.temp_names", lambda: names)
    report = publish(tmp_path, {"a/rss.xml": b"<rss/>"}, managed=["a"])
    assert report.written == 2  # and the folder's OWNER_MARK
    assert (tmp_path / "a" / "rss.xml").read_bytes() == b"<rss/>"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [OWNER_MARK, "rss.xml"]


def test_leftover_temporary_files_beside_the_index_go_when_it_is_published(
    tmp_path: Path,
) -> None:
    """index.html and the OPML are in no managed folder: a run killed while writing them
    leaves its temporary files at the top, which the next top-level publish removes. The
    root may be a web site's: a file of its own with a like name stays."""
    publish(tmp_path, {"index.html": b"1", "grace/rss.xml": b"r"})
    (tmp_path / f"{TEMP_PREFIX}4242-0badcafe-0").write_bytes(b"half an index")
    (tmp_path / f"{TEMP_PREFIX}uploads-cache").write_bytes(b"the web site's")
    publish(tmp_path, {"grace/rss.xml": b"r2"}, managed=["grace"])
    assert (tmp_path / f"{TEMP_PREFIX}4242-0badcafe-0").exists()  # nothing top-level written
    publish(tmp_path, {"index.html": b"2"})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"{TEMP_PREFIX}uploads-cache", "grace", "index.html"]
    assert (tmp_path / "index.html").read_bytes() == b"2"


def test_a_retired_folder_goes_entirely_with_its_subfolders(tmp_path: Path) -> None:
    publish(tmp_path, {"old/rss.xml": b"1", "old/articles/a.html": b"2", "old/page/1.html": b"3"})
    report = publish(tmp_path, {}, managed=["old"])
    assert report.removed == 3
    assert not (tmp_path / "old").exists()


def test_pruning_removes_a_symlink_but_never_what_it_points_to(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_bytes(b"keep me")
    root = tmp_path / "out"
    publish(root, {"grace/rss.xml": b"1"})
    (root / "grace" / "linked").symlink_to(outside, target_is_directory=True)
    report = publish(root, {"grace/rss.xml": b"1"}, managed=["grace"])
    assert report.removed == 1
    assert not (root / "grace" / "linked").is_symlink()
    assert (outside / "precious.txt").read_bytes() == b"keep me"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the output root, holding something precious."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "precious.txt").write_bytes(b"keep me")
    return folder


def _untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    assert (outside / "precious.txt").read_bytes() == b"keep me"


def test_a_folder_that_leads_outside_the_root_is_refused_before_writing(
    tmp_path: Path, outside: Path
) -> None:
    """A symbolic link inside the output folder (a subscriber's articles/ pointing
    elsewhere) is not followed: nothing is written or created there, the error names it."""
    root = tmp_path / "out"
    publish(root, {"grace/rss.xml": b"1"})
    (root / "grace" / "articles").symlink_to(outside, target_is_directory=True)
    for files in ({"grace/articles/a.html": b"2"}, {"grace/articles/new/b.html": b"3"}):
        with pytest.raises(PublishError, match=r"grace/articles.*outside the output folder"):
            publish(root, {"grace/rss.xml": b"1", **files}, managed=["grace"])
        _untouched(outside)
    assert not [p for p in root.rglob(f"{TEMP_PREFIX}*")]


def test_a_managed_folder_that_is_a_link_is_never_pruned_through(
    tmp_path: Path, outside: Path
) -> None:
    """Retiring a subscriber whose folder was replaced by a link removes nothing it leads to."""
    root = tmp_path / "out"
    publish(root, {"index.html": b"i"})
    (root / "gone").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PublishError, match="symbolic link"):
        publish(root, {}, managed=["gone"])
    _untouched(outside)


def test_a_failed_publish_leaves_no_temporary_files(tmp_path: Path) -> None:
    (tmp_path / "grace").mkdir()
    (tmp_path / "grace" / "articles").write_bytes(b"a file where a folder should be")
    files = {"grace/a.html": b"1", "grace/articles/x.html": b"2", "grace/b.html": b"3"}
    with pytest.raises(PublishError, match=r"grace/articles/x.html: cannot write"):
        publish(tmp_path, files)
    assert not [p for p in tmp_path.rglob(f"{TEMP_PREFIX}*")]
    assert not (tmp_path / "grace" / "a.html").exists()  # nothing of the batch went live


def test_staging_is_all_or_nothing_per_call_and_a_refused_folder_spares_the_others(
    tmp_path: Path, outside: Path
) -> None:
    """One subscriber's folder in the way costs that subscriber only: what it staged is
    dropped, what others staged is published, and a folder that cannot be pruned is
    reported by `commit` instead of stopping the other folders' pruning."""
    root = tmp_path / "out"
    publish(root, {"a/old.html": b"o", "c/old.html": b"o"})
    (root / "b").mkdir()
    (root / "b" / "articles").write_bytes(b"a file where a folder should be")
    (root / "d").symlink_to(outside, target_is_directory=True)
    publisher = Publisher(root)
    assert publisher.stage({"a/rss.xml": b"A"}, managed=["a"]) == 2  # with OWNER_MARK
    with pytest.raises(PublishError, match=r"b/articles/x.html: cannot write") as caught:
        publisher.stage({"b/a.html": b"1", "b/articles/x.html": b"2"}, managed=["b"])
    assert caught.value.errno == errno.ENOTDIR and not caught.value.disk_wide
    assert {p.parent.name for p in root.rglob(f"{TEMP_PREFIX}*")} == {"a"}  # b's dropped
    publisher.stage({}, managed=["d"])  # retiring a folder replaced by a link
    publisher.stage({"c/rss.xml": b"C"}, managed=["c"])
    refused = publisher.commit()
    assert list(refused) == ["d"] and "symbolic link" in str(refused["d"])
    assert (root / "a" / "rss.xml").read_bytes() == b"A"
    assert (root / "c" / "rss.xml").read_bytes() == b"C"
    assert not (root / "a" / "old.html").exists()  # pruned after "b" failed
    assert not (root / "c" / "old.html").exists()  # and after "d" was refused
    assert not (root / "b" / "a.html").exists()
    assert publisher.report.written == 4
    assert not [p for p in root.rglob(f"{TEMP_PREFIX}*")]
    _untouched(outside)


def test_a_folder_made_by_one_batch_is_compared_again_in_the_next(tmp_path: Path) -> None:
    """A new folder's files are written without comparing (nothing is there yet); once
    committed, the same publisher compares them again, so equal bytes are not rewritten."""
    publisher = Publisher(tmp_path)
    files = {"grace/rss.xml": b"1", "grace/articles/a.html": b"2"}
    assert publisher.stage(files, managed=["grace"]) == 3  # with OWNER_MARK
    publisher.commit()
    assert publisher.stage(files, managed=["grace"]) == 0
    assert publisher.stage({**files, "grace/articles/b.html": b"3"}, managed=["grace"]) == 1
    publisher.commit()
    assert publisher.report.written == 4 and publisher.report.unchanged == 6


def test_only_files_put_in_place_count_as_written(tmp_path: Path) -> None:
    """Files staged, then dropped (the database refused before the batch was committed),
    were never published: a report saying "23 file(s) written" would be false."""
    publisher = Publisher(tmp_path)
    publisher.stage({"grace/rss.xml": b"1", "grace/feed.json": b"22"}, managed=["grace"])
    assert publisher.report.written == 0  # staged only
    publisher.discard()
    assert publisher.report.written == 0 and publisher.report.bytes_written == 0
    publisher.stage({"grace/rss.xml": b"1"}, managed=["grace"])
    publisher.commit()
    assert publisher.report.written == 2  # with OWNER_MARK
    assert publisher.report.bytes_written == 1 + len(OWNER_MARK_TEXT)


def test_a_full_disk_is_told_apart_from_one_path_in_the_way(tmp_path: Path) -> None:
    full = PublishError("x: cannot write: No space left on device", errno=errno.ENOSPC)
    assert full.disk_wide
    assert not PublishError("x: refusing to publish outside the output folder").disk_wide


@pytest.mark.skipif(publish_module._SYNCFS is None, reason="syncfs(2) is Linux only")
def test_a_batch_syncs_its_own_file_system_not_every_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.sync would flush every disk of the machine (and report no error): not used."""

    def refuse() -> None:
        raise AssertionError("os.sync called")

    monkeypatch.setattr(os, "sync", refuse)
    publish(tmp_path, {"grace/rss.xml": b"1"})
    assert (tmp_path / "grace" / "rss.xml").read_bytes() == b"1"


def test_a_failed_write_back_publishes_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fails while the batch is flushed: no target is replaced, no temporary
    file stays, and the error is the disk's (so publishing stops)."""
    publish(tmp_path, {"grace/rss.xml": b"old", "grace/atom.xml": b"old"})

    def failing(fd: int) -> int:
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(publish_module, "_SYNCFS", failing)
    with pytest.raises(
        PublishError, match="grace: cannot write to disk: Input/output error"
    ) as caught:
        publish(tmp_path, {"grace/rss.xml": b"new", "grace/atom.xml": b"new"})
    assert caught.value.disk_wide
    assert (tmp_path / "grace" / "rss.xml").read_bytes() == b"old"
    assert (tmp_path / "grace" / "atom.xml").read_bytes() == b"old"
    assert not [p for p in tmp_path.rglob(f"{TEMP_PREFIX}*")]


def test_prunes_stale_files_only_in_managed_folders(tmp_path: Path) -> None:
    publish(tmp_path, {"grace/rss.xml": b"1", "grace/articles/old.html": b"2", "keep.txt": b"3"})
    (tmp_path / "grace" / "articles" / f"{TEMP_PREFIX}crashed").write_bytes(b"half")
    report = publish(tmp_path, {"grace/rss.xml": b"1"}, managed=["grace"])
    assert report.removed == 1
    assert not (tmp_path / "grace" / "articles").exists()  # emptied folders go too
    assert (tmp_path / "keep.txt").read_bytes() == b"3"  # outside managed folders: untouched
    assert (tmp_path / "grace" / "rss.xml").exists()


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../b", "a//b", "", ".", "a/./b"])
def test_refuses_paths_outside_the_root(tmp_path: Path, bad: str) -> None:
    with pytest.raises(PublishError, match="outside the output folder"):
        resolve_inside(tmp_path, bad)
    with pytest.raises(PublishError):
        publish(tmp_path, {bad: b"x"})


WRITER = """
import sys
from pathlib import Path
from syndicator.publish import publish
root = Path(sys.argv[1])
versions = [{f"s{n}/page.html": (c * (20000 + n)).encode() for n in range(40)} for c in "AB"]
i = 0
while True:
    publish(root, versions[i % 2])
    i += 1
"""


def test_a_publish_killed_at_any_instant_leaves_whole_files(tmp_path: Path) -> None:
    """SIGKILL a publishing process at many random points: every file is old or new."""
    rng = random.Random(1234)
    complete = {f"s{n}/page.html": {(c * (20000 + n)).encode() for c in "AB"} for n in range(40)}
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    kills = 0
    for _ in range(25):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], env=env)
        time.sleep(0.25 + rng.random() * 0.4)  # past start-up, somewhere mid-write
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += proc.returncode == -signal.SIGKILL
        for relative, allowed in complete.items():
            path = tmp_path / relative
            if path.exists():
                assert path.read_bytes() in allowed, f"{relative} is torn"
    assert kills == 25
    assert len(list(tmp_path.glob("s*/page.html"))) == 40  # it got far enough to matter


def test_a_folder_is_taken_over_only_when_marked_empty_or_holding_leftovers(
    tmp_path: Path, outside: Path
) -> None:
    """`strangers`: what stops a first publish into a folder. Files of any name count
    (an `rss.xml` may be someone's podcast), and so do links and temporary-looking names
    other than the publisher's own; OWNER_MARK, written into every folder published,
    makes a folder Syndicator's to take over."""
    folder = tmp_path / "grace"
    assert strangers(folder) == []  # no folder yet
    (folder / "articles" / "empty").mkdir(parents=True)
    (folder / f"{TEMP_PREFIX}4242-0badcafe-7").write_bytes(b"half")  # a killed publish's
    assert strangers(folder) == []
    (folder / "rss.xml").write_bytes(b"<rss>podcast</rss>")
    (folder / f"{TEMP_PREFIX}notes.txt").write_bytes(b"x")
    (folder / "articles" / "a.html").symlink_to(outside / "precious.txt")
    assert strangers(folder) == [f"{TEMP_PREFIX}notes.txt", "articles/a.html", "rss.xml"]
    assert strangers(folder, most=1) == [f"{TEMP_PREFIX}notes.txt"]
    (folder / OWNER_MARK).write_bytes(OWNER_MARK_TEXT)
    assert strangers(folder) == []
    (tmp_path / "a-file").write_bytes(b"x")  # staging reports a file in the way
    assert strangers(tmp_path / "a-file") == []
    _untouched(outside)


def test_every_folder_published_into_is_marked_and_a_retired_one_goes_whole(
    tmp_path: Path,
) -> None:
    publish(tmp_path, {"grace/rss.xml": b"1"}, managed=["grace"])
    assert (tmp_path / "grace" / OWNER_MARK).read_bytes() == OWNER_MARK_TEXT
    publish(tmp_path, {"grace/atom.xml": b"2"}, managed=["grace"])  # the mark is kept
    assert sorted(p.name for p in (tmp_path / "grace").iterdir()) == [OWNER_MARK, "atom.xml"]
    publish(tmp_path, {}, managed=["grace"])
    assert not (tmp_path / "grace").exists()


# --- someone else who can write into the output folder --------------------------------

_LIBC = ctypes.CDLL(None, use_errno=True)
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _swap_forever(folder: str, victim: str) -> None:
    """Keep exchanging `folder`/x (a plain folder, stale: pruned) with `folder`/y (a link
    to `victim`), so that a prune finds a folder and then enters the link."""
    while True:
        with contextlib.suppress(OSError):  # the prune removes x under our feet
            os.makedirs(f"{folder}/x", exist_ok=True)
            for number in range(20):
                with open(f"{folder}/x/f{number}", "w"):
                    pass
        with contextlib.suppress(OSError):
            if not os.path.lexists(f"{folder}/y"):
                os.symlink(victim, f"{folder}/y")
        for _ in range(2000):
            _LIBC.renameat2(
                _AT_FDCWD, f"{folder}/x".encode(), _AT_FDCWD, f"{folder}/y".encode(),
                _RENAME_EXCHANGE,
            )  # fmt: skip


@pytest.mark.skipif(not hasattr(_LIBC, "renameat2"), reason="renameat2(2) is Linux only")
def test_a_folder_swapped_for_a_link_while_pruning_never_leads_outside(tmp_path: Path) -> None:
    """Whoever else can write into a subscriber's folder swaps a stale sub-folder for a
    link to the Syndicator user's own files while a publish prunes, again and again.
    Pruning goes folder by folder through open handles, so it never follows the link.
    (Going by path, the first publishes deleted the files it leads to.)"""
    import multiprocessing

    root, victim = tmp_path / "output", tmp_path / "state"
    victim.mkdir()
    files = {"grace/rss.xml": b"<rss/>", "grace/feed.json": b"{}"}
    publish(root, files, managed=["grace"])
    attacker = multiprocessing.get_context("fork").Process(
        target=_swap_forever, args=(str(root / "grace"), str(victim)), daemon=True
    )
    attacker.start()
    try:
        deadline = time.monotonic() + 6
        publishes = 0
        while time.monotonic() < deadline:
            for number in range(20):
                (victim / f"precious-{number}.txt").write_text("keep me")
            with contextlib.suppress(PublishError):  # a folder gone mid-prune: said, not lost
                publish(root, files, managed=["grace"])
            publishes += 1
            assert len(list(victim.iterdir())) == 20, f"deleted outside, publish {publishes}"
    finally:
        attacker.kill()
        attacker.join()
    assert publishes >= 20
    assert (root / "grace" / "rss.xml").read_bytes() == b"<rss/>"
