"""`status`: typed rows read from a real state database, and how a bad one is raised."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from syndicator.config import load_config
from syndicator.errors import StoreError
from syndicator.pipeline import run_once
from syndicator.status import SourceStatus, SubscriberStatus, read_status

from .conftest import NOW, REPO


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    """A copy of the bundled default config (so the test writes into tmp, not the repo)."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path / "config" / "syndicator.toml"


def test_status_after_a_run_is_typed_rows_with_times_as_datetimes(bundled: Path) -> None:
    config = load_config(bundled)
    assert run_once(config, NOW).ok
    status = read_status(config)
    (source,) = status.sources
    assert isinstance(source, SourceStatus)
    assert (source.id, source.state, source.articles) == ("worthynews", "ok", 15)
    assert source.last_success == NOW and source.polled
    assert all(isinstance(row, SubscriberStatus) for row in status.subscribers)
    grace = next(row for row in status.subscribers if row.id == "grace-church")
    assert (grace.state, grace.published_at, grace.items) == ("ok", NOW, 12)
    assert status.categories and status.categories["Christian News"] > 0


def test_status_before_any_run_says_never_polled_due_now_and_creates_nothing(
    bundled: Path,
) -> None:
    status = read_status(load_config(bundled))
    (source,) = status.sources
    assert source.state == "never polled" and not source.polled
    assert status.to_json()["sources"][0]["next_due"] == "now"  # type: ignore[index]
    assert {row.state for row in status.subscribers} == {"never published"}
    assert not (bundled.parent.parent / "state").exists()


def test_a_damaged_database_raises_a_store_error_naming_it_rather_than_exiting(
    bundled: Path,
) -> None:
    config = load_config(bundled)
    assert run_once(config, NOW).ok
    with config.database_path.open("r+b") as handle:  # a disk error: pages overwritten
        handle.seek(config.database_path.stat().st_size // 2)
        handle.write(bytes(range(256)) * 32)
    with pytest.raises(StoreError, match=f"{config.database_path}: the state database"):
        read_status(config)
