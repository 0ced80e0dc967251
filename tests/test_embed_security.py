"""The hostile corpus (tests/fixtures/xss/vectors.txt) in a real browser: every vector is
an article of its own, pushed through the real pipeline for subscribers showing full text,
excerpts with thumbnails, and titles only, then shown by every HTML output (the snippet
pasted into a church page, widget.html, every archive page, every article page, and the
DOM the embed script builds, both its lists and its full-story views). Traps on alert, confirm,
prompt, print and open, a dialog listener, and a sink server (the corpus's
`https://sink.invalid/` rewritten to a local port) must record nothing.

Images are the one kind of request a story may make to any host (the embed promises "no
requests but images"), so requests the test blocks are checked to be images only; every
other request goes to the outputs, the church page or the image host.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import pytest
from playwright.sync_api import Browser, Page

from syndicator.clean.sanitize import DEFAULT_VIDEO_HOSTS

from .conftest import FIXTURES, FeedServer
from .embed_site import EmbedSite, Seen, Visit, origin, published, scope, visiting

CHUNK = 100  # stories per subscriber: limit, and the embed's two pages of 50
TRAPS_JS = """window.__hits = [];
for (const name of ['alert', 'confirm', 'prompt', 'print', 'open']) {
  window[name] = function () {
    window.__hits.push(name + '(' + [...arguments].join(',') + ')');
    return null;
  };
}"""


def vectors(sink: str) -> list[tuple[str, str]]:
    """(name, vector), with the corpus's sink host pointing at the local sink."""
    text = (FIXTURES / "xss" / "vectors.txt").read_text(encoding="utf-8")
    found = []
    for record in text.split("\n%%\n"):
        comment, _, vector = record.partition("\n")
        vector = vector.removesuffix("\n")
        vector = vector.replace("https://sink.invalid", sink).replace(
            "sink.invalid", sink.removeprefix("http://")
        )
        found.append((comment.lstrip("# ").split(":")[0], vector))
    return found


def hostile_feed(corpus: list[tuple[str, str]]) -> bytes:
    start = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    items = []
    for number, (name, vector) in enumerate(corpus):
        body = f"<p>Before {escape(name)}.</p>{vector}<p>After.</p>"
        published = (start - timedelta(minutes=number)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        items.append(
            f"<item><title>{escape(vector[:200])}</title>"
            f"<link>https://www.worthynews.com/{number}-vector/</link>"
            f"<dc:creator>{escape(vector[:80])}</dc:creator>"
            f"<pubDate>{published}</pubDate>"
            f"<category>Chunk {number // CHUNK}</category>"
            f'<guid isPermaLink="false">https://www.worthynews.com/?p={number}</guid>'
            f"<description>{escape(vector)}</description>"
            f"<content:encoded>{escape(body)}</content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Worthy News</title>'
        "<link>https://www.worthynews.com</link><description>d</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


VARIANTS = {
    # Full text and images, with the full-story view on the host page and article pages.
    "full": """content = "full"
image = "full"
link_to = "detail_page"
detail_page_url = "{host}/plain/hostile-full-CHUNK/embed.html"
""",
    # The plugin's usual look: excerpt and thumbnail, cards, the archive pages.
    "excerpt": """content = "excerpt"
image = "thumbnail"
image_position = "right"
outputs = ["snippet", "embed", "widget", "pages"]
[theme]
layout = "cards"
""",
    # Headlines only.
    "title": """content = "title"
outputs = ["snippet", "embed", "widget", "pages"]
[theme]
layout = "compact"
""",
}


def subscribers(chunks: int) -> dict[str, str]:
    """Per chunk of the corpus and per variant (full text with the full-story view and
    article pages; excerpt with thumbnails; titles only), one subscriber."""
    return {
        f"hostile-{variant}-{chunk}": f"""name = "Hostile <{chunk}> & Co"
site_url = "https://hostile.example.org/"
categories = ["Chunk {chunk}"]
limit = {CHUNK}
per_page = {CHUNK // 2}
pages = 2
"""
        + options.replace("CHUNK", str(chunk))
        for variant, options in VARIANTS.items()
        for chunk in range(chunks)
    }


@pytest.fixture(scope="module")
def hostile(
    tmp_path_factory: pytest.TempPathFactory, web: dict[str, FeedServer]
) -> Iterator[EmbedSite]:
    corpus = vectors(web["sink"].base)
    chunks = -(-len(corpus) // CHUNK)
    folder: Path = tmp_path_factory.mktemp("hostile")
    with published(
        folder,
        hostile_feed(corpus),
        subscribers(chunks),
        web["host"],
        web["images"],
        sink=web["sink"],
    ) as site:
        yield site


@pytest.fixture
def visit(browser: Browser, hostile: EmbedSite) -> Iterator[Visit]:
    with visiting(browser, hostile) as seen:
        seen.context.add_init_script(TRAPS_JS)
        yield seen


def hits(page: Page) -> list[str]:
    """What the traps caught, in every frame of the page."""
    caught: list[str] = []
    for frame in page.frames:
        if frame.url.startswith(("http://", "https://")):
            caught += frame.evaluate("window.__hits || []")
    return caught


def allowed_elsewhere(seen: Seen) -> bool:
    """What a story may load from other hosts: images, and the allowlisted video players
    (https iframes the sanitizer keeps)."""
    if seen.resource_type == "image":
        return True
    parts = urlsplit(seen.url)
    return (
        seen.resource_type == "document"
        and parts.scheme == "https"
        and parts.hostname in DEFAULT_VIDEO_HOSTS
    )


def assert_nothing_ran(visit: Visit, pages: list[Page]) -> None:
    site = visit.site
    assert site.sink is not None
    for page in pages:
        assert hits(page) == [], page.url
    assert visit.dialogs == []
    # No request of any kind reached the sink, and nothing but images went anywhere else.
    assert [seen for seen in visit.requests if origin(seen.url) == site.sink.base] == []
    assert site.sink.requests == []
    assert [seen for seen in visit.blocked if not allowed_elsewhere(seen)] == []
    assert [s for s in visit.foreign(site.origins) if s not in visit.blocked] == []
    errors = [e for e in visit.errors if "Failed to load resource: net::ERR_FAILED" not in e]
    assert errors == []  # no exception in the embed, nothing thrown by injected code


def subscriber_ids(site: EmbedSite) -> list[str]:
    return [s.id for s in site.config.subscribers]


def article_pages(site: EmbedSite) -> list[tuple[str, str]]:
    """(subscriber id, slug) of every article page published."""
    root = site.config.site.output_dir
    return [(path.parent.parent.name, path.stem) for path in sorted(root.glob("*/articles/*.html"))]


def test_every_vector_reaches_the_outputs(hostile: EmbedSite) -> None:
    for subscriber_id in subscriber_ids(hostile):
        assert hostile.output(subscriber_id, "snippet.html").count('class="syn-item"') > 0
    assert len(article_pages(hostile)) == len(vectors(hostile.sink.base if hostile.sink else ""))


def test_snippet_embed_and_iframe_on_a_church_page_run_nothing(visit: Visit) -> None:
    site = visit.site
    pages = []
    for subscriber_id in subscriber_ids(site):
        page = visit.open(site.page("plain", subscriber_id, ["snippet", "embed", "iframe"]))
        listed = page.locator("section.embed-snippet .syn-item").count()
        embed = page.locator("section.embed-embed .syn-item")
        embed.first.wait_for()
        assert embed.count() == min(listed, CHUNK // 2)
        following = page.get_by_role("button", name="Next")
        if following.count():
            following.click()  # the second page of the embed's list is built too
            page.locator("section.embed-embed [role=status]").get_by_text("Page 2").wait_for()
        scope(page, "iframe").locator(".syn-item").first.wait_for()
        pages.append(page)
    assert_nothing_ran(visit, pages)


def test_widget_pages_run_nothing(visit: Visit) -> None:
    """Top level, where the iframe's sandbox does not hold scripts back."""
    site = visit.site
    pages = [visit.open(site.url(s, "widget.html")) for s in subscriber_ids(site)]
    assert all(page.locator(".syn-item").count() > 0 for page in pages)
    assert_nothing_ran(visit, pages)


ENCODINGS = ("shift_jis", "gbk")  # where a UTF-8 byte can be read as a lead byte


def test_the_embed_runs_nothing_on_a_church_page_in_another_encoding(visit: Visit) -> None:
    """A script served without a charset (`python3 -m http.server`, Apache's default, a
    bucket without metadata) is read in the church page's encoding. In Shift_JIS or GBK
    the last UTF-8 byte of `ß` or `丁` starts a two-byte character that swallows the
    backslash of `\\"`, so the quote would end the string and the article run as code.
    embed.js is pure ASCII, so it reads the same in any of them, text included."""
    site = visit.site
    pages, shown = [], 0
    for subscriber_id in subscriber_ids(site):
        script = (site.config.site.output_dir / subscriber_id / "embed.js").read_bytes()
        assert script.isascii(), subscriber_id
        folder = f"/no-charset/{subscriber_id}"
        site.host.serve(f"{folder}/embed.js", 200, script, {"Content-Type": "text/javascript"})
        for encoding in ENCODINGS:
            html = (
                f'<!doctype html><html><head><meta charset="{encoding}"><title>Grace</title>'
                f'</head><body><p>News</p><script src="{folder}/embed.js"></script></body></html>'
            )
            site.host.serve(
                f"{folder}/{encoding}.html",
                200,
                html.encode(encoding),
                {"Content-Type": "text/html"},
            )
            page = visit.open(site.host.url(f"{folder}/{encoding}.html"))
            page.locator(".syn-item").first.wait_for()
            titles = page.locator(".syn-title").all_text_contents()
            shown += any('Straß"]};alert(document.domain)//' in title for title in titles)
            pages.append(page)
    assert shown == len(VARIANTS) * len(ENCODINGS)  # chunk 0 of each variant, read right
    assert_nothing_ran(visit, pages)


FRAMES = 64  # pages shown at once, each in an iframe (no sandbox: scripts may run)


def framed(visit: Visit, urls: list[str], name: str) -> list[Page]:
    """Load every URL in batches of iframes on a host page; return the host pages."""
    site = visit.site
    pages = []
    for start in range(0, len(urls), FRAMES):
        path = f"/framed/{name}-{start}.html"
        frames = "".join(
            f'<iframe src="{url}" width="300" height="200"></iframe>'
            for url in urls[start : start + FRAMES]
        )
        site.host.serve(
            path,
            200,
            f"<!doctype html><title>frames</title>{frames}".encode(),
            {"Content-Type": "text/html; charset=utf-8"},
        )
        page = visit.context.new_page()
        page.goto(site.host.url(path))  # waits for every frame's load event
        pages.append(page)
    return pages


def test_every_archive_page_runs_nothing(visit: Visit) -> None:
    site = visit.site
    root = site.config.site.output_dir
    urls = [
        site.url(path.parent.parent.name, f"page/{path.name}")
        for path in sorted(root.glob("*/page/*.html"))
    ]
    assert len(urls) == 2 * len(subscriber_ids(site))  # two pages of 50 each
    pages = framed(visit, urls, "archive")
    assert sum(len(page.main_frame.child_frames) for page in pages) == len(urls)
    assert_nothing_ran(visit, pages)


def test_every_article_page_runs_nothing(visit: Visit) -> None:
    site = visit.site
    urls = [site.url(sub, f"articles/{slug}.html") for sub, slug in article_pages(site)]
    pages = framed(visit, urls, "articles")
    assert sum(len(page.main_frame.child_frames) for page in pages) == len(urls)
    assert_nothing_ran(visit, pages)


def test_every_full_story_view_of_the_embed_runs_nothing(visit: Visit) -> None:
    site = visit.site
    urls = [
        f"{site.subscriber(sub).detail_page_url}?story={slug}" for sub, slug in article_pages(site)
    ]
    pages = framed(visit, urls, "stories")
    stories = sum(
        frame.locator(".syn-story").count()
        for page in pages
        for frame in page.main_frame.child_frames
    )
    assert stories == len(urls)
    assert_nothing_ran(visit, pages)


BYPASS = (
    "<img src=x onerror=alert(1)><script>alert(2)</script>"
    '<a id="js" href="javascript:alert(3)">x</a><form action="{sink}"><button id="send">go'
    "</button></form><style>body{{background:url({sink}/css)}}</style>"
)


def test_pages_hold_even_if_the_sanitizer_let_markup_through(visit: Visit) -> None:
    """The pages' own Content-Security-Policy is the second line: markup that no sanitizer
    pass removed (put into a real article page and the widget by hand here) still runs
    nothing, posts nothing and loads nothing from the sink."""
    site = visit.site
    assert site.sink is not None
    subscriber_id, slug = article_pages(site)[0]
    pages = []
    for name in (f"articles/{slug}.html", "widget.html"):
        markup = site.output(subscriber_id, name)
        hostile = markup.replace("</main>", BYPASS.format(sink=site.sink.base) + "</main>", 1)
        assert hostile != markup, name
        path = f"/bypass/{name.replace('/', '-')}"
        site.host.serve(path, 200, hostile.encode(), {"Content-Type": "text/html; charset=utf-8"})
        page = visit.open(site.host.url(path))
        page.click("#js", no_wait_after=True)
        page.click("#send", no_wait_after=True)
        page.wait_for_timeout(300)
        pages.append(page)
    violations = [e for e in visit.errors if "Content Security Policy" in e]
    # Served from the church's server here: its style.css and the vector's `x` are missing.
    missing = [e for e in visit.errors if f"404 (Not Found) @ {{'url': '{site.host.base}/" in e]
    visit.errors[:] = [e for e in visit.errors if e not in violations + missing]
    assert violations  # the browser refused, and said so
    assert_nothing_ran(visit, pages)


def test_the_traps_catch_what_runs(visit: Visit) -> None:
    """The harness itself: markup that does run is caught, so zero above means zero."""
    site = visit.site
    assert site.sink is not None
    site.host.serve(
        "/framed/control.html",
        200,
        (
            "<!doctype html><title>control</title>"
            f"<img src=x onerror=\"alert(1);confirm(2);fetch('{site.sink.base}/control')\">"
        ).encode(),
        {"Content-Type": "text/html; charset=utf-8"},
    )
    page = visit.open(site.host.url("/framed/control.html"))
    page.wait_for_function("window.__hits.length === 2")
    assert hits(page) == ["alert(1)", "confirm(2)"]
    page.wait_for_function(
        "performance.getEntriesByType('resource').some(e => e.name.endsWith('/control'))"
    )
    assert [seen.url for seen in visit.requests if origin(seen.url) == site.sink.base] == [
        f"{site.sink.base}/control"
    ]
    assert [seen.path for seen in site.sink.requests] == ["/control"]
    site.sink.requests.clear()
