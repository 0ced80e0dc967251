"""The render stage through the real pipeline: config files on disk, the bundled sample
feed, a real SQLite store and real output files, every output read back by a real parser
(lxml, feedparser, jsonschema, a strict HTML checker). Plus a property test of subscriber
text and the golden output tree of the bundled config. `plan`'s pure decisions are in
test_render_plan.py, the sharing layer's in test_render_shared.py."""

from __future__ import annotations

import base64
import difflib
import email.utils
import gzip
import hashlib
import importlib.util
import json
import math
import re
import shutil
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser
import jsonschema
import lxml.etree
import lxml.html
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from markupsafe import Markup
from pydantic import ValidationError

from syndicator.clean.sanitize import sanitize
from syndicator.config import Config, SubscriberConfig, load_config
from syndicator.ingest import load_stories
from syndicator.models import Story
from syndicator.pipeline import run_once
from syndicator.publish import OWNER_MARK
from syndicator.publish.ownership import OUR_FILES
from syndicator.publish.run import publish_outputs
from syndicator.render import Renderer, plan
from syndicator.render.environment import (
    BUILTIN_TEMPLATES,
    FRAME_SCRIPT,
    FRAME_SCRIPT_HASH,
    builtin_templates,
)
from syndicator.render.views import headings_from, lead_and_rest
from syndicator.select import select
from syndicator.store import Store

from .conftest import FIXTURES, NOW, REPO, write_config

SAMPLE = REPO / "config" / "samples" / "worthynews-feed.xml"
SCHEMA = json.loads((FIXTURES / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
GOLDEN = Path(__file__).parent / "golden" / "render"
BASE = "http://127.0.0.1:9/"  # write_config's site base_url
OUTLET = "Worthy News"
ATOM = "{http://www.w3.org/2005/Atom}"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
UTM = "utm_source={id}&utm_medium=syndication&utm_campaign=syndicator"
PLAYER = re.compile(r"<iframe\b[^>]*></iframe>")  # a video player, as `sanitize` leaves it
REGEN = (
    "run `python3 scripts/regen_golden.py render` (with the project venv: "
    "`.venv/bin/python scripts/regen_golden.py render`), review `git diff tests/golden/render` "
    "and commit it"
)


@dataclass(frozen=True)
class Sub:
    """A test subscriber: its file, and what its outputs must say in its language."""

    toml: str
    footer: str
    by: str  # "By {author}" in its language


SUBSCRIBERS = {
    # Every option at its default: excerpt, thumbnail, original links with UTM, English.
    "grace": Sub(
        'name = "Grace Church"\nsite_url = "https://grace.example.org/"\n',
        footer="News shared with Grace Church.",
        by="By",
    ),
    # The same with one archive page: exactly 10 stories in its widget and embed.
    "ten": Sub(
        'name = "Ten Church"\nsite_url = "https://ten.example.org/"\npages = 1\n'
        'footer = "Shared by Ten Church."\n',
        footer="Shared by Ten Church.",
        by="By",
    ),
    "hope-es": Sub(
        """name = "Iglesia <Esperanza> & Co"
site_url = "https://esperanza.example.org/"
categories = ["Israel", "Middle East"]
content = "full"
image = "full"
image_position = "top"
link_to = "hosted"
language = "es"
timezone = "America/Chicago"
date_format = "%A %-d de %B de %Y"
footer = "Noticias de Worthy News & amigos <gracias>"
[theme]
mode = "dark"
layout = "cards"
font = "serif"
""",
        footer="Noticias de Worthy News & amigos <gracias>",
        by="Por",
    ),
    "eglise-fr": Sub(
        """name = "Église Saint-Jean"
site_url = "https://eglise.example.org/"
content = "title"
image = "thumbnail"
link_to = "detail_page"
detail_page_url = "https://eglise.example.org/actualites/?lang=fr"
language = "fr"
utm = false
limit = 12
per_page = 5
pages = 2
outputs = ["rss", "json", "embed", "widget"]
""",
        footer="Actualités partagées avec Église Saint-Jean.",
        by="Par",
    ),
    "compact": Sub(
        """name = "Compact Chapel"
site_url = "https://compact.example.org/"
exclude_categories = ["Opinion"]
excerpt_words = 20
image = "none"
limit = 12
per_page = 4
pages = 2
outputs = ["rss", "atom", "snippet", "pages", "articles"]
""",
        footer="News shared with Compact Chapel.",
        by="By",
    ),
}
FEED_FILES = {"rss": "rss.xml", "atom": "atom.xml", "json": "feed.json"}
FILES = {**FEED_FILES, "snippet": "snippet.html", "embed": "embed.js", "widget": "widget.html"}


def sample_config(folder: Path, feed: Path = SAMPLE) -> Config:
    """The test subscribers over a local copy of the bundled sample feed."""
    return load_config(
        write_config(
            folder,
            feed.as_uri(),
            subscribers={name: sub.toml for name, sub in SUBSCRIBERS.items()},
        )
    )


class Site:
    """One run's outputs, read back from disk, and what they were rendered from. (Not a
    dataclass: hypothesis would print every story of it with each example.)"""

    def __init__(self, config: Config, root: Path, stories: list[Story]) -> None:
        self.config = config
        self.root = root
        self.stories = stories

    def __repr__(self) -> str:
        return f"Site({self.root})"

    @cached_property
    def files(self) -> dict[str, bytes]:
        return read_tree(self.root)

    def text(self, name: str) -> str:
        return self.files[name].decode("utf-8")

    def subscriber(self, subscriber_id: str) -> SubscriberConfig:
        return next(s for s in self.config.subscribers if s.id == subscriber_id)

    def listed(self, subscriber_id: str) -> tuple[Story, ...]:
        return select(self.stories, self.subscriber(subscriber_id), NOW)

    def front(self, subscriber_id: str) -> tuple[Story, ...]:
        """What its feeds and widget show."""
        return self.listed(subscriber_id)[: self.subscriber(subscriber_id).limit]

    def by_title(self, title: str) -> Story:
        return next(s for s in self.stories if s.article.title == title)

    def lists(self, subscriber_id: str) -> list[str]:
        """Its files that list stories: snippet, widget, archive pages."""
        return [
            name
            for name in self.files
            if name.startswith(f"{subscriber_id}/")
            and (name.endswith(("/snippet.html", "/widget.html")) or "/page/" in name)
        ]

    def having(self, output: str) -> list[str]:
        return [s.id for s in self.config.subscribers if output in s.outputs]


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under `root`: relative path → bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def read_site(config: Config) -> Site:
    with Store(config.database_path) as store:
        stories = load_stories(config, store)
    return Site(config, config.site.output_dir, stories)


def rendered_site(folder: Path) -> Site:
    """The test subscribers' outputs, published in `folder` by one run of the pipeline."""
    config = sample_config(folder)
    report = run_once(config, NOW)
    assert report.ok, report
    assert [s.outcome for s in report.subscribers] == ["published"] * len(SUBSCRIBERS)
    return read_site(config)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return rendered_site(tmp_path_factory.mktemp("site"))


# -- what readers are sent to --------------------------------------------------------------


def original(story: Story, sub: SubscriberConfig) -> str:
    """The outlet's article, tagged with the subscriber's UTM parameters when it wants them."""
    link = story.article.link
    assert link and "?" not in link and "#" not in link  # true of the whole sample
    return f"{link}?{UTM.format(id=sub.id)}" if sub.utm else link


def item_link(story: Story, sub: SubscriberConfig) -> str:
    """Where the subscriber's lists and feeds send a reader, per `link_to`."""
    if sub.link_to == "hosted":
        return f"{BASE}{sub.id}/articles/{story.slug}.html"
    if sub.link_to == "detail_page":
        assert sub.detail_page_url and "?" in sub.detail_page_url
        return f"{sub.detail_page_url}&story={story.slug}"
    return original(story, sub)


def is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and " " not in value


# -- a strict HTML checker -----------------------------------------------------------------

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})  # fmt: skip
# Start tags that end an open <p> in an HTML5 parser: written inside a <p>, the document a
# browser builds differs from the one the template meant.
CLOSES_P = frozenset({
    "address", "article", "aside", "blockquote", "details", "dialog", "div", "dl", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hgroup", "hr", "main", "menu", "nav", "ol", "p", "pre", "section", "table", "ul",
})  # fmt: skip


class _Checker(HTMLParser):
    """Tag balance for HTML we write ourselves: every non-void element closed, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.errors: list[str] = []

    def error_at(self, message: str) -> None:
        self.errors.append(f"line {self.getpos()[0]}: {message}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            self.error_at(f"<{tag}> repeats an attribute: {names}")
        if tag in CLOSES_P and "p" in self.open:
            self.error_at(f"<{tag}> inside <p>")
        if tag in {"li", "dt", "dd"} and self.open[-1:] == [tag]:
            self.error_at(f"<{tag}> inside <{tag}>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.error_at(f"<{tag}/> is not a void element")
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.error_at(f"</{tag}> closes a void element")
        elif self.open[-1:] != [tag]:
            self.error_at(f"</{tag}> while <{self.open[-1] if self.open else 'nothing'}> is open")
        else:
            self.open.pop()


def html_errors(markup: str) -> list[str]:
    """Everything wrong with `markup` (a page or a fragment); [] when it is well formed."""
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    if checker.open:
        checker.errors.append(f"never closed: {checker.open}")
    if markup.lstrip().lower().startswith("<!doctype"):
        tags = re.findall(r"<(html|head|body)[\s>]", markup, re.IGNORECASE)
        if [t.lower() for t in tags] != ["html", "head", "body"]:
            checker.errors.append(f"not one html/head/body: {tags}")
    return checker.errors


@pytest.mark.parametrize(
    "broken",
    [
        "<div><p>unclosed div</p>",
        "<p>unclosed paragraph",
        "<b><i>crossed</b></i>",
        "<p>a block <div>inside a paragraph</div></p>",
        "<ul><li>one<li>two</li></ul>",
        "<p>a void end tag</br></p>",
        '<a href="x" href="y">repeated attribute</a>',
        "<span/>",
        "</p>",
        "<!doctype html><html><head></head><body></body></html><body></body>",
    ],
)
def test_the_html_checker_rejects_broken_html(broken: str) -> None:
    assert html_errors(broken), broken


def test_the_html_checker_accepts_good_html() -> None:
    good = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
        "<style>p > a {}</style></head><body><main><p>a<br>b <img src=x alt=''> &amp; "
        "<a href='y'>c</a></p><ul><li>1</li><li>2</li></ul><hr></main></body></html>"
    )
    assert html_errors(good) == []


# -- every output, as text ----------------------------------------------------------------


def embed_data(script: str) -> dict[str, Any]:
    """The data object embed.js carries (its HTML pieces are what the host page shows)."""
    found = re.search(r"var D = (\{.*?\});\n", script)
    assert found, "embed.js has no data object"
    data: dict[str, Any] = json.loads(found[1])
    return data


def feed_contents(data: bytes) -> list[tuple[str, str, str | None]]:
    """(title, content HTML, summary) of each RSS item or Atom entry, as written: feedparser
    would sanitize the HTML, hiding exactly what the tests look for."""
    root = lxml.etree.fromstring(data)
    if root.tag == "rss":
        return [
            (item.findtext("title") or "", content, None if content == summary else summary)
            for item in root.iter("item")
            # Without a summary, the content is the description (there is no content:encoded).
            for summary in [item.findtext("description")]
            for content in [
                item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or summary or ""
            ]
        ]
    return [
        (
            entry.findtext(f"{ATOM}title") or "",
            entry.findtext(f"{ATOM}content") or "",
            entry.findtext(f"{ATOM}summary"),
        )
        for entry in root.iter(f"{ATOM}entry")
    ]


def html_pieces(site: Site) -> Iterator[tuple[str, str]]:
    """Every piece of HTML we publish, named: pages, fragments, feed content, embed data."""
    for name, data in site.files.items():
        if name.endswith(".html"):
            yield name, data.decode()
        elif name.endswith("feed.json"):
            for number, entry in enumerate(json.loads(data)["items"]):
                yield f"{name} item {number}", entry["content_html"]
        elif name.endswith(".xml") and "/" in name:
            for number, (_, content, _) in enumerate(feed_contents(data)):
                yield f"{name} item {number}", content
        elif name.endswith("embed.js"):
            embedded = embed_data(data.decode())
            for number, item in enumerate(embedded["items"]):
                yield f"{name} item {number}", item
            for slug, story in (embedded["stories"] or {}).items():
                yield f"{name} story {slug}", story
            yield f"{name} footer", embedded["footer"]
            yield f"{name} empty", embedded["empty"]


# -- the files ------------------------------------------------------------------------------


def test_each_subscriber_gets_exactly_the_outputs_it_asked_for(site: Site) -> None:
    top = {"index.html", "subscribers.opml", OWNER_MARK}
    assert top <= set(site.files)
    for sub in site.config.subscribers:
        listed = site.listed(sub.id)
        expected = {FILES[o] for o in sub.outputs if o in FILES} | {OWNER_MARK}
        if {"widget", "pages", "articles"} & set(sub.outputs):
            expected.add("style.css")
        if "pages" in sub.outputs:  # `pages` of `per_page`, even when feeds list more
            count = max(1, math.ceil(min(len(listed), sub.per_page * sub.pages) / sub.per_page))
            expected |= {f"page/{n}.html" for n in range(1, count + 1)}
        if "articles" in sub.outputs:
            expected |= {f"articles/{story.slug}.html" for story in listed}
        got = {
            name.removeprefix(f"{sub.id}/") for name in site.files if name.startswith(f"{sub.id}/")
        }
        assert got == expected, sub.id
    assert {name.split("/")[0] for name in set(site.files) - top} == set(SUBSCRIBERS)


def test_every_file_written_in_a_subscriber_s_folder_is_one_ownership_knows_as_ours(
    site: Site,
) -> None:
    """`publish.ownership` tells a folder as Syndicator's by the names the renderer writes
    (both read `models.SUBSCRIBER_FILES`): a file written under any other name would make
    the folder, once its mark is lost, look someone else's and stop its publishing."""
    for name in site.files:
        _, _, inside = name.partition("/")
        if inside and inside != OWNER_MARK:
            assert OUR_FILES.fullmatch(inside), name


def test_the_archive_and_the_pager_hold_pages_of_per_page_even_when_feeds_list_more(
    site: Site,
) -> None:
    """`limit` is for the feeds, snippet and widget; `per_page × pages` for the archive
    pages and the embed's pager, whichever is larger."""
    compact = site.listed("compact")  # limit 12, 4 per page, 2 pages
    assert len(compact) > 8
    assert len(json.loads(site.files["eglise-fr/feed.json"])["items"]) == 12
    names = sorted(n for n in site.files if n.startswith("compact/page/"))
    assert names == ["compact/page/1.html", "compact/page/2.html"]
    second = lxml.html.fromstring(site.files["compact/page/2.html"])
    titles = [e.text_content().strip() for e in second.find_class("syn-title")]
    assert titles == [story.article.title for story in compact[4:8]]
    assert len(lxml.etree.fromstring(site.files["compact/rss.xml"]).findall(".//item")) == 12

    data = embed_data(site.text("eglise-fr/embed.js"))  # limit 12, 5 per page, 2 pages
    front = site.front("eglise-fr")
    assert len(front) == 12
    assert len(data["items"]) == 10 and data["per"] == 5
    assert set(data["stories"]) == {story.slug for story in front}  # feed links open too


def test_outputs_do_not_depend_on_the_machine(site: Site) -> None:
    """Only the configured base_url appears: no local path, no file: URL, no hole left."""
    local = {str(site.root.parent), str(REPO), SAMPLE.as_uri(), "file:", "\x00"}
    for name, data in site.files.items():
        text = data.decode("utf-8")
        for leak in local:
            assert leak not in text, (name, leak)


# -- feeds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("subscriber_id", list(SUBSCRIBERS))
def test_feeds_parse_and_list_the_subscribers_selection(site: Site, subscriber_id: str) -> None:
    """RSS, Atom and JSON Feed are well formed, read cleanly by feedparser, and carry the
    same stories, in the same order, as the selection: titles and links per `link_to`."""
    sub = site.subscriber(subscriber_id)
    front = site.front(subscriber_id)
    assert front, "every test subscriber gets some stories"
    expected = [(story.article.title, item_link(story, sub)) for story in front]
    feeds = [o for o in FEED_FILES if o in sub.outputs]
    assert feeds
    for output in feeds:
        name = f"{subscriber_id}/{FEED_FILES[output]}"
        data = site.files[name]
        if output == "json":
            entries = json.loads(data)["items"]
            assert [(e["title"], e["url"]) for e in entries] == expected, name
            continue
        lxml.etree.fromstring(data)  # raises on anything not well-formed
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0, (name, parsed.get("bozo_exception"))
        assert parsed.version == {"rss": "rss20", "atom": "atom10"}[output]
        assert [(e.title, e.link) for e in parsed.entries] == expected, name


def _rfc822(text: str | None) -> datetime:
    assert text is not None
    moment = email.utils.parsedate_to_datetime(text)
    assert moment.tzinfo is not None, text
    assert email.utils.format_datetime(moment) == text, text
    return moment


def _urls_in_html(markup: str) -> list[str]:
    tree = lxml.html.fragment_fromstring(markup, create_parent="div")
    return [
        value for el in tree.iter() for key, value in el.attrib.items() if key in {"href", "src"}
    ]


@pytest.mark.parametrize("subscriber_id", list(SUBSCRIBERS))
def test_rss_follows_the_rss_advisory_board_profile(site: Site, subscriber_id: str) -> None:
    sub = site.subscriber(subscriber_id)
    root = lxml.etree.fromstring(site.files[f"{subscriber_id}/rss.xml"])
    channel = root.find("channel")
    assert channel is not None
    selfs = [link for link in channel.iter(f"{ATOM}link") if link.get("rel") == "self"]
    assert [link.get("href") for link in selfs] == [f"{BASE}{subscriber_id}/rss.xml"]
    assert selfs[0].get("type") == "application/rss+xml"
    assert channel.findtext("link") == sub.site_url
    items = channel.findall("item")
    assert len(items) == len(site.front(subscriber_id))
    dates = []
    for item, story in zip(items, site.front(subscriber_id), strict=True):
        guid = item.find("guid")
        assert guid is not None and guid.text, lxml.etree.tostring(item)[:200]
        dates.append(_rfc822(item.findtext("pubDate")))
        assert item.findtext(DC_CREATOR) == story.article.author
        assert [c.text for c in item.findall("category")] == list(story.article.categories)
        for html in (item.findtext("description") or "", item.findtext("{*}encoded") or ""):
            for url in _urls_in_html(html) if html else []:
                assert is_web_url(url), (subscriber_id, url)
    # The feed's date is its newest story's, never the time of the run.
    assert _rfc822(channel.findtext("lastBuildDate")) == max(dates)
    assert max(dates) < NOW - timedelta(hours=1)
    for element in root.iter():
        values = [element.text or ""] if element.tag in {"link", "docs", "comments"} else []
        values += [v for k, v in element.attrib.items() if k in {"url", "href", "src"}]
        for value in values:
            assert is_web_url(value.strip()), (subscriber_id, element.tag, value)


@pytest.mark.parametrize("subscriber_id", ["grace", "ten", "hope-es", "compact"])
def test_atom_entries_are_complete(site: Site, subscriber_id: str) -> None:
    sub = site.subscriber(subscriber_id)
    root = lxml.etree.fromstring(site.files[f"{subscriber_id}/atom.xml"])
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"self": f"{BASE}{subscriber_id}/atom.xml", "alternate": sub.site_url}
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == len(site.front(subscriber_id))
    updated = []
    for entry, story in zip(entries, site.front(subscriber_id), strict=True):
        for child in ("id", "title", "updated", "content"):
            assert (entry.findtext(f"{ATOM}{child}") or "").strip(), (subscriber_id, child)
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "html"
        # One alternate link (no rel means alternate), the story's: an image enclosure
        # must not become a second one, or readers link the picture instead of the story.
        alternates = [
            link.get("href")
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        assert alternates == [item_link(story, sub)], subscriber_id
        updated.append(datetime.fromisoformat(entry.findtext(f"{ATOM}updated") or ""))
        assert updated[-1].tzinfo is not None
    assert datetime.fromisoformat(root.findtext(f"{ATOM}updated") or "") == max(updated)


# -- JSON Feed ------------------------------------------------------------------------------

RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
FORMATS = jsonschema.FormatChecker(formats=())  # jsonschema's own need extra packages


@FORMATS.checks("date-time")
def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


@FORMATS.checks("uri")
def _is_absolute_url(value: object) -> bool:
    return not isinstance(value, str) or is_web_url(value)


def json_feed_errors(document: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=FORMATS)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_json_feed_schema_is_valid_and_its_formats_are_checked() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert set(FORMATS.checkers) == {"date-time", "uri"}


def _minimal() -> dict[str, Any]:
    return {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "t",
        "_ext": {"a": 1},
        "items": [{"id": "1", "content_text": "x", "date_published": "2026-11-23T09:15:42Z"}],
    }


BROKEN_FEEDS = {
    "wrong version": lambda d: d.update(version="https://jsonfeed.org/version/1"),
    "no title": lambda d: d.pop("title"),
    "typo key": lambda d: d.update(home_page_ulr="https://a.example/"),
    "deprecated author": lambda d: d.update(author={"name": "x"}),
    "empty author": lambda d: d.update(authors=[{}]),
    "relative feed_url": lambda d: d.update(feed_url="/feed.json"),
    "item without content": lambda d: d["items"][0].pop("content_text"),
    "item without id": lambda d: d["items"][0].pop("id"),
    "numeric id": lambda d: d["items"][0].update(id=1),
    "date without zone": lambda d: d["items"][0].update(date_published="2026-11-23T09:15:42"),
    "RFC 822 date": lambda d: d["items"][0].update(date_modified="Mon, 23 Nov 2026 09:15:42 +0000"),
    "impossible date": lambda d: d["items"][0].update(date_published="2026-02-30T09:15:42Z"),
    "tag not a string": lambda d: d["items"][0].update(tags=[1]),
    "attachment without type": lambda d: d["items"][0].update(
        attachments=[{"url": "https://a.example/x.mp3"}]
    ),
    "item typo": lambda d: d["items"][0].update(summery="x"),
    "extension not an object": lambda d: d.update(_ext="x"),
}


@pytest.mark.parametrize("mistake", list(BROKEN_FEEDS))
def test_the_json_feed_schema_catches_mistakes(mistake: str) -> None:
    assert json_feed_errors(_minimal()) == []
    document = _minimal()
    BROKEN_FEEDS[mistake](document)
    assert json_feed_errors(document), mistake


def test_json_feeds_validate_against_the_schema(site: Site) -> None:
    for subscriber_id in site.having("json"):
        name = f"{subscriber_id}/feed.json"
        document = json.loads(site.files[name])
        assert json_feed_errors(document) == [], name
        assert document["feed_url"] == f"{BASE}{name}"
        assert document["language"] == site.subscriber(subscriber_id).language


# -- HTML ------------------------------------------------------------------------------------


def test_every_piece_of_html_is_well_formed(site: Site) -> None:
    pieces = list(html_pieces(site))
    assert len(pieces) > 100
    for name, markup in pieces:
        assert html_errors(markup) == [], name
    for name in site.files:
        if name.endswith((".xml", ".opml")):
            lxml.etree.fromstring(site.files[name])


def test_every_page_forbids_script_before_anything_else(site: Site) -> None:
    """Widget, list and article pages carry their Content-Security-Policy right after the
    charset (a policy applies only to what follows it): no script, no forms, no <base
    href>, styles from our own origin only."""
    pages = [
        name
        for name in site.files
        if name.endswith(".html") and name.split("/")[-1] not in {"snippet.html", "index.html"}
    ]
    assert any("/articles/" in n for n in pages) and any("/page/" in n for n in pages)
    for name in pages:
        head = lxml.html.fromstring(site.files[name]).find("head")
        assert head is not None, name
        charset, policy = list(head)[:2]
        assert charset.get("charset") == "utf-8", name
        assert policy.get("http-equiv") == "Content-Security-Policy", name
        directives = dict(d.strip().split(" ", 1) for d in policy.get("content").split(";"))
        assert directives["default-src"] == "'none'", name
        scripts = [script.text for script in lxml.html.fromstring(site.files[name]).iter("script")]
        if name.endswith("/widget.html"):  # its one script, by hash (the auto-height code)
            assert directives["script-src"] == f"'{FRAME_SCRIPT_HASH}'", name
            assert scripts == [FRAME_SCRIPT], name
            digest = hashlib.sha256(FRAME_SCRIPT.encode()).digest()
            assert f"sha256-{base64.b64encode(digest).decode()}" == FRAME_SCRIPT_HASH
        else:
            assert "script-src" not in directives and scripts == [], name
        assert directives["style-src"] == "'self'" and directives["form-action"] == "'none'"
        assert directives["base-uri"] == "'none'", name


def _attribution_ok(
    element: lxml.html.HtmlElement, story: Story, sub: Sub, href: str | None
) -> None:
    """The credit: "By AUTHOR — Outlet", the outlet linking to `href` (None: no link)."""
    text = " ".join(element.text_content().split())
    author = story.article.author
    assert author, story.slug  # every sample story has a byline
    assert f"{sub.by} {author} — {OUTLET}" in text, text
    credits = [a.get("href") for a in element.iter("a") if a.text_content() == OUTLET]
    assert credits == ([href] if href else []), text


def _footer_ok(tree: lxml.html.HtmlElement, sub: Sub, where: str) -> None:
    footers = [p.text_content() for p in tree.find_class("syn-footer")]
    assert footers == [sub.footer], where


@pytest.mark.parametrize("subscriber_id", list(SUBSCRIBERS))
def test_lists_credit_the_outlet_and_carry_the_footer(site: Site, subscriber_id: str) -> None:
    """Every list item says "By AUTHOR — Worthy News", the outlet linking to the original
    article unless the title links there already (one tab stop per story), and every page
    and fragment ends with the subscriber's own footer."""
    spec, sub = SUBSCRIBERS[subscriber_id], site.subscriber(subscriber_id)
    documents = [(n, site.text(n)) for n in site.lists(subscriber_id)]
    if "embed" in sub.outputs:
        data = embed_data(site.text(f"{subscriber_id}/embed.js"))
        items = "".join(data["items"])
        documents.append(("embed.js", f"<div><ul>{items}</ul>{data['footer']}</div>"))
    assert documents
    for name, markup in documents:
        tree = lxml.html.fromstring(markup)
        _footer_ok(tree, spec, name)
        shown = tree.find_class("syn-item")
        assert shown, name
        for element in shown:
            title = element.find_class("syn-title")[0].text_content()
            story = site.by_title(title)
            title_link = item_link(story, sub)
            credit = original(story, sub)
            _attribution_ok(element, story, spec, None if credit == title_link else credit)
            links = [a.get("href") for a in element.find_class("syn-title")[0].iter("a")]
            assert links == [title_link], name


@pytest.mark.parametrize("subscriber_id", ["grace", "hope-es", "compact"])
def test_article_pages_credit_the_outlet_and_point_search_engines_to_it(
    site: Site, subscriber_id: str
) -> None:
    spec, sub = SUBSCRIBERS[subscriber_id], site.subscriber(subscriber_id)
    for story in site.listed(subscriber_id):
        name = f"{subscriber_id}/articles/{story.slug}.html"
        tree = lxml.html.fromstring(site.files[name])
        article = story.article
        canonical = tree.xpath("//link[@rel='canonical']/@href")
        assert canonical == [article.link], name
        og = {m.get("property"): m.get("content") for m in tree.xpath("//meta[@property]")}
        assert og["og:url"] == article.link and og["og:title"] == article.title
        assert og["og:type"] == "article" and og["og:site_name"] == OUTLET
        assert og["og:description"] and og["og:locale"].startswith(sub.language)
        assert og.get("og:image") == (article.lead_image.url if article.lead_image else None)
        assert tree.xpath("//html/@lang") == [sub.language]
        meta = tree.find_class("syn-story")[0].find_class("syn-meta")[0]
        _attribution_ok(meta, story, spec, original(story, sub))
        more = tree.find_class("syn-attr")[0]
        assert [a.get("href") for a in more.iter("a")] == [original(story, sub)]
        _footer_ok(tree, spec, name)


@pytest.mark.parametrize("subscriber_id", ["grace", "hope-es", "eglise-fr"])
def test_feed_items_credit_the_outlet_and_carry_the_footer(site: Site, subscriber_id: str) -> None:
    spec, sub = SUBSCRIBERS[subscriber_id], site.subscriber(subscriber_id)
    rss = feed_contents(site.files[f"{subscriber_id}/rss.xml"])
    feed = json.loads(site.files[f"{subscriber_id}/feed.json"])["items"]
    for story, from_rss, from_json in zip(site.front(subscriber_id), rss, feed, strict=True):
        assert from_rss == (from_json["title"], from_json["content_html"], from_json.get("summary"))
        tree = lxml.html.fragment_fromstring(from_json["content_html"], create_parent="div")
        _attribution_ok(tree, story, spec, original(story, sub))
        _footer_ok(tree, spec, f"{subscriber_id} {story.slug}")


def test_index_lists_every_subscriber_and_opml_every_feed(site: Site) -> None:
    tree = lxml.html.fromstring(site.files["index.html"])
    assert [s.get("id") for s in tree.iter("section")] == [s.id for s in site.config.subscribers]
    code = " ".join(c.text_content() for c in tree.iter("code"))
    assert f'<script src="{BASE}grace/embed.js" async></script>' in code
    opml = lxml.etree.fromstring(site.files["subscribers.opml"])
    feeds = {o.get("text"): o.get("xmlUrl") for o in opml.iter("outline")}
    assert feeds == {
        s.name: f"{BASE}{s.id}/{'rss.xml' if 'rss' in s.outputs else 'atom.xml'}"
        for s in site.config.subscribers
    }


# -- nothing that runs -----------------------------------------------------------------------

HANDLER = re.compile(r"[\s\"'/]on[a-z]+\s*=", re.IGNORECASE)
PROMO = ("If you are interested", "appeared first on", "FREE syndication", "worthyplugins")


def test_no_output_can_run_script(site: Site) -> None:
    """No <script> but embed.js itself and the iframe page's own one (its CSP allows that
    alone, by hash), no event handler attribute, no javascript: URL, in any file or in any
    HTML that embed.js carries; and none of the outlet's promo lines."""
    texts = [(name, data.decode()) for name, data in site.files.items()]
    texts += list(html_pieces(site))
    for name, text in texts:
        if name.endswith("/widget.html"):
            text = text.replace(f"<script>{FRAME_SCRIPT}</script>", "", 1)
        if not name.endswith("embed.js"):
            assert "<script" not in text.lower(), name
        assert not HANDLER.search(text), (name, HANDLER.search(text))
        assert "javascript:" not in text.lower(), name
        for promo in PROMO:
            assert promo not in text, (name, promo)
    for name, markup in html_pieces(site):
        tree = (
            lxml.html.fragment_fromstring(markup, create_parent="div")
            if not name.endswith(".html")
            else lxml.html.fromstring(markup)
        )
        for element in tree.iter():
            assert not any(key.lower().startswith("on") for key in element.attrib), name


# -- content, images, links ------------------------------------------------------------------


def _paragraphs(story: Story) -> list[str]:
    tree = lxml.html.fragment_fromstring(story.article.body_html, create_parent="div")
    return [" ".join(p.text_content().split()) for p in tree.iter("p")]


def _words(markup: str) -> str:
    tree = lxml.html.fragment_fromstring(markup, create_parent="div")
    return " ".join(tree.text_content().split())


@pytest.mark.parametrize("subscriber_id", list(SUBSCRIBERS))
def test_content_mode_decides_how_much_of_a_story_is_shown(site: Site, subscriber_id: str) -> None:
    """full: the whole cleaned body; excerpt: the excerpt but not the rest; title: neither
    (not even as the summary) — in every feed and every list."""
    sub = site.subscriber(subscriber_id)
    items: list[tuple[str, str, str | None]] = []  # (title, content HTML, summary)
    for output in ("rss", "atom"):
        if output in sub.outputs:
            items += feed_contents(site.files[f"{subscriber_id}/{FEED_FILES[output]}"])
    if "json" in sub.outputs:
        for entry in json.loads(site.files[f"{subscriber_id}/feed.json"])["items"]:
            items.append((entry["title"], entry["content_html"], entry.get("summary")))
    assert items
    for title, content, summary in items:
        story = site.by_title(title)
        text, paragraphs = _words(content), _paragraphs(story)
        if sub.content == "title":
            assert summary is None, title
            assert paragraphs[0] not in text and paragraphs[-1] not in text, title
            continue
        assert summary and len(summary.split()) <= sub.excerpt_words, title
        assert paragraphs[-1] not in summary, title
        if sub.content == "full":  # the whole body, but for its players (see the players test)
            for piece in PLAYER.split(story.article.body_html):
                assert piece in content, title
        else:
            assert " ".join(summary.split()) in text and paragraphs[-1] not in text, title
    assert site.lists(subscriber_id)
    for name in site.lists(subscriber_id):
        tree = lxml.html.fromstring(site.files[name])
        for element in tree.find_class("syn-item"):
            story = site.by_title(element.find_class("syn-title")[0].text_content())
            bodies, excerpts = element.find_class("syn-body"), element.find_class("syn-excerpt")
            if sub.content == "full":  # all of it: the lead, the rest behind "Continue reading"
                assert 1 <= len(bodies) <= 2 and not excerpts
                shown = " ".join(" ".join(body.text_content().split()) for body in bodies)
                assert _paragraphs(story)[-1] in shown
                if len(bodies) == 2:
                    assert bodies[1].getparent().tag == "details", name
            elif sub.content == "excerpt":
                assert len(excerpts) == 1 and not bodies
                assert len(excerpts[0].text_content().split()) <= sub.excerpt_words
                assert _paragraphs(story)[-1] not in excerpts[0].text_content()
            else:
                assert not bodies and not excerpts, name


@pytest.mark.parametrize("subscriber_id", list(SUBSCRIBERS))
def test_image_option_decides_the_pictures(site: Site, subscriber_id: str) -> None:
    """none, or headlines only: no picture in any list item or feed item (no enclosure
    either); thumbnail/full: the lead image, styled so, and as the feeds' enclosure."""
    sub = site.subscriber(subscriber_id)
    pictures = sub.image != "none" and sub.content != "title"
    pieces = [
        (name, markup)
        for name, markup in html_pieces(site)
        if name.startswith(f"{subscriber_id}/")
        and "/articles/" not in name
        and " story " not in name  # the embed's full-story views show the story's own images
    ]
    assert pieces
    for name, markup in pieces:
        tree = lxml.html.fragment_fromstring(markup, create_parent="div")
        for element in tree.find_class("syn-item"):
            story = site.by_title(element.find_class("syn-title")[0].text_content())
            images = element.find_class("syn-img")
            lead = story.article.lead_image
            if not pictures or lead is None:
                assert not images, (name, story.slug)
                if sub.content != "full":  # a full body keeps the pictures in its text
                    assert not list(element.iter("img")), (name, story.slug)
            elif sub.content == "full" and lead.url in story.article.body_html:
                # Full text that shows the lead image does not show it twice.
                assert not images, (name, story.slug)
                assert lead.url in [i.get("src") for i in element.iter("img")]
            else:
                assert [i.get("src") for i in images] == [lead.url], (name, story.slug)
                assert f"syn-img--{sub.image}" in images[0].get("class", "")
                assert f"syn-img--{sub.image_position}" in images[0].get("class", "")
        if not pictures and " item " in name:
            assert "<img" not in markup, name
    leads = [story.article.lead_image for story in site.front(subscriber_id)]
    expected = [lead.url if lead and pictures else None for lead in leads]
    if "rss" in sub.outputs:
        root = lxml.etree.fromstring(site.files[f"{subscriber_id}/rss.xml"])
        enclosures = [item.find("enclosure") for item in root.iter("item")]
        assert [e.get("url") if e is not None else None for e in enclosures] == expected
        media = [m.get("url") for m in root.iter("{http://search.yahoo.com/mrss/}content")]
        assert media == [url for url in expected if url]
    if "json" in sub.outputs:
        entries = json.loads(site.files[f"{subscriber_id}/feed.json"])["items"]
        assert [entry.get("image") for entry in entries] == expected
    assert any(expected) is (pictures and any(leads))


def test_hosted_links_lead_to_pages_that_exist(site: Site) -> None:
    entries = json.loads(site.files["hope-es/feed.json"])["items"]
    assert entries
    for entry in entries:
        assert entry["url"].startswith(f"{BASE}hope-es/articles/")
        assert entry["url"].removeprefix(BASE) in site.files
        assert entry["external_url"] == site.by_title(entry["title"]).article.link


def test_utm_parameters_name_the_subscriber_only_when_wanted(site: Site) -> None:
    pieces = list(html_pieces(site))
    for sub in site.config.subscribers:
        links = [
            href
            for name, markup in pieces
            if name.startswith(f"{sub.id}/")
            for element in lxml.html.fragment_fromstring(markup, create_parent="div").iter()
            for key, href in element.attrib.items()
            if key in {"href", "content"}
        ]
        for output in ("rss", "atom", "json"):
            if output in sub.outputs:
                parsed = feedparser.parse(site.files[f"{sub.id}/{FEED_FILES[output]}"])
                links += [entry.link for entry in parsed.entries]
        ours = [link for link in links if "utm_medium=syndication" in link]
        sources = {tuple(parse_qs(urlsplit(link).query)["utm_source"]) for link in ours}
        if sub.utm:
            assert ours and sources == {(sub.id,)}, sub.id
        else:
            assert not ours, sub.id


def test_dates_use_the_subscribers_language_and_timezone(site: Site) -> None:
    # 78406 was published 2026-11-21T16:45Z: a Saturday, 10:45 in Chicago.
    story = next(s for s in site.stories if s.slug.startswith("78406-"))
    page = site.text(f"hope-es/articles/{story.slug}.html")
    assert ">sábado 21 de noviembre de 2026</time>" in page
    assert f'datetime="{story.date.isoformat()}"' in page


def test_a_subscriber_without_stories_gets_valid_empty_outputs(site: Site) -> None:
    sub = SubscriberConfig(
        id="empty", name="Empty", site_url="https://empty.example.org/", categories=("None",)
    )
    files = Renderer(site.config.path.parent, site.config.site).render(
        plan(sub, site.stories, {}, {}, NOW, "salt")
    )
    assert {name for name in files if "/articles/" in name} == set()
    for name, data in files.items():
        if name.endswith(".html"):
            assert html_errors(data.decode()) == [], name
            _footer_ok(lxml.html.fromstring(data), Sub("", "News shared with Empty.", "By"), name)
            assert "No news at the moment." in data.decode(), name
    for name in ("empty/rss.xml", "empty/atom.xml"):
        parsed = feedparser.parse(files[name])
        assert parsed.bozo == 0 and parsed.entries == [], name
    document = json.loads(files["empty/feed.json"])
    assert json_feed_errors(document) == [] and document["items"] == []
    assert embed_data(files["empty/embed.js"].decode())["items"] == []


# -- stability -------------------------------------------------------------------------------


def test_rendering_again_writes_nothing(tmp_path: Path) -> None:
    """Same inputs, later clock, forced: every byte is the same, so no file is written."""
    config = sample_config(tmp_path)
    assert run_once(config, NOW).ok
    before = read_site(config).files
    with Store(config.database_path) as store:
        outcome = publish_outputs(config, store, NOW + timedelta(days=2, hours=5), force=True)
    assert outcome.error is None and outcome.index_error is None
    assert [r.outcome for r in outcome.subscribers] == ["published"] * len(SUBSCRIBERS)
    assert [r.written for r in outcome.subscribers] == [0] * len(SUBSCRIBERS)
    assert outcome.publish.written == 0 and outcome.publish.removed == 0
    assert read_site(config).files == before


def test_a_story_withdrawn_upstream_leaves_a_gone_page(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    shutil.copyfile(SAMPLE, feed)
    config = sample_config(tmp_path, feed)
    assert run_once(config, NOW).ok
    withdrawn = re.compile(r"<item>(?:(?!</item>).)*\?p=78409</guid>.*?</item>", re.DOTALL)
    text, count = withdrawn.subn("", SAMPLE.read_text(encoding="utf-8"))
    assert count == 1
    feed.write_text(text, encoding="utf-8")
    report = run_once(config, NOW + timedelta(hours=1), force=True)
    assert report.ok and report.sources[0].changes.removed == (
        "https://www.worthynews.com/?p=78409",
    )
    site = read_site(config)
    gone = next(s for s in site.stories if s.slug.startswith("78409-"))
    page = site.text(f"grace/articles/{gone.slug}.html")
    assert html_errors(page) == []
    tree = lxml.html.fromstring(page)
    assert tree.findtext(".//h1") == "This article is no longer available"
    assert not tree.xpath("//link[@rel='canonical']") and tree.xpath("//meta[@name='robots']")
    assert _paragraphs(gone)[-1] not in page
    _footer_ok(tree, SUBSCRIBERS["grace"], "gone page")
    for name in ("grace/rss.xml", "grace/feed.json", "grace/widget.html", "grace/embed.js"):
        assert gone.article.title not in site.text(name), name


# -- embed.js --------------------------------------------------------------------------------

FORBIDDEN_JS = (
    "document.write",
    "cookie",
    "localStorage",
    "sessionStorage",
    "fetch(",
    "XMLHttpRequest",
)


def script_code(script: str) -> str:
    """embed.js without its data (stories may well mention cookies) and its comments."""
    code = re.sub(r"var D = \{.*?\};\n", "var D = {};\n", script, count=1)
    code = re.sub(r"/\*.*?\*/", "", code, flags=re.DOTALL)
    return re.sub(r"(?m)(^|\s)//.*$", "", code)


def test_script_code_leaves_out_data_and_comments() -> None:
    script = 'var D = {"a": "cookie"};\n/* no cookie */ x = 1; // cookie\ndocument.cookie = "";\n'
    assert script_code(script) == 'var D = {};\n x = 1;\ndocument.cookie = "";\n'


def test_embed_script_is_small_and_keeps_to_itself(site: Site) -> None:
    sizes = {}
    for subscriber_id in site.having("embed"):
        script = site.text(f"{subscriber_id}/embed.js")
        sizes[subscriber_id] = len(gzip.compress(site.files[f"{subscriber_id}/embed.js"]))
        code = script_code(script)
        for forbidden in FORBIDDEN_JS:
            assert forbidden not in code, (subscriber_id, forbidden)
        data = embed_data(script)
        sub = site.subscriber(subscriber_id)
        paged = min(len(site.listed(subscriber_id)), sub.per_page * sub.pages)
        assert len(data["items"]) == paged
    # The default subscriber (all 15 sample stories) is reported; the budget is for 10.
    report = ", ".join(f"{k}: {v:,} bytes" for k, v in sizes.items())
    assert len(site.listed("ten")) == 10 and len(site.listed("grace")) == 15
    assert sizes["ten"] <= 6 * 1024, f"embed.js gzipped: {report}"


# -- any text a subscriber's file holds ------------------------------------------------------

PLAIN = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Co", "Cn"))
TRICKY = st.sampled_from(["<", ">", "&", '"', "'", "&amp;", "</p>", "{n}", "%", "]]>", "\\", "\t"])
TEXT = st.lists(PLAIN | TRICKY, min_size=1, max_size=12).map("".join)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=TEXT, footer=TEXT)
def test_any_name_and_footer_render_verbatim_and_well_formed(
    site: Site, name: str, footer: str
) -> None:
    """What a church types into its file is shown exactly, escaped, and never breaks an
    output, including fragments shared with another subscriber of the same options."""
    fields = {**site.subscriber("grace").model_dump(), "id": "other"}
    try:
        sub = SubscriberConfig.model_validate({**fields, "name": name, "footer": footer})
    except ValidationError:
        reject()  # what config loading refuses never reaches the renderer
    renderer = Renderer(site.config.path.parent, site.config.site)
    by_slug = {s.slug: s for s in site.stories}
    files = {}
    for subscriber in (site.subscriber("grace"), sub):  # the first fills the fragment cache
        files = renderer.render(plan(subscriber, site.stories, by_slug, {}, NOW, "salt"))
    expected = Sub("", footer=footer, by="By")
    for filename, data in files.items():
        if filename.endswith(".html"):
            markup = data.decode()
            assert html_errors(markup) == [], filename
            _footer_ok(lxml.html.fromstring(markup), expected, filename)
    for filename, title in (("other/rss.xml", "channel/title"), ("other/atom.xml", f"{ATOM}title")):
        assert feedparser.parse(files[filename]).bozo == 0, filename
        assert lxml.etree.fromstring(files[filename]).findtext(title) == f"News for {name}"
    document = json.loads(files["other/feed.json"])
    assert json_feed_errors(document) == [] and document["title"] == f"News for {name}"
    for entry in document["items"]:
        tree = lxml.html.fragment_fromstring(entry["content_html"], create_parent="div")
        _footer_ok(tree, expected, entry["id"])
    footer_html = embed_data(files["other/embed.js"].decode())["footer"]
    _footer_ok(lxml.html.fragment_fromstring(footer_html, create_parent="div"), expected, "embed")


# -- golden output tree ----------------------------------------------------------------------


def _regen_golden() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "regen_golden", REPO / "scripts" / "regen_golden.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bundled_config_renders_the_golden_tree(tmp_path: Path) -> None:
    """Every output of the bundled example subscribers, byte for byte, plus the file list."""
    regen = _regen_golden()
    assert regen.NOW == NOW
    rendered = read_tree(regen.render_sample(tmp_path, NOW))
    golden = read_tree(GOLDEN)
    missing, extra = sorted(set(golden) - set(rendered)), sorted(set(rendered) - set(golden))
    assert not missing and not extra, (
        f"files differ: missing {missing}, new {extra}; to accept, {REGEN}"
    )
    changed = [name for name in golden if golden[name] != rendered[name]]
    if changed:
        first = changed[0]
        diff = "\n".join(
            list(
                difflib.unified_diff(
                    golden[first].decode().splitlines(),
                    rendered[first].decode().splitlines(),
                    f"golden/{first}",
                    f"rendered/{first}",
                    lineterm="",
                )
            )[:40]
        )
        pytest.fail(
            f"{len(changed)} file(s) differ from tests/golden/render: {changed}\n{diff}\nIf intended, {REGEN}"
        )
    for name, data in rendered.items():
        text = data.decode("utf-8")
        for leak in (str(tmp_path), str(REPO), "file:"):
            assert leak not in text, (name, leak)


# -- links, style sheets, headings -----------------------------------------------------------


def test_utm_parameters_keep_the_links_own_query_and_fragment() -> None:
    from syndicator.render.views import with_utm

    tags = "utm_source=grace&utm_medium=syndication&utm_campaign=syndicator"
    assert with_utm("https://w.example/a", "grace") == f"https://w.example/a?{tags}"
    assert with_utm("https://w.example/?p=1", "grace") == f"https://w.example/?p=1&{tags}"
    assert with_utm("https://w.example/a?p=1#top", "grace") == f"https://w.example/a?p=1&{tags}#top"
    assert with_utm("https://w.example/a#x?y", "grace") == f"https://w.example/a?{tags}#x?y"


def test_the_accent_colour_reaches_every_style_sheet(site: Site, tmp_path: Path) -> None:
    """A subscriber's accent is its links', buttons' and focus rings' colour: in the
    stylesheet of its widget and pages, and in the embed's own."""
    base = site.subscriber("grace").model_dump()
    default = SubscriberConfig.model_validate(base)
    red = SubscriberConfig.model_validate({**base, "id": "red", "theme": {"accent": "#aa0000"}})
    renderer = Renderer(site.config.path.parent, site.config.site)
    by_slug = {s.slug: s for s in site.stories}
    files = {}
    for subscriber in (default, red):
        files.update(renderer.render(plan(subscriber, site.stories, by_slug, {}, NOW, "salt")))
    for name in ("style.css", "embed.js"):
        assert "--syn-accent:#aa0000" in files[f"red/{name}"].decode(), name
        assert "#aa0000" not in files[f"grace/{name}"].decode(), name
        assert "--syn-accent:#1a5fb4" in files[f"grace/{name}"].decode(), name  # the default


@pytest.mark.parametrize(
    ("body", "top", "expected"),
    [
        ("<p>a</p><h3>B</h3><p>c</p><h4>D</h4>", 2, "<p>a</p><h2>B</h2><p>c</p><h3>D</h3>"),
        ("<h3>B</h3><h5>D</h5>", 3, "<h3>B</h3><h4>D</h4>"),
        ("<h2>B</h2>", 3, "<h3>B</h3>"),
        ('<p><a href="https://x.example/" title="&lt;h3">h3</a></p>\n<h4>E</h4>', 2,
         '<p><a href="https://x.example/" title="&lt;h3" rel="noopener">h3</a></p>\n<h2>E</h2>'),
        ("<p>no heading</p>", 2, "<p>no heading</p>"),
    ],
)  # fmt: skip
def test_a_storys_headings_follow_the_heading_above_it_without_skipping_a_level(
    body: str, top: int, expected: str
) -> None:
    assert str(headings_from(sanitize(body), top)) == expected


@pytest.mark.parametrize(
    ("body", "lead", "rest"),
    [
        ("<p>1</p><p>2</p><p>3</p><p>4</p>", "<p>1</p><p>2</p><p>3</p>", "<p>4</p>"),
        # A heading that would end the lead opens the rest instead.
        ("<p>1</p><p>2</p><h3>H</h3><p>3</p>", "<p>1</p><p>2</p>", "<h3>H</h3><p>3</p>"),
        # Nested elements and a top-level image count as blocks of their own.
        ('<p>1 <a href="https://x.example/">a</a></p><img src="https://x.example/i.png" alt="&gt;">\n'
         "<ul><li>2</li></ul><p>4</p>",
         '<p>1 <a href="https://x.example/" rel="noopener">a</a></p>'
         '<img src="https://x.example/i.png" alt="&gt;">\n<ul><li>2</li></ul>', "<p>4</p>"),
        ("<p>1</p><p>2</p><p>3</p>", "<p>1</p><p>2</p><p>3</p>", ""),  # nothing more to hide
    ],
)  # fmt: skip
def test_a_full_text_list_shows_a_storys_first_blocks_and_the_rest_behind_a_control(
    body: str, lead: str, rest: str
) -> None:
    assert tuple(map(str, lead_and_rest(safe_body(body)))) == (lead, rest)


def safe_body(body: str) -> Markup:
    return headings_from(sanitize(body), 3)


def test_the_built_in_templates_are_found_in_a_checkout_and_where_the_wheel_puts_them(
    tmp_path: Path,
) -> None:
    """A checkout keeps them in its top-level templates/; the wheel carries that folder
    inside the package, which is looked at first. (`uv build`, then render with the wheel
    installed, is the whole proof; this keeps the two halves in step.)"""
    assert (REPO / "templates").resolve() == BUILTIN_TEMPLATES
    assert (BUILTIN_TEMPLATES / "article.html").is_file()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["force-include"] == {"templates": "syndicator/templates"}
    installed = tmp_path / "site-packages" / "syndicator"
    (installed / "templates").mkdir(parents=True)
    assert builtin_templates(installed) == installed / "templates"
    checkout = tmp_path / "checkout" / "syndicator"
    checkout.mkdir(parents=True)
    assert builtin_templates(checkout) == tmp_path / "checkout" / "templates"
