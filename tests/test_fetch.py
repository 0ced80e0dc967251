"""The fetch stage against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import os
import socket
import threading
import time
import tracemalloc
import zlib
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from syndicator.config import FetchSettings
from syndicator.errors import FetchError, SourceGone
from syndicator.fetch import Fetcher, parse_retry_after

from .conftest import NOW, FeedServer, item, rss, within

BODY = rss(item("1"))


def fetcher(**settings: object) -> Fetcher:
    return Fetcher(FetchSettings(**settings), contact_url="https://example.org/contact")  # type: ignore[arg-type]


def test_200_returns_body_validators_and_sends_a_descriptive_user_agent(
    feed_server: FeedServer,
) -> None:
    url = feed_server.serve(
        "/feed",
        body=BODY,
        headers={"ETag": '"v1"', "Last-Modified": "Mon, 23 Nov 2026 10:00:00 GMT"},
    )
    with fetcher() as f:
        result = f.fetch("wn", url, now=NOW)
    assert result.status == 200
    assert result.body == BODY
    assert result.etag == '"v1"'
    assert result.last_modified == "Mon, 23 Nov 2026 10:00:00 GMT"
    assert result.moved_to is None
    agent = feed_server.requests[0].headers["User-Agent"]
    assert agent.startswith("Syndicator/") and "https://example.org/contact" in agent


def _conditional(etag: str | None, last_modified: str | None) -> object:
    def handler(request: BaseHTTPRequestHandler) -> None:
        if (etag and request.headers.get("If-None-Match") == etag) or (
            last_modified and request.headers.get("If-Modified-Since") == last_modified
        ):
            request.send_response(304)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        request.send_response(200)
        if etag:
            request.send_header("ETag", etag)
        if last_modified:
            request.send_header("Last-Modified", last_modified)
        request.send_header("Content-Length", str(len(BODY)))
        request.end_headers()
        request.wfile.write(BODY)

    return handler


@pytest.mark.parametrize(
    ("etag", "last_modified"),
    [('"abc"', None), (None, "Sun, 22 Nov 2026 08:00:00 GMT")],
    ids=["etag", "last-modified"],
)
def test_304_when_the_stored_validator_matches(
    feed_server: FeedServer, etag: str | None, last_modified: str | None
) -> None:
    url = feed_server.route("/feed", _conditional(etag, last_modified))  # type: ignore[arg-type]
    with fetcher() as f:
        first = f.fetch("wn", url, now=NOW)
        second = f.fetch("wn", url, now=NOW, etag=first.etag, last_modified=first.last_modified)
    assert first.body == BODY
    assert second.not_modified and second.body is None and second.status == 304
    assert second.etag == etag and second.last_modified == last_modified


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_reports_the_new_url(feed_server: FeedServer, status: int) -> None:
    new = feed_server.serve("/new-feed", body=BODY)
    old = feed_server.serve("/feed", status, headers={"Location": "/new-feed"})
    with fetcher() as f:
        result = f.fetch("wn", old, now=NOW)
    assert result.body == BODY
    assert result.final_url == new
    assert result.moved_to == new


def test_temporary_redirect_in_the_chain_keeps_the_url(feed_server: FeedServer) -> None:
    feed_server.serve("/final", body=BODY)
    feed_server.serve("/hop", 301, headers={"Location": "/final"})
    old = feed_server.serve("/feed", 302, headers={"Location": "/hop"})
    with fetcher() as f:
        result = f.fetch("wn", old, now=NOW)
    assert result.body == BODY and result.moved_to is None


def test_redirect_loop_is_named(feed_server: FeedServer) -> None:
    a = feed_server.serve("/a", 302, headers={"Location": "/b"})
    feed_server.serve("/b", 302, headers={"Location": "/a"})
    with fetcher() as f, pytest.raises(FetchError, match=r"redirect loop: .*/a → .*/b → .*/a"):
        f.fetch("wn", a, now=NOW)


def test_more_than_max_redirects_fails(feed_server: FeedServer) -> None:
    for n in range(7):
        feed_server.serve(f"/r{n}", 302, headers={"Location": f"/r{n + 1}"})
    feed_server.serve("/r7", body=BODY)
    with fetcher(max_redirects=5) as f, pytest.raises(FetchError, match="too many redirects"):
        f.fetch("wn", feed_server.url("/r0"), now=NOW)
    with fetcher(max_redirects=7) as f:
        assert f.fetch("wn", feed_server.url("/r0"), now=NOW).body == BODY


def test_redirect_to_a_file_url_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.serve("/feed", 302, headers={"Location": "file:///etc/passwd"})
    with fetcher() as f, pytest.raises(FetchError, match="refusing to follow"):
        f.fetch("wn", url, now=NOW)


@pytest.mark.parametrize("status", [404, 500])
def test_error_statuses_fail_with_the_status(feed_server: FeedServer, status: int) -> None:
    url = feed_server.serve("/feed", status, b"oops", {"Content-Type": "text/plain"})
    with fetcher() as f, pytest.raises(FetchError, match=f"HTTP {status}") as caught:
        f.fetch("wn", url, now=NOW)
    assert caught.value.status == status and caught.value.retry_after is None


def test_410_is_source_gone(feed_server: FeedServer) -> None:
    url = feed_server.serve("/feed", 410)
    with fetcher() as f, pytest.raises(SourceGone, match="410"):
        f.fetch("wn", url, now=NOW)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        ("Tue, 24 Nov 2026 15:30:00 GMT", NOW.replace(hour=15, minute=30)),
    ],
    ids=["seconds", "http-date"],
)
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_returned_not_slept(
    feed_server: FeedServer, status: int, header: str, expected: object
) -> None:
    url = feed_server.serve("/feed", status, headers={"Retry-After": header})
    started = time.monotonic()
    with fetcher() as f, pytest.raises(FetchError) as caught:
        f.fetch("wn", url, now=NOW)
    assert caught.value.retry_after == expected
    assert caught.value.status == status
    assert time.monotonic() - started < 5  # it did not wait 120 s inline


def test_parse_retry_after_rejects_garbage() -> None:
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("", NOW) is None
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("²", NOW) is None  # a digit to str.isdigit, not to int()
    assert parse_retry_after("9" * 30, NOW) == NOW + timedelta(days=366)  # no overflow


def test_invalid_location_is_a_fetch_error(feed_server: FeedServer) -> None:
    url = feed_server.serve("/feed", 301, headers={"Location": "http://[::1/x"})
    with fetcher() as f, pytest.raises(FetchError, match="invalid redirect Location|network"):
        f.fetch("wn", url, now=NOW)


def _trickle_body(request: BaseHTTPRequestHandler) -> None:
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.end_headers()
    for byte in BODY:  # one byte every 50 ms: each read is quick, the whole is not
        request.wfile.write(bytes([byte]))
        request.wfile.flush()
        time.sleep(0.05)


def _trickle_headers(request: BaseHTTPRequestHandler) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
        request.wfile.write(bytes([byte]))
        request.wfile.flush()
        time.sleep(0.05)


@pytest.mark.parametrize("handler", [_trickle_body, _trickle_headers], ids=["body", "headers"])
def test_trickling_server_is_cut_off_by_the_total_deadline(
    feed_server: FeedServer, handler: object
) -> None:
    url = feed_server.route("/feed", handler)  # type: ignore[arg-type]
    started = time.monotonic()
    with fetcher(deadline_seconds=1.0, read_timeout=5.0) as f:
        with pytest.raises(FetchError, match="deadline"):
            f.fetch("wn", url, now=NOW)
    assert time.monotonic() - started < 3


def test_connect_timeout_to_a_silent_listener() -> None:
    # A listening socket that never accepts: connect succeeds at TCP level, then nothing.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/feed"
        with fetcher(read_timeout=0.5, deadline_seconds=5) as f:
            with pytest.raises(FetchError, match="timed out|deadline"):
                f.fetch("wn", url, now=NOW)
    finally:
        silent.close()


def test_gzip_bomb_aborts_without_inflating_it(feed_server: FeedServer) -> None:
    bomb = gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9)  # ~200 KB on the wire
    url = feed_server.serve(
        "/feed", body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/xml"}
    )
    tracemalloc.start()
    try:
        with (
            fetcher(max_bytes=1024 * 1024) as f,
            pytest.raises(FetchError, match="after decompression"),
        ):
            f.fetch("wn", url, now=NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"peak {peak:,} bytes: the bomb was inflated"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_bodies_are_decoded(feed_server: FeedServer, encoding: str) -> None:
    packed = gzip.compress(BODY) if encoding == "gzip" else zlib.compress(BODY)
    url = feed_server.serve("/feed", body=packed, headers={"Content-Encoding": encoding})
    with fetcher() as f:
        assert f.fetch("wn", url, now=NOW).body == BODY


def test_oversized_plain_body_with_content_length_is_refused_early(feed_server: FeedServer) -> None:
    url = feed_server.serve("/feed", body=b"x" * 3000)
    with fetcher(max_bytes=2048) as f, pytest.raises(FetchError, match="Content-Length 3,000"):
        f.fetch("wn", url, now=NOW)


def test_oversized_chunked_body_is_cut_while_streaming(feed_server: FeedServer) -> None:
    def endless(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/xml")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        chunk = b"<x>" * 1000
        for _ in range(100_000):  # ~300 MB if nobody stopped it
            request.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    url = feed_server.route("/feed", endless)
    with fetcher(max_bytes=64 * 1024) as f, pytest.raises(FetchError, match="larger than"):
        f.fetch("wn", url, now=NOW)


def test_non_feed_content_type_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.serve("/feed", body=b"\x89PNG....", headers={"Content-Type": "image/png"})
    with fetcher() as f, pytest.raises(FetchError, match="not a feed.*image/png"):
        f.fetch("wn", url, now=NOW)


def test_connection_refused_is_a_fetch_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with fetcher() as f, pytest.raises(FetchError, match="network error"):
        f.fetch("wn", f"http://127.0.0.1:{port}/feed", now=NOW)


def test_file_url_reads_and_then_reports_not_modified(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(BODY)
    with fetcher() as f:
        first = f.fetch("wn", path.as_uri(), now=NOW)
        second = f.fetch("wn", path.as_uri(), now=NOW, etag=first.etag)
        path.write_bytes(BODY + b"\n")
        third = f.fetch("wn", path.as_uri(), now=NOW, etag=first.etag)
    assert first.body == BODY and second.not_modified and third.body == BODY + b"\n"


def test_missing_file_is_named(tmp_path: Path) -> None:
    with fetcher() as f, pytest.raises(FetchError, match="file not found: .*nope.xml"):
        f.fetch("wn", (tmp_path / "nope.xml").as_uri(), now=NOW)


def test_fetches_run_concurrently_in_threads_with_their_own_deadlines(
    feed_server: FeedServer,
) -> None:
    slow = feed_server.route("/slow", _trickle_body)
    fast = feed_server.serve("/fast", body=BODY)
    results: dict[str, object] = {}

    def go(name: str, url: str) -> None:
        try:
            results[name] = f.fetch("wn", url, now=NOW).body
        except FetchError as exc:
            results[name] = exc

    with fetcher(deadline_seconds=1.0) as f:
        threads = [threading.Thread(target=go, args=a) for a in (("slow", slow), ("fast", fast))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results["fast"] == BODY
    assert isinstance(results["slow"], FetchError)


def test_a_file_feed_that_is_a_fifo_fails_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "feed.xml"
    os.mkfifo(fifo)
    with fetcher() as f, pytest.raises(FetchError, match="not a regular file: a FIFO"):
        within(10, lambda: f.fetch("wn", fifo.as_uri(), now=NOW))  # no writer: no end
