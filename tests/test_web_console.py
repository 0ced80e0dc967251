"""The console's loaded config: read again when a file changes, without stat'ing every
subscriber file on every request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syndicator.errors import ConfigErrors
from syndicator.web.console import ConfigCache

from .test_admin import GRACE, make


def replace(path: Path, text: str) -> None:
    """Write `path` as the console and most editors do: a new file renamed over it."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text)
    os.replace(fresh, path)


def test_a_file_added_removed_or_replaced_is_seen_by_the_next_request(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": GRACE})
    cache = ConfigCache(config.path, recheck=3600)
    first = cache.get()
    assert cache.get() is first  # nothing changed: the same config

    (config.subscribers_dir / "hope.toml").write_text(GRACE)
    added = cache.get()
    assert [s.id for s in added.subscribers] == ["grace", "hope"]

    replace(config.subscribers_dir / "grace.toml", GRACE + "limit = 3\n")
    assert cache.get().subscribers[0].limit == 3

    (config.subscribers_dir / "hope.toml").unlink()
    assert [s.id for s in cache.get().subscribers] == ["grace"]


def test_a_file_rewritten_in_place_is_seen_once_recheck_seconds_have_passed(
    tmp_path: Path,
) -> None:
    config = make(tmp_path, {"grace": GRACE})
    now = [0.0]
    cache = ConfigCache(config.path, recheck=2, clock=lambda: now[0])
    cache.get()

    (config.subscribers_dir / "grace.toml").write_text(GRACE + "limit = 4\n")  # in place
    now[0] = 1.9
    assert cache.get().subscribers[0].limit == 10  # the folder did not change
    now[0] = 2.0
    assert cache.get().subscribers[0].limit == 4


def test_a_main_file_that_stops_loading_is_said_on_every_request_until_fixed(
    tmp_path: Path,
) -> None:
    config = make(tmp_path, {"grace": GRACE})
    cache = ConfigCache(config.path, recheck=3600)
    cache.get()
    good = config.path.read_text()
    config.path.write_text(good + "\n[site\n")
    for _ in range(2):
        with pytest.raises(ConfigErrors, match="invalid TOML"):
            cache.get()
    config.path.write_text(good)
    assert [s.id for s in cache.get().subscribers] == ["grace"]
