"""The clean stage: one fixture per rule, metadata, golden articles, the hostile corpus,
property tests of the sanitizer, and clean-once in the pipeline."""

from __future__ import annotations

import json
import random
import re
import time
import tomllib
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicator import clean, scripture
from syndicator.clean.sanitize import ALLOWED_TAGS, DEFAULT_VIDEO_HOSTS, Policy, sanitize
from syndicator.clean.worker import CleaningWorker
from syndicator.config import CleanSettings, load_config
from syndicator.models import Article, Entry, Image
from syndicator.parse import parse_bytes
from syndicator.pipeline import run_once
from syndicator.store import Store

from .conftest import FIXTURES, NOT_TEXT, NOW, REPO, item, rss, write_config

RULES = tomllib.loads((FIXTURES / "clean" / "rules.toml").read_text(encoding="utf-8"))["rule"]
LINK = "https://www.worthynews.com/99-story"
GOLDEN = Path(__file__).parent / "golden" / "clean"


def entry(html: str, **extra: Any) -> Entry:
    fields: dict[str, Any] = {
        "source_id": "t",
        "id": "https://www.worthynews.com/?p=99",
        "title": "Title",
        "link": LINK,
        "author": None,
        "published": NOW,
        "updated": None,
        "categories": ("World News",),
        "content_html": html,
        "summary_html": "",
        "base_url": LINK,
    }
    fields.update(extra)
    return Entry(**fields)


@pytest.mark.parametrize("rule", RULES, ids=[r["name"] for r in RULES])
def test_rule(rule: dict[str, Any]) -> None:
    article = clean.clean_entry(entry(rule["input"]), CleanSettings(**rule.get("settings", {})))
    assert article.body_html == rule["expected"], rule["doc"]


# -- metadata ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("byline", "author", "role"),
    [
        ("By Jane Doe, Chief International Correspondent Worthy News", "Jane Doe", "Chief International Correspondent"),
        ("<strong>By Jane Doe, Africa Correspondent, Worthy News</strong>", "Jane Doe", "Africa Correspondent"),
        ("By John Smith, Worthy News", "John Smith", None),
        ("By John Smith", "John Smith", None),
    ],
)  # fmt: skip
def test_byline_author_and_role(byline: str, author: str, role: str | None) -> None:
    html = f"<p>{byline}</p><p>JERUSALEM (Worthy News) – Text here.</p>"
    article = clean.clean_entry(entry(html, author="wp-user"), CleanSettings())
    assert (article.author, article.author_role) == (author, role)
    assert "By " not in article.body_html


def test_without_byline_the_feed_author_is_kept() -> None:
    article = clean.clean_entry(entry("<p>Text.</p>", author="Jane Doe"), CleanSettings())
    assert (article.author, article.author_role) == ("Jane Doe", None)


@pytest.mark.parametrize(
    ("first", "place"),
    [
        ("KYIV/MOSCOW (Worthy News) – Text.", "KYIV/MOSCOW"),
        ("WASHINGTON, D.C. (Worthy News) — Text.", "WASHINGTON, D.C."),
        ("(Worthy News) – Text.", ""),
        ("Plain opening sentence.", None),
    ],
)
def test_dateline_place(first: str, place: str | None) -> None:
    article = clean.clean_entry(entry(f"<p>{first}</p><p>More.</p>"), CleanSettings())
    assert article.dateline == place
    assert article.body_html.startswith(f"<p>{escape(first)}</p>")  # kept by default


def test_excerpt_ends_at_a_sentence_boundary() -> None:
    sentences = " ".join(f"Sentence number {n} is here." for n in range(1, 30))
    article = clean.clean_entry(entry(f"<p>{sentences}</p>"), CleanSettings(excerpt_words=22))
    assert article.excerpt.endswith("here.")
    assert len(article.excerpt.split()) <= 22
    assert article.word_count == 29 * 5
    assert article.reading_minutes == 1


@pytest.mark.parametrize(
    "opening",
    [
        # WordPress's caption shortcode output, and a figure already in place
        '<div class="wp-caption"><img src="https://www.worthynews.com/a.jpg" alt="Crowd">'
        '<p class="wp-caption-text">Believers gather outside (Photo: Agency)</p></div>',
        '<figure><img src="https://www.worthynews.com/a.jpg" alt="Crowd">'
        "<figcaption>Believers gather outside (Photo: Agency)</figcaption></figure>",
    ],
)
def test_excerpt_and_stand_in_title_skip_a_leading_photo_caption(opening: str) -> None:
    prose = "Churches opened their doors on Sunday. Many came to pray and to sing."
    article = clean.clean_entry(
        entry(f"{opening}<p>{prose}</p>", title=""), CleanSettings(excerpt_words=10)
    )
    assert "<figcaption>Believers gather outside" in article.body_html  # still shown
    assert "Believers" in article.text
    assert article.excerpt == "Churches opened their doors on Sunday."
    assert article.title.startswith("Churches opened their doors")


def test_an_article_that_is_only_a_captioned_photo_still_gets_an_excerpt() -> None:
    html = (
        '<figure><img src="https://www.worthynews.com/a.jpg" alt="Crowd">'
        "<figcaption>Believers gather outside</figcaption></figure>"
    )
    article = clean.clean_entry(entry(html), CleanSettings())
    assert article.excerpt == "Believers gather outside"


def test_a_youtube_player_stays_on_youtube_when_the_no_cookie_host_is_not_allowed() -> None:
    frame = '<iframe src="https://www.youtube.com/embed/abc"></iframe>'
    only_youtube = CleanSettings(video_hosts=("www.youtube.com",))
    article = clean.clean_entry(entry(f"<p>Watch.</p>{frame}"), only_youtube)
    assert 'src="https://www.youtube.com/embed/abc"' in article.body_html
    article = clean.clean_entry(entry(f"<p>Watch.</p>{frame}"), CleanSettings())
    assert 'src="https://www.youtube-nocookie.com/embed/abc"' in article.body_html


def test_excerpt_without_a_near_sentence_end_gets_an_ellipsis() -> None:
    words = " ".join(f"word{n}" for n in range(100))
    assert clean.make_excerpt(words, 10) == " ".join(f"word{n}" for n in range(10)) + "…"
    assert clean.make_excerpt("Short text.", 10) == "Short text."


def _depth(markup: str) -> int:
    root = lxml.html.fragment_fromstring(f"<div>{markup}</div>")
    return max(len(list(element.iterancestors())) for element in root.iter())


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        ("<div>", "</div>"), ("<b>", "</b>"), ("<blockquote>", "</blockquote>"),
        ("<ul><li>", "</li></ul>"), ("<em><a href='/x'>", "</a></em>"),
        ("<table><tr><td>", "</td></tr></table>"), ("<div class='wp-caption'>", "</div>"),
    ],
)  # fmt: skip
def test_hostile_nesting_is_flattened_before_any_pass_walks_it(opening: str, closing: str) -> None:
    """Every pass asks about subtrees, and bs4 walks up the ancestors on every move: an
    article nested thousands deep took minutes (quadratic in its depth) and held up every
    run. Beyond MAX_DEPTH, elements are unwrapped first; what comes before stays."""
    from syndicator.clean.normalise import MAX_DEPTH

    deep = 3000  # (× up to 3 elements: within MAX_ELEMENTS)
    html = "<p>Before the nest.</p>" + opening * deep + "Deep down." + closing * deep
    article = clean.clean_entry(entry(html), CleanSettings())
    assert article.body_html.startswith("<p>Before the nest.</p>")
    assert _depth(article.body_html) < 2 * MAX_DEPTH  # (the sanitizer adds <tbody>, <p>)
    shallow = "<p>Before.</p>" + opening * 10 + "Kept as it is." + closing * 10
    kept = clean.clean_entry(entry(shallow), CleanSettings())
    assert "Kept as it is." in kept.body_html


def test_an_article_of_more_elements_than_any_real_one_is_refused() -> None:
    """Each bs4 move finds a tag among its siblings one by one: tens of thousands of
    tags took minutes. Such an article is refused, named, and the rest carry on."""
    from syndicator.clean.normalise import MAX_ELEMENTS
    from syndicator.errors import CleanError

    html = "<p>" + "<span>&nbsp;</span>" * MAX_ELEMENTS + "</p>"  # one more: the <p>
    with pytest.raises(CleanError, match=f"{MAX_ELEMENTS + 1:,} elements, more than the"):
        clean.clean_entry(entry(html), CleanSettings())
    fits = "<p>" + "<span>&nbsp;</span>" * (MAX_ELEMENTS - 1) + "</p>"
    assert clean.clean_entry(entry(fits), CleanSettings()).body_html == ""  # all empty


def _seconds_to_clean(html: str) -> float:
    """The shortest of two cleans of `html` (the machine is shared: the shortest is the
    one least held up by others)."""
    times = []
    for _ in range(2):
        started = time.perf_counter()
        clean.clean_entry(entry(html), CleanSettings())
        times.append(time.perf_counter() - started)
    return min(times)


@pytest.mark.parametrize("unit", ["&", "x\xa0"], ids=["ampersands", "no-break spaces"])
def test_cleaning_time_grows_linearly_with_a_run_of_ampersands_or_no_break_spaces(
    unit: str,
) -> None:
    """nh3 writes `&` and no-break spaces in time quadratic in their number in one text
    node: 512 KB of "&" took 4.4 s, 1.6 MB 114 s. Eight times the text must take about
    eight times as long, not sixty-four (a ratio: no duration is asserted)."""
    small, large = (f"<p>{unit * (size // len(unit))}</p>" for size in (64_000, 512_000))
    ratio = _seconds_to_clean(large) / _seconds_to_clean(small)
    assert ratio < 24, ratio


@pytest.mark.parametrize(
    "unit",
    [
        '<img src="https://img.example/p.gif" width="1"></img>',  # tracking pixels, dropped
        '<iframe src="https://ads.example/v"></iframe>',  # foreign players, made links
        "<span>x</span>",  # wrappers, unwrapped
    ],
    ids=["pixels", "foreign iframes", "spans"],
)
def test_cleaning_time_grows_linearly_with_the_number_of_siblings_a_pass_changes(
    unit: str,
) -> None:
    """bs4 finds an element among its siblings one by one on every move: removing or
    replacing thousands of siblings one at a time took time quadratic in their number
    (9,000 tracking pixels: 15 s). Sixteen times as many must take about sixteen times
    as long, not 256 (a ratio: no duration is asserted)."""
    count = 500 // unit.count("</")  # elements: sixteen times as many stay within the limit
    small, large = (f"<div><p>Text.</p>{unit * n}</div>" for n in (count, 16 * count))
    ratio = _seconds_to_clean(large) / _seconds_to_clean(small)
    assert ratio < 48, ratio


def test_unwrapping_costs_the_same_however_deep_the_wrappers_are_nested() -> None:
    """bs4's `unwrap` moves each child up one level: 4,000 paragraphs inside 40 nested
    `<div>`s were moved 40 times each (5.8 s). They are moved once (a ratio: no duration
    is asserted)."""
    paragraphs = "<p>Text.</p>" * 4_000
    shallow, deep = ("<div>" * n + paragraphs + "</div>" * n for n in (1, 40))
    ratio = _seconds_to_clean(deep) / _seconds_to_clean(shallow)
    assert ratio < 4, ratio


def test_an_article_with_an_attribute_longer_than_any_real_one_is_refused() -> None:
    """nh3 writes an attribute's `&` in time quadratic in their number too; no real URL,
    srcset or alt text comes near MAX_ATTRIBUTE characters."""
    from syndicator.clean.normalise import MAX_ATTRIBUTE
    from syndicator.errors import CleanError

    alt = "&amp;" * (MAX_ATTRIBUTE + 1)
    html = f'<p>Text.</p><p><img src="https://img.example/a.jpg" alt="{alt}"></p>'
    with pytest.raises(CleanError, match=f"a <img alt> of {MAX_ATTRIBUTE + 1:,} characters"):
        clean.clean_entry(entry(html), CleanSettings())
    fits = html.replace(alt, "&amp;" * MAX_ATTRIBUTE)
    assert "&amp;" * MAX_ATTRIBUTE in clean.clean_entry(entry(fits), CleanSettings()).body_html


def test_nesting_up_to_the_limit_is_left_alone() -> None:
    from syndicator.clean.normalise import MAX_DEPTH

    def cleaned(quotes: int) -> str:
        html = "<blockquote>" * quotes + "<p>Quote.</p>" + "</blockquote>" * quotes
        return clean.clean_entry(entry(html), CleanSettings()).body_html

    at_the_limit = cleaned(MAX_DEPTH - 1)  # the <p> is element number MAX_DEPTH
    assert at_the_limit.count("<blockquote>") == MAX_DEPTH - 1 and "<p>Quote.</p>" in at_the_limit
    one_deeper = cleaned(MAX_DEPTH)  # the <p> is unwrapped, its text kept
    assert one_deeper.count("<blockquote>") == MAX_DEPTH and "<p>Quote.</p>" not in one_deeper
    assert "Quote." in one_deeper


def test_reading_time_rounds_up() -> None:
    text = " ".join(["word"] * 500)
    assert clean.clean_entry(entry(f"<p>{text}</p>"), CleanSettings()).reading_minutes == 3


def test_lead_image_from_content_with_alt_and_size() -> None:
    html = '<p>Text.</p><figure><img src="/a.jpg" width="800" height="533"><figcaption>Cap</figcaption></figure>'
    article = clean.clean_entry(entry(html), CleanSettings())
    assert article.lead_image == Image("https://www.worthynews.com/a.jpg", None, 800, 533, "Cap")


@pytest.mark.parametrize(
    ("link", "base_url", "host"),
    [
        # The story's own link first (as Miniflux does): a mirror, a feed proxy or a
        # local copy of the feed does not move the story's images and links to its host.
        ("https://www.worthynews.com/2026/story", "http://127.0.0.1:8/mirror/feed", "https://www.worthynews.com"),
        ("https://www.worthynews.com/2026/story", "file:///srv/feeds/feed.xml", "https://www.worthynews.com"),
        # No link (or none a reader could follow): the xml:base, else the document's URL.
        (None, "https://base.example/2026/feed", "https://base.example"),
        ("javascript:alert(1)", "https://base.example/2026/feed", "https://base.example"),
    ],
)  # fmt: skip
def test_relative_urls_resolve_against_the_story_s_link_then_its_base(
    link: str | None, base_url: str, host: str
) -> None:
    html = '<p>See <a href="/78290-vigils">the vigils</a> and <a href="more">more</a>.</p><img src="/wp-content/a.jpg" alt="A">'
    article = clean.clean_entry(entry(html, link=link, base_url=base_url), CleanSettings())
    assert f'href="{host}/78290-vigils"' in article.body_html
    assert f'href="{host}/2026/more"' in article.body_html
    assert f'src="{host}/wp-content/a.jpg"' in article.body_html


def test_lead_image_falls_back_to_the_enclosure() -> None:
    enclosure = Image("https://www.worthynews.com/e.jpg", "image/jpeg", 1200, 800)
    article = clean.clean_entry(entry("<p>Text.</p>", images=(enclosure,)), CleanSettings())
    assert article.lead_image == enclosure


def test_a_tracker_or_pixel_enclosure_is_never_the_lead_image() -> None:
    """The feed's images are checked like the body's: readers' browsers must not fetch a
    tracker's pixel as a story's picture."""
    tracker = Image("https://pixel.wp.com/b.gif?v=track.jpg", "image/gif")
    pixel = Image("https://www.worthynews.com/p.gif", "image/gif", 1, 1)
    real = Image("https://www.worthynews.com/e.jpg", "image/jpeg", 1200, 800)
    settings = CleanSettings()
    chosen = clean.clean_entry(entry("<p>Text.</p>", images=(tracker, pixel, real)), settings)
    assert chosen.lead_image == real
    none = clean.clean_entry(entry("<p>Text.</p>", images=(tracker, pixel)), settings)
    assert none.lead_image is None


# Spellings a browser reads as a tracker's host (or one under it): Chromium requested the
# first four as www.facebook.com or www.facebook.com. when they were let through.
TRACKER_SPELLINGS = [
    "https://www\u3002facebook\u3002com/tr?id=1",  # ideographic full stops
    "https://www.facebook.com./tr",  # the root's trailing dot
    "https://www.facebook.com%2e/tr",  # percent-encoded
    "https://www.facebook.com\uff0e/tr",  # full-width full stop
    "https://\uff57\uff57\uff57.facebook.com/tr",  # full-width letters
    "https://WWW.FaceBook.COM/tr",
    "https://www.face\u00adbook.com/tr",  # a soft hyphen, which IDNA ignores
    "https://www.facebook.com\\@example.org/tr",  # "\\" is "/" to a browser: host first
    "https://www.facebook.com:443/tr",
    "https://x.pixel.wp.com/g.gif",  # a host under a tracker's
    "//stats.wp.com/g.gif",
    "https://[::1/x",  # a host that cannot be read
]


@pytest.mark.parametrize("src", TRACKER_SPELLINGS)
def test_a_tracker_is_dropped_however_its_host_is_spelt(src: str) -> None:
    body = f'<p>Text.</p><img src="https://images.example.org/a.jpg" srcset="{src} 2x">'
    body += f'<img src="{src}" width="640">'
    article = clean.clean_entry(entry(body), CleanSettings())
    assert article.body_html == (
        '<p>Text.</p><img decoding="async" loading="lazy" src="https://images.example.org/a.jpg">'
    )
    lead = clean.clean_entry(
        entry("<p>Text.</p>", images=(Image(src, "image/jpeg"),)), CleanSettings()
    )
    assert lead.lead_image is None


def test_hosts_near_a_trackers_are_kept() -> None:
    kept = ["https://notfacebook.com/a.jpg", "https://facebook.com.example.org/a.jpg"]
    body = "".join(f'<img src="{src}">' for src in kept)
    html = clean.clean_entry(entry(f"<p>Text.</p>{body}"), CleanSettings()).body_html
    assert [
        img.get("src") for img in lxml.html.fragment_fromstring(html, "div").iter("img")
    ] == kept


def test_configured_tracker_hosts_are_read_like_hosts() -> None:
    settings = CleanSettings(tracker_hosts=("Pixel.Example.ORG.",))
    body = (
        '<img src="https://cdn.pixel.example.org/p.gif"><img src="https://pixel%2eexample.org/p">'
    )
    assert clean.clean_entry(entry(f"<p>Text.</p>{body}"), settings).body_html == "<p>Text.</p>"


def test_a_url_that_cannot_be_read_costs_its_attribute_not_the_article() -> None:
    """`http://[x` makes urljoin raise: before, the whole article was refused."""
    body = (
        '<p><a href="http://[x">link</a></p><blockquote cite="http://[x"><p>Quote.</p></blockquote>'
        '<iframe src="http://[x"></iframe>'
        '<blockquote class="twitter-tweet"><a href="http://[x/status/1">t</a></blockquote>'
    )
    article = clean.clean_entry(entry(f"<p>Text.</p>{body}"), CleanSettings())
    assert "[x" not in article.body_html
    assert "link" in article.text and "Quote." in article.text


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (
            "https://www.youtube.com/embed/abc?autoplay=1&mute=1&rel=0",
            "https://www.youtube-nocookie.com/embed/abc?mute=1&amp;rel=0",
        ),
        (
            "https://www.youtube.com/embed/abc?AutoPlay%3D1",
            "https://www.youtube-nocookie.com/embed/abc",
        ),
        (
            "https://player.vimeo.com/video/1?autoplay=1&muted=1&dnt=0",
            "https://player.vimeo.com/video/1?muted=1&amp;dnt=1",
        ),
    ],
)
def test_a_player_never_starts_by_itself(src: str, expected: str) -> None:
    """Muted autoplay needs no permission: the player would load, and be tracked, with no
    reader pressing play."""
    html = clean.clean_entry(entry(f'<p>Watch.</p><iframe src="{src}"></iframe>'), CleanSettings())
    assert f'src="{expected}"' in html.body_html


def test_categories_are_plain_lines_without_control_characters() -> None:
    """Stored entries from before the parser stripped them may hold NUL (the renderer's
    placeholder character) and markup."""
    hostile = ("A\x00l\x00B", "<b>Israel</b>", "Israel", "  ", "\x00")
    article = clean.clean_entry(entry("<p>Text.</p>", categories=hostile), CleanSettings())
    assert article.categories == ("AlB", "Israel")


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("javascript:alert(1)", None),
        ("data:text/html,x", None),
        (" https://w.example/a ", "https://w.example/a"),
    ],
)
def test_article_link_is_a_safe_web_url(link: str, kept: str | None) -> None:
    assert clean.clean_entry(entry("<p>x</p>", link=link), CleanSettings()).link == kept


def test_feed_author_becomes_plain_text() -> None:
    article = clean.clean_entry(entry("<p>x</p>", author="<b>Jane</b> &amp; John"), CleanSettings())
    assert article.author == "Jane & John"


def test_title_becomes_plain_text() -> None:
    raw = "Pastor&#8217;s <em>“Hope”</em> Tour â€“ Day 2"
    assert clean.plain_line(raw) == "Pastor’s “Hope” Tour – Day 2"


def test_a_title_that_was_only_markup_becomes_the_first_words() -> None:
    """Feeds, lists and pages all need a title: found in the browser tests, where one such
    story made feedgen fail every subscriber that listed it."""
    text = "<p>Churches opened their doors on Sunday. More follows here.</p>"
    article = clean.clean_entry(entry(text, title="<img src=x onerror=alert(1)>"), CleanSettings())
    assert article.title == "Churches opened their doors on Sunday. More follows here."
    assert clean.clean_entry(entry("", title="<b></b>"), CleanSettings()).title == LINK


# -- golden articles --------------------------------------------------------------------


def test_sample_articles_match_golden_files() -> None:
    """Regenerate with `.venv/bin/python scripts/regen_golden.py clean` and review the diff."""
    feed = parse_bytes(
        "worthynews",
        (REPO / "config" / "samples" / "worthynews-feed.xml").read_bytes(),
        {"content-type": "application/xml"},
    )
    names = sorted(p.stem for p in GOLDEN.glob("*.html"))
    assert len(names) == len(feed.entries) == 15
    for raw in feed.entries:
        article = clean.clean_entry(raw, CleanSettings())
        name = article.id.rsplit("=", 1)[-1]
        assert article.body_html + "\n" == (GOLDEN / f"{name}.html").read_text(encoding="utf-8")
        meta = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
        assert meta["title"] == article.title and meta["excerpt"] == article.excerpt
        assert meta["author"] == article.author and meta["dateline"] == article.dateline
        assert meta["word_count"] == article.word_count
        assert meta["references"] == [asdict(ref) for ref in article.references]


def test_sample_articles_lose_every_upstream_artefact() -> None:
    feed = parse_bytes(
        "worthynews",
        (REPO / "config" / "samples" / "worthynews-feed.xml").read_bytes(),
        {"content-type": "application/xml"},
    )
    for raw in feed.entries:
        html = clean.clean_entry(raw, CleanSettings()).body_html
        for artefact in (
            "appeared first on", "FREE syndication", "Share this", "pixel.wp.com",
            "facebook.com/tr", "â€", "data:image", "<p></p>", "twitter-tweet", "<div",
            "<span", "style=", "class=", " id=", "<script",
        ):  # fmt: skip
            assert artefact not in html, (raw.id, artefact)
        assert_safe(html)


# -- the hostile corpus ------------------------------------------------------------------

URL_ATTRIBUTES = {"href", "src", "cite", "action", "formaction", "poster", "background",
                  "data", "xlink:href", "longdesc", "lowsrc", "dynsrc", "ping", "srcset"}  # fmt: skip
FORBIDDEN_ATTRIBUTES = {"style", "srcdoc", "formaction", "action", "xmlns", "ping", "class", "id"}


def _urls(name: str, value: str) -> list[str]:
    if name == "srcset":
        return [c.split()[0] for c in value.split(",") if c.split()]
    return [value]


def assert_safe(html: str, video_hosts: tuple[str, ...] = DEFAULT_VIDEO_HOSTS) -> None:
    """The output rules every sanitized fragment must satisfy."""
    assert not NOT_TEXT.search(html), NOT_TEXT.findall(html)
    lowered = html.lower()
    for needle in ("<script", "<style", "<form", "<svg", "<math", "<base", "<meta", "<link",
                   "<object", "<embed", "<input", "<button", "<textarea", "<select", "<noscript"):  # fmt: skip
        assert needle not in lowered, needle
    if not html.strip():
        return
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions are not elements
        assert (element is root) or element.tag in ALLOWED_TAGS, element.tag
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), name
            assert name.lower() not in FORBIDDEN_ATTRIBUTES, name
            if name.lower() in URL_ATTRIBUTES:
                for url in _urls(name.lower(), value):
                    normalised = re.sub(r"[\t\n\r]", "", url.strip("".join(map(chr, range(33)))))
                    scheme = urlsplit(normalised).scheme.lower()
                    assert scheme in {"http", "https", "mailto"}, (name, value)
        if element.tag == "iframe":
            src = urlsplit(element.get("src", ""))
            assert src.scheme == "https" and src.hostname in video_hosts, element.get("src")
            assert not (element.text or "").strip() and len(element) == 0


def load_vectors() -> list[tuple[str, str]]:
    text = (FIXTURES / "xss" / "vectors.txt").read_text(encoding="utf-8")
    vectors = []
    for record in text.split("\n%%\n"):
        comment, _, vector = record.partition("\n")
        vectors.append((comment.lstrip("# ").split(":")[0], vector))
    return vectors


VECTORS = load_vectors()


def test_the_hostile_corpus_is_big_enough() -> None:
    assert len(VECTORS) >= 150
    assert len({v for _, v in VECTORS}) == len(VECTORS)


def _feed_with(vector: str) -> bytes:
    body = f"<p>Before.</p>{vector}<p>After.</p>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>t</title><link>https://www.worthynews.com</link><description>d</description>"
        f"<item><title>{escape(vector[:200])}</title><link>{LINK}</link><guid>x</guid>"
        f"<description>{escape(vector)}</description>"
        f"<content:encoded>{escape(body)}</content:encoded></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("family", "vector"), VECTORS, ids=[f"{i}-{f}" for i, (f, _) in enumerate(VECTORS)]
)
def test_hostile_vector_through_parse_and_clean(family: str, vector: str) -> None:
    feed = parse_bytes("t", _feed_with(vector), {"content-type": "application/xml"})
    for options in (CleanSettings(), CleanSettings(external_links="new_tab", keep_byline=True)):
        article = clean.clean_entry(feed.entries[0], options)
        assert_safe(article.body_html)
        assert sanitize(article.body_html, clean.policy_for(options)) == article.body_html
    assert_safe(sanitize(vector))  # and the sanitizer alone, without the bs4 stage
    assert_safe(sanitize(feed.entries[0].summary_html))


# -- property tests ------------------------------------------------------------------------

TAGS = sorted(ALLOWED_TAGS | {"script", "style", "svg", "math", "form", "input", "iframe",
                              "noscript", "template", "textarea", "object", "embed", "base",
                              "meta", "link", "div", "span", "mglyph", "mtext", "xmp", "title"})  # fmt: skip
ATTRS = ["href", "src", "srcset", "style", "onerror", "onclick", "onload", "class", "id",
         "title", "alt", "width", "height", "cite", "target", "rel", "srcdoc", "formaction"]  # fmt: skip
VALUES = st.sampled_from(
    ["javascript:alert(1)", "jav\tascript:alert(1)", "&#106;avascript:alert(1)",
     "https://ok.example/a.jpg", "/relative", "data:text/html,<script>alert(1)</script>",
     "1", "x\" onerror=\"alert(1)", "https://www.youtube.com/embed/x", "mailto:a@b.example",
     "https://ok.example/a.jpg 2x, javascript:alert(1) 1x", "expression(alert(1))", "",
     "vbscript:msgbox", "  https://ok.example/  ", "</p><script>alert(1)</script>"]
) | st.text(max_size=12)  # fmt: skip


@st.composite
def html_fragments(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 3 if depth < 4 else 1))
        if kind == 0:
            parts.append(draw(st.text(max_size=15)))
        elif kind == 1:
            parts.append(draw(st.sampled_from(["<!--", "-->", "<![CDATA[", "]]>", "</p>", "<", ">", "&", "&#0;", "\"", "'", "&#xFFFF;", "&#x85;", "\x85", "ï¿¿"])))  # fmt: skip
        else:
            tag = draw(st.sampled_from(TAGS))
            attrs = "".join(
                f' {draw(st.sampled_from(ATTRS))}="{draw(VALUES)}"'
                for _ in range(draw(st.integers(0, 3)))
            )
            inner = draw(html_fragments(depth + 1))
            closing = f"</{tag}>" if draw(st.booleans()) else ""
            parts.append(f"<{tag}{attrs}>{inner}{closing}")
    return "".join(parts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_fragments(), st.booleans())
def test_sanitize_is_a_safe_fixed_point(html: str, new_tab: bool) -> None:
    policy = Policy(new_tab=new_tab)
    once = sanitize(html, policy)
    assert sanitize(once, policy) == once
    assert_safe(once)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_fragments())
def test_clean_entry_output_is_safe_and_stable(html: str) -> None:
    article = clean.clean_entry(entry(html), CleanSettings())
    assert_safe(article.body_html)
    assert sanitize(article.body_html) == article.body_html


@pytest.mark.parametrize(
    "html",
    [
        '<iframe src="https://www.youtube.com/embed/abc?x=>"></iframe><p><abbr title=" onload=alert(1) ">UN</abbr></p>',
        '<a href="https://a.example/?q=\'><img src=x onerror=alert(1)>">x</a>',
        '<img src="https://a.example/a.jpg?`onerror=alert(1)" alt="a">',
    ],
)
def test_urls_can_never_break_out_of_their_attribute(html: str) -> None:
    out = sanitize(html)
    assert_safe(out)
    for element in lxml.html.fragment_fromstring(out, create_parent="div").iter():
        for name, value in element.attrib.items():
            if name in {"href", "src"}:
                assert not set(value) & set("<>\"'` "), value


@pytest.mark.parametrize(
    "src",
    [
        "https://www.youtube.com/embed/../watch?v=1",
        "https://www.youtube.com/embed/%2e%2e/watch?v=1",
        "https://www.youtube.com/embed\\..\\watch",
        "https://www.youtube.com:444/embed/x",
        "https://user@www.youtube.com/embed/x",
        "http://www.youtube.com/embed/x",
        "https://www.youtube.com.evil.example/embed/x",
    ],
)
def test_iframes_must_stay_on_the_player_path(src: str) -> None:
    assert "<iframe" not in sanitize(f'<iframe src="{src}"></iframe>')


def test_stored_rows_are_checked_again_when_loaded() -> None:
    article = clean.clean_entry(entry("<p>x</p>"), CleanSettings())
    row = json.loads(clean.dump_article(article))
    row.update(
        link="javascript:alert(1)",
        author="<b>Jane</b>",
        body_html='<p onclick="x()">x</p><script>alert(1)</script>',
        lead_image={
            "url": "javascript:alert(1)",
            "mime_type": None,
            "width": None,
            "height": None,
            "alt": None,
        },
    )
    loaded = clean.load_article(json.dumps(row), CleanSettings())
    assert loaded.link is None and loaded.author == "Jane" and loaded.lead_image is None
    assert loaded.body_html == "<p>x</p>"
    assert clean.load_article(clean.dump_article(article), CleanSettings()) == article


def test_safe_html_is_constructed_only_by_sanitize() -> None:
    package = REPO / "syndicator"
    makers = [
        f"{path.relative_to(REPO)}:{n}"
        for path in package.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"SafeHtml\(", line) and "class SafeHtml" not in line
    ]
    assert makers == [f"syndicator/clean/sanitize.py:{_line_of('return SafeHtml(')}"]


def _line_of(text: str) -> int:
    lines = (REPO / "syndicator" / "clean" / "sanitize.py").read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


# -- clean once, in the pipeline ---------------------------------------------------------------


def test_articles_are_cleaned_once_and_again_only_when_content_or_settings_change(
    tmp_path: Path,
) -> None:
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(rss(item("1", 20), item("2", 21), item("3", 22)))
    main = write_config(tmp_path, feed_file.as_uri())
    rng = random.Random(0)

    first = run_once(load_config(main), NOW, rng=rng)
    assert (first.cleaning[0].cleaned, first.cleaning[0].up_to_date) == (3, 0)
    again = run_once(load_config(main), NOW, rng=rng, force=True)
    assert (again.cleaning[0].cleaned, again.cleaning[0].up_to_date) == (0, 3)

    feed_file.write_bytes(rss(item("1", 20), item("2", 21, body="<p>Fixed.</p>"), item("3", 22)))
    corrected = run_once(load_config(main), NOW, rng=rng, force=True)
    assert (corrected.cleaning[0].cleaned, corrected.cleaning[0].up_to_date) == (1, 2)

    main.write_text(main.read_text() + '\n[sources.clean]\nexternal_links = "new_tab"\n')
    resettled = run_once(load_config(main), NOW, rng=rng)
    assert (resettled.cleaning[0].cleaned, resettled.cleaning[0].up_to_date) == (3, 0)

    from syndicator.store import Store

    config = load_config(main)
    with Store(config.database_path) as store:
        stored = store.cleaned("worthynews")
    articles = [clean.load_article(text, config.sources[0].clean) for _, text in stored]
    fixed = next(a for a in articles if a.id.endswith("=2"))
    assert fixed.body_html == "<p>Fixed.</p>"
    assert fixed.content_hash == next(
        s.content_hash for s, _ in stored if s.entry.id.endswith("=2")
    )


def test_an_article_that_cannot_be_cleaned_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug met cleaning one article (in the cleaning process: here a title that is not
    text) costs that article, said with its error; the next run tries it again."""
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(rss(item("1", 20), item("2", 21)))
    config = load_config(write_config(tmp_path, feed_file.as_uri()))
    real = Store.entries_to_clean

    def broken(store: Store, source_id: str, key: str) -> list[Entry]:
        entries = real(store, source_id, key)
        return [replace(e, title=None) if e.id.endswith("=2") else e for e in entries]

    monkeypatch.setattr(Store, "entries_to_clean", broken)
    report = run_once(config, NOW, rng=random.Random(0))
    (cleaning,) = report.cleaning
    assert cleaning.cleaned == 1 and len(cleaning.errors) == 1, cleaning
    assert "=2: cannot clean: TypeError(" in cleaning.errors[0]
    assert not report.ok
    monkeypatch.setattr(Store, "entries_to_clean", real)
    retry = run_once(config, NOW, rng=random.Random(0))
    assert retry.cleaning[0].cleaned == 1 and retry.ok  # retried next run


def test_a_link_dropped_with_an_empty_image_before_it_is_not_an_error() -> None:
    """Found by hypothesis: dropping an image without a source can take its emptied parent
    and the link in it; the URL pass went on to that dropped link and crashed. The whole
    article would have failed to clean."""
    article = clean.clean_entry(entry("<abbr><img><a>"), CleanSettings())
    assert "<img" not in article.body_html


# -- scripture references, found once and stored with the article ----------------------------

CITING = "<p>As John 3:16 says, and Psalm 23.</p><h2>John 3:16</h2><p>Read Romans 8:28 today.</p>"


def test_references_are_found_in_the_final_body_and_stored_with_the_article() -> None:
    article = clean.clean_entry(entry(CITING), CleanSettings())
    body = article.body_html
    assert article.references == scripture.find_references(body)
    texts = [body[ref.start : ref.end] for ref in article.references]
    assert texts == ["John 3:16", "Psalm 23", "Romans 8:28"]  # not the heading's
    assert article.references[0].passage == scripture.Passage("John", 3, 16)
    assert clean.load_article(clean.dump_article(article), CleanSettings()) == article


def _tampered(article_json: str, *changed: object) -> tuple[scripture.Reference, ...]:
    row = json.loads(article_json)
    row["references"] = [*row["references"], *changed]
    return clean.load_article(json.dumps(row), CleanSettings()).references


def test_a_stored_reference_that_does_not_fit_the_body_is_dropped_when_loaded() -> None:
    """Nothing read back from the store is trusted: a reference that is not one the body
    holds where it says (out of bounds, moved, another passage, inside a tag, of the
    wrong shape) is dropped, and the ones that fit are kept."""
    article = clean.clean_entry(entry(CITING), CleanSettings())
    stored = clean.dump_article(article)
    good = json.loads(stored)["references"][0]
    john = good["passage"]
    at = article.body_html.index("</h2>")
    for bad in (
        {**good, "end": 10**6},  # out of bounds
        {**good, "start": -3},
        {**good, "start": good["start"] + 1},  # moved into the word
        {**good, "passage": {**john, "verse": 17}},  # another passage than the text says
        {**good, "passage": {**john, "book": "Ps"}},
        {"start": at - 9, "end": at, "passage": john},  # the heading's "John 3:16"
        {"start": 0, "end": 3, "passage": john},  # the tag "<p>"
        {**good, "start": str(good["start"])},  # the wrong shape
        {**good, "start": True},
        {**good, "passage": {**john, "chapter": None}},
        {**good, "passage": {**john, "osis": "John.3.16"}},
        {**good, "passage": "John.3.16"},
        "John 3:16",
        None,
    ):
        assert _tampered(stored, bad) == article.references, bad
    row = json.loads(stored)
    for junk in ("John 3:16", {"start": 1}, None, 7):
        row["references"] = junk
        assert clean.load_article(json.dumps(row), CleanSettings()).references == ()
    del row["references"]  # stored before references were
    assert clean.load_article(json.dumps(row), CleanSettings()).references == ()


def test_the_cleaning_process_hands_back_the_references() -> None:
    worker = CleaningWorker()
    try:
        article = worker.clean(entry(CITING), CleanSettings())
    finally:
        worker.close()
    assert isinstance(article, Article)
    assert article.references
    assert article == clean.clean_entry(entry(CITING), CleanSettings())


def test_every_stored_article_is_cleaned_again_when_the_detector_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(rss(item("1", 20, body=CITING), item("2", 21), item("3", 22)))
    main = write_config(tmp_path, feed_file.as_uri())
    rng = random.Random(0)
    first = run_once(load_config(main), NOW, rng=rng)
    assert (first.cleaning[0].cleaned, first.cleaning[0].up_to_date) == (3, 0)
    again = run_once(load_config(main), NOW, rng=rng, force=True)
    assert (again.cleaning[0].cleaned, again.cleaning[0].up_to_date) == (0, 3)
    monkeypatch.setattr(scripture, "DETECTOR_VERSION", scripture.DETECTOR_VERSION + 1)
    bumped = run_once(load_config(main), NOW, rng=rng, force=True)
    assert (bumped.cleaning[0].cleaned, bumped.cleaning[0].up_to_date) == (3, 0)
    config = load_config(main)
    with Store(config.database_path) as store:
        stored = dict((s.entry.id, text) for s, text in store.cleaned("worthynews"))
    cited = clean.load_article(stored["https://www.worthynews.com/?p=1"], config.sources[0].clean)
    assert [ref.passage.osis for ref in cited.references][:1] == ["John.3.16"]
