"""`syndicator serve`: a real server on 127.0.0.1 over a real output tree, asked with a raw
HTTP client (http.client sends the path exactly as written, so traversal attempts arrive
unnormalised)."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.utils import format_datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from syndicator.publish import write_atomic
from syndicator.serve import GZIP_MIN_BYTES, ServeError, _GzipCache, make_server

from .conftest import NOW

SECRET = b"SECRET-OUTSIDE-THE-OUTPUT-FOLDER"
HIDDEN = b"HIDDEN-DOTFILE"
TEMP = b"HALF-WRITTEN-TEMP-FILE"
STAMP = NOW.timestamp()  # every file's mtime, so Last-Modified is known
RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
    + (b"<item><title>A story</title></item>" * 80)
    + b"</channel></rss>\n"
)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def _tree(base: Path) -> Path:
    """An output folder shaped like the publisher's, with things beside it that must stay
    unreachable: a secret file outside, symlinks to it and to its folder, hidden files."""
    root = base / "output"
    files = {
        "index.html": b"<!doctype html><title>Subscribers</title>\n",
        "subscribers.opml": b'<?xml version="1.0"?><opml version="2.0"></opml>\n',
        "grace/rss.xml": RSS,
        "grace/atom.xml": b'<feed xmlns="http://www.w3.org/2005/Atom">'
        + b"<entry/>" * 200
        + b"</feed>",
        "grace/feed.json": b'{"version": "https://jsonfeed.org/version/1.1", "items": ['
        + b'{"id": "1", "title": "A story"},' * 60
        + b'{"id": "2"}]}',
        "grace/embed.js": b"(function () {\n" + b"  document.title;\n" * 100 + b"})();\n",
        "grace/widget.html": b"<!doctype html><ul>" + b"<li>A story</li>" * 100 + b"</ul>",
        "grace/snippet.html": b"<ul><li>A story</li></ul>",
        "grace/style.css": b".syn { color: #222; }\n",
        "grace/page/1.html": b"<!doctype html><p>page one</p>",
        "grace/articles/x.html": b"<!doctype html><article>A story</article>",
        "grace/logo.png": PNG,
        "grace/.secret": HIDDEN,
        "grace/.tmp-abc": TEMP,
        ".htpasswd": HIDDEN,
    }
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (base / "secret").write_bytes(SECRET)
    (root / "grace" / "leak.txt").symlink_to(base / "secret")
    (root / "outside").symlink_to(base)
    (root / "loop").symlink_to(root / "loop")
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            os.utime(path, (STAMP, STAMP))
    return root


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes


class Site:
    """A running server over a tree; `ask` sends one request on a fresh connection."""

    def __init__(self, root: Path, server: ThreadingHTTPServer) -> None:
        self.root = root
        self.server = server

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.server.server_port, timeout=5)

    def ask(self, path: str, method: str = "GET", headers: dict[str, str] | None = None) -> Reply:
        connection = self.connect()
        try:
            return _exchange(connection, method, path, headers or {})
        finally:
            connection.close()


def _exchange(
    connection: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str]
) -> Reply:
    # Without an Accept-Encoding of ours, http.client sends "identity".
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    return Reply(response.status, response.headers, response.read())


def _running(root: Path) -> Iterator[Site]:
    server = make_server(root, port=0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Site(root, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _running(_tree(tmp_path_factory.mktemp("serve")))


@pytest.fixture
def fresh_site(tmp_path: Path) -> Iterator[Site]:
    """A site of its own, for tests that change files."""
    yield from _running(_tree(tmp_path))


# --- what is served, and as what ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/grace/rss.xml", "application/rss+xml; charset=utf-8"),
        ("/grace/atom.xml", "application/atom+xml; charset=utf-8"),
        ("/grace/feed.json", "application/feed+json; charset=utf-8"),
        ("/grace/embed.js", "text/javascript; charset=utf-8"),
        ("/grace/widget.html", "text/html; charset=utf-8"),
        ("/grace/articles/x.html", "text/html; charset=utf-8"),
        ("/grace/style.css", "text/css; charset=utf-8"),
        ("/subscribers.opml", "text/x-opml; charset=utf-8"),
        ("/grace/logo.png", "image/png"),
    ],
)
def test_content_types(site: Site, path: str, content_type: str) -> None:
    reply = site.ask(path)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == content_type
    assert reply.body == (site.root / path[1:]).read_bytes()
    assert reply.headers["Content-Length"] == str(len(reply.body))
    assert reply.headers["Last-Modified"] == format_datetime(NOW, usegmt=True)


@pytest.mark.parametrize("path", ["/grace/rss.xml", "/grace/widget.html", "/nowhere", "/grace"])
def test_security_headers_on_every_response(site: Site, path: str) -> None:
    reply = site.ask(path)
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_index_at_root_and_query_strings_ignored(site: Site) -> None:
    index = (site.root / "index.html").read_bytes()
    assert site.ask("/").body == index
    assert site.ask("/index.html").body == index
    reply = site.ask("/grace/rss.xml?utm_source=x")
    assert (reply.status, reply.body) == (200, RSS)


def test_folder_without_slash_redirects_and_folder_without_index_is_404(site: Site) -> None:
    reply = site.ask("/grace?a=1")
    assert reply.status == 301
    assert reply.headers["Location"] == "/grace/?a=1"
    listing = site.ask("/grace/")
    assert listing.status == 404
    assert b"rss.xml" not in listing.body  # never a directory listing


@pytest.mark.parametrize("path", ["/grace/missing.xml", "/grace/rss.xml/", "/nowhere/"])
def test_missing_is_404(site: Site, path: str) -> None:
    assert site.ask(path).status == 404


# --- conditional requests --------------------------------------------------------------


def test_etag_gives_304_without_body(site: Site) -> None:
    first = site.ask("/grace/rss.xml")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')  # strong
    for header in (etag, f'"other", {etag}', "*", f"W/{etag}"):
        reply = site.ask("/grace/rss.xml", headers={"If-None-Match": header})
        assert (reply.status, reply.body) == (304, b""), header
        assert reply.headers["ETag"] == etag
        assert reply.headers["Cache-Control"] == "public, max-age=300"
        assert "Content-Length" not in reply.headers
    assert site.ask("/grace/rss.xml", headers={"If-None-Match": '"other"'}).status == 200


def test_if_modified_since(site: Site) -> None:
    last_modified = site.ask("/grace/feed.json").headers["Last-Modified"]
    reply = site.ask("/grace/feed.json", headers={"If-Modified-Since": last_modified})
    assert (reply.status, reply.body) == (304, b"")
    assert reply.headers["Access-Control-Allow-Origin"] == "*"  # 304 keeps the 200's headers
    earlier = "Mon, 23 Nov 2026 12:00:00 GMT"
    assert site.ask("/grace/feed.json", headers={"If-Modified-Since": earlier}).status == 200
    garbage = site.ask("/grace/feed.json", headers={"If-Modified-Since": "yesterday"})
    assert garbage.status == 200


def test_if_none_match_takes_precedence(site: Site) -> None:
    last_modified = site.ask("/grace/rss.xml").headers["Last-Modified"]
    headers = {"If-None-Match": '"stale"', "If-Modified-Since": last_modified}
    assert site.ask("/grace/rss.xml", headers=headers).status == 200


def test_a_new_version_has_a_new_etag_and_new_gzip_bytes(fresh_site: Site) -> None:
    gzip_ok = {"Accept-Encoding": "gzip"}
    before = fresh_site.ask("/grace/rss.xml", headers=gzip_ok)
    changed = RSS.replace(b"A story", b"B story")
    write_atomic(fresh_site.root / "grace" / "rss.xml", changed)
    after = fresh_site.ask("/grace/rss.xml", headers=gzip_ok)
    assert gzip.decompress(after.body) == changed
    assert after.headers["ETag"] != before.headers["ETag"]
    revalidate = {**gzip_ok, "If-None-Match": before.headers["ETag"]}
    assert fresh_site.ask("/grace/rss.xml", headers=revalidate).status == 200


# --- gzip ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/grace/rss.xml", "/grace/feed.json", "/grace/embed.js"])
def test_gzip_when_asked(site: Site, path: str) -> None:
    plain = site.ask(path)
    packed = site.ask(path, headers={"Accept-Encoding": "br;q=1.0, gzip;q=0.8"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.body) == plain.body == (site.root / path[1:]).read_bytes()
    assert len(packed.body) < len(plain.body)
    assert packed.headers["Content-Length"] == str(len(packed.body))
    assert packed.headers["Vary"] == plain.headers["Vary"] == "Accept-Encoding"
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'
    revalidate = {"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    assert site.ask(path, headers=revalidate).status == 304
    # The identity ETag does not validate the gzip representation, nor the reverse.
    revalidate["If-None-Match"] = plain.headers["ETag"]
    assert site.ask(path, headers=revalidate).status == 200
    assert site.ask(path, headers={"If-None-Match": packed.headers["ETag"]}).status == 200


@pytest.mark.parametrize("accept", ["gzip;q=0", "identity", "br", "gzip;q=0, *", "*;q=0"])
def test_no_gzip_when_refused(site: Site, accept: str) -> None:
    reply = site.ask("/grace/rss.xml", headers={"Accept-Encoding": accept})
    assert "Content-Encoding" not in reply.headers
    assert reply.body == RSS


def test_gzip_via_wildcard(site: Site) -> None:
    reply = site.ask("/grace/rss.xml", headers={"Accept-Encoding": "*"})
    assert reply.headers["Content-Encoding"] == "gzip"


@pytest.mark.parametrize("path", ["/grace/snippet.html", "/grace/logo.png"])
def test_no_gzip_for_tiny_or_binary_files(site: Site, path: str) -> None:
    size = (site.root / path[1:]).stat().st_size
    assert (size < GZIP_MIN_BYTES) == path.endswith(".html")  # the fixture means what it says
    reply = site.ask(path, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in reply.headers
    assert "Vary" not in reply.headers
    assert reply.body == (site.root / path[1:]).read_bytes()


# --- HEAD ------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["identity", "gzip"])
def test_head_sends_headers_only(site: Site, accept: str) -> None:
    get = site.ask("/grace/rss.xml", headers={"Accept-Encoding": accept})
    connection = site.connect()
    try:
        head = _exchange(connection, "HEAD", "/grace/rss.xml", {"Accept-Encoding": accept})
        # A body after the HEAD's headers would be read as the next response's status line.
        again = _exchange(connection, "GET", "/grace/rss.xml", {"Accept-Encoding": accept})
    finally:
        connection.close()
    assert (head.status, head.body) == (200, b"")
    assert head.headers["Content-Length"] == str(len(get.body))
    assert head.headers["ETag"] == get.headers["ETag"]
    assert again.body == get.body


# --- caching and CORS ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "cache_control"),
    [
        ("/grace/rss.xml", "public, max-age=300"),
        ("/grace/atom.xml", "public, max-age=300"),
        ("/grace/feed.json", "public, max-age=300"),
        ("/grace/embed.js", "public, max-age=300"),
        ("/grace/snippet.html", "public, max-age=300"),
        ("/grace/widget.html", "public, max-age=300"),
        ("/grace/page/1.html", "public, max-age=300"),
        ("/grace/articles/x.html", "public, max-age=3600"),
        ("/grace/style.css", "public, max-age=3600"),
        ("/", "private, max-age=60"),
        ("/subscribers.opml", "private, max-age=60"),
    ],
)
def test_cache_control_per_kind(site: Site, path: str, cache_control: str) -> None:
    assert site.ask(path).headers["Cache-Control"] == cache_control


@pytest.mark.parametrize(
    ("path", "cors"),
    [
        ("/grace/feed.json", True),
        ("/grace/embed.js", True),
        ("/grace/rss.xml", False),
        ("/grace/widget.html", False),
        ("/grace/articles/x.html", False),
        ("/", False),
    ],
)
def test_cors_only_on_feed_json_and_embed_js(site: Site, path: str, cors: bool) -> None:
    reply = site.ask(path)
    assert reply.status == 200
    assert reply.headers.get("Access-Control-Allow-Origin") == ("*" if cors else None)


@pytest.mark.parametrize("path", ["/grace/feed.json", "/grace/embed.js"])
def test_cors_preflight(site: Site, path: str) -> None:
    headers = {
        "Origin": "https://grace.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match",
    }
    reply = site.ask(path, "OPTIONS", headers)
    assert (reply.status, reply.body) == (204, b"")
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert reply.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert "if-none-match" in reply.headers["Access-Control-Allow-Headers"].lower()


def test_no_preflight_for_html(site: Site) -> None:
    reply = site.ask("/grace/widget.html", "OPTIONS")
    assert reply.status == 405
    assert "Access-Control-Allow-Origin" not in reply.headers


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/grace/rss.xml", "GET, HEAD"),
        ("PUT", "/grace/widget.html", "GET, HEAD"),
        ("DELETE", "/index.html", "GET, HEAD"),
        ("POST", "/grace/feed.json", "GET, HEAD, OPTIONS"),
    ],
)
def test_other_methods_are_405(site: Site, method: str, path: str, allow: str) -> None:
    reply = site.ask(path, method)
    assert reply.status == 405
    assert reply.headers["Allow"] == allow


def _raw(site: Site, request: bytes) -> bytes:
    """Everything the server sends back for `request` until it closes the connection."""
    with socket.create_connection(("127.0.0.1", site.server.server_port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        with contextlib.suppress(TimeoutError):
            while chunk := sock.recv(65536):
                received += chunk
    return received


SMUGGLED = b"GET /grace/embed.js HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    "head",
    [
        f"POST /grace/feed.json HTTP/1.1\r\nHost: x\r\nContent-Length: {len(SMUGGLED)}\r\n",
        f"GET /grace/feed.json HTTP/1.1\r\nHost: x\r\nContent-Length: {len(SMUGGLED)}\r\n",
        "GET /grace/feed.json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n",
    ],
)
def test_a_body_is_never_read_as_the_next_request(site: Site, head: str) -> None:
    """Behind a proxy that reuses connections, a body read as a request would put the
    answers out of step: a visitor could get embed.js as feed.json."""
    if "chunked" in head:
        body = f"{len(SMUGGLED):x}\r\n".encode() + SMUGGLED + b"\r\n0\r\n\r\n"
    else:
        body = SMUGGLED
    received = _raw(site, head.encode() + b"\r\n" + body)
    assert received.count(b"HTTP/1.1 ") == 1, received[:300]
    assert b"\r\nConnection: close\r\n" in received.split(b"\r\n\r\n")[0] + b"\r\n"


ASK = "GET /grace/feed.json HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (ASK + f"Content-Length: 0\r\nContent-Length: {len(SMUGGLED)}\r\n", "Content-Length"),
        (ASK + f"Content-Length: {len(SMUGGLED)}\r\nContent-Length: 0\r\n", "Content-Length"),
        (ASK + f"Content-Length: 0, {len(SMUGGLED)}\r\n", "Content-Length"),
        (ASK + f"Content-Length: +{len(SMUGGLED)}\r\n", "Content-Length"),
        (ASK + "Content-Length: -1\r\n", "Content-Length"),
        (ASK + "Content-Length: \r\n", "Content-Length"),
        (ASK + f"Content-Length: {len(SMUGGLED)}\r\nTransfer-Encoding: chunked\r\n", "both"),
        (ASK + "Transfer-Encoding: chunked, gzip\r\n", "Transfer-Encoding"),
        (ASK.replace("1.1", "1.0") + "Transfer-Encoding: chunked\r\n", "Transfer-Encoding"),
        (ASK + "X-Note: a\r\n Content-Length: 40\r\n", "folded"),
        (ASK + "X-Note: a\r\n\tContent-Length: 40\r\n", "folded"),
        (ASK + "X-Note: a\rContent-Length: 0\r\nContent-Length: 40\r\n", "CR"),
        (ASK + "X-Note: a\x00b\r\n", "NUL"),
        (ASK + "Content-Length : 40\r\n", "malformed"),
        (ASK + "No colon here\r\nTransfer-Encoding: chunked\r\n", "malformed"),
        ("GET /grace/feed.json\rHTTP/1.1\r\nHost: x\r\n", "CR"),
    ],
)
def test_a_request_whose_length_cannot_be_trusted_is_refused_and_closed(
    site: Site, head: str, reason: str
) -> None:
    """Two lengths, a length that is not a number, a folded or split header line: a proxy
    in front may read the request's end elsewhere than we do, and whatever follows would
    be answered as a request of its own (a desync)."""
    received = _raw(site, head.encode() + b"\r\n" + SMUGGLED)
    answer, _, body = received.partition(b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 "), received[:300]
    assert b"\r\nConnection: close" in answer
    assert reason.encode() in body, body
    assert received.count(b"HTTP/1.1 ") == 1, received[:300]


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (f"GET /{'a' * 9000} HTTP/1.1\r\nHost: x\r\n", 414),
        (ASK + "".join(f"X-H{n}: v\r\n" for n in range(101)), 431),
        (ASK + "".join(f"X-H{n}: {'v' * 8000}\r\n" for n in range(10)), 431),
    ],
)
def test_a_request_line_or_headers_too_large_are_refused_and_closed(
    site: Site, head: str, status: int
) -> None:
    received = _raw(site, head.encode() + b"\r\n" + SMUGGLED)
    answer = received.partition(b"\r\n\r\n")[0]
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), received[:300]
    assert b"\r\nConnection: close" in answer
    assert received.count(b"HTTP/1.1 ") == 1, received[:300]


def test_a_header_line_with_a_bare_newline_is_still_read(site: Site) -> None:
    """RFC 9112 lets a recipient take a bare LF as a line end; nginx and curl agree."""
    received = _raw(site, b"GET /grace/feed.json HTTP/1.1\nHost: x\nConnection: close\n\n")
    assert received.startswith(b"HTTP/1.1 200 "), received[:300]


def test_requests_without_a_body_keep_the_connection(site: Site) -> None:
    plain = b"GET /grace/feed.json HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /grace/rss.xml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert _raw(site, plain + last).count(b"HTTP/1.1 200 ") == 2


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("http://x/grace/feed.json", b" 200 "),
        ("HTTP://x:8080/grace/feed.json?x=1", b" 200 "),
        ("https://x/grace/missing.json", b" 404 "),
        ("ftp://x/grace/feed.json", b" 400 "),
        ("grace/feed.json", b" 400 "),
        ("http://x", b" 200 "),
    ],
)
def test_an_absolute_form_target_is_served_as_its_path(
    site: Site, target: str, status: bytes
) -> None:
    """HTTP/1.1 servers must accept a full URL as the request target (RFC 9112 3.2.2);
    some proxies send one. Any other form stays refused."""
    request = f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    received = _raw(site, request.encode())
    assert received.startswith(b"HTTP/1.1" + status), received[:200]


def test_unknown_methods_are_501(site: Site) -> None:
    reply = site.ask("/grace/rss.xml", "BREW")
    assert reply.status == 501
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


# --- nothing outside the output folder -------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/../secret",
        "/%2e%2e/secret",
        "/%2E%2E/secret",
        "/.%2e/secret",
        "/grace/../../secret",
        "/grace/..%2f..%2fsecret",
        "/grace/%2e%2e%2f%2e%2e%2fsecret",
        "/..%2fsecret",
        "/..\\secret",
        "/grace/..%5c..%5csecret",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/grace/%00",
        "/grace/rss.xml%00.html",
        "/grace/%c0%ae%c0%ae/secret",
        "/grace/leak.txt",
        "/outside/secret",
        "/outside/",
        "/loop",
        "/grace/.secret",
        "/grace/%2esecret",
        "/.htpasswd",
        "/grace/.tmp-abc",
        "/grace/%2etmp-abc",
        "/./grace/rss.xml",
        "*",
        "http://127.0.0.1/../secret",
    ],
)
def test_nothing_outside_the_root_or_hidden(site: Site, path: str) -> None:
    for method in ("GET", "OPTIONS"):
        reply = site.ask(path, method)
        assert reply.status in {400, 404}, (method, reply.status)
        for private in (SECRET, HIDDEN, TEMP):
            assert private not in reply.body


def test_symlinks_inside_the_root_are_followed(fresh_site: Site) -> None:
    (fresh_site.root / "latest.xml").symlink_to(fresh_site.root / "grace" / "rss.xml")
    assert fresh_site.ask("/latest.xml").body == RSS


# --- running it ------------------------------------------------------------------------


def test_gzip_cache_is_bounded_least_recently_used_out_first() -> None:
    reads: list[str] = []

    def reader(name: str) -> Callable[[], bytes]:
        def read() -> bytes:
            reads.append(name)
            return os.urandom(200)  # incompressible: each entry takes about 220 bytes

        return read

    cache = _GzipCache(max_bytes=500)  # room for two entries
    a, b, c = (("/" + name, 1, 1, 200) for name in "abc")
    # c pushes out b (a was used more recently); then b comes back and pushes out c.
    for key in (a, b, a, c, a, b, a):
        cache.get(key, reader(key[0]))
    assert reads == ["/a", "/b", "/c", "/b"]


def test_one_log_line_per_request(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="syndicator.serve"):
        site.ask("/grace/rss.xml")
        site.ask("/missing")
    lines = [r.getMessage() for r in caplog.records if r.name == "syndicator.serve"]
    assert len(lines) == 2
    assert '"GET /grace/rss.xml HTTP/1.1" 200' in lines[0]
    assert '"GET /missing HTTP/1.1" 404' in lines[1]


def test_binds_localhost_by_default_and_reports_the_port(tmp_path: Path) -> None:
    with make_server(tmp_path, port=0) as server:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        assert port == server.server_port != 0


def test_refuses_a_missing_root_and_a_busy_port(tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="no such folder"):
        make_server(tmp_path / "missing", port=0)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ServeError, match="cannot listen on 127.0.0.1"):
            make_server(tmp_path, port=busy.getsockname()[1])
