"""`publish.decide`: the publish's pure decisions, each on plain values (no disk is
written, no store opened; one config folder is read where a decision takes a `Config`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from syndicator.config import Config, SubscriberConfig, load_config
from syndicator.models import RenderRecord, RunReport, SubscriberReport
from syndicator.publish import decide

from .conftest import NOW, write_config


def record(
    subscriber_id: str = "grace",
    fingerprint: str | None = "abc",
    *,
    settled: bool = True,
    items: int | None = 3,
) -> RenderRecord:
    return RenderRecord(
        subscriber_id, fingerprint, NOW, files=9, last_error=None, failed_at=None,
        settled=settled, items=items,
    )  # fmt: skip


def subscriber(subscriber_id: str) -> SubscriberConfig:
    return SubscriberConfig(
        id=subscriber_id, name=subscriber_id.title(), site_url="https://e.example/"
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """Two subscribers with a file, and `broken` whose file does not load."""
    return load_config(
        write_config(
            tmp_path,
            "file:feed.xml",
            subscribers={
                "grace": 'name = "Grace"\nsite_url = "https://g.example/"',
                "lake": 'name = "Lake"\nsite_url = "https://l.example/"',
                "broken": 'name = "Broken"\nsite_url = "not a url"',
            },
        )
    )


def test_a_subscriber_published_from_the_same_inputs_is_up_to_date() -> None:
    assert decide.up_to_date(record(), "abc", on_target=True, force=False)


@pytest.mark.parametrize(
    ("known", "fingerprint", "on_target", "force"),
    [
        (record(), "changed", True, False),  # its inputs changed
        (record(), "abc", False, False),  # its folder was deleted by hand
        (record(), "abc", True, True),  # forced
        (record(settled=False), "abc", True, False),  # its files may be ahead of the ledger
        (record(items=None), "abc", True, False),  # published before items were kept
        (None, "abc", True, False),  # never published
    ],
)
def test_a_subscriber_is_rendered_again_when_anything_it_depends_on_may_differ(
    known: RenderRecord | None, fingerprint: str, on_target: bool, force: bool
) -> None:
    assert not decide.up_to_date(known, fingerprint, on_target=on_target, force=force)


def test_recorded_page_tokens_are_trusted_only_for_a_settled_earlier_publish() -> None:
    assert decide.pages_trusted(record(), first=False, force=False)
    assert not decide.pages_trusted(record(), first=True, force=False)
    assert not decide.pages_trusted(record(), first=False, force=True)
    assert not decide.pages_trusted(record(settled=False), first=False, force=False)
    assert not decide.pages_trusted(None, first=False, force=False)


def test_only_pages_rendered_from_the_same_token_as_last_time_are_left_alone() -> None:
    tokens = {"a": "1", "b": "2", "c": "3"}
    assert decide.same_pages(tokens, {"a": "1", "b": "changed", "gone": "9"}) == ["a"]


def test_pages_left_by_a_lost_database_are_kept_as_out_of_the_lists_from_now() -> None:
    assert decide.adopted_pages(["a", "b"], NOW) == {"a": NOW, "b": NOW}


def test_an_output_over_the_size_limit_is_named_with_its_size() -> None:
    fine = {"grace/rss.xml": b"x" * 10}
    assert decide.oversized(fine) is None
    huge = {**fine, "grace/widget.html": b"x" * (decide.MAX_FILE_BYTES + 1)}
    found = decide.oversized(huge)
    assert found is not None and found.startswith("grace/widget.html: ")
    assert f"{decide.MAX_FILE_BYTES + 1:,} bytes" in found


def test_article_pages_come_before_the_lists_that_link_to_them() -> None:
    files = {
        "grace/rss.xml": b"1",
        "grace/articles/a.html": b"2",
        "grace/page/1.html": b"3",
        "grace/articles/b.html": b"4",
        "grace/page/articles/c.html": b"5",  # not an article page: deeper
    }
    ordered = decide.leaves_first(files, "grace")
    assert list(ordered) == [
        "grace/articles/a.html",
        "grace/articles/b.html",
        "grace/rss.xml",
        "grace/page/1.html",
        "grace/page/articles/c.html",
    ]
    assert ordered == files  # nothing lost or changed


def test_a_broken_subscriber_file_keeps_its_subscriber_and_a_deleted_one_retires_it(
    config: Config,
) -> None:
    assert decide.with_files(config) == {"grace", "lake", "broken"}
    records = {i: record(i) for i in ("grace", "broken", "gone", "never")}
    records["never"] = record("never", None)  # failed before any publish
    assert decide.retired_subscribers(config, records) == ["gone", "never"]
    assert decide.published(records, "gone")
    assert not decide.published(records, "never")
    assert not decide.published(records, "unknown")


def test_subscribers_published_before_and_not_just_now_are_the_ones_to_mark_again(
    config: Config,
) -> None:
    records = {i: record(i) for i in ("grace", "lake", "broken", "gone")}
    reports = {
        "grace": SubscriberReport("grace", "published"),
        "lake": SubscriberReport("lake", "unchanged"),
    }
    assert decide.published_before(config, records, reports) == ["broken", "lake"]


def test_the_index_lists_broken_subscribers_by_id_among_the_configured() -> None:
    configured = [subscriber("lake"), subscriber("grace")]
    assert decide.index_candidates(configured, []) == configured  # config order kept
    both = decide.index_candidates(configured, [subscriber("hope")])
    assert [s.id for s in both] == ["grace", "hope", "lake"]


def test_the_index_lists_only_subscribers_with_outputs() -> None:
    candidates = [subscriber(i) for i in ("grace", "hope", "lake")]
    records = {"lake": record("lake"), "hope": record("hope", None)}
    listed = decide.index_listing(candidates, live={"grace"}, records=records)
    assert [s.id for s in listed] == ["grace", "lake"]


def test_the_site_files_are_rendered_when_new_changed_missing_or_forced() -> None:
    both = {"index.html", "subscribers.opml", "grace"}
    assert not decide.index_due("f", "f", on_target=both, force=False)
    assert decide.index_due(None, "f", on_target=both, force=False)
    assert decide.index_due("old", "f", on_target=both, force=False)
    assert decide.index_due("f", "f", on_target={"index.html"}, force=False)
    assert decide.index_due("f", "f", on_target=both, force=True)


def test_what_a_cycle_left_keeps_failed_subscribers_and_index_that_were_there_before() -> None:
    report = RunReport(
        started=NOW,
        sources=(),
        subscribers=(
            SubscriberReport("grace", "published"),
            SubscriberReport("lake", "unchanged"),
            SubscriberReport("hope", "failed", error="x"),
            SubscriberReport("new", "failed", error="x"),
            SubscriberReport("gone", "retired"),
        ),
        index_error="broken template",
    )
    before = frozenset({"hope", "index.html", "gone"})
    assert decide.outputs_left(report, before) == {"grace", "lake", "hope", "index.html"}
    fine = RunReport(started=NOW + timedelta(hours=1), sources=())
    assert decide.outputs_left(fine) == {"index.html", "subscribers.opml"}
