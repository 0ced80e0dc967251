"""`publish.s3`: publishing to a real S3 server on 127.0.0.1 (moto), through a proxy that
counts the requests that write and injects faults: only what changed is uploaded, in an
order that never lets a list point at a page that is not there, with serve's headers."""

from __future__ import annotations

import re
from datetime import timedelta

import obstore
import pytest

from syndicator.store import Store

from .conftest import FeedServer, item, rss
from .cycle import FOUR, FOUR_CHURCHES, MakeConfig, run
from .s3_server import S3Server, contents, reader, s3, s3_server, to_bucket
from .test_cli import syndicator

__all__ = ["s3", "s3_server"]  # fixtures

LINK = re.compile(rb"https://cdn\.example\.org/news/([^\"'<>\s?#&]+)")


def dangling(files: dict[str, bytes]) -> list[tuple[str, str]]:
    """(file, link) for every link to the bucket that names no object in it."""
    return [
        (path, link.decode())
        for path, data in files.items()
        for link in LINK.findall(data)
        if link.decode() not in files and not link.decode().endswith("/")
    ]


def test_a_bucket_gets_every_output_with_serve_s_headers_and_a_quiet_cycle_writes_nothing(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server
) -> None:
    bucket = s3.bucket()
    config = to_bucket(
        make_config(feed_server.serve("/feed", body=rss(*FOUR)), subscribers=FOUR_CHURCHES),
        s3,
        bucket,
    )
    report = run(config)
    assert report.publish_error is None
    files = contents(s3, bucket)
    assert {"index.html", "subscribers.opml", "church0/rss.xml", "church3/feed.json"} <= set(files)
    assert sum(1 for p in files if "/articles/" in p) == 16
    assert s3.counts["PUT"] == len(files) == report.publish.written
    assert dangling(files) == []
    store = reader(s3, bucket)
    head = obstore.get(store, "church0/rss.xml").attributes
    assert head["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert head["Cache-Control"] == "public, max-age=300, s-maxage=60"
    assert obstore.get(store, "index.html").attributes["Cache-Control"] == "private, max-age=60"
    page = next(p for p in files if "/articles/" in p)
    assert obstore.get(store, page).attributes == {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "public, max-age=3600",
    }
    s3.counts.clear()
    again = run(config, timedelta(hours=1), force=True)  # every subscriber rendered again
    assert again.publish_error is None
    assert (s3.counts["PUT"], s3.counts["DELETE"]) == (0, 0)
    assert again.publish.written == 0


def test_one_new_article_puts_only_the_files_it_changed(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server
) -> None:
    bucket = s3.bucket()
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = to_bucket(make_config(url, subscribers=FOUR_CHURCHES), s3, bucket)
    run(config)
    before = contents(s3, bucket)
    s3.counts.clear()
    feed_server.serve("/feed", body=rss(*FOUR, item("5", 24)))
    report = run(config, timedelta(hours=1))
    after = contents(s3, bucket)
    changed = {p for p in after if before.get(p) != after[p]}
    assert sum(1 for p in changed if "/articles/" in p) == 4  # one page per subscriber
    assert s3.counts["PUT"] == len(changed) == report.publish.written
    assert s3.counts["DELETE"] == len(set(before) - set(after))
    assert dangling(after) == []


def test_a_store_failing_midway_leaves_no_list_pointing_at_a_missing_page_and_the_next_cycle_converges(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server
) -> None:
    bucket = s3.bucket()
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = to_bucket(make_config(url, subscribers=FOUR_CHURCHES), s3, bucket)
    run(config)
    feed_server.serve("/feed", body=rss(*FOUR, item("5", 24), item("6", 25)))
    s3.faults.fail_paths = "/rss.xml"  # every list's upload fails, retries and all
    failed = run(config, timedelta(hours=1))
    assert failed.publish_error is not None and "rss.xml" in failed.publish_error
    files = contents(s3, bucket)
    assert dangling(files) == []
    assert sum(1 for p in files if "/articles/" in p) == 24  # the new pages went first
    s3.faults.fail_paths = None
    s3.counts.clear()
    healed = run(config, timedelta(hours=2))
    assert healed.publish_error is None
    files = contents(s3, bucket)
    assert dangling(files) == []
    assert s3.counts["PUT"] > 0
    s3.counts.clear()
    run(config, timedelta(hours=3), force=True)
    assert (s3.counts["PUT"], s3.counts["DELETE"]) == (0, 0)  # converged


def test_500s_and_slow_answers_on_a_share_of_requests_are_retried_to_a_whole_publish(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server
) -> None:
    bucket = s3.bucket()
    config = to_bucket(
        make_config(feed_server.serve("/feed", body=rss(*FOUR)), subscribers=FOUR_CHURCHES),
        s3,
        bucket,
    )
    s3.faults.fail_share, s3.faults.slow_share, s3.faults.slow_seconds = 0.2, 0.1, 0.5
    report = run(config)
    assert report.publish_error is None
    files = contents(s3, bucket)
    assert s3.counts["PUT"] > len(files)  # some were asked twice
    assert dangling(files) == []
    with Store(config.database_path) as store:
        assert set(store.manifest("s3://" + bucket + "/site/")) == set(files)


def test_a_missing_credential_is_one_clear_error_and_nothing_is_written(
    feed_server: FeedServer,
    make_config: MakeConfig,
    s3: S3Server,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: object,
) -> None:
    bucket = s3.bucket()
    config = to_bucket(make_config(feed_server.serve("/feed", body=rss(*FOUR))), s3, bucket)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(config.path.parent / "none"))
    report = run(config)
    assert report.publish_error is not None
    assert report.publish_error.startswith("no credentials for the bucket: set AWS_ACCESS_KEY_ID")
    assert s3.counts["PUT"] == 0


def test_verify_puts_back_what_was_deleted_or_changed_behind_our_back_and_says_so(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server
) -> None:
    bucket = s3.bucket()
    config = to_bucket(
        make_config(feed_server.serve("/feed", body=rss(*FOUR)), subscribers=FOUR_CHURCHES),
        s3,
        bucket,
    )
    run(config)
    before = contents(s3, bucket)
    store = reader(s3, bucket)
    obstore.delete(store, "church1/rss.xml")
    obstore.put(store, "church2/widget.html", b"defaced", use_multipart=False)
    obstore.put(store, "notes.txt", b"someone else's")
    s3.counts.clear()
    done = syndicator("--config", str(config.path), "publish", "--verify")
    assert done.returncode == 0, done.stderr
    assert "1 missing and 1 changed behind our back; 2 uploaded again" in done.stdout
    assert "missing, uploaded again: church1/rss.xml" in done.stdout
    assert "changed, uploaded again: church2/widget.html" in done.stdout
    assert "not Syndicator's, left alone: 1 (notes.txt)" in done.stdout
    assert (s3.counts["PUT"], s3.counts["DELETE"]) == (2, 0)
    after = contents(s3, bucket)
    assert {p: after[p] for p in before} == before
    assert after["notes.txt"] == b"someone else's"


def test_check_probes_the_bucket_says_where_credentials_were_found_and_prints_the_cors_rule(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server
) -> None:
    bucket = s3.bucket()
    config = to_bucket(make_config(feed_server.serve("/feed", body=rss(*FOUR))), s3, bucket)
    done = syndicator("--config", str(config.path), "check")
    assert done.returncode == 0, done.stderr
    assert f"bucket s3://{bucket}/site: writable" in done.stdout
    assert "bucket credentials: found in the environment (AWS_ACCESS_KEY_ID" in done.stdout
    assert '"AllowedMethods": ["GET", "HEAD"]' in done.stdout
    assert (s3.counts["PUT"], s3.counts["DELETE"]) == (1, 1)
    assert contents(s3, bucket) == {}  # the probe is gone
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(
        text.replace(f"s3://{bucket}/", "s3://no-such-bucket/"), encoding="utf-8"
    )
    refused = syndicator("--config", str(config.path), "check")
    assert refused.returncode == 2
    assert "the bucket refused a probe object" in refused.stderr
