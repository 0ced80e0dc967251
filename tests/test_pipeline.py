"""`run_once` end to end: a real HTTP server, a real SQLite file, real config files."""

from __future__ import annotations

import errno
import gzip
import os
import random
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import feedparser
import jinja2
import lxml.etree
import lxml.html
import pytest

from syndicator import ingest
from syndicator.clean.worker import Budget
from syndicator.config import Config, load_config
from syndicator.models import RunReport, SourceState, Suspicion
from syndicator.pipeline import run_once
from syndicator.publish import (
    OWNER_MARK,
    OWNER_MARK_TEXT,
    TEMP_PREFIX,
    Publisher,
    PublishError,
    decide,
)
from syndicator.publish import files as publish_module
from syndicator.publish import run as publish_run
from syndicator.render import Plan, Renderer, environment
from syndicator.render.environment import make_environment, template_deadline
from syndicator.store import Store

from .conftest import (
    FEEDS,
    NOT_TEXT,
    NOW,
    REPO,
    FeedServer,
    articles_snapshot,
    item,
    respond,
    rss,
)

GOOD = rss(item("1", 20), item("2", 21), item("3", 22))
MakeConfig = Callable[..., Config]


def run(
    config: Config,
    at: timedelta = timedelta(0),
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RunReport:
    return run_once(config, NOW + at, rng=random.Random(0), force=force, progress=progress)


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


# --- render and publish ------------------------------------------------------------------

FOUR = [item("1", 20), item("2", 21), item("3", 22), item("4", 23)]


def outputs_of(config: Config, subscriber: str) -> dict[str, bytes]:
    """Every published file of one subscriber: relative path → bytes."""
    root = config.site.output_dir / subscriber
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def slug_of(config: Config, guid: str) -> str:
    with Store(config.database_path) as store:
        for stored in store.articles():
            if stored.entry.id.endswith(f"?p={guid}"):
                assert stored.slug
                return stored.slug
    raise AssertionError(guid)


EVERY_OUTPUT = {
    "rss.xml", "atom.xml", "feed.json", "snippet.html", "embed.js", "widget.html",
    "style.css", "page/1.html",
}  # fmt: skip


def test_run_publishes_every_output_then_rewrites_nothing(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(
        url, subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"'}
    )
    first = run(config)
    files = outputs_of(config, "grace")
    assert set(files) >= EVERY_OUTPUT
    assert {f"articles/{slug_of(config, g)}.html" for g in "1234"} <= set(files)
    assert (config.site.output_dir / "index.html").is_file()
    assert (config.site.output_dir / "subscribers.opml").is_file()
    assert first.subscribers[0].outcome == "published" and first.ok
    assert first.publish.written == len(files) + 3  # index.html, the OPML, the root's mark

    again = run(config, timedelta(hours=2))  # polled again: same feed, later clock
    assert again.subscribers[0].outcome == "unchanged"
    assert again.publish.written == 0
    forced = run(config, timedelta(hours=3), force=True)  # re-rendered: same bytes
    assert forced.subscribers[0].outcome == "published"
    assert forced.publish.written == 0
    assert outputs_of(config, "grace") == files


SAMPLE = REPO / "config" / "samples" / "worthynews-feed.xml"
PANTRY = "78412"  # the sample's story with relative links and lazy relative images


@pytest.mark.parametrize("where", ["the bundled file: sample", "a mirror on another host"])
def test_relative_links_and_images_stay_on_the_outlet_s_host_wherever_the_feed_came_from(
    where: str, feed_server: FeedServer, tmp_path: Path, make_config: MakeConfig
) -> None:
    """The pantry story's `/wp-content/...` images and `/78344-...` link resolve against
    the story's own link, not the URL the feed was read from (a file, a mirror)."""
    if where == "a mirror on another host":
        url = feed_server.serve("/mirror/worthynews.xml", body=SAMPLE.read_bytes())
    else:
        shutil.copy(SAMPLE, tmp_path / "feed.xml")
        url = "file:feed.xml"
    config = make_config(
        url,
        subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"\ncontent = "full"'},
    )
    assert run(config).ok
    page = outputs_of(config, "grace")[f"articles/{slug_of(config, PANTRY)}.html"]
    story = lxml.html.fromstring(page).xpath("//article")[0]
    sources = [img.get("src") for img in story.iter("img")]
    uploads = "https://www.worthynews.com/wp-content/uploads/2026/11/"
    assert uploads + "ohio-pantry-shelves.jpg" in sources
    assert uploads + "ohio-pantry-open-house.jpg" in sources
    read_also = story.xpath("//a[contains(., 'Thanksgiving Meals')]")[0]
    assert read_also.get("href") == (
        "https://www.worthynews.com/78344-churches-host-free-thanksgiving-meals-across-midwest"
    )
    links = [a.get("href") for a in story.iter("a")]
    assert all(links) and not any("127.0.0.1" in (link or "") for link in links)
    assert all(source and source.startswith("https://") for source in sources)


def test_each_subscriber_s_items_are_reported_and_counted_once_after_an_upgrade(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """`items` is how many stories a subscriber's lists show (0: an empty widget). A
    subscriber published before it was recorded is rendered once more (same bytes) so
    that `status` can show it."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(
        url,
        subscribers={
            "grace": 'name = "Grace"\nsite_url = "https://g.example/"',
            "lake": 'name = "Lake"\nsite_url = "https://l.example/"\ncategories = ["Asia"]',
        },
    )
    first = {r.subscriber_id: r.items for r in run(config).subscribers}
    assert first == {"grace": 4, "lake": 0}
    with sqlite3.connect(config.database_path) as db:
        db.execute("UPDATE renders SET items = NULL")  # as a database from before it
    again = run(config, timedelta(hours=1))
    assert [(r.outcome, r.items, r.written) for r in again.subscribers] == [
        ("published", 4, 0),
        ("published", 0, 0),
    ]
    with Store(config.database_path) as store:
        assert {k: r.items for k, r in store.render_records().items()} == {"grace": 4, "lake": 0}
    later = run(config, timedelta(hours=2))
    assert [(r.outcome, r.items) for r in later.subscribers] == [("unchanged", 4), ("unchanged", 0)]


def test_a_correction_reaches_every_output_and_keeps_the_slug(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(
        url,
        subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"\ncontent = "full"'},
    )
    run(config)
    slug = slug_of(config, "2")
    corrected = [
        *FOUR[:1],
        item("2", 21, title="Story 2 corrected", body="<p>Fixed body.</p>"),
        *FOUR[2:],
    ]
    feed_server.serve("/feed", body=rss(*corrected))
    report = run(config, timedelta(hours=1))
    assert report.sources[0].changes.changed == ("https://www.worthynews.com/?p=2",)
    assert slug_of(config, "2") == slug
    files = outputs_of(config, "grace")
    showing = {"rss.xml", "atom.xml", "feed.json", "snippet.html", "widget.html", "embed.js",
               "page/1.html", f"articles/{slug}.html"}  # fmt: skip
    for name in showing:
        assert b"Story 2 corrected" in files[name], name
    assert b"Fixed body." in files[f"articles/{slug}.html"]
    assert not any(b"Story 2<" in data for data in files.values())


def test_cleaning_under_new_settings_reaches_every_output_at_once(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """An admin changes how articles are cleaned (here: links open a new tab). The stored
    articles are cleaned again, and every output showing them follows in the same run,
    not only once upstream happens to correct each story."""
    linked = [
        item(guid, day, body='<p>Read <a href="https://example.org/more">more</a>.</p>')
        for guid, day in (("1", 20), ("2", 21))
    ]
    config = make_config(
        feed_server.serve("/feed", body=rss(*linked)),
        subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"\ncontent = "full"'},
    )
    run(config)
    showing = ["rss.xml", "atom.xml", "feed.json", "embed.js"]
    showing += [f"articles/{slug_of(config, guid)}.html" for guid in "12"]
    assert not any(b"_blank" in outputs_of(config, "grace")[name] for name in showing)
    with config.path.open("a", encoding="utf-8") as main:
        main.write('\n[sources.clean]\nexternal_links = "new_tab"\n')

    report = run(load_config(config.path), timedelta(hours=1))

    assert report.cleaning[0].cleaned == 2
    assert [s.outcome for s in report.subscribers] == ["published"]
    files = outputs_of(config, "grace")
    for name in showing:  # a page shows its own story, a feed both
        assert files[name].count(b"_blank") == (1 if "/" in name else 2), name


def _rendered_pages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The article pages rendered from now on (a spy around `Renderer.render`)."""
    rendered: list[str] = []
    render = Renderer.render

    def spy(self: Renderer, plan: Plan, *, unchanged: object = ()) -> dict[str, bytes]:
        files = render(self, plan, unchanged=unchanged)  # type: ignore[arg-type]
        rendered.extend(name for name in files if "/articles/" in name)
        return files

    monkeypatch.setattr(Renderer, "render", spy)
    return rendered


def test_a_new_story_renders_its_own_page_and_leaves_the_others_alone(
    feed_server: FeedServer, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subscriber re-rendered for a new story renders that story's page only: the
    others were published from the same story, options and templates. What is published
    is exactly what rendering everything gives, and the pages left alone stay."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    churches = {name: FOUR_CHURCHES[name] for name in ("church0", "church1")}
    churches["church1"] += '\ncontent = "full"\nkeep_pages_days = 30'
    config = make_config(url, subscribers=churches)
    assert run(config).ok
    before = {name: outputs_of(config, name) for name in churches}
    rendered = _rendered_pages(monkeypatch)

    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))

    assert {s.outcome for s in report.subscribers} == {"published"}
    new = f"articles/{slug_of(config, '4')}.html"
    assert sorted(rendered) == [f"{name}/{new}" for name in churches]
    for name in churches:
        files = outputs_of(config, name)
        assert {k: v for k, v in files.items() if k.startswith("articles/") and k != new} == {
            k: v for k, v in before[name].items() if k.startswith("articles/")
        }
    rendered.clear()
    forced = run(config, timedelta(hours=1), force=True)
    assert len(rendered) == 8  # every page, this time
    assert forced.ok and forced.publish.written == 0  # and not one byte differs


@pytest.mark.parametrize("mishap", ["not recorded", "stale files not removed", "page deleted"])
def test_pages_are_made_again_when_the_disk_may_differ_from_the_ledger(
    feed_server: FeedServer,
    make_config: MakeConfig,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    mishap: str,
) -> None:
    """A run whose publish was not recorded (a full database disk) or whose stale files
    could not be removed leaves the files ahead of the ledger; a page may be deleted by
    hand. The next run that re-renders the subscriber makes its pages again from what
    they should be, not from what the ledger says they are."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers={"church0": FOUR_CHURCHES["church0"]})
    assert run(config).ok
    page = config.site.output_dir / "church0" / "articles" / f"{slug_of(config, '1')}.html"
    subscriber = tmp_path / "subscribers" / "church0.toml"
    original = subscriber.read_text()
    if mishap == "page deleted":
        page.unlink()
    else:
        subscriber.write_text(original + '\nfooter = "A passing footer"\n')
        if mishap == "not recorded":
            error = sqlite3.OperationalError("database or disk is full")
            monkeypatch.setattr(Store, "save_published", lambda *args: _raise(error))
        else:
            refused = PublishError("church0/old.html: cannot remove: Permission denied")
            monkeypatch.setattr(publish_module, "_prune", lambda *args: _raise(refused))
        assert not run(load_config(config.path), timedelta(hours=1)).ok
        assert b"A passing footer" in page.read_bytes()  # published, not (fully) recorded
        monkeypatch.undo()
        subscriber.write_text(original)

    if mishap == "page deleted":  # else reverting the option is all it takes
        feed_server.serve("/feed", body=rss(*FOUR))
    again = run(load_config(config.path), timedelta(hours=2))
    assert again.ok and [s.outcome for s in again.subscribers] == ["published"]

    assert page.is_file() and b"A passing footer" not in page.read_bytes()
    forced = run(load_config(config.path), timedelta(hours=2), force=True)
    assert forced.ok and forced.publish.written == 0  # nothing left to put right


def _raise(error: BaseException) -> None:
    raise error


@pytest.mark.parametrize("change", ["subscriber option", "site template", "story corrected"])
def test_what_an_article_page_is_made_from_changing_renders_it_again(
    feed_server: FeedServer,
    make_config: MakeConfig,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    change: str,
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers={"church0": FOUR_CHURCHES["church0"]})
    assert run(config).ok
    rendered = _rendered_pages(monkeypatch)
    slugs = [slug_of(config, guid) for guid in "123"]
    if change == "subscriber option":
        with (tmp_path / "subscribers" / "church0.toml").open("a", encoding="utf-8") as file:
            file.write('\nfooter = "Shared by Church 0 with thanks"\n')
        mark, changed = b"Shared by Church 0 with thanks", slugs
    elif change == "site template":
        templates = tmp_path / "templates"
        templates.mkdir()
        article = (REPO / "templates" / "article.html").read_text("utf-8")
        (templates / "article.html").write_text(article.replace("<main", "<!-- ours --><main"))
        mark, changed = b"<!-- ours -->", slugs
    else:
        fixed = item("2", 21, title="Story 2 corrected")
        feed_server.serve("/feed", body=rss(FOUR[0], fixed, FOUR[2]))
        mark, changed = b"Story 2 corrected", [slugs[1]]

    report = run(load_config(config.path), timedelta(hours=1))

    assert report.ok and [s.outcome for s in report.subscribers] == ["published"]
    assert sorted(rendered) == sorted(f"church0/articles/{slug}.html" for slug in changed)
    files = outputs_of(config, "church0")
    for slug in slugs:
        assert (mark in files[f"articles/{slug}.html"]) == (slug in changed), slug


def test_a_removed_article_leaves_every_list_and_its_page_says_so(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(
        url,
        subscribers={
            "grace": 'name = "Grace"\nsite_url = "https://g.example/"\nkeep_pages_days = 30'
        },
    )
    run(config)
    slug = slug_of(config, "3")
    feed_server.serve("/feed", body=rss(FOUR[0], FOUR[1], FOUR[3]))  # 3 withdrawn, older stay
    report = run(config, timedelta(hours=1))
    assert report.sources[0].changes.removed == ("https://www.worthynews.com/?p=3",)
    files = outputs_of(config, "grace")
    for name in (
        "rss.xml",
        "atom.xml",
        "feed.json",
        "snippet.html",
        "widget.html",
        "embed.js",
        "page/1.html",
    ):
        assert b"Story 3" not in files[name], name
    page = files[f"articles/{slug}.html"].decode()
    assert "no longer available" in page
    assert "Story 3" not in page  # a withdrawn story's text is not repeated
    assert 'href="https://www.worthynews.com/"' in page

    run(config, timedelta(days=31))  # past keep_pages_days: the page goes
    assert f"articles/{slug}.html" not in outputs_of(config, "grace")


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


def test_a_story_pushed_out_of_the_list_keeps_its_page_for_keep_pages_days(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(FOUR[0]))
    options = 'name = "Grace"\nsite_url = "https://g.example/"\nlimit = 1\nper_page = 1\npages = 1\nkeep_pages_days = 10'
    config = make_config(url, subscribers={"grace": options})
    run(config)
    old = slug_of(config, "1")
    feed_server.serve("/feed", body=rss(FOUR[0], FOUR[1]))
    run(config, timedelta(hours=1))
    files = outputs_of(config, "grace")
    assert b"Story 1" not in files["rss.xml"] and b"Story 2" in files["rss.xml"]
    assert b"Story 1" in files[f"articles/{old}.html"]  # the link given out still works
    assert f"articles/{old}.html" in outputs_of(config, "grace")
    run(config, timedelta(days=9))
    assert f"articles/{old}.html" in outputs_of(config, "grace")
    run(config, timedelta(days=11))
    assert f"articles/{old}.html" not in outputs_of(config, "grace")


def test_dropping_an_output_retires_its_files(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(
        url, subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"'}
    )
    run(config)
    (tmp_path / "subscribers" / "grace.toml").write_text(
        'name = "Grace"\nsite_url = "https://g.example/"\noutputs = ["rss", "json"]\n'
    )
    run(load_config(config.path), timedelta(hours=1))
    assert set(outputs_of(config, "grace")) == {"rss.xml", "feed.json", OWNER_MARK}


GOOD_SUBSCRIBERS = {
    "good": 'name = "Good Church"\nsite_url = "https://good.example/"',
    "templated": 'name = "Templated Church"\nsite_url = "https://t.example/"',
    "typo": 'name = "Typo Church"\nsite_url = "https://typo.example/"',
}


def test_a_broken_template_or_option_costs_only_that_subscriber(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    before = {name: outputs_of(config, name) for name in GOOD_SUBSCRIBERS}

    own = tmp_path / "templates" / "subscribers" / "templated"
    own.mkdir(parents=True)
    (own / "_item.html").write_text("<li>\n{{ item.title }}\n{{ item.no_such_field }}</li>\n")
    (tmp_path / "subscribers" / "typo.toml").write_text(GOOD_SUBSCRIBERS["typo"] + "\nlimt = 5\n")
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(load_config(config.path), timedelta(hours=1))

    assert not report.ok
    assert any("typo.toml" in e and "limt" in e for e in report.config_errors)
    failed = {s.subscriber_id: s for s in report.subscribers if s.outcome == "failed"}
    assert set(failed) == {"templated"}
    error = failed["templated"].error or ""
    assert "templates/subscribers/templated/_item.html line 3" in error, error
    assert "no_such_field" in error
    assert b"Story 4" in outputs_of(config, "good")["rss.xml"]
    assert outputs_of(config, "templated") == before["templated"]  # last good outputs kept
    assert outputs_of(config, "typo") == before["typo"]
    # The index changed (a new story count elsewhere does not matter; a broken file must
    # not drop its subscriber): it still lists the one whose file is broken, as published.
    output = config.site.output_dir
    assert b"Typo Church" in (output / "index.html").read_bytes()
    assert b"typo/rss.xml" in (output / "subscribers.opml").read_bytes()
    with Store(config.database_path) as store:
        assert store.render_records()["templated"].last_error == error

    (own / "_item.html").unlink()  # fixed: the next run publishes it
    assert run(load_config(config.path), timedelta(hours=2)).subscribers[1].outcome == "published"


@pytest.mark.parametrize(
    "obstacle", ["link leading outside", "file for a folder", "folder for a file"]
)
def test_a_subscriber_folder_in_the_way_costs_only_that_subscriber(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path, obstacle: str
) -> None:
    """Someone replaced one subscriber's folder by a link elsewhere, put a file where its
    articles/ folder goes, or a folder where its rss.xml goes: that subscriber is reported, names the path and keeps its
    last outputs whole; the others publish in the same batch; fixed, it publishes."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    output = config.site.output_dir
    before = outputs_of(config, "templated")
    moved = tmp_path / "moved"
    if obstacle == "link leading outside":
        (output / "templated").rename(moved)
        (output / "templated").symlink_to(moved, target_is_directory=True)
        where = "templated is a symbolic link; publishing would write where it leads"
    elif obstacle == "file for a folder":
        (output / "templated" / "articles").rename(moved)
        (output / "templated" / "articles").write_bytes(b"in the way")
        where = "templated/articles/"
    else:  # before, the rename failed at commit and stopped the batch: no one published
        (output / "templated" / "rss.xml").rename(moved)
        (output / "templated" / "rss.xml").mkdir()
        (output / "templated" / "rss.xml" / "notes.txt").write_bytes(b"someone's")
        where = "templated/rss.xml: a folder is in the way of this file"
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))

    assert not report.ok and report.publish_error is None
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert {i: s.outcome for i, s in outcomes.items()} == {
        "good": "published", "templated": "failed", "typo": "published",
    }  # fmt: skip
    error = outcomes["templated"].error or ""
    assert error.startswith("not published: ") and where in error, error
    for name in ("good", "typo"):
        assert b"Story 4" in outputs_of(config, name)["rss.xml"], name
    assert not list(output.rglob(f"{TEMP_PREFIX}*"))
    if obstacle == "link leading outside":
        assert {p.name for p in moved.iterdir()} == {p.split("/")[0] for p in before}
        assert b"Story 4" not in (moved / "rss.xml").read_bytes()  # nothing written there
        (output / "templated").unlink()
        moved.rename(output / "templated")
    elif obstacle == "folder for a file":
        kept = outputs_of(config, "templated")
        assert kept.pop("rss.xml/notes.txt") == b"someone's"  # theirs, left alone
        assert kept == {k: v for k, v in before.items() if k != "rss.xml"}
        shutil.rmtree(output / "templated" / "rss.xml")
    else:  # nothing of its batch went live: every file it has is as it was
        kept = outputs_of(config, "templated")
        assert {k: v for k, v in kept.items() if k != "articles"} == {
            k: v for k, v in before.items() if not k.startswith("articles/")
        }
        (output / "templated" / "articles").unlink()
        moved.rename(output / "templated" / "articles")
    with Store(config.database_path) as store:
        assert store.render_records()["templated"].last_error == error

    fixed = run(config, timedelta(hours=2))
    assert fixed.ok
    assert b"Story 4" in outputs_of(config, "templated")["rss.xml"]


@pytest.mark.parametrize("how", ["retired", "forced", "unchanged"])
def test_a_folder_made_again_by_someone_else_is_never_pruned_or_claimed(
    feed_server: FeedServer,
    make_config: MakeConfig,
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An admin deleted a subscriber's folder by hand and the web root's owner made one
    of that name for their own pages (no mark). Retiring the subscriber, publishing it
    again with --force, or a run that leaves it unchanged must not delete their files nor
    mark the folder as Syndicator's (a later publish would then prune it)."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    folder = config.site.output_dir / "typo"
    shutil.rmtree(folder)
    (folder / "events").mkdir(parents=True)
    (folder / "events" / "easter.html").write_bytes(b"theirs")
    (folder / "rss.xml").write_bytes(b"their own feed")  # a name Syndicator also writes
    if how == "retired":
        (config.subscribers_dir / "typo.toml").unlink()
    report = run(load_config(config.path), timedelta(hours=1), force=how == "forced")

    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert (folder / "events" / "easter.html").read_bytes() == b"theirs"
    assert (folder / "rss.xml").read_bytes() == b"their own feed"
    assert not (folder / OWNER_MARK).exists()
    if how == "retired":
        assert outcomes["typo"].outcome == "retired"
        assert "typo" in caplog.text and "events/easter.html" in caplog.text
    elif how == "forced":
        assert outcomes["typo"].outcome == "failed"
        assert "already holds files Syndicator did not write" in (outcomes["typo"].error or "")
        assert outcomes["good"].outcome == "published"
    else:
        assert outcomes["typo"].outcome == "unchanged"


FOUR_CHURCHES = {
    f"church{n}": f'name = "Church {n}"\nsite_url = "https://c{n}.example/"' for n in range(4)
}


@pytest.mark.parametrize(
    ("refusal", "batches"),
    [("full", "one per subscriber"), ("full", "one"), ("read-only", "one")],
)
def test_a_full_or_read_only_disk_stops_the_publish_and_loses_nothing(
    feed_server: FeedServer,
    make_config: MakeConfig,
    monkeypatch: pytest.MonkeyPatch,
    refusal: str,
    batches: str,
) -> None:
    """The disk refuses while the third subscriber is staged. Full: what was staged
    whole is published (in its own batches or the pending one). Read-only: nothing can
    be renamed or removed either. Either way, every other subscriber keeps its last
    outputs whole and is reported, the run fails naming the file, nothing escapes as a
    crash, and once the disk is back the next run publishes exactly those."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    assert run(config).ok
    before = {name: outputs_of(config, name) for name in FOUR_CHURCHES}
    index = (config.site.output_dir / "index.html").read_bytes()
    if batches == "one per subscriber":
        monkeypatch.setattr(publish_run, "BATCH_BYTES", 1)
    number, reason = {
        "full": (errno.ENOSPC, "No space left on device"),
        "read-only": (errno.EROFS, "Read-only file system"),
    }[refusal]
    write_temp, replace, unlink = Publisher._write_temp, os.replace, os.unlink
    subscribers_seen: set[str] = set()

    def refuses(publisher: Publisher, folder: str, data: bytes) -> str:
        subscribers_seen.add(folder.split("/output/")[1].split("/")[0])
        if len(subscribers_seen) > 2:
            if refusal == "read-only":  # from now on, nothing in the output changes
                monkeypatch.setattr(os, "replace", refused_too(replace))
                monkeypatch.setattr(os, "unlink", refused_too(unlink))
            raise OSError(number, reason)
        return write_temp(publisher, folder, data)

    def refused_too(call: Callable[..., None]) -> Callable[..., None]:
        def refusing(path: str, *args: str) -> None:
            if "/output/" in str(path):
                raise OSError(number, reason, str(path))
            call(path, *args)

        return refusing

    monkeypatch.setattr(Publisher, "_write_temp", refuses)
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))
    monkeypatch.undo()  # the disk is back

    assert not report.ok
    assert report.publish_error and reason in report.publish_error
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert set(outcomes) == set(FOUR_CHURCHES)
    published = {i for i, s in outcomes.items() if s.outcome == "published"}
    failed = {i for i, s in outcomes.items() if s.outcome == "failed"}
    assert len(published) == (2 if refusal == "full" else 0)
    assert published | failed == set(FOUR_CHURCHES)
    assert any(not outcomes[name].reached for name in failed)  # told apart by type
    for name in published:
        assert b"Story 4" in outputs_of(config, name)["rss.xml"], name
    for name in failed:
        error = outcomes[name].error or ""
        assert error.startswith(("not published: ", "not reached: publishing stopped: "))
        assert outcomes[name].reached is not error.startswith("not reached: ")  # typed, not read
        assert reason in error, error
        kept = outputs_of(config, name)
        assert {k: v for k, v in kept.items() if TEMP_PREFIX not in k} == before[name]
    assert (config.site.output_dir / "index.html").read_bytes() == index

    again = run(config, timedelta(hours=2))
    assert again.ok
    assert {s.subscriber_id for s in again.subscribers if s.outcome == "published"} == failed
    for name in FOUR_CHURCHES:
        assert b"Story 4" in outputs_of(config, name)["rss.xml"], name
    assert not list(config.site.output_dir.rglob(f"{TEMP_PREFIX}*"))  # leftovers pruned


def test_a_database_that_cannot_record_stops_the_publish_and_loses_nothing(
    feed_server: FeedServer, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outputs' disk is fine but the database's is full: the batch's files are live,
    the run says they are not recorded and fails; the next run records them."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    assert run(config).ok

    def full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "save_published", full)
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))
    monkeypatch.undo()

    assert not report.ok
    assert report.publish_error and "database or disk is full" in report.publish_error
    assert str(config.database_path) in report.publish_error
    assert {s.outcome for s in report.subscribers} == {"failed"}
    for subscriber in report.subscribers:
        assert (subscriber.error or "").startswith("published, not recorded"), subscriber
        assert b"Story 4" in outputs_of(config, subscriber.subscriber_id)["rss.xml"]
    again = run(config, timedelta(hours=2))
    assert again.ok and again.publish.written == 0  # recorded now; the bytes were there
    assert {s.outcome for s in again.subscribers} == {"published"}


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


def test_hostile_ids_categories_and_excerpts_neither_break_nor_script_the_feeds(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """Upstream text that reads like markup stays text in the RSS description (readers
    take it for HTML); a NUL in a category or a noncharacter in a guid (the renderer's
    placeholder characters) neither fails the render nor reaches an output."""
    body = (
        "<p>Text &lt;img src=x onerror=alert(1)&gt; and &lt;script&gt;alert(3)&lt;/script&gt;.</p>"
    )
    feed = rss(item("1", 20, body=body), item("2&#xfdd0;", 21), item("3", 22))
    cdata = b"<category><![CDATA[World News]]></category>"
    feed = feed.replace(cdata, b"<category>A&#0;l&#0;B</category>", 1)
    url = feed_server.serve("/feed", body=feed)
    config = make_config(
        url,
        subscribers={
            "grace": 'name = "Grace"\nsite_url = "https://g.example/"',
            "hope": 'name = "Hope"\nsite_url = "https://h.example/"\nlanguage = "es"',
        },
    )
    report = run(config)
    assert report.ok, report
    for name in ("grace", "hope"):
        files = outputs_of(config, name)
        for feed_name in ("rss.xml", "atom.xml"):
            lxml.etree.fromstring(files[feed_name])  # well-formed
            parsed = feedparser.parse(files[feed_name], sanitize_html=False)
            assert not parsed.bozo, (name, feed_name, parsed.bozo_exception)
            assert len(parsed.entries) == 3
            for entry in parsed.entries:
                summary = lxml.html.fragment_fromstring(entry.summary, create_parent="div")
                assert not list(summary.iter("img", "script")), (feed_name, entry.summary)
            texts = [e.summary for e in parsed.entries]
            assert any("<img src=x onerror=alert(1)>" in t for t in _texts(texts)), texts
        for file, data in files.items():
            assert b"\x00" not in data and "\ufdd0".encode() not in data, file
        assert b"AlB" in files["rss.xml"]


def _texts(fragments: list[str]) -> list[str]:
    """What a reader shows for each HTML fragment."""
    return [lxml.html.fragment_fromstring(f, create_parent="div").text_content() for f in fragments]


def test_a_syntax_error_names_template_line_and_subscriber(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    own = tmp_path / "templates" / "subscribers" / "templated"
    own.mkdir(parents=True)
    (own / "_footer.html").write_text("<p>\n{% if %}</p>\n")
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    report = run(config)
    (failed,) = [s for s in report.subscribers if s.outcome == "failed"]
    assert failed.subscriber_id == "templated"
    assert "templates/subscribers/templated/_footer.html line 2" in (failed.error or "")
    assert not (config.site.output_dir / "templated").exists()
    assert (config.site.output_dir / "good" / "rss.xml").is_file()


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__[1].__subclasses__()",
        "sub.__class__.__init__.__globals__",
        "item.__dict__",
        "gettext.__globals__",  # the words every template may call
    ],
)
@pytest.mark.parametrize("folder", ["subscribers/templated", "."])
def test_an_admin_template_cannot_reach_python_internals(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path, expression: str, folder: str
) -> None:
    """Override templates run sandboxed, a subscriber's or the site's (where the built-in
    templates render in a plain environment when there is none): reaching for internals
    fails whom the override applies to, with a message naming the template; nothing of the
    interpreter reaches an output."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    own = tmp_path / "templates" / folder
    own.mkdir(parents=True, exist_ok=True)
    (own / "_footer.html").write_text(f'<p class="syn-footer">\n{{{{ {expression} }}}}</p>\n')
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    report = run(config)
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    hit = ["templated"] if folder != "." else ["good", "templated", "typo"]
    where = "/".join(part for part in ("templates", folder, "_footer.html") if part != ".")
    for name in hit:
        assert outcomes[name].outcome == "failed", name
        assert f"{where} line 2" in (outcomes[name].error or "")
        assert not (config.site.output_dir / name).exists()
    if folder != ".":
        assert outcomes["good"].outcome == "published"
    for path in config.site.output_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"<class " not in data and b"__builtins__" not in data, path


@pytest.mark.parametrize(
    "expression",
    [
        "site.output_dir.joinpath('SECRET').read_text()",
        "site.state_dir.joinpath('SECRET').read_text()",
    ],
)
def test_a_site_index_template_cannot_reach_the_file_system(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path, expression: str
) -> None:
    """index.html and subscribers.opml templates see the site's name and URL, not its
    folders (paths would read, write and delete files)."""
    (tmp_path / "SECRET").write_text("the secret")
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    for folder in (config.site.output_dir, config.site.state_dir):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "SECRET").write_text("the secret")
    own = tmp_path / "templates"
    own.mkdir(exist_ok=True)
    opml = (REPO / "templates" / "subscribers.opml").read_text()
    (own / "subscribers.opml").write_text(
        opml.replace("{{ site.name }}", f"{{{{ {expression} }}}}")
    )
    report = run(config)
    assert report.index_error and "templates/subscribers.opml" in report.index_error
    assert {s.outcome for s in report.subscribers} == {"published"}
    for path in config.site.output_dir.rglob("*"):
        if path.is_file() and path.name != "SECRET":
            assert b"the secret" not in path.read_bytes(), path


def test_the_sandbox_refuses_every_attribute_of_a_path() -> None:
    """Should a path ever reach a template's context, none of its methods can be called."""
    env = make_environment([Path(__file__).parent])
    template = env.from_string("{{ p.read_text() }}")
    with pytest.raises(jinja2.exceptions.SecurityError):
        template.render(p=Path(__file__))


@pytest.mark.parametrize(
    ("expression", "refused"),
    [
        ('"x" * 2000000', True),
        ("9 ** 99999", True),
        ("[1, 2] * 600000", True),
        ('"ab" * 3', False),
        ("2 ** 10", False),
    ],
)
def test_the_sandbox_refuses_repetitions_and_powers_that_would_exhaust_the_run(
    expression: str, refused: bool
) -> None:
    env = make_environment([Path(__file__).parent])
    template = env.from_string(f"{{{{ {expression} }}}}")
    if refused:
        with pytest.raises(jinja2.exceptions.SecurityError):
            template.render()
    else:
        assert template.render() == str(eval(expression))


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% for i in range(50) %}{{ f(n - 1) if n else '' }}{% endfor %}"
        "{% endmacro %}{{ f(9) }}",
        # No range, no call: loops over a long string, as many as the sandbox allows.
        '{% set s = "x" * 1000000 %}{% for i in s %}{% for j in s %}{% endfor %}{% endfor %}',
        "{% for i in [1] * 100000 %}{% for j in 'y' * 100000 if j %}{% endfor %}{% endfor %}",
    ],
    ids=["nested-loops", "recursion", "loops-over-a-string", "filtered-loop-over-a-list"],
)
def test_a_runaway_sandboxed_template_is_stopped_at_its_deadline(source: str) -> None:
    """Rendered in a daemon thread so that, should the deadline not work, the test fails
    after a minute instead of hanging for hours."""
    env = make_environment([Path(__file__).parent])
    outcome: list[BaseException] = []

    def render() -> None:
        try:
            with template_deadline(0.2):
                env.from_string(source).render()
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=render, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the template was not stopped"
    assert len(outcome) == 1 and isinstance(outcome[0], jinja2.exceptions.SecurityError)
    assert "time limit" in str(outcome[0])


def test_the_sandboxs_range_still_behaves_like_a_range() -> None:
    env = make_environment([Path(__file__).parent])
    source = "{{ range(3)|length }} {{ range(5)|list }} {{ range(10)[3] }} {{ 2 in range(3) }}"
    with template_deadline():
        assert env.from_string(source).render() == "3 [0, 1, 2, 3, 4] 3 True"


def test_a_runaway_override_fails_its_subscriber_and_the_run_goes_on(
    feed_server: FeedServer,
    make_config: MakeConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(environment, "TEMPLATE_SECONDS", 0.5)
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    own = tmp_path / "templates" / "subscribers" / "templated"
    own.mkdir(parents=True)
    loops = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    (own / "_footer.html").write_text(f'<p class="syn-footer">{loops}</p>\n')
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    report = run(config)
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert outcomes["templated"].outcome == "failed"
    assert "time limit" in (outcomes["templated"].error or "")
    assert outcomes["good"].outcome == outcomes["typo"].outcome == "published"


def test_a_runaway_site_template_costs_its_time_limit_once_per_run_not_per_subscriber(
    feed_server: FeedServer,
    make_config: MakeConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every subscriber renders the site's templates: the first to run past the limit
    fails, and the others that would render the same file fail at once, naming it,
    instead of each waiting out the limit (with thousands, hours of holding the lock). A
    subscriber with its own version of that file is rendered."""
    monkeypatch.setattr(environment, "TEMPLATE_SECONDS", 1.0)
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    site = tmp_path / "templates"
    site.mkdir()
    (site / "_footer.html").write_text(
        '{% set s = "x" * 100000 %}{% for i in s %}{% for j in s %}{% endfor %}{% endfor %}\n'
    )
    own = site / "subscribers" / "templated"
    own.mkdir(parents=True)
    (own / "_footer.html").write_text('<p class="syn-footer">{{ sub.footer }}</p>\n')
    subscribers = {
        **{
            f"church-{n}": f'name = "Church {n}"\nsite_url = "https://c{n}.example/"'
            for n in range(6)
        },
        "templated": GOOD_SUBSCRIBERS["templated"],
    }
    config = make_config(url, subscribers=subscribers)
    rendered: list[str] = []
    original = Renderer._render

    def counting(self: Renderer, plan: Any, unchanged: Any) -> Any:
        rendered.append(plan.subscriber.id)
        return original(self, plan, unchanged)

    monkeypatch.setattr(Renderer, "_render", counting)
    report = run(config)
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert outcomes["templated"].outcome == "published"
    failed = [s for s in outcomes.values() if s.outcome == "failed"]
    assert len(failed) == 6
    (first,) = [s for s in failed if "time limit: stopped" in (s.error or "")]
    for other in failed:
        if other is not first:
            assert f"it ran past its time limit for {first.subscriber_id} earlier in this run" in (
                other.error or ""
            )
            assert "_footer.html" in (other.error or "")
    assert sorted(rendered) == sorted([first.subscriber_id, "templated"])  # no one else tried


def test_an_output_beyond_any_real_size_fails_its_subscriber_only(
    feed_server: FeedServer,
    make_config: MakeConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An override template that multiplies its output (here past a lowered limit) costs
    that subscriber, with a message naming the file; its last outputs stay."""
    monkeypatch.setattr(decide, "MAX_FILE_BYTES", 200_000)
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    before = outputs_of(config, "templated")
    own = tmp_path / "templates" / "subscribers" / "templated"
    own.mkdir(parents=True)
    (own / "_footer.html").write_text('<p class="syn-footer">{{ "x" * 100000 }}</p>\n')
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert outcomes["good"].outcome == "published"
    assert outcomes["templated"].outcome == "failed"
    assert "bytes, over the 200,000 any output may have" in (outcomes["templated"].error or "")
    assert outputs_of(config, "templated") == before


def test_a_broken_site_index_template_keeps_the_last_index_and_publishes_everyone(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    output = config.site.output_dir
    names = ("index.html", "subscribers.opml")
    before = {name: (output / name).read_bytes() for name in names}

    site = tmp_path / "templates"
    site.mkdir()
    (site / "index.html").write_text("<h1>\n{{ site.nme.upper() }}</h1>\n")
    (tmp_path / "subscribers" / "new.toml").write_text(
        'name = "New"\nsite_url = "https://n.example/"'
    )
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(load_config(config.path), timedelta(hours=1))

    assert not report.ok
    assert report.index_error and "templates/index.html line 2" in report.index_error
    assert {s.outcome for s in report.subscribers} == {"published"}
    assert b"Story 4" in outputs_of(config, "good")["rss.xml"]
    assert b"Story 4" in outputs_of(config, "new")["rss.xml"]
    assert {name: (output / name).read_bytes() for name in names} == before  # last good kept
    assert not [p for p in output.rglob("*") if p.name.startswith(".tmp-")]

    (site / "index.html").unlink()  # fixed: the next run tries again and publishes the index
    again = run(load_config(config.path), timedelta(hours=2))
    assert again.ok and again.index_error is None
    assert b"New" in (output / "index.html").read_bytes()


def test_site_overrides_apply_to_everyone_and_a_subscriber_folder_to_one(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    site = tmp_path / "templates"
    (site / "subscribers" / "templated").mkdir(parents=True)
    # A site-wide footer that transforms a subscriber field: fragments cannot be shared,
    # and each subscriber must still get its own name, not a neighbour's or a placeholder.
    (site / "_footer.html").write_text('<p class="syn-footer">SITE {{ sub.name|upper }}</p>\n')
    # …and a list item that cuts one short: what is left of its placeholder is detected too.
    (site / "_item.html").write_text(
        '<li class="syn-item"><a href="{{ item.url }}">{{ item.title }}</a> '
        "[{{ sub.name[:2] }}] {% include '_attribution.html' %}</li>\n"
    )
    (site / "subscribers" / "templated" / "_attribution.html").write_text(
        'Via <a href="{{ item.original_url }}">{{ item.outlet }}</a> (ours)\n'
    )
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    for name, shown in (("good", "GOOD CHURCH"), ("templated", "TEMPLATED CHURCH")):
        files = outputs_of(config, name)
        for output in ("snippet.html", "rss.xml", f"articles/{slug_of(config, '1')}.html"):
            assert f"SITE {shown}".encode() in files[output], (name, output)
            assert b"\0" not in files[output]
    for name, cut in (("good", "Go"), ("templated", "Te")):
        assert f"[{cut}]".encode() in outputs_of(config, name)["snippet.html"]
    assert b"(ours)" in outputs_of(config, "templated")["snippet.html"]
    assert b"(ours)" not in outputs_of(config, "good")["snippet.html"]


def test_editing_one_subscribers_template_re_renders_that_subscriber_only(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    """A subscriber's own template folder is not part of the site's templates: editing it
    leaves the others unchanged (at 10,000 subscribers, not a full rebuild)."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    own = tmp_path / "templates" / "subscribers" / "templated"
    own.mkdir(parents=True)
    footer = '<p class="syn-footer">\n{{ sub.footer }} ({})</p>\n'
    (own / "_footer.html").write_text(footer.replace("{}", "one"))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    (own / "_footer.html").write_text(footer.replace("{}", "two"))
    report = run(config, timedelta(hours=1))
    outcomes = {s.subscriber_id: s.outcome for s in report.subscribers}
    assert outcomes == {"good": "unchanged", "templated": "published", "typo": "unchanged"}
    assert b"(two)" in outputs_of(config, "templated")["snippet.html"]


def test_a_subscriber_added_later_is_published_without_touching_the_others(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers={"good": GOOD_SUBSCRIBERS["good"]})
    run(config)
    (tmp_path / "subscribers" / "new.toml").write_text(
        'name = "New"\nsite_url = "https://n.example/"'
    )
    report = run(load_config(config.path), timedelta(hours=1))
    outcomes = {s.subscriber_id: s.outcome for s in report.subscribers}
    assert outcomes == {"good": "unchanged", "new": "published"}
    assert b"New" in (config.site.output_dir / "subscribers.opml").read_bytes()


WEB_ROOT_FOLDERS = {
    "their own files": (
        {"logo.png": b"\x89PNG", "rss.xml": b"<rss>podcast</rss>", "a/2019/easter.html": b"<p>"},
        "already holds files Syndicator did not write, such as a/2019/easter.html, logo.png, "
        "rss.xml",
    ),
    "files named like outputs": (
        {"rss.xml": b"<rss>podcast</rss>", "articles/easter.html": b"<p>", "page/1.html": b"<p>"},
        "such as articles/easter.html, page/1.html, rss.xml",
    ),
    "a link to another folder": ({}, "is a symbolic link; publishing would write where it leads"),
}


@pytest.mark.parametrize("held", list(WEB_ROOT_FOLDERS))
def test_a_web_root_s_own_folders_and_home_page_are_never_taken_over(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path, held: str
) -> None:
    """The output folder is a web root that already has a folder named like a new
    subscriber (or a link of that name) and its own index.html and subscribers.opml:
    publishing would replace or prune them. They are kept, the run says why and where,
    the others publish; retiring the refused subscriber leaves the folder alone; once it
    is moved away and the pages deleted, everything publishes."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    output = config.site.output_dir
    files, message = WEB_ROOT_FOLDERS[held]
    folder = output / ("st-marys" if held.startswith("a link") else "church1")
    theirs = {f"{folder.name}/{name}": data for name, data in files.items()}
    theirs |= {"st-marys/rss.xml": b"<rss>theirs</rss>"} if folder.name == "st-marys" else {}
    theirs |= {"index.html": b"<title>St Somewhere</title>", "subscribers.opml": b"<opml/>"}
    for name, data in theirs.items():
        (output / name).parent.mkdir(parents=True, exist_ok=True)
        (output / name).write_bytes(data)
    if folder.name == "st-marys":
        (output / "church1").symlink_to("st-marys", target_is_directory=True)

    def untouched() -> None:
        assert {p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file()} >= set(
            theirs
        )
        for name, data in theirs.items():
            assert (output / name).read_bytes() == data, name
        assert {p.name for p in folder.iterdir()} == {n.split("/")[1] for n in theirs if "/" in n}

    report = run(config)

    assert not report.ok and report.publish_error is None
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert {i: s.outcome for i, s in outcomes.items()} == {
        "church0": "published", "church1": "failed", "church2": "published",
        "church3": "published",
    }  # fmt: skip
    error = outcomes["church1"].error or ""
    assert error.startswith(f"not published: {output / 'church1'} ") and message in error, error
    assert report.index_error == (
        f"{output} already holds index.html and subscribers.opml, which Syndicator did not "
        "write: kept; move them elsewhere (if Syndicator wrote them, before it marked its "
        f"folders or with a database since lost, create {output / OWNER_MARK})"
    )
    untouched()

    subscriber_file = tmp_path / "subscribers" / "church1.toml"
    subscriber_file.rename(tmp_path / "church1.toml")
    gone = run(load_config(config.path), timedelta(hours=1))
    assert "church1" not in {s.subscriber_id for s in gone.subscribers if s.outcome != "retired"}
    untouched()

    (tmp_path / "church1.toml").rename(subscriber_file)
    (output / "church1").rename(tmp_path / "their-church1")
    (output / "index.html").unlink()
    (output / "subscribers.opml").unlink()
    fixed = run(load_config(config.path), timedelta(hours=2))
    assert fixed.ok, fixed
    assert b"Story 4" in outputs_of(config, "church1")["rss.xml"]
    assert b"Church 1" in (output / "index.html").read_bytes()


def test_a_subscriber_not_yet_published_is_not_listed_in_the_index(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """Its links would lead to nothing, or to someone else's files."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    output = config.site.output_dir
    (output / "church1").mkdir(parents=True)
    (output / "church1" / "rss.xml").write_bytes(b"<rss>their podcast</rss>")
    assert not run(config).ok
    for name in ("index.html", "subscribers.opml"):
        listing = (output / name).read_bytes()
        assert b"church0/rss.xml" in listing and b"church1/" not in listing, name
    (output / "church1" / "rss.xml").unlink()
    assert run(config, timedelta(hours=1)).ok
    assert b"church1/rss.xml" in (output / "subscribers.opml").read_bytes()


def test_a_fresh_database_takes_over_the_outputs_an_earlier_one_published(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """Restoring a server from a backup of the outputs only (or losing the database):
    the folders hold nothing but Syndicator's own outputs and leftovers, so they and the
    index are published over. Article pages of stories the new database never saw (no
    longer in the feed) are links given out: kept as they are for `keep_pages_days`,
    like any page of a story that left the lists, then pruned."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    assert run(config).ok
    output = config.site.output_dir
    old_page = output / "church1" / "articles" / "story-gone.html"
    old_page.write_bytes(b"an old page")
    (output / "church1" / "page" / f"{TEMP_PREFIX}crashed").write_bytes(b"half")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{config.database_path}{suffix}").unlink(missing_ok=True)

    again = run(config, timedelta(hours=1))

    assert again.ok, again
    assert {s.outcome for s in again.subscribers} == {"published"}
    assert old_page.read_bytes() == b"an old page"  # kept as found, never rendered
    assert not list(output.rglob(f"{TEMP_PREFIX}*"))
    assert (output / "index.html").is_file()
    assert run(config, timedelta(days=30)).ok
    assert old_page.read_bytes() == b"an old page"  # still within keep_pages_days (90)
    assert "church1" in {s.subscriber_id for s in run(config, timedelta(days=91)).subscribers}
    assert not old_page.exists()  # its time is up: pruned
    assert (output / "church1" / "rss.xml").is_file()


def test_outputs_from_before_folders_were_marked_are_marked_or_adopted(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """Outputs published before Syndicator marked its folders (or whose marks were
    deleted) are marked on the next run, even when nothing changed. Unmarked and with the
    database lost, they are refused, and the message says how to adopt them."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    assert run(config).ok
    output = config.site.output_dir
    marks = [output / OWNER_MARK, *(output / name / OWNER_MARK for name in FOUR_CHURCHES)]

    for mark in marks:
        mark.unlink()
    quiet = run(config, timedelta(hours=1))
    assert quiet.ok and {s.outcome for s in quiet.subscribers} == {"unchanged"}
    assert all(mark.read_bytes() == OWNER_MARK_TEXT for mark in marks)

    for mark in marks:
        mark.unlink()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{config.database_path}{suffix}").unlink(missing_ok=True)
    refused = run(config, timedelta(hours=2))
    assert {s.outcome for s in refused.subscribers} == {"failed"}
    assert f"create {output / 'church0' / OWNER_MARK} to let it take" in (
        refused.subscribers[0].error or ""
    )
    assert refused.index_error and f"create {output / OWNER_MARK}" in refused.index_error
    for mark in marks:
        mark.write_bytes(b"")  # adopted by hand, as the message says
    adopted = run(config, timedelta(hours=3))
    assert adopted.ok and {s.outcome for s in adopted.subscribers} == {"published"}


def test_a_published_subscriber_s_folder_replaced_by_a_link_is_not_written_through(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    assert run(config).ok
    output = config.site.output_dir
    (output / "their-site").mkdir()
    (output / "their-site" / "rss.xml").write_bytes(b"<rss>theirs</rss>")
    shutil.rmtree(output / "church1")
    (output / "church1").symlink_to("their-site", target_is_directory=True)
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert outcomes["church1"].outcome == "failed"
    assert "church1 is a symbolic link" in (outcomes["church1"].error or "")
    assert [p.name for p in (output / "their-site").iterdir()] == ["rss.xml"]
    assert (output / "their-site" / "rss.xml").read_bytes() == b"<rss>theirs</rss>"


def test_a_removed_subscriber_file_retires_its_outputs(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    run(config)
    output = config.site.output_dir
    assert (output / "typo" / "rss.xml").is_file()
    (tmp_path / "subscribers" / "typo.toml").unlink()
    report = run(load_config(config.path), timedelta(hours=1))
    assert {s.subscriber_id: s.outcome for s in report.subscribers}["typo"] == "retired"
    assert report.ok
    assert not (output / "typo").exists()
    assert b"Typo Church" not in (output / "index.html").read_bytes()
    assert b"typo/rss.xml" not in (output / "subscribers.opml").read_bytes()
    assert (output / "good" / "rss.xml").is_file()
    with Store(config.database_path) as store:
        assert "typo" not in store.render_records()
    again = run(load_config(config.path), timedelta(hours=2))
    assert "typo" not in {s.subscriber_id for s in again.subscribers}


def test_a_retired_subscriber_whose_folder_is_a_link_is_reported_and_kept(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    """Nothing is removed through the link; the others publish; the subscriber stays in
    the ledger, reported, until the link is gone."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    run(config)
    output = config.site.output_dir
    moved = tmp_path / "moved"
    (output / "typo").rename(moved)
    (output / "typo").symlink_to(moved, target_is_directory=True)
    kept = sorted(p.relative_to(moved) for p in moved.rglob("*"))
    (tmp_path / "subscribers" / "typo.toml").unlink()
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(load_config(config.path), timedelta(hours=1))
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert outcomes["typo"].outcome == "failed" and not report.ok
    assert "symbolic link" in (outcomes["typo"].error or "")
    assert sorted(p.relative_to(moved) for p in moved.rglob("*")) == kept
    assert b"Story 4" in outputs_of(config, "good")["rss.xml"]
    with Store(config.database_path) as store:
        assert "typo" in store.render_records()
    (output / "typo").unlink()
    again = run(load_config(config.path), timedelta(hours=2))
    assert {s.subscriber_id: s.outcome for s in again.subscribers}["typo"] == "retired"
    assert again.ok


def test_progress_is_reported_per_subscriber(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    calls: list[tuple[int, int]] = []
    run(config, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|(\d+));")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})(?:\\u(d[c-f][0-9a-f]{2}))?", re.I)


def _not_text_in(data: bytes) -> list[str]:
    """The characters of NOT_TEXT a file carries, raw, as a character reference (HTML,
    XML) or as a JSON/JavaScript escape."""
    text = data.decode("utf-8")
    found = NOT_TEXT.findall(text)
    for match in _REFERENCE.finditer(text):
        code = int(match[1], 16) if match[1] else int(match[2])
        found += NOT_TEXT.findall(chr(min(code, 0x10FFFF)))
    for match in _ESCAPE.finditer(text):
        high, low = int(match[1], 16), int(match[2], 16) if match[2] else None
        if low is not None and 0xD800 <= high < 0xDC00:
            found += NOT_TEXT.findall(chr(0x10000 + (high - 0xD800) * 0x400 + low - 0xDC00))
        else:
            found += NOT_TEXT.findall(chr(high))
    return found


def test_no_control_or_noncharacter_reaches_any_output_even_after_mojibake_repair(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """Controls and noncharacters come in raw, as references, and as the mojibake of
    their UTF-8 (which the repair turns back into them): none reaches a page, the widget,
    a feed or feed.json, in the body, title, author, categories or excerpt."""
    mojibake = "â€œQuotedâ€ ï¿¿ ï¿¾ ð¯¿¿ ï·\x90 "  # “Quoted” U+FFFF U+FFFE U+2FFFF U+FDD0
    references = "&#xFFFF;&#x1;&#x85;&#x7f;&#xFDD0;&#x1FFFE;&#x10FFFF;&#0;&#xD800;"
    body = (
        f"<p>{mojibake}body</p><p>{references} \x85\x9f\x7f raw</p>"
        f'<p><img src="https://img.example/a.jpg" alt="{mojibake}{references}"></p>'
        f'<p><a href="https://a.example/" title="{mojibake}{references}">link</a></p>'
    )
    story = item(
        "1",
        20,
        title=f"{mojibake}Title \x85\x9f",
        author=f"{mojibake}Jane \x9f Doe",
        categories=[f"{mojibake}World \x9f News"],
        summary=f"{mojibake}{references} excerpt",
        body=body,
    )
    byline = item("2", 21, body=f"<p>By {mojibake}Ann\x9f Lee, {mojibake}Editor</p>" + body)
    url = feed_server.serve("/feed", body=rss(story, byline))
    config = make_config(
        url, subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"'}
    )
    report = run(config)
    assert report.ok, report
    files = outputs_of(config, "grace")
    assert len([name for name in files if name.startswith("articles/")]) == 2
    assert "Quoted" in files["feed.json"].decode() and "Ann" in files["rss.xml"].decode()
    for name, data in files.items():
        assert not _not_text_in(data), (name, _not_text_in(data))


def test_a_plain_run_restores_a_deleted_output_folder_and_a_deleted_subscriber_folder(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    output = config.site.output_dir
    published = sorted(str(path.relative_to(output)) for path in output.rglob("*"))
    before = {name: (output / name).read_bytes() for name in published if (output / name).is_file()}

    shutil.rmtree(output)  # nothing changed upstream or in the config: only the files went
    report = run(config, timedelta(minutes=1))
    assert report.ok and {s.outcome for s in report.subscribers} == {"published"}
    assert sorted(str(path.relative_to(output)) for path in output.rglob("*")) == published
    assert {name: (output / name).read_bytes() for name in before} == before

    kept = {path: path.stat().st_ino for path in (output / "good").rglob("*")}
    shutil.rmtree(output / "typo")
    report = run(config, timedelta(minutes=2))
    outcomes = {s.subscriber_id: s.outcome for s in report.subscribers}
    assert outcomes == {"good": "unchanged", "templated": "unchanged", "typo": "published"}
    assert (output / "typo" / "rss.xml").read_bytes() == before["typo/rss.xml"]
    assert {path: path.stat().st_ino for path in (output / "good").rglob("*")} == kept

    (output / "index.html").unlink()
    run(config, timedelta(minutes=3))
    assert (output / "index.html").read_bytes() == before["index.html"]
