"""`ConfigWatch`: what the daemon and the console both use to notice an edited config.
The clock is the test's: "recheck seconds have passed" is a number, not a wait."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syndicator.errors import ConfigErrors
from syndicator.watch import ConfigWatch

from .test_admin import GRACE, make

LONG_AGO = 1_000_000_000 * 10**9  # 2001, in ns: no edit made now can carry this mtime


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settled(*paths: Path) -> None:
    """Date `paths` long ago, as files last edited before the watch looked: an edit the
    test makes then changes their stamp, however coarse the file system's clock."""
    for path in paths:
        os.utime(path, ns=(LONG_AGO, LONG_AGO))


def slower(main: Path) -> None:
    """Poll every 45 minutes: the main file rewritten in place."""
    text = main.read_text()
    main.write_text(text.replace("[fetch]\n", "[fetch]\ninterval_minutes = 45\n"))


def watched(tmp_path: Path) -> tuple[ConfigWatch, Path, Clock]:
    config = make(tmp_path, {"grace": GRACE})
    folder = config.subscribers_dir
    settled(config.path, folder, *folder.iterdir())
    clock = Clock()
    watch = ConfigWatch(config.path, recheck=60, clock=clock)
    assert watch.changed()  # never read yet
    watch.reload()
    assert not watch.changed()
    return watch, folder, clock


def ids(watch: ConfigWatch) -> list[str]:
    assert watch.config is not None
    return [subscriber.id for subscriber in watch.config.subscribers]


def test_a_file_added_is_seen_at_the_next_look_without_waiting(tmp_path: Path) -> None:
    watch, folder, _ = watched(tmp_path)
    (folder / "hope.toml").write_text(GRACE)
    assert watch.changed()
    watch.reload()
    assert ids(watch) == ["grace", "hope"] and not watch.changed()


def test_a_file_removed_is_seen_at_the_next_look_without_waiting(tmp_path: Path) -> None:
    watch, folder, _ = watched(tmp_path)
    (folder / "grace.toml").unlink()
    assert watch.changed()
    watch.reload()
    assert ids(watch) == []


def test_a_file_replaced_is_seen_at_the_next_look_without_waiting(tmp_path: Path) -> None:
    watch, folder, _ = watched(tmp_path)
    fresh = folder / "grace.new"  # as the console and most editors save: renamed over it
    fresh.write_text(GRACE + "limit = 3\n")
    os.replace(fresh, folder / "grace.toml")
    assert watch.changed()
    assert watch.reload().subscribers[0].limit == 3


def test_an_edited_main_file_is_seen_at_the_next_look_without_waiting(tmp_path: Path) -> None:
    watch, _, _ = watched(tmp_path)
    slower(watch.path)  # in place: the main file is looked at every time
    assert watch.changed()
    assert watch.reload().fetch.interval_minutes == 45


def test_a_file_rewritten_in_place_is_seen_once_recheck_seconds_have_passed(
    tmp_path: Path,
) -> None:
    watch, folder, clock = watched(tmp_path)
    (folder / "grace.toml").write_text(GRACE + "limit = 4\n")  # in place: the folder is as it was
    clock.now += 59
    assert not watch.changed()
    clock.now += 1
    assert watch.changed()
    assert watch.reload().subscribers[0].limit == 4
    assert not watch.changed()


def test_a_full_look_that_finds_nothing_waits_recheck_seconds_for_the_next(
    tmp_path: Path,
) -> None:
    watch, folder, clock = watched(tmp_path)
    clock.now += 60
    assert not watch.changed()  # a full look: nothing
    (folder / "grace.toml").write_text(GRACE + "limit = 4\n")
    clock.now += 59
    assert not watch.changed()
    clock.now += 1
    assert watch.changed()


def test_a_config_that_stops_loading_keeps_the_last_good_one_until_it_is_fixed(
    tmp_path: Path,
) -> None:
    watch, _, _ = watched(tmp_path)
    good = watch.path.read_text()
    last_good = watch.config
    watch.path.write_text(good + "\n[site\n")
    assert watch.changed()
    with pytest.raises(ConfigErrors, match="syndicator.toml"):
        watch.reload()
    assert watch.config is last_good
    assert not watch.changed()  # the broken file is not read again until it changes

    watch.path.write_text(good)
    slower(watch.path)
    assert watch.changed()
    assert watch.reload().fetch.interval_minutes == 45
