"""What the browser tests of the embed stand on: real outputs published by the real
pipeline, served by `syndicator serve` on one 127.0.0.1 port; church pages on a second
port (another origin, so CORS is exercised); images on a third; a headless Debian
Chromium driven by Playwright, with every request, console message, page error and dialog
of a test recorded.

Nothing here reaches the internet: requests to any other host are aborted and recorded.
"""

from __future__ import annotations

import re
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    Request,
    Route,
)

from syndicator.config import Config, SubscriberConfig, load_config
from syndicator.ingest import load_stories
from syndicator.pipeline import run_once
from syndicator.render import embed_codes, urls_for
from syndicator.serve import make_server
from syndicator.store import Store

from .conftest import NOW, REPO, FeedServer, respond, rss

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 375, "height": 740}
FORMS = ("embed", "snippet", "iframe")
OUTLET = "Worthy News"
MONTHS = "January February March April May June July August September October November December"


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, never a downloaded one. Missing, it is an error, not a skip: the
    project's setup (`python3 scripts/dev.py test`) installs it."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium package "
            "(`python3 scripts/dev.py test` installs it as root; or `apt-get install chromium`)."
            " They never download a browser.",
            pytrace=False,
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)


# -- a tiny PNG, so images come from a local server ----------------------------------------


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\0" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


PNG = png(300, 200, (90, 120, 160))
PNG_HEADERS = {"Content-Type": "image/png", "Cache-Control": "max-age=3600"}


# -- the synthetic feed --------------------------------------------------------------------

PLACES = ["KYIV", "NAIROBI", "JERUSALEM", "LIMA", "MANILA", "ACCRA", "BEIRUT"]
AUTHORS = ["Jane Doe", "Marta Kowalczyk", None, "David Osei"]
# Words a 375 px screen cannot fit on one line: the layout must wrap them, not scroll.
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis-Relief-Fund-Update"


@dataclass(frozen=True)
class FeedStory:
    """One synthetic story, and what every output must say about it."""

    number: int
    title: str
    author: str | None
    published: datetime
    has_image: bool
    place: str

    @property
    def guid(self) -> str:
        return str(90000 + self.number)

    @property
    def link(self) -> str:
        return f"https://www.worthynews.com/{self.guid}-story-{self.number:02d}/"

    def image(self, images: str) -> str:
        return f"{images}/img/story-{self.number:02d}.png"

    @property
    def lead(self) -> str:
        return f"{self.place} (Worthy News) – Lead sentence of story {self.number}."

    @property
    def closing(self) -> str:
        return f"Closing line of story {self.number}."

    @property
    def date_iso(self) -> str:
        return self.published.isoformat()

    @property
    def date_text(self) -> str:
        day = self.published
        return f"{MONTHS.split()[day.month - 1]} {day.day}, {day.year}"

    def body(self, images: str) -> str:
        filler = " ".join(
            f"Volunteers in {self.place.title()} kept working on day {n} of the appeal."
            for n in range(1, 9)
        )
        parts = []
        if self.author:
            parts.append(f"<p>By {self.author}, Staff Writer Worthy News</p>")
        parts.append(f"<p>{self.lead} {filler}</p>")
        if self.has_image:
            parts.append(
                f'<figure class="wp-caption aligncenter"><img src="{self.image(images)}" '
                f'alt="Volunteers at story {self.number}" width="1024" height="683">'
                f'<figcaption class="wp-caption-text">Caption of story {self.number}.</figcaption>'
                "</figure>"
            )
        parts += [
            "<p><strong>WHAT COMES NEXT</strong></p>",
            "<p>Details are at "
            '<a href="https://www.worthynews.com/appeals/a-very-long-address-without-any-spaces-'
            'that-a-phone-must-wrap-somewhere/">https://www.worthynews.com/appeals/a-very-long-'
            "address-without-any-spaces-that-a-phone-must-wrap-somewhere/</a>.</p>",
            "<table><tr><th>City</th><th>Shelters</th><th>Volunteers</th><th>Meals</th></tr>"
            "<tr><td>Kyiv</td><td>12</td><td>340</td><td>12000</td></tr></table>",
            f"<p>{self.closing}</p>",
        ]
        return "".join(parts)


def _stories() -> list[FeedStory]:
    stories = []
    for number in range(1, 14):
        title = f"Story {number:02d}: Churches & volunteers “open doors” in {PLACES[number % 7].title()}"
        if number == 3:
            title = f"Story 03: {LONG_WORD}"
        stories.append(
            FeedStory(
                number=number,
                title=title,
                author=AUTHORS[number % 4],
                published=datetime(2026, 11, 23, 20, 0, tzinfo=UTC) - timedelta(hours=7 * number),
                has_image=number % 5 != 4,
                place=PLACES[number % 7],
            )
        )
    return stories


STORIES = _stories()  # newest first


def feed(images: str) -> bytes:
    return rss(
        *(
            {
                "guid": s.guid,
                "title": s.title,
                "link": s.link,
                "author": s.author or "",
                "published": s.published,
                "categories": ["World News"],
                "summary": f"{s.lead} [&#8230;]",
                "body": s.body(images),
            }
            for s in STORIES
        ),
        title="Worthy News",
    )


# -- subscribers: every content, image, position, link, theme and layout option ------------

SUBSCRIBERS = {
    "alpha": """name = "Alpha Church"
site_url = "https://alpha.example.org/"
limit = 6
per_page = 4
pages = 3
content = "excerpt"
image = "thumbnail"
image_position = "left"
link_to = "original"
[theme]
mode = "light"
layout = "list"
""",
    "bravo": """name = "Bravo Fellowship"
site_url = "https://bravo.example.org/"
limit = 4
per_page = 4
pages = 1
content = "excerpt"
image = "full"
image_position = "right"
link_to = "hosted"
footer = "Bravo shares Worthy News with its members."
[theme]
mode = "dark"
layout = "list"
font = "serif"
""",
    "echo": """name = "Echo Church"
site_url = "https://echo.example.org/"
limit = 3
per_page = 3
pages = 1
content = "full"
image = "thumbnail"
link_to = "hosted"
""",
    "charlie": """name = "Charlie Chapel"
site_url = "https://charlie.example.org/"
limit = 5
per_page = 5
pages = 3
content = "title"
image = "none"
link_to = "detail_page"
detail_page_url = "{host}/plain/charlie/embed.html"
[theme]
mode = "auto"
layout = "compact"
""",
    "delta": """name = "Delta Ministries"
site_url = "https://delta.example.org/"
limit = 6
per_page = 6
pages = 2
content = "excerpt"
image = "full"
image_position = "top"
link_to = "detail_page"
detail_page_url = "{host}/plain/delta/embed.html"
[theme]
mode = "auto"
layout = "cards"
font = "system"
accent = "#8a1c1c"
""",
    # Every option at its default.
    "foxtrot": """name = "Foxtrot Church"
site_url = "https://foxtrot.example.org/"
""",
}

# -- host pages ----------------------------------------------------------------------------

# A church site's own stylesheet at its most hostile: everything reset, huge type, images
# stretched, lists and headings restyled.
AGGRESSIVE_CSS = """
body *:not(script):not(style) { all: unset; }
html { font-size: 40px; }
body { font: italic 700 1.5rem/3 Impact, fantasy; color: #0a0; background: #ffe;
       text-transform: uppercase; letter-spacing: .3em; word-spacing: 1em; text-align: center;
       text-indent: 3em; text-shadow: 2px 2px #f0f; white-space: pre-line; cursor: crosshair; }
h1, h2, h3, h4 { display: block; font-size: 4em; margin: 2em 0; color: #f00; }
p, ul, li, div, section, main, header, nav { display: block; margin: 1em; padding: 1em; }
li { list-style: square inside; border: 3px dashed #00f; }
img { display: block; width: 100%; height: 300px; border: 10px solid #f0f; }
a { color: #f0f; font-size: 2em; text-decoration: overline; }
button { font-size: 3em; padding: 1em; border: 4px solid; }
iframe { display: block; }
"""

HOST_CSS = """
body { font: 18px/1.6 Georgia, serif; color: #222; background: #f6f4ef; margin: 0 2em; }
h1 { font-size: 2em; color: #4a3b2a; } a { color: #7a3b00; } img { border-radius: 4px; }
button { font: inherit; padding: .3em 1em; } ul.host-list { list-style: circle; }
"""


def host_page(kind: str, forms: list[str], codes: dict[str, str], snippet: str) -> str:
    """A church's page with the given embed forms pasted into it, between its own
    elements (whose computed styles must not change)."""
    style = {
        "plain": f"<style>{HOST_CSS}</style>",
        "aggressive": f"<style>{AGGRESSIVE_CSS}</style>",
        "csp": "",  # style-src 'none': the page may have no style of its own either
        "csp-scripts": f"<style>{HOST_CSS}</style>",  # a policy on scripts alone
        "nojs": f"<style>{HOST_CSS}</style>",
    }[kind]
    pasted = {"embed": codes["embed"], "snippet": snippet, "iframe": codes["iframe"], "none": ""}
    sections = "".join(
        f'<section class="embed-{form}"><h2>News ({form})</h2>{pasted[form]}</section>'
        for form in forms
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Grace Church — {escape(kind)}</title>{style}</head>
<body><header><h1 id="host-h1">Grace Church</h1>
<nav><a id="host-first" href="/">Home</a></nav></header>
<main><p id="host-p">Welcome to our church. <a id="host-a" href="/about">About us</a></p>
<img id="host-img" src="{{images}}/img/logo.png" alt="Our church" width="120" height="40">
<button type="button" id="host-button">Host button</button>
<ul class="host-list" id="host-ul"><li id="host-li">Sunday service at 10</li></ul>
{sections}
<p id="host-last"><a id="host-after" href="/contact">Contact</a></p></main>
</body></html>"""


# -- the running site ----------------------------------------------------------------------


@dataclass
class EmbedSite:
    """Published outputs and the three servers, for one config."""

    config: Config
    outputs: str  # http://127.0.0.1:P  (syndicator serve)
    host: FeedServer  # church pages
    images: FeedServer
    sink: FeedServer | None = None
    slugs: dict[str, str] = field(default_factory=dict)  # story title → slug

    @property
    def origins(self) -> set[str]:
        """Every origin a page may ask anything of."""
        return {self.outputs, self.host.base, self.images.base}

    def subscriber(self, subscriber_id: str) -> SubscriberConfig:
        return next(s for s in self.config.subscribers if s.id == subscriber_id)

    def url(self, subscriber_id: str, name: str) -> str:
        return f"{self.outputs}/{subscriber_id}/{name}"

    def output(self, subscriber_id: str, name: str) -> str:
        return (self.config.site.output_dir / subscriber_id / name).read_text(encoding="utf-8")

    def codes(self, subscriber_id: str) -> dict[str, str]:
        """The HTML a church is given to paste (`syndicator embed-code`)."""
        subscriber = self.subscriber(subscriber_id)
        given = embed_codes(urls_for(self.config.site.base_url, subscriber_id), subscriber)
        return {
            "embed": given["Script (recommended)"],
            "iframe": given["Iframe"],
            "iframe-auto": given["Iframe, auto-height (one script)"],
        }

    def page(
        self,
        kind: str,
        subscriber_id: str,
        forms: str | list[str],
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve (once) and return the URL of a host page with these forms pasted."""
        forms = [forms] if isinstance(forms, str) else forms
        path = f"/{kind}/{subscriber_id}/{'-'.join(forms)}.html"
        if path not in self.host.routes:
            snippet = self.output(subscriber_id, "snippet.html") if "snippet" in forms else ""
            html = host_page(kind, forms, self.codes(subscriber_id), snippet)
            html = html.replace("{images}", self.images.base)
            sent = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
            if kind == "csp":
                sent["Content-Security-Policy"] = self.strict_csp
            elif kind == "csp-scripts":
                sent["Content-Security-Policy"] = self.scripts_csp
            self.host.serve(path, 200, html.encode(), sent)
        return self.host.url(path)

    def custom_page(self, name: str, head: str, body: str) -> str:
        """Serve (once) a church page of the test's own making at /custom/<name>.html: its
        `head` and `body` markup between the host's usual elements; the URL."""
        path = f"/custom/{name}.html"
        if path not in self.host.routes:
            html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Grace Church — {escape(name)}</title><style>{HOST_CSS}</style>{head}</head>
<body><h1 id="host-h1">Grace Church</h1>
{body}
<p id="host-last"><a id="host-after" href="/contact">Contact</a></p>
</body></html>"""
            self.host.serve(path, 200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})
        return self.host.url(path)

    @property
    def strict_csp(self) -> str:
        """Scripts and frames only from the outputs origin; no inline script or style at
        all; images from the image host; nothing else."""
        return (
            f"default-src 'none'; script-src {self.outputs}; style-src 'none'; "
            f"img-src {self.images.base}; frame-src {self.outputs}; base-uri 'none'; "
            "form-action 'none'; object-src 'none'"
        )

    @property
    def scripts_csp(self) -> str:
        """The common strict policy: scripts only from the outputs origin, no inline
        script, no plugins; styles and images left alone."""
        return f"script-src {self.outputs}; object-src 'none'; base-uri 'none'"


def _serve_outputs(root: Path) -> Iterator[str]:
    server = make_server(root, port=0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def published(
    folder: Path,
    feed_bytes: bytes,
    subscribers: dict[str, str],
    host: FeedServer,
    images: FeedServer,
    sink: FeedServer | None = None,
) -> Iterator[EmbedSite]:
    """Publish `subscribers` over `feed_bytes` with the real pipeline and serve the outputs
    with `syndicator serve` until the block ends."""
    (folder / "output").mkdir(parents=True)
    (folder / "subscribers").mkdir()
    (folder / "feed.xml").write_bytes(feed_bytes)
    with ExitStack() as stack:
        outputs = stack.enter_context(contextmanager(_serve_outputs)(folder / "output"))
        (folder / "syndicator.toml").write_text(
            f"""[site]
name = "Embed test site"
base_url = "{outputs}/"
output_dir = "output"
state_dir = "state"
[[sources]]
id = "worthynews"
url = "file:feed.xml"
""",
            encoding="utf-8",
        )
        for name, text in subscribers.items():
            (folder / "subscribers" / f"{name}.toml").write_text(
                text.replace("{host}", host.base), encoding="utf-8"
            )
        config = load_config(folder / "syndicator.toml")
        report = run_once(config, NOW)
        assert report.ok, report
        with Store(config.database_path) as store:
            slugs = {story.article.title: story.slug for story in load_stories(config, store)}
        site = EmbedSite(config, outputs, host, images, sink, slugs)
        for subscriber in config.subscribers:  # detail pages: the script embed on a host page
            if subscriber.detail_page_url:
                assert subscriber.detail_page_url == site.host.url(
                    f"/plain/{subscriber.id}/embed.html"
                )
                site.page("plain", subscriber.id, "embed")
        yield site


# -- one browser context per test, with everything it did recorded -------------------------


@dataclass
class Seen:
    url: str
    resource_type: str


@dataclass
class Visit:
    """A fresh browser context and what happened in it."""

    context: BrowserContext
    site: EmbedSite
    requests: list[Seen] = field(default_factory=list)
    blocked: list[Seen] = field(default_factory=list)  # to hosts outside the test
    errors: list[str] = field(default_factory=list)  # console errors and page errors
    dialogs: list[str] = field(default_factory=list)

    def open(self, url: str) -> Page:
        page = self.context.new_page()
        page.goto(url)
        return page

    def foreign(self, allowed: set[str] | None = None) -> list[Seen]:
        """Requests to any origin but the outputs, the host pages and the images."""
        allowed = allowed if allowed is not None else self.site.origins
        return [seen for seen in self.requests if origin(seen.url) not in allowed]

    def assert_quiet(self) -> None:
        """No console error, no uncaught exception, no dialog, no foreign request."""
        assert self.errors == []
        assert self.dialogs == []
        assert self.foreign() == []


def origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme in {"data", "about", "blob"}:
        return parts.scheme + ":"
    return f"{parts.scheme}://{parts.netloc}"


def new_visit(browser: Browser, site: EmbedSite, **options: Any) -> Visit:
    context = browser.new_context(viewport=options.pop("viewport", DESKTOP), **options)
    context.set_default_timeout(10_000)
    visit = Visit(context, site)
    local = {site.outputs, site.host.base, site.images.base} | (
        {site.sink.base} if site.sink else set()
    )

    def block(route: Route) -> None:
        visit.blocked.append(Seen(route.request.url, route.request.resource_type))
        route.abort()

    def record(request: Request) -> None:
        visit.requests.append(Seen(request.url, request.resource_type))

    context.route(lambda url: origin(url) not in local and not url.startswith("data:"), block)
    context.on("request", record)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            visit.errors.append(f"console: {message.text} @ {message.location}")

    def dialog(opened: Dialog) -> None:
        visit.dialogs.append(f"{opened.type}: {opened.message}")
        opened.dismiss()

    context.on("console", console)
    context.on("weberror", lambda error: visit.errors.append(f"page error: {error.error}"))
    context.on("dialog", dialog)
    return visit


@contextmanager
def visiting(browser: Browser, site: EmbedSite, **options: Any) -> Iterator[Visit]:
    visit = new_visit(browser, site, **options)
    try:
        yield visit
    finally:
        visit.context.close()


def stand_in_outlet_images(context: Any) -> None:
    """Answer a Playwright browser context's requests for the demo feed's pictures (on the
    outlet's site, out of reach here) with `PNG`, so pictures of pages show a picture
    where a reader's browser would, not a broken image."""
    context.route(
        re.compile(r"https://www\.worthynews\.com/.*\.(jpe?g|png|gif|webp)(\?.*)?$"),
        lambda route: route.fulfill(status=200, body=PNG, headers=PNG_HEADERS),
    )


def image_route(server: FeedServer, paths: list[str]) -> None:
    for path in paths:
        server.serve(path, 200, PNG, PNG_HEADERS)


def start_image_server(server: FeedServer) -> None:
    image_route(server, ["/img/logo.png", *(f"/img/story-{s.number:02d}.png" for s in STORIES)])


__all__ = [
    "DESKTOP",
    "FORMS",
    "LONG_WORD",
    "MOBILE",
    "OUTLET",
    "SCREENSHOTS",
    "STORIES",
    "SUBSCRIBERS",
    "EmbedSite",
    "FeedStory",
    "Visit",
    "feed",
    "launch",
    "published",
    "respond",
    "start_image_server",
    "visiting",
]


# -- reading what the page shows ------------------------------------------------------------

# Per list item: what it says and where things are (after layout).
ITEMS_JS = """items => items.map(li => {
  const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
                     return {x: r.x, y: r.y, w: r.width, h: r.height, right: r.right, bottom: r.bottom}; };
  const title = li.querySelector('.syn-title a');
  const time = li.querySelector('.syn-meta time');
  const img = li.querySelector('img.syn-img');
  const links = [...li.querySelectorAll('.syn-meta a')];
  const text = sel => { const e = li.querySelector(sel); return e ? e.textContent : null; };
  return {
    title: title.textContent, href: title.href, titleBox: box(title.parentElement),
    titleSize: parseFloat(getComputedStyle(title).fontSize),
    date: time.getAttribute('datetime'), dateText: time.textContent,
    meta: li.querySelector('.syn-meta').textContent.replace(/\\s+/g, ' ').trim(),
    metaBox: box(li.querySelector('.syn-meta')),
    attribution: links.map(a => [a.textContent, a.href]),
    attributionShown: links.length > 0 && links.every(a => { const r = a.getBoundingClientRect();
      return a.checkVisibility({opacityProperty: true, visibilityProperty: true}) && r.width > 0 && r.height > 0; }),
    img: img && {src: img.getAttribute('src'), cls: img.className, alt: img.getAttribute('alt'),
                 float: getComputedStyle(img).float, box: box(img)},
    excerpt: text('.syn-excerpt'), body: text('.syn-body'), more: text('.syn-more .syn-body'),
    bodyImages: [...li.querySelectorAll('.syn-body img')].map(i => i.getAttribute('src')),
    box: box(li), padding: parseFloat(getComputedStyle(li).paddingLeft),
    visible: li.checkVisibility(),
  };
})"""


def scope(page: Page, form: str) -> Any:
    """Where one embed form's content is: a locator (the shadow root is pierced by
    Playwright's CSS engine) or, for the iframe, its frame."""
    if form == "iframe":
        element = page.locator("section.embed-iframe iframe")
        element.scroll_into_view_if_needed()  # loading="lazy": off-screen it never loads
        frame = element.element_handle().content_frame()
        assert frame is not None
        frame.wait_for_load_state()
        return frame
    return page.locator(f"section.embed-{form}")


def items(page: Page, form: str) -> list[dict[str, Any]]:
    root = scope(page, form)
    root.locator(".syn-item").first.wait_for()
    return root.locator(".syn-item").evaluate_all(ITEMS_JS)  # type: ignore[no-any-return]


def pictured_pages(
    browser: Any, base: str, sizes: dict[int, int]
) -> Iterator[tuple[Any, int, str]]:
    """For a picture script: a fresh page at each width of `sizes` (width → height) in
    light, then dark, with the outlet's pictures stood in; its context closes after."""
    for width, height in sizes.items():
        for scheme in ("light", "dark"):
            context = browser.new_context(
                base_url=base, viewport={"width": width, "height": height}, color_scheme=scheme
            )
            stand_in_outlet_images(context)
            try:
                yield context.new_page(), width, scheme
            finally:
                context.close()
