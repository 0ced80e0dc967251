"""Scripture links in every output, end to end: a real feed file, a real SQLite store, the
pipeline, and the published files read back. References are found once when an article
is cleaned; each subscriber's provider and translation make its links when rendering
(`render.scripture`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import pytest

from syndicator.config import Config, load_config
from syndicator.scripture import Passage
from syndicator.scripture.providers import passage_url

from .conftest import item, rss, write_config
from .cycle import outputs_of, run, slug_of
from .test_clean import assert_safe
from .test_render import embed_data, feed_contents

# A story citing three passages, and the same reference where it must stay as it is: in a
# heading, in the outlet's own link, in code.
CITING = (
    "<p>KYIV (Worthy News) – Believers read John 3:16 and Romans 8:28 aloud in the square.</p>"
    "<p>The choir closed with Psalm 23 as the sirens stopped.</p>"
    "<h2>Why John 3:16 still matters</h2>"
    '<p>Read <a href="https://www.worthynews.com/verse">John 3:16</a> online, or search '
    "<code>Romans 8:28</code> in the app.</p>"
    "<p>Pastors said the night was calm.</p>"
)
CITED = {
    "John 3:16": Passage("John", 3, 16),
    "Romans 8:28": Passage("Rom", 8, 28),
    "Psalm 23": Passage("Ps", 23),
}
FEED = rss(item("1", 22, body=CITING, title="Believers gather"), item("2", 21))

SUBSCRIBERS = {
    # Bible Gateway in the NIV; detail pages, so the embed carries each story's text too.
    "alpha": """name = "Alpha Church"
site_url = "https://alpha.example/"
content = "full"
link_to = "detail_page"
detail_page_url = "https://alpha.example/news/"
[scripture]
link = "biblegateway"
version = "NIV"
""",
    # bible.com in the ESV.
    "beta": """name = "Beta Church"
site_url = "https://beta.example/"
content = "full"
link_to = "hosted"
[scripture]
link = "youversion"
version = "ESV"
""",
    # No links (the default).
    "gamma": """name = "Gamma Church"
site_url = "https://gamma.example/"
content = "full"
link_to = "detail_page"
detail_page_url = "https://gamma.example/news/"
""",
    # Links, but excerpts in its lists and feeds: those stay plain; its pages link.
    "delta": """name = "Delta Church"
site_url = "https://delta.example/"
excerpt_words = 12
[scripture]
link = "biblegateway"
""",
}
PROVIDER_HOSTS = {"www.biblegateway.com", "www.bible.com"}


def config_in(folder: Path, feed: bytes = FEED, clean: str = "") -> Config:
    feed_file = folder / "feed.xml"
    feed_file.write_bytes(feed)
    main = write_config(folder, feed_file.as_uri(), subscribers=SUBSCRIBERS)
    if clean:
        main.write_text(main.read_text() + f"\n[sources.clean]\n{clean}\n", encoding="utf-8")
    return load_config(main)


def fragments(files: dict[str, bytes]) -> Iterator[tuple[str, str]]:
    """(where, HTML) of every piece of story HTML in a subscriber's published files."""
    for name, data in files.items():
        if name.endswith(".html"):
            yield name, data.decode()
        elif name in ("rss.xml", "atom.xml"):
            for n, (_, content, summary) in enumerate(feed_contents(data)):
                yield f"{name} content {n}", content
                assert not linking(summary or ""), (name, summary)  # plain text stays plain
        elif name == "feed.json":
            for n, entry in enumerate(json.loads(data)["items"]):
                yield f"{name} item {n}", entry.get("content_html", "")
                assert not linking(entry.get("summary", "")), entry["summary"]
        elif name == "embed.js":
            data_object = embed_data(data.decode())
            for n, html in enumerate(data_object["items"]):
                yield f"{name} item {n}", html
            for slug, html in (data_object["stories"] or {}).items():
                yield f"{name} story {slug}", html


def linking(text: str) -> bool:
    """Whether `text` holds a scripture link's address."""
    return any(host in text for host in PROVIDER_HOSTS)


def scripture_links(html: str) -> list[lxml.html.HtmlElement]:
    root = lxml.html.fromstring(f"<div>{html}</div>")
    return [a for a in root.iter("a") if urlsplit(a.get("href", "")).hostname in PROVIDER_HOSTS]


def linked(html: str) -> dict[str, str]:
    """Each scripture link's text → its URL."""
    return {a.text_content(): a.get("href") for a in scripture_links(html)}


def expected(provider: str, version: str) -> dict[str, str]:
    return {text: passage_url(provider, version, p) for text, p in CITED.items()}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Config:
    config = config_in(tmp_path_factory.mktemp("scripture"))
    report = run(config)
    assert report.ok, report
    return config


def test_each_subscriber_gets_its_own_translations_links_in_every_output_that_shows_the_text(
    published: Config,
) -> None:
    assert expected("biblegateway", "NIV")["John 3:16"] == (
        "https://www.biblegateway.com/passage/?search=John%203%3A16&version=NIV"
    )
    assert (
        expected("youversion", "ESV")["John 3:16"] == "https://www.bible.com/bible/59/JHN.3.16.ESV"
    )
    slug = slug_of(published, "1")
    for subscriber, (provider, version) in {
        "alpha": ("biblegateway", "NIV"),
        "beta": ("youversion", "ESV"),
    }.items():
        files = outputs_of(published, subscriber)
        shown = dict(fragments(files))
        showing = [where for where, html in shown.items() if "Believers read" in html]
        # The article page, each feed's content, the widget, snippet, archive page, and
        # the embed's item (and, with detail pages, its story text).
        assert len(showing) >= 8, showing
        assert f"articles/{slug}.html" in showing
        for where in showing:
            assert linked(shown[where]) == expected(provider, version), (subscriber, where)
            for link in scripture_links(shown[where]):
                assert link.get("rel") == "noopener" and link.get("target") is None, where
        assert any(where.startswith("embed.js story") for where in showing) == (
            subscriber == "alpha"
        )


def test_a_subscriber_without_links_and_the_excerpts_stay_plain(published: Config) -> None:
    gamma = dict(fragments(outputs_of(published, "gamma")))
    assert sum("Believers read" in html for html in gamma.values()) >= 8
    assert not any(scripture_links(html) for html in gamma.values())
    delta = outputs_of(published, "delta")
    slug = slug_of(published, "1")
    excerpts = 0
    for where, html in fragments(delta):
        if where == f"articles/{slug}.html":
            assert linked(html) == expected("biblegateway", "NIV")  # English: NIV
        else:
            assert "the night was calm" not in html, where  # excerpts only
            assert not scripture_links(html), where
            excerpts += "Believers read John 3:16 and" in html
    assert excerpts >= 6  # lists, feeds and the embed show the excerpt, its reference plain


def test_linking_changes_no_visible_text_and_leaves_headings_links_and_code_alone(
    published: Config,
) -> None:
    slug = slug_of(published, "1")
    page = f"articles/{slug}.html"
    alpha = lxml.html.fromstring(outputs_of(published, "alpha")[page])
    gamma = lxml.html.fromstring(outputs_of(published, "gamma")[page])
    body_a, body_g = (p.find_class("syn-body")[0] for p in (alpha, gamma))
    assert body_a.text_content() == body_g.text_content()
    for tag in ("h2", "h3", "code"):
        for element in body_a.iter(tag):
            assert element.find(".//a") is None, lxml.html.tostring(element)
    outlet = [a for a in body_a.iter("a") if "worthynews.com/verse" in a.get("href", "")]
    assert [a.text_content() for a in outlet] == ["John 3:16"]
    assert outlet[0].find(".//a") is None and outlet[0].getparent().tag != "a"


def test_links_open_in_a_new_tab_when_the_source_says_so(tmp_path: Path) -> None:
    config = config_in(tmp_path, clean='external_links = "new_tab"')
    assert run(config).ok
    html = outputs_of(config, "beta")[f"articles/{slug_of(config, '1')}.html"].decode()
    links = scripture_links(html)
    assert len(links) == 3
    assert all(a.get("target") == "_blank" and a.get("rel") == "noopener" for a in links)


def test_a_reference_tampered_with_in_the_store_is_dropped_not_rendered(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    assert run(config).ok
    with sqlite3.connect(config.database_path) as db:
        (row_id, cleaned) = db.execute(
            "SELECT id, cleaned FROM articles WHERE id LIKE '%?p=1'"
        ).fetchone()
        article = json.loads(cleaned)
        john, romans, psalm = article["references"]
        body = article["body_html"]
        heading = body.index("Why John 3:16") + len("Why ")
        article["references"] = [
            {**john, "passage": {**john["passage"], "verse": 17}},  # another verse
            {**romans, "end": len(body) + 40},  # out of bounds
            psalm,  # as it was
            {"start": heading, "end": heading + 9, "passage": john["passage"]},  # in the h2
        ]
        db.execute("UPDATE articles SET cleaned = ? WHERE id = ?", (json.dumps(article), row_id))
    report = run(config, timedelta(minutes=1), force=True)
    assert report.ok and report.cleaning[0].cleaned == 0  # not cleaned again: loaded
    for subscriber in ("alpha", "beta"):
        for where, html in fragments(outputs_of(config, subscriber)):
            if "Believers read" in html:
                assert list(linked(html)) == ["Psalm 23"], (subscriber, where)
                assert "John.3.17" not in html and "3%3A17" not in html


def assert_inert(html: str) -> None:
    """No script, style or handler, and no URL but http(s) and mailto (the outputs' own
    markup around the story, with its classes, included)."""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in {"script", "style", "iframe", "object", "embed", "svg"}
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on") and name.lower() not in {"style", "srcdoc"}
            if name.lower() in {"href", "src", "cite", "action", "formaction"}:
                assert urlsplit(value.strip()).scheme.lower() in {"http", "https", "mailto"}


HOSTILE = (
    '<p title="John 3:16"><img alt="John 3:16 &quot; onerror=&quot;alert(1)" '
    'src="https://www.worthynews.com/a.jpg">John 3:16 said it.</p>'
    "<p>John 3:16&lt;script&gt;alert(1)&lt;/script&gt; and "
    '&lt;a href="javascript:alert(1)"&gt;Romans 8:28&lt;/a&gt;.</p>'
    '<p>Psalm 23<img src=x onerror="alert(1)"> and John&nbsp;3:16 and J<b>ohn 3:1</b>6.</p>'
    '<p><a href="javascript:alert(1)">John 3:16</a> <a href="https://e.example/">Psalm 23</a></p>'
    '<p style="x" onclick="alert(1)">"Romans 8:28" John 3:16&#x22;onmouseover=alert(1)</p>'
)


def test_a_hostile_body_around_references_cannot_make_a_script_or_a_handler(
    tmp_path: Path,
) -> None:
    config = config_in(tmp_path, rss(item("1", 22, body=HOSTILE, title="Tricks")))
    assert run(config).ok
    slug = slug_of(config, "1")
    for subscriber in ("alpha", "beta"):
        files = outputs_of(config, subscriber)
        made = 0
        for where, html in fragments(files):
            if "said it" not in html:
                continue
            made += len(scripture_links(html))
            if where.endswith(".html"):  # our pages: their own script aside, the story's HTML
                html = "".join(
                    lxml.html.tostring(child, encoding="unicode")
                    for body in lxml.html.fromstring(html).find_class("syn-body")
                    for child in body
                )
                assert_safe(html)  # what `sanitize` lets out, and nothing else
            assert_inert(html)
        assert made, subscriber  # something was linked: the outputs were looked at
        page = lxml.html.fromstring(files[f"articles/{slug}.html"])
        for element in page.iter():
            assert not any(name.lower().startswith("on") for name in element.attrib)
