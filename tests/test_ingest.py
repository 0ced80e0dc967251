"""`ingest`: polling each source (a real HTTP server on 127.0.0.1), recording its
failures and when to try again, storing what changed, and cleaning it once; through
`run_once`, with a real SQLite file and real config files."""

from __future__ import annotations

import gzip
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import feedparser
import pytest

from syndicator import ingest
from syndicator.clean.worker import Budget
from syndicator.config import Config, load_config
from syndicator.models import SourceState, Suspicion
from syndicator.store import Store

from .conftest import (
    FEEDS,
    NOW,
    FeedServer,
    articles_snapshot,
    item,
    respond,
    rss,
)
from .cycle import (
    GOOD,
    MakeConfig,
    outputs_of,
    run,
    slug_of,
)


def state(config: Config) -> SourceState:
    with Store(config.database_path) as store:
        found = store.source_state("worthynews")
    assert found is not None
    return found


def _trickle(request: BaseHTTPRequestHandler) -> None:
    request.send_response(200)
    request.end_headers()
    for byte in GOOD:
        request.wfile.write(bytes([byte]))
        request.wfile.flush()
        time.sleep(0.05)


FAILURES: dict[str, Callable[[FeedServer], object]] = {
    "404": lambda s: s.serve("/feed", 404, b"gone", {"Content-Type": "text/html"}),
    "500": lambda s: s.serve("/feed", 500),
    "redirect-loop": lambda s: (
        s.serve("/feed", 302, headers={"Location": "/loop"}),
        s.serve("/loop", 302, headers={"Location": "/feed"}),
    ),
    "trickle": lambda s: s.route("/feed", _trickle),
    "gzip-bomb": lambda s: s.serve(
        "/feed",
        body=gzip.compress(b" " * (50 * 1024 * 1024)),
        headers={"Content-Encoding": "gzip"},
    ),
    "oversized": lambda s: s.serve("/feed", body=b"<rss>" + b" " * 300_000),
    "image-content-type": lambda s: s.serve(
        "/feed", body=GOOD, headers={"Content-Type": "image/png"}
    ),
    "malformed": lambda s: s.serve("/feed", body=b"<rss><channel><<<&&& not xml at all"),
    "entity-expansion": lambda s: s.serve(
        "/feed", body=(FEEDS / "entity-expansion.xml").read_bytes()
    ),
    "empty-feed": lambda s: s.serve("/feed", body=(FEEDS / "empty.xml").read_bytes()),
    "every-item-unusable": lambda s: s.serve(
        "/feed",
        body=b"<rss version='2.0'><channel><title>T</title><link>https://t.example/</link>"
        b"<item><guid>a</guid><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>"
        b"<item><guid>b</guid></item></channel></rss>",
    ),
    "html-page": lambda s: s.serve(
        "/feed",
        body=(FEEDS / "not-a-feed.html").read_bytes(),
        headers={"Content-Type": "text/html"},
    ),
    "410": lambda s: s.serve("/feed", 410),
    "429-seconds": lambda s: s.serve("/feed", 429, headers={"Retry-After": "3600"}),
    "503-date": lambda s: s.serve(
        "/feed", 503, headers={"Retry-After": "Wed, 25 Nov 2026 06:00:00 GMT"}
    ),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_a_failed_poll_keeps_every_stored_article(
    feed_server: FeedServer, make_config: MakeConfig, case: str
) -> None:
    config = make_config(
        feed_server.serve("/feed", body=GOOD),
        fetch={"deadline_seconds": 1.0, "max_bytes": 256 * 1024},
    )
    first = run(config)
    assert len(first.sources[0].changes.new) == 3
    before = articles_snapshot(config)

    FAILURES[case](feed_server)
    report = run(config, timedelta(hours=1), force=True)

    (source,) = report.sources
    assert source.outcome == "failed" and source.error
    assert not report.ok
    assert articles_snapshot(config) == before
    after = state(config)
    assert after.consecutive_failures == 1
    assert after.last_error == source.error
    assert after.last_success == NOW


def test_500_backs_off_exponentially(feed_server: FeedServer, make_config: MakeConfig) -> None:
    config = make_config(feed_server.serve("/feed", 500))
    interval = timedelta(minutes=30)
    at = timedelta(0)
    for failures in range(1, 6):
        report = run(config, at)
        due = report.sources[0].next_due
        assert due is not None
        ceiling = interval * 2 ** (failures - 1)
        assert ceiling / 2 <= due - (NOW + at) <= ceiling
        assert state(config).consecutive_failures == failures
        assert run(config, at + timedelta(seconds=1)).sources[0].outcome == "skipped"
        at = due - NOW
    feed_server.serve("/feed", body=GOOD)
    assert run(config, at).sources[0].outcome == "updated"
    assert state(config).consecutive_failures == 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3600", NOW + timedelta(hours=1)),
        ("Wed, 25 Nov 2026 06:00:00 GMT", NOW.replace(day=25, hour=6)),
    ],
    ids=["seconds", "http-date"],
)
def test_429_schedules_the_next_poll_at_retry_after(
    feed_server: FeedServer, make_config: MakeConfig, header: str, expected: object
) -> None:
    config = make_config(feed_server.serve("/feed", 429, headers={"Retry-After": header}))
    report = run(config)
    assert report.sources[0].next_due == expected
    assert state(config).next_due == expected
    requests = len(feed_server.requests)
    assert run(config, timedelta(minutes=59)).sources[0].outcome == "skipped"
    assert len(feed_server.requests) == requests


def test_410_disables_the_source_until_an_admin_acts(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    config = make_config(feed_server.serve("/feed", 410))
    report = run(config)
    error = report.sources[0].error
    assert error is not None and "410" in error and "disabled" in error
    requests = len(feed_server.requests)
    later = run(config, timedelta(days=3))
    assert later.sources[0].outcome == "disabled" and not later.ok
    assert len(feed_server.requests) == requests  # not polled again
    # Pointing the config at a new URL re-enables it.
    text = (tmp_path / "syndicator.toml").read_text().replace("/feed", "/new")
    (tmp_path / "syndicator.toml").write_text(text)
    feed_server.serve("/new", body=GOOD)
    fixed = run(load_config(tmp_path / "syndicator.toml"), timedelta(days=3))
    assert fixed.sources[0].outcome == "updated"


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_updates_the_stored_url(
    feed_server: FeedServer, make_config: MakeConfig, status: int
) -> None:
    new = feed_server.serve("/moved", body=GOOD)
    config = make_config(feed_server.serve("/feed", status, headers={"Location": "/moved"}))
    report = run(config)
    assert report.sources[0].moved_to == new
    assert state(config).url == new
    feed_server.requests.clear()
    run(config, timedelta(hours=1))
    assert [r.path for r in feed_server.requests] == ["/moved"]


def test_304_costs_no_parsing_and_updates_last_seen(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    def conditional(request: BaseHTTPRequestHandler) -> None:
        if request.headers.get("If-None-Match") == '"v1"':
            respond(304)(request)
        else:
            respond(200, GOOD, {"ETag": '"v1"'})(request)

    config = make_config(feed_server.route("/feed", conditional))
    run(config)
    report = run(config, timedelta(hours=1))
    assert report.sources[0].outcome == "not_modified"
    assert feed_server.requests[-1].headers["If-None-Match"] == '"v1"'
    with Store(config.database_path) as store:
        assert {a.last_seen for a in store.articles()} == {NOW + timedelta(hours=1)}


def test_correction_and_removed_item(feed_server: FeedServer, make_config: MakeConfig) -> None:
    config = make_config(
        feed_server.serve("/feed", body=(FEEDS / "correction-before.xml").read_bytes())
    )
    assert len(run(config).sources[0].changes.new) == 3
    feed_server.serve("/feed", body=(FEEDS / "correction-after.xml").read_bytes())
    changes = run(config, timedelta(hours=1)).sources[0].changes
    assert changes.new == ("https://www.worthynews.com/?p=90004",)
    assert changes.changed == ("https://www.worthynews.com/?p=90002",)
    assert changes.unchanged == ("https://www.worthynews.com/?p=90001",)
    assert changes.removed == ("https://www.worthynews.com/?p=90003",)
    with Store(config.database_path) as store:
        by_id = {a.entry.id.rsplit("=", 1)[1]: a for a in store.articles()}
    assert by_id["90002"].revision == 2 and "Correction" in by_id["90002"].entry.content_html
    assert by_id["90003"].presence == "removed" and by_id["90003"].last_seen == NOW
    assert by_id["90001"].revision == 1


def test_one_failing_source_does_not_stop_the_others(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    main = tmp_path / "syndicator.toml"
    main.write_text(
        f"""[site]
name = "S"
base_url = "https://s.example/"
[[sources]]
id = "broken"
url = "{feed_server.serve("/broken", 500)}"
[[sources]]
id = "good"
url = "{feed_server.serve("/good", body=GOOD)}"
"""
    )
    report = run(load_config(main))
    outcomes = {s.source_id: s.outcome for s in report.sources}
    assert outcomes == {"broken": "failed", "good": "updated"}
    assert not report.ok


def test_recoverable_bozo_feed_is_accepted_with_a_warning(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    config = make_config(feed_server.serve("/feed", body=(FEEDS / "malformed.xml").read_bytes()))
    (source,) = run(config).sources
    assert source.outcome == "updated" and len(source.changes.new) >= 2
    assert any("not well-formed" in w for w in source.warnings)
    warning = state(config).last_warning
    assert warning is not None and "not well-formed" in warning
    feed_server.serve("/feed", body=GOOD)
    run(config, timedelta(hours=1), force=True)
    assert state(config).last_warning is None


def test_feed_with_a_wrong_but_textual_content_type_is_accepted(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    config = make_config(
        feed_server.serve("/feed", body=GOOD, headers={"Content-Type": "text/html; charset=utf-8"})
    )
    assert run(config).sources[0].outcome == "updated"


def test_a_stray_byte_revises_no_stored_story_and_costs_only_its_character(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """The report: one 0xFF in one title of a UTF-8 feed revised five stored stories
    into mojibake (KrakĂłw) and published them with exit 0."""
    url = feed_server.serve("/feed", body=(FEEDS / "utf8-clean.xml").read_bytes())
    config = make_config(url)
    assert len(run(config).sources[0].changes.new) == 5
    with Store(config.database_path) as store:
        before = {stored.entry.id: stored for stored in store.articles()}

    feed_server.serve("/feed", body=(FEEDS / "utf8-stray-byte.xml").read_bytes())
    report = run(config, timedelta(hours=1), force=True)

    (source,) = report.sources
    guid = "https://www.worthynews.com/?p="
    assert source.changes.new == (guid + "91006",)
    assert source.changes.changed == ()  # no stored story revised, into mojibake or else
    assert source.changes.garbled == (guid + "91004",)  # its stray byte: kept as stored
    assert source.damaged == (guid + "91006",)
    assert any("line 11 (byte 381)" in warning for warning in source.warnings)
    assert not report.ok  # cron hears of it
    with Store(config.database_path) as store:
        after = {stored.entry.id: stored for stored in store.articles()}
    for article_id, stored in before.items():
        assert after[article_id].entry == stored.entry and after[article_id].revision == 1
    assert after[guid + "91006"].entry.title == "Gda\ufffdsk Seminary Welcomes New Students"


@pytest.mark.parametrize("where", ["link", "guid"])
def test_a_stray_byte_in_a_link_or_guid_revises_withdraws_and_adds_nothing(
    feed_server: FeedServer, make_config: MakeConfig, where: str
) -> None:
    """The audit of issue 18: a 0xFF in one link revised its story's link (every output's
    "read more" broken, exit 0); in one guid, the story was taken down as removed and
    published again as a new story whose id held U+FFFD (exit 0)."""
    items = [item(str(n), 10 + n) for n in range(1, 8)]
    good = rss(*items)
    url = feed_server.serve("/feed", body=good)
    config = make_config(url)
    run(config)
    before = stories(config)
    needle = {"link": b"<link>https://www.worthynews.com/4<", "guid": b"?p=4<"}[where]
    assert good.count(needle) == 1
    bad = good.replace(needle, needle[:-1] + b"\xff" + needle[-1:])
    feed_server.serve("/feed", body=bad)
    report = run(config, timedelta(hours=1), force=True)
    (source,) = report.sources
    assert source.changes.new == () and source.changes.changed == ()
    assert source.changes.removed == () and source.changes.aged_out == ()
    assert not report.ok  # cron hears of it
    assert any("byte sequence(s) not valid utf-8" in warning for warning in source.warnings)
    assert stories(config) == before


def stories(config: Config) -> list[tuple[Any, ...]]:
    with sqlite3.connect(config.database_path) as db:
        query = "SELECT id, title, link, revision, presence FROM articles ORDER BY id"
        return db.execute(query).fetchall()


def test_a_feed_read_in_another_encoding_than_last_time_revises_nothing(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """The same bytes, and the server's charset changes (ISO-8859-1 to ISO-8859-2): every
    title would read otherwise (Fête as Fęte). No stored story is revised; cron hears."""
    body = (FEEDS / "latin1-undeclared.xml").read_bytes()
    config = make_config(
        feed_server.serve(
            "/feed", body=body, headers={"Content-Type": "text/xml; charset=ISO-8859-1"}
        )
    )
    run(config)
    before = articles_snapshot(config)
    feed_server.serve("/feed", body=body, headers={"Content-Type": "text/xml; charset=ISO-8859-2"})
    report = run(config, timedelta(hours=1), force=True)
    (source,) = report.sources
    assert len(source.changes.garbled) == 2 and source.changes.changed == ()
    assert not report.ok
    with Store(config.database_path) as store:
        titles = {stored.entry.title for stored in store.articles()}
    assert "Fête de la communauté : « Nous sommes reconnaissants »" in titles
    after = articles_snapshot(config)
    last_seen = 15  # the one column a poll that stores nothing moves
    assert [row[:last_seen] + row[last_seen + 1 :] for row in after] == [
        row[:last_seen] + row[last_seen + 1 :] for row in before
    ]


def test_a_feed_that_looks_wrong_withdraws_nothing_and_says_so(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """The report: a poll that returned two items dated 1990 and none of the 15 stored
    marked all 15 as removed, and every article page said 'no longer available'."""
    fifteen = [item(str(n), n) for n in range(1, 16)]
    config = make_config(
        feed_server.serve("/feed", body=rss(*fifteen)),
        subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"'},
    )
    run(config)
    slug = slug_of(config, "15")
    dated_1990 = datetime(1990, 1, 1, 9, tzinfo=UTC)
    junk = rss(*({**item(guid), "published": dated_1990} for guid in ("9001", "9002")))
    feed_server.serve("/feed", body=junk)

    report = run(config, timedelta(hours=1), force=True)
    (source,) = report.sources
    assert source.outcome == "updated" and len(source.changes.new) == 2  # still stored
    assert source.changes.removed == source.changes.aged_out == ()
    assert source.changes.suspicious == Suspicion(items=2, current=15, in_common=0, last_items=15)
    assert not report.ok  # cron hears
    assert state(config).suspicious == str(source.changes.suspicious)
    with Store(config.database_path) as store:
        assert {s.presence for s in store.articles()} == {"present"}
    page = outputs_of(config, "grace")[f"articles/{slug}.html"].decode()
    assert "no longer available" not in page and "Story 15" in page

    # The next poll that looks like it is taken as it is: the 15 age out (their pages and
    # places in the lists stay), none is withdrawn, and the source is clear again.
    report = run(config, timedelta(hours=2), force=True)
    (source,) = report.sources
    assert source.changes.suspicious is None and report.ok
    assert len(source.changes.aged_out) == 15 and source.changes.removed == ()
    assert state(config).suspicious is None and state(config).last_items == 2
    page = outputs_of(config, "grace")[f"articles/{slug}.html"].decode()
    assert "no longer available" not in page and "Story 15" in page


def test_an_article_too_complex_to_clean_is_named_and_the_rest_are_published(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """Tens of thousands of tags (cleaning them took minutes, holding up every run): the
    article is refused by id, the run says partial, its neighbours are published."""
    from syndicator.clean.normalise import MAX_ELEMENTS

    hostile = "<p>" + "<span>&nbsp;</span>" * (MAX_ELEMENTS + 10) + "</p>"
    feed = rss(item("1", 20), item("2", 21, body=hostile), item("3", 22))
    config = make_config(
        feed_server.serve("/feed", body=feed),
        subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"'},
    )
    report = run(config)
    assert not report.ok  # cron hears of it
    (errors,) = [c.errors for c in report.cleaning]
    assert errors == (
        f"https://www.worthynews.com/?p=2: cannot clean: {MAX_ELEMENTS + 11:,} elements, "
        f"more than the {MAX_ELEMENTS:,} an article may have: not cleaned, so not published",
    )
    titles = [
        entry.title for entry in feedparser.parse(outputs_of(config, "grace")["rss.xml"]).entries
    ]
    assert titles == ["Story 3", "Story 1"]


@pytest.mark.parametrize(
    ("budget", "verdict"),
    [
        (Budget(seconds=2.0), "took longer than the 2 s an article may take"),
        (Budget(megabytes=64), "needed more than the 64 MB an article may take"),
    ],
    ids=["time", "memory"],
)
def test_an_article_over_its_cleaning_budget_is_named_and_the_rest_are_published(
    feed_server: FeedServer,
    make_config: MakeConfig,
    monkeypatch: pytest.MonkeyPatch,
    budget: Budget,
    verdict: str,
) -> None:
    """Each article is cleaned in a child process held to a time and memory budget: one
    that needs more (here 6 MB of "&", cleaned in linear time but not in 2 s or 64 MB) is
    refused by id, its child replaced, and the articles after it are published."""
    monkeypatch.setattr(ingest, "CLEAN_BUDGET", budget)
    hostile = "<p>" + "&" * 6_000_000 + "</p>"
    feed = rss(item("1", 20), item("2", 21, body=hostile), item("3", 22))
    config = make_config(
        feed_server.serve("/feed", body=feed),
        fetch={"max_bytes": 8 * 1024 * 1024},
        subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"'},
    )
    report = run(config)
    assert not report.ok  # cron hears of it
    (errors,) = [c.errors for c in report.cleaning]
    assert errors == (
        f"https://www.worthynews.com/?p=2: cannot clean: {verdict}: not cleaned, so not published",
    )
    titles = [
        entry.title for entry in feedparser.parse(outputs_of(config, "grace")["rss.xml"]).entries
    ]
    assert titles == ["Story 3", "Story 1"]
