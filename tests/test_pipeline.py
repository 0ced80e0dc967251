"""`run_once` end to end: a real HTTP server, a real SQLite file, real config files."""

from __future__ import annotations

import gzip
import random
import time
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from syndicator.config import Config, load_config
from syndicator.pipeline import run_once
from syndicator.store import Store

from .conftest import FEEDS, NOW, FeedServer, articles_snapshot, item, respond, rss

GOOD = rss(item("1", 20), item("2", 21), item("3", 22))
MakeConfig = Callable[..., Config]


def run(config: Config, at: timedelta = timedelta(0), **kwargs: object) -> object:
    return run_once(config, NOW + at, rng=random.Random(0), **kwargs)  # type: ignore[arg-type]


def state(config: Config) -> object:
    with Store(config.database_path) as store:
        return store.source_state("worthynews")


def _trickle(request: BaseHTTPRequestHandler) -> None:
    request.send_response(200)
    request.end_headers()
    for byte in GOOD:
        request.wfile.write(bytes([byte]))
        request.wfile.flush()
        time.sleep(0.05)


FAILURES: dict[str, Callable[[FeedServer], None]] = {
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
    assert len(first.sources[0].changes.new) == 3  # type: ignore[attr-defined]
    before = articles_snapshot(config)

    FAILURES[case](feed_server)
    report = run(config, timedelta(hours=1), force=True)

    (source,) = report.sources  # type: ignore[attr-defined]
    assert source.outcome == "failed" and source.error
    assert not report.ok  # type: ignore[attr-defined]
    assert articles_snapshot(config) == before
    after = state(config)
    assert after.consecutive_failures == 1  # type: ignore[attr-defined]
    assert after.last_error == source.error  # type: ignore[attr-defined]
    assert after.last_success == NOW  # type: ignore[attr-defined]


def test_500_backs_off_exponentially(feed_server: FeedServer, make_config: MakeConfig) -> None:
    config = make_config(feed_server.serve("/feed", 500))
    interval = timedelta(minutes=30)
    at = timedelta(0)
    for failures in range(1, 6):
        report = run(config, at)
        due = report.sources[0].next_due  # type: ignore[attr-defined]
        ceiling = interval * 2 ** (failures - 1)
        assert ceiling / 2 <= due - (NOW + at) <= ceiling
        assert state(config).consecutive_failures == failures  # type: ignore[attr-defined]
        assert run(config, at + timedelta(seconds=1)).sources[0].outcome == "skipped"  # type: ignore[attr-defined]
        at = due - NOW
    feed_server.serve("/feed", body=GOOD)
    assert run(config, at).sources[0].outcome == "updated"  # type: ignore[attr-defined]
    assert state(config).consecutive_failures == 0  # type: ignore[attr-defined]


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
    assert report.sources[0].next_due == expected  # type: ignore[attr-defined]
    assert state(config).next_due == expected  # type: ignore[attr-defined]
    requests = len(feed_server.requests)
    assert run(config, timedelta(minutes=59)).sources[0].outcome == "skipped"  # type: ignore[attr-defined]
    assert len(feed_server.requests) == requests


def test_410_disables_the_source_until_an_admin_acts(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    config = make_config(feed_server.serve("/feed", 410))
    report = run(config)
    assert "410" in report.sources[0].error and "disabled" in report.sources[0].error  # type: ignore[attr-defined]
    requests = len(feed_server.requests)
    later = run(config, timedelta(days=3))
    assert later.sources[0].outcome == "disabled" and not later.ok  # type: ignore[attr-defined]
    assert len(feed_server.requests) == requests  # not polled again
    # Pointing the config at a new URL re-enables it.
    text = (tmp_path / "syndicator.toml").read_text().replace("/feed", "/new")
    (tmp_path / "syndicator.toml").write_text(text)
    feed_server.serve("/new", body=GOOD)
    fixed = run(load_config(tmp_path / "syndicator.toml"), timedelta(days=3))
    assert fixed.sources[0].outcome == "updated"  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_updates_the_stored_url(
    feed_server: FeedServer, make_config: MakeConfig, status: int
) -> None:
    new = feed_server.serve("/moved", body=GOOD)
    config = make_config(feed_server.serve("/feed", status, headers={"Location": "/moved"}))
    report = run(config)
    assert report.sources[0].moved_to == new  # type: ignore[attr-defined]
    assert state(config).url == new  # type: ignore[attr-defined]
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
    assert report.sources[0].outcome == "not_modified"  # type: ignore[attr-defined]
    assert feed_server.requests[-1].headers["If-None-Match"] == '"v1"'
    with Store(config.database_path) as store:
        assert {a.last_seen for a in store.articles()} == {NOW + timedelta(hours=1)}


def test_correction_and_removed_item(feed_server: FeedServer, make_config: MakeConfig) -> None:
    config = make_config(
        feed_server.serve("/feed", body=(FEEDS / "correction-before.xml").read_bytes())
    )
    assert len(run(config).sources[0].changes.new) == 3  # type: ignore[attr-defined]
    feed_server.serve("/feed", body=(FEEDS / "correction-after.xml").read_bytes())
    changes = run(config, timedelta(hours=1)).sources[0].changes  # type: ignore[attr-defined]
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
    outcomes = {s.source_id: s.outcome for s in report.sources}  # type: ignore[attr-defined]
    assert outcomes == {"broken": "failed", "good": "updated"}
    assert not report.ok  # type: ignore[attr-defined]


def test_recoverable_bozo_feed_is_accepted_with_a_warning(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    config = make_config(feed_server.serve("/feed", body=(FEEDS / "malformed.xml").read_bytes()))
    (source,) = run(config).sources  # type: ignore[attr-defined]
    assert source.outcome == "updated" and len(source.changes.new) >= 2
    assert any("not well-formed" in w for w in source.warnings)
    assert "not well-formed" in state(config).last_warning  # type: ignore[attr-defined]
    feed_server.serve("/feed", body=GOOD)
    run(config, timedelta(hours=1), force=True)
    assert state(config).last_warning is None  # type: ignore[attr-defined]


def test_feed_with_a_wrong_but_textual_content_type_is_accepted(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    config = make_config(
        feed_server.serve("/feed", body=GOOD, headers={"Content-Type": "text/html; charset=utf-8"})
    )
    assert run(config).sources[0].outcome == "updated"  # type: ignore[attr-defined]
