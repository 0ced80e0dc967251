"""`publish.s3`: publishing to a real S3 server on 127.0.0.1 (moto), through a proxy that
counts the requests that write and injects faults: only what changed is uploaded, in an
order that never lets a list point at a page that is not there, with serve's headers."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import obstore
import pytest

from syndicator.config import Config, load_config
from syndicator.models import StoredObject
from syndicator.publish.s3 import describe, find_drift
from syndicator.store import Store

from .conftest import REPO, FeedServer, item, rss
from .cycle import FOUR, FOUR_CHURCHES, MakeConfig, run
from .s3_server import S3Server, contents, reader, s3, s3_server, to_bucket
from .test_cli import syndicator

__all__ = ["s3", "s3_server"]  # fixtures

LINK = re.compile(rb"https://cdn\.example\.org/news/([^\"'<>\s?#&]+)")


def four_churches_to(
    s3: S3Server, feed_server: FeedServer, make_config: MakeConfig
) -> tuple[Config, str]:
    """The four churches of `cycle`, over a feed of four stories, publishing to a new
    bucket; the config and the bucket's name."""
    bucket = s3.bucket()
    url = feed_server.serve("/feed", body=rss(*FOUR))
    return to_bucket(make_config(url, subscribers=FOUR_CHURCHES), s3, bucket), bucket


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
    config, bucket = four_churches_to(s3, feed_server, make_config)
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
    config, bucket = four_churches_to(s3, feed_server, make_config)
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
    config, bucket = four_churches_to(s3, feed_server, make_config)
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
    config, bucket = four_churches_to(s3, feed_server, make_config)
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
    config, bucket = four_churches_to(s3, feed_server, make_config)
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


def test_contract_a_multipart_etag_is_not_the_md5_and_verify_compares_it_as_given(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server
) -> None:
    """What fakes get wrong: only a plain PUT's ETag is the MD5 of the bytes."""
    bucket = s3.bucket()
    store = reader(s3, bucket)
    data = b"x" * (6 * 1024 * 1024)
    plain = obstore.put(store, "plain", data, use_multipart=False)["e_tag"]
    parts = obstore.put(store, "parts", data, use_multipart=True, chunk_size=5 * 1024 * 1024)
    md5 = hashlib.md5(data).hexdigest()
    assert plain is not None and plain.strip('"') == md5
    assert parts["e_tag"] is not None and parts["e_tag"].strip('"') != md5
    assert parts["e_tag"].strip('"').endswith("-2")
    # the manifest keeps the ETag the store answered: a multipart object as recorded is
    # not drift, the same bytes re-uploaded plainly behind our back are
    name = f"s3://{bucket}/site/"
    with Store(tmp_db(make_config, feed_server)) as db:
        with db.transaction():
            db.save_manifest(name, {"parts": describe_as("parts", data, parts["e_tag"])})
        assert find_drift(db, store, name).changed == ()
        obstore.put(store, "parts", data, use_multipart=False)
        assert find_drift(db, store, name).changed == ("parts",)


def test_contract_the_listing_pages_past_1000_keys_and_verify_sees_every_one(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server
) -> None:
    bucket = s3.bucket()
    store = reader(s3, bucket)
    paths = [f"church/articles/{n:05d}.html" for n in range(2500)]
    with ThreadPoolExecutor(16) as pool:
        etags = list(pool.map(lambda p: obstore.put(store, p, p.encode())["e_tag"], paths))
    name = f"s3://{bucket}/site/"
    s3.counts.clear()
    with Store(tmp_db(make_config, feed_server)) as db:
        with db.transaction():
            db.save_manifest(
                name,
                {p: describe_as(p, p.encode(), e) for p, e in zip(paths, etags, strict=True)},
            )
        drift = find_drift(db, store, name)
    assert drift.listed == 2500
    assert (drift.missing, drift.changed, drift.strangers) == ((), (), ())


def test_contract_content_type_and_cache_control_come_back_as_sent(s3: S3Server) -> None:
    bucket = s3.bucket()
    store = reader(s3, bucket)
    for path, data in {
        "a/feed.json": b"{}",
        "a/embed.js": b"",
        "subscribers.opml": b"<o/>",
    }.items():
        stored = describe(path, data)
        obstore.put(
            store,
            path,
            data,
            attributes={"Content-Type": stored.content_type, "Cache-Control": stored.cache_control},
        )
        assert obstore.get(store, path).attributes == {
            "Content-Type": stored.content_type,
            "Cache-Control": stored.cache_control,
        }
    assert describe("a/feed.json", b"").content_type == "application/feed+json; charset=utf-8"
    assert describe("a/embed.js", b"").content_type == "text/javascript; charset=utf-8"


def tmp_db(make_config: MakeConfig, feed_server: FeedServer) -> Path:
    return make_config(feed_server.serve("/feed", body=rss(*FOUR))).database_path


def describe_as(path: str, data: bytes, etag: str | None) -> StoredObject:
    return replace(describe(path, data), etag=etag or "")


class PurgeHook:
    """A CDN's purge endpoint on 127.0.0.1: records each POST; answers `statuses` in turn
    (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.posts: list[tuple[str, list[str]]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append(
                    (self.headers.get("Authorization", ""), json.loads(body)["files"])
                )
                self.send_response(statuses.pop(0) if statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/purge"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_purge_hook_gets_every_changed_url_in_batches_and_a_failing_hook_fails_nothing(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = PurgeHook([503])  # the first POST is refused: tried again
    monkeypatch.setenv("TEST_PURGE_TOKEN", "t0ken")
    bucket = s3.bucket()
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = to_bucket(
        make_config(url, subscribers=FOUR_CHURCHES),
        s3,
        bucket,
        f'purge_url = "{hook.url}"\npurge_token_env = "TEST_PURGE_TOKEN"\npurge_batch = 7\n',
    )
    run(config)
    before = contents(s3, bucket)
    hook.posts.clear()
    feed_server.serve("/feed", body=rss(*FOUR, item("5", 24)))
    report = run(config, timedelta(hours=1))
    after = contents(s3, bucket)
    changed = {p for p in after if before.get(p) != after[p]}
    assert report.publish_error is None
    assert {auth for auth, _ in hook.posts} == {"Bearer t0ken"}
    assert all(len(urls) <= 7 for _, urls in hook.posts)
    purged = {u for _, urls in hook.posts for u in urls}
    assert purged == {f"https://cdn.example.org/news/{p}" for p in changed}
    hook.server.shutdown()
    hook.server.server_close()  # the CDN is gone: the cycle publishes all the same
    feed_server.serve("/feed", body=rss(*FOUR, item("5", 24), item("6", 25)))
    later = run(config, timedelta(hours=2))
    assert later.publish_error is None
    assert all(r.outcome == "published" for r in later.subscribers)


def test_request_counts_for_300_subscribers_full_quiet_one_article_and_one_retired(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server
) -> None:
    """The figures the counting proxy proves: a full publish PUTs each file once; a quiet
    cycle writes nothing; a new article PUTs exactly the files it changed; a retired
    subscriber's files are DELETEd once the index stops listing it."""
    churches = {
        f"c{n:03d}": f'name = "Church {n}"\nsite_url = "https://c{n}.example/"\nlimit = 3'
        for n in range(300)
    }
    bucket = s3.bucket()
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = to_bucket(make_config(url, subscribers=churches), s3, bucket)
    full = run(config)
    files = contents(s3, bucket)
    assert full.publish_error is None
    assert s3.counts["PUT"] == len(files) == full.publish.written
    s3.counts.clear()
    run(config, timedelta(hours=1), force=True)
    assert (s3.counts["PUT"], s3.counts["DELETE"]) == (0, 0)
    feed_server.serve("/feed", body=rss(*FOUR, item("5", 24)))
    s3.counts.clear()
    one = run(config, timedelta(hours=2))
    after = contents(s3, bucket)
    changed = {p for p in after if files.get(p) != after[p]}
    assert s3.counts["PUT"] == len(changed) == one.publish.written
    gone = {p for p in after if p.startswith("c007/")}
    (config.path.parent / "subscribers" / "c007.toml").unlink()
    s3.counts.clear()
    retired = run(load_config(config.path), timedelta(hours=3))
    assert [r.outcome for r in retired.subscribers if r.subscriber_id == "c007"] == ["retired"]
    assert s3.counts["DELETE"] == len(gone) == retired.publish.removed
    assert (s3.counts["PUT"], set(contents(s3, bucket))) == (2, set(after) - gone)  # the index
    print(
        f"\n300 subscribers: full {len(files)} PUT; quiet 0 PUT 0 DELETE; one article "
        f"{len(changed)} PUT; one retired {len(gone)} DELETE + 2 PUT (index, OPML)"
    )


def test_a_publish_killed_mid_cycle_leaves_no_list_pointing_at_a_missing_page_and_the_next_converges(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server
) -> None:
    config, bucket = four_churches_to(s3, feed_server, make_config)
    run(config)
    feed_server.serve("/feed", body=rss(*FOUR, item("5", 24), item("6", 25)))
    s3.counts.clear()
    s3.faults.stall_after = 12  # the 8 new pages, then a few lists: then it hangs
    cycle = (  # a real process, at the tests' pinned time, to be killed
        "import sys; from datetime import timedelta; from tests.cycle import run; "
        "from syndicator.config import load_config; "
        "run(load_config(sys.argv[1]), timedelta(hours=1))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", cycle, str(config.path)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert s3.stalled.wait(60), process.poll()
        time.sleep(0.5)  # the other uploads in flight land or stall too
    finally:
        process.kill()
        process.wait(30)
    assert [w for w in s3.writes[:8] if "/articles/" not in w] == []  # pages first
    s3.reset()
    files = contents(s3, bucket)
    assert dangling(files) == []
    assert sum(1 for p in files if "/articles/" in p) == 24
    healed = run(config, timedelta(hours=2))
    assert healed.publish_error is None
    files = contents(s3, bucket)
    assert dangling(files) == []
    assert all(b"Story 6" in files[f"church{n}/rss.xml"] for n in range(4))
    s3.counts.clear()
    run(config, timedelta(hours=3), force=True)
    assert (s3.counts["PUT"], s3.counts["DELETE"]) == (0, 0)  # converged


def test_what_a_failed_cycle_did_upload_is_purged_all_the_same(
    feed_server: FeedServer, make_config: MakeConfig, s3: S3Server
) -> None:
    hook = PurgeHook([])
    bucket = s3.bucket()
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = to_bucket(
        make_config(url, subscribers=FOUR_CHURCHES), s3, bucket, f'purge_url = "{hook.url}"\n'
    )
    run(config)
    hook.posts.clear()
    feed_server.serve("/feed", body=rss(*FOUR, item("5", 24)))
    s3.faults.fail_paths = "/rss.xml"
    failed = run(config, timedelta(hours=1))
    assert failed.publish_error is not None
    purged = {u for _, urls in hook.posts for u in urls}
    pages = {f"https://cdn.example.org/news/church{n}/articles/story-5.html" for n in range(4)}
    assert pages <= purged
    assert not any(u.endswith("/rss.xml") for u in purged)
    hook.server.shutdown()
    hook.server.server_close()
