"""Shared test fixtures: a real HTTP server on 127.0.0.1, real config files, a pinned clock."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from xml.sax.saxutils import escape

import pytest
from hypothesis import settings

from syndicator.config import Config, load_config

# Property tests check what comes out, not how fast: on a loaded CI machine a single
# example can take longer than hypothesis's 200 ms default deadline.
settings.register_profile("syndicator", deadline=None)
settings.load_profile("syndicator")

FIXTURES = Path(__file__).parent / "fixtures"
FEEDS = FIXTURES / "feeds"
REPO = Path(__file__).parent.parent
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Seen:
    """One request the test server received."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FeedServer:
    """A threaded HTTP server whose routes the test sets; it records every request."""

    base: str
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def serve(
        self, path: str, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> str:
        """Route `path` to a fixed response."""
        return self.route(path, respond(status, body, headers))


def respond(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        sent = {k.lower() for k in headers or {}}
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        if "content-type" not in sent:
            request.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        if "content-length" not in sent:
            request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-request is what several tests do on purpose


@contextlib.contextmanager
def running_server() -> Iterator[FeedServer]:
    """A `FeedServer` on a free 127.0.0.1 port for the duration of the block."""
    server_state: dict[str, FeedServer] = {}

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state = server_state["server"]
            state.requests.append(Seen("GET", self.path, dict(self.headers.items())))
            handler = state.routes.get(self.path.split("?")[0])
            if handler is None:
                respond(404, b"not found", {"Content-Type": "text/plain"})(self)
                return
            # The client hanging up is what the deadline and size tests do on purpose.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                handler(self)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = _QuietServer(("127.0.0.1", 0), RequestHandler)
    server_state["server"] = FeedServer(base=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server_state["server"]
    finally:
        httpd.shutdown()
        httpd.server_close()


# Every character the README says no output carries: C0 controls but tab/LF/CR, DEL and
# the C1 controls, surrogates, and Unicode's noncharacters (U+FDD0–U+FDEF, and the last two
# code points of every plane).
NOT_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
    + "]"
)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with running_server() as server:
        yield server


def rss(*items: dict[str, Any], title: str = "Test Feed") -> bytes:
    """A small RSS 2.0 document in the upstream (WordPress) shape."""
    parts = []
    for item in items:
        cats = "".join(f"<category><![CDATA[{c}]]></category>" for c in item.get("categories", []))
        pub = item.get("published", NOW)
        parts.append(
            f"""<item>
  <title>{escape(item["title"])}</title>
  <link>{escape(item.get("link", "https://www.worthynews.com/" + item["guid"]))}</link>
  <dc:creator><![CDATA[{item.get("author", "Jane Doe")}]]></dc:creator>
  <pubDate>{format_datetime(pub)}</pubDate>
  {cats}
  <guid isPermaLink="false">https://www.worthynews.com/?p={item["guid"]}</guid>
  <description><![CDATA[{item.get("summary", "An excerpt [&#8230;]")}]]></description>
  <content:encoded><![CDATA[{item.get("body", "<p>Body.</p>")}]]></content:encoded>
</item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>{escape(title)}</title>
  <link>https://www.worthynews.com</link>
  <description>Synthetic test feed</description>
  {"".join(parts)}
</channel>
</rss>""".encode()


def item(guid: str, day: int = 20, **extra: Any) -> dict[str, Any]:
    """One synthetic item published on 2026-11-`day`."""
    return {
        "guid": guid,
        "title": extra.pop("title", f"Story {guid}"),
        "published": datetime(2026, 11, day, 9, 0, tzinfo=UTC),
        "categories": extra.pop("categories", ["World News"]),
        **extra,
    }


def write_config(
    folder: Path,
    url: str,
    *,
    fetch: dict[str, Any] | None = None,
    subscribers: dict[str, str] | None = None,
) -> Path:
    """Write a real config folder with one source and return the main file's path."""
    fetch_lines = "".join(f"{key} = {value!r}\n" for key, value in (fetch or {}).items())
    main = folder / "syndicator.toml"
    main.write_text(
        f"""[site]
name = "Test site"
base_url = "http://127.0.0.1:9/"
contact_url = "https://example.org/contact"

[fetch]
{fetch_lines}
[[sources]]
id = "worthynews"
url = "{url}"
""",
        encoding="utf-8",
    )
    (folder / "subscribers").mkdir(exist_ok=True)
    for name, text in (subscribers or {}).items():
        (folder / "subscribers" / f"{name}.toml").write_text(text, encoding="utf-8")
    return main


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    def make(url: str, **kwargs: Any) -> Config:
        return load_config(write_config(tmp_path, url, **kwargs))

    return make


def articles_snapshot(config: Config) -> list[tuple[Any, ...]]:
    """Every stored article row, read straight from the SQLite file."""
    with sqlite3.connect(config.database_path) as db:
        return db.execute("SELECT * FROM articles ORDER BY source_id, id").fetchall()


# -- the embed in a real browser (tests/embed_site.py) --------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium, shared by the browser tests (a fresh context each)."""
    from playwright.sync_api import sync_playwright

    from .embed_site import launch

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def web() -> Iterator[dict[str, FeedServer]]:
    """The church pages' server and the image server (and a sink for hostile markup)."""
    from .embed_site import start_image_server

    with running_server() as host, running_server() as images, running_server() as sink:
        start_image_server(images)
        yield {"host": host, "images": images, "sink": sink}


@pytest.fixture(scope="session")
def embed_site(
    tmp_path_factory: pytest.TempPathFactory, web: dict[str, FeedServer]
) -> Iterator[Any]:
    """The test subscribers published over the synthetic feed and served."""
    from .embed_site import SUBSCRIBERS, feed, published

    folder = tmp_path_factory.mktemp("embed")
    with published(
        folder, feed(web["images"].base), SUBSCRIBERS, web["host"], web["images"]
    ) as site:
        yield site


_T = TypeVar("_T")


def within(seconds: float, call: Callable[[], _T]) -> _T:
    """What `call` returns or raises, failing the test (not hanging it) when it blocks."""
    outcome: list[_T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the test's thread
            error.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still blocked after {seconds} s"
    if error:
        raise error[0]
    return outcome[0]


# -- the web console on a real uvicorn server (syndicator/web/) -----------------------------

ADMIN = "admin"
ADMIN_PASSWORD = "a long enough test passphrase"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]*)"')


class Clock:
    """The console's clock: starts at the real time; a test moves it on."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Console:
    """A running console over a copy of the demo config, with one admin signed in."""

    base: str
    config_path: Path
    client: Any  # an httpx2.Client signed in as ADMIN, not following redirects
    csrf_token: str  # the signed-in session's
    clock: Clock

    @property
    def config(self) -> Config:
        return load_config(self.config_path)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form with the session's CSRF token added."""
        return self.client.post(
            path, data={"csrf_token": self.csrf_token, **(data or {})}, **kwargs
        )


def csrf_token_in(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def sign_in(client: Any, name: str = ADMIN, password: str = ADMIN_PASSWORD) -> Any:
    """Sign `client` in through the form, as a browser would; the POST's response."""
    page = client.get("/admin/login")
    return client.post(
        "/admin/login",
        data={"csrf_token": csrf_token_in(page.text), "name": name, "password": password},
    )


def sign_in_page(page: Any) -> None:
    """Sign a Chromium `page` (its context's base_url the console) in as ADMIN through the
    sign-in form, and wait for the dashboard."""
    page.goto("/admin/login")
    page.fill("input[name=name]", ADMIN)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")


@contextlib.contextmanager
def running_console(config_path: Path, clock: Clock) -> Iterator[str]:
    """`syndicator web`'s app on a real uvicorn server on a free 127.0.0.1 port; its base URL."""
    import socket

    import uvicorn

    from syndicator.web.app import create_app, server_config

    sock = socket.socket(
        socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )  # so asyncio sets TCP_NODELAY: no 40 ms Nagle wait per request
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(create_app(config_path, clock=clock), port=port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the console's server did not start"
            threading.Event().wait(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """The demo config copied to a temp folder, one admin, the console served, signed in."""
    import shutil

    import httpx2

    from syndicator.web.auth import add_admin

    shutil.copytree(REPO / "config", tmp_path / "config")
    config_path = tmp_path / "config" / "syndicator.toml"
    clock = Clock()
    add_admin(load_config(config_path), ADMIN, ADMIN_PASSWORD, clock())
    with running_console(config_path, clock) as base, httpx2.Client(base_url=base) as client:
        signed_in = sign_in(client)
        assert signed_in.status_code == 303, signed_in.text
        token = csrf_token_in(client.get("/admin/").text)
        yield Console(base, config_path, client, token, clock)


@pytest.fixture
def served(console: Console) -> Iterator[str]:
    """The console's outputs served on 127.0.0.1 after one cycle, and its config's
    base_url pointing there: the base URL."""
    from syndicator.pipeline import run_once

    from .embed_site import _serve_outputs

    config = console.config
    run_once(config, NOW)  # the folder exists before it is served
    with contextlib.contextmanager(_serve_outputs)(config.site.output_dir) as base:
        main = console.config_path
        main.write_text(main.read_text().replace("http://127.0.0.1:8080/", base + "/"))
        yield base
