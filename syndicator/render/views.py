"""What templates see: small frozen views of a subscriber and of a story.

Templates never get config models or articles directly, only these views, so what a
template can read is exactly what goes into the fragment cache key (`VARIANT_FIELDS`) or
is a hole filled in per subscriber (`Holes`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import idna
from markupsafe import Markup, escape

from ..clean import make_excerpt
from ..config import SiteConfig, SubscriberConfig, SubscriberOptions, Theme
from ..locales import format_date, same_language, words_for
from ..models import SUBSCRIBER_FILES, Image, SafeHtml, Story
from .players import without_players
from .scripture import ScriptureChoice, linked_body, scripture_choice, scripture_key

# The options a shared fragment may depend on; subscribers that agree on all of them get
# the same fragments, with their own id, name, footer and URLs filled into the holes.
VARIANT_FIELDS = (
    "content",
    "excerpt_words",
    "image",
    "image_position",
    "link_to",
    "utm",
    "language",
    "date_format",
    "timezone",
)  # and the scripture choice (`variant`)

# A hole is NUL, a letter, NUL. NUL cannot occur in anything else we render: upstream text
# passes `strip_invalid_chars`, config text is checked, and escaping never produces it.
HOLE_CHAR = "\x00"
DATE = "t"  # the hole of a story's date in shared fragments (`date_value`)


def hole(name: str) -> str:
    return f"\x00{name}\x00"


@dataclass(frozen=True, slots=True)
class Urls:
    """Where a subscriber's outputs are served (absolute)."""

    base: str  # .../<id>/
    rss: str
    atom: str
    json: str
    snippet: str
    embed: str
    widget: str
    archive: str  # page/1.html


def urls_for(base_url: str, subscriber_id: str) -> Urls:
    base = f"{as_uri(base_url)}{subscriber_id}/"
    return Urls(
        base=base,
        rss=base + SUBSCRIBER_FILES["rss"],
        atom=base + SUBSCRIBER_FILES["atom"],
        json=base + SUBSCRIBER_FILES["json"],
        snippet=base + SUBSCRIBER_FILES["snippet"],
        embed=base + SUBSCRIBER_FILES["embed"],
        widget=base + SUBSCRIBER_FILES["widget"],
        archive=base + SUBSCRIBER_FILES["pages"].format(number=1),
    )


@dataclass(frozen=True, slots=True)
class SiteView:
    """What the site-wide templates (index.html, subscribers.opml) see of the site: plain
    values only (its folders are not theirs to see)."""

    name: str
    base_url: str


@dataclass(frozen=True, slots=True)
class SubscriberView:
    """A subscriber as templates see it. In shared fragments id, name, footer, site_url and
    the detail page prefix are holes, filled in per subscriber."""

    id: str
    name: str
    footer: str
    site_url: str
    detail_prefix: str  # detail_page_url plus "?" or "&", ready for "story=<slug>"
    urls: Urls
    content: str
    excerpt_words: int
    image: str
    image_position: str
    link_to: str
    utm: bool
    language: str
    date_format: str
    timezone: str
    theme: Theme
    scripture: ScriptureChoice | None  # where its stories' Bible references link; None: plain
    dates_as_holes: bool = False  # shared fragments: each story's date is a hole (`DATE`)

    @property
    def root_class(self) -> str:
        """The CSS class that scopes this subscriber's styles in a host page."""
        return f"syn syn--{self.id}"


def subscriber_view(site: SiteConfig, subscriber: SubscriberConfig) -> SubscriberView:
    return _view(site, subscriber, subscriber.id, _real_values(subscriber))


def hole_view(site: SiteConfig, subscriber: SubscriberConfig) -> SubscriberView:
    """The view shared fragments are rendered with: holes where subscribers differ, and
    for each story's date (`date_value`), so that date formats and time zones share too."""
    view = _view(
        site,
        subscriber,
        hole("i"),
        {"n": hole("n"), "f": hole("f"), "s": hole("s"), "d": hole("d")},
    )
    return replace(view, dates_as_holes=True)


def footer_text(subscriber: SubscriberConfig) -> str:
    """The footer every output of the subscriber carries: its own, or the default one in
    its language."""
    _ = words_for(subscriber.language)
    return subscriber.footer or _("News shared with %(name)s.", name=subscriber.name)


def _real_values(subscriber: SubscriberConfig) -> dict[str, str]:
    detail = subscriber.detail_page_url or ""
    if detail:
        detail += "&" if "?" in detail else "?"
    return {
        "i": subscriber.id,
        "n": subscriber.name,
        "f": footer_text(subscriber),
        "s": as_uri(subscriber.site_url),
        "d": as_uri(detail),
    }


def _view(
    site: SiteConfig, options: SubscriberConfig, subscriber_id: str, values: Mapping[str, str]
) -> SubscriberView:
    return SubscriberView(
        id=subscriber_id,
        name=values["n"],
        footer=values["f"],
        site_url=values["s"],
        detail_prefix=values["d"],
        urls=urls_for(site.base_url, subscriber_id),
        content=options.content,
        excerpt_words=options.excerpt_words,
        image=options.image,
        image_position=options.image_position,
        link_to=options.link_to,
        utm=options.utm,
        language=options.language,
        date_format=options.date_format,
        timezone=options.timezone,
        theme=options.theme,
        scripture=scripture_choice(options),
    )


def raw_hole_values(subscriber: SubscriberConfig) -> dict[str, str]:
    """What fills the holes for this subscriber, unescaped (for other contexts than HTML)."""
    return _real_values(subscriber)


def hole_values(subscriber: SubscriberConfig) -> dict[str, str]:
    """What fills the holes of a shared HTML fragment for this subscriber (escaped)."""
    return {key: str(escape(value)) for key, value in _real_values(subscriber).items()}


def date_value(story: Story, subscriber: SubscriberOptions) -> str:
    """What fills a shared fragment's date hole (`DATE`) for this story and subscriber."""
    o = subscriber
    return str(escape(format_date(story.date, o.date_format, o.timezone, o.language)))


# The holes `hole_view` and `date_value` fill; a list page's items and style sheet; the
# embed's data.
HOLE_NAMES = frozenset("infsdtlcj")


def filled(layout: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """A layout (text, name, …, text) with each name replaced by its value, to be joined."""
    out = list(layout)
    out[1::2] = [values[name] for name in layout[1::2]]
    return out


@dataclass(slots=True, eq=False)
class Pieces:
    """A shared fragment cut at its holes, to be filled many times without searching it:
    `layout` alternates its text with the names of the holes between (text, name, …, text).
    `forms` keeps what is made from it for other contexts (the renderer's)."""

    layout: tuple[str, ...]
    forms: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def split(cls, text: str) -> Pieces | None:
        """`text` cut at its holes; None when a template transformed a hole (a NUL left
        over, or a letter that names no hole): that subscriber is rendered on its own."""
        layout = tuple(text.split(HOLE_CHAR))
        if len(layout) % 2 == 0 or not HOLE_NAMES.issuperset(layout[1::2]):
            return None
        return cls(layout)

    def fill(self, values: Mapping[str, str]) -> str:
        """The fragment with `values` in its holes."""
        return "".join(filled(self.layout, values))

    def mapped(self, function: Callable[[str], str]) -> Pieces:
        """The same holes, `function` applied to the text between them."""
        layout = list(self.layout)
        layout[::2] = [function(text) for text in layout[::2]]
        return Pieces(tuple(layout))

    def encoded(self) -> EncodedPieces:
        layout = self.layout
        texts = tuple(text.encode() for text in layout[::2])
        return EncodedPieces(texts, layout[1::2])

    @property
    def text(self) -> str:
        """The fragment as rendered, holes and all."""
        return HOLE_CHAR.join(self.layout)

    def __len__(self) -> int:
        return sum(map(len, self.layout[::2]))


@dataclass(frozen=True, slots=True)
class EncodedPieces:
    """`Pieces` as UTF-8 bytes, for a fragment that is a whole file (an article page)."""

    texts: tuple[bytes, ...]  # one more than names
    names: tuple[str, ...]

    def fill(self, values: Mapping[str, bytes]) -> bytes:
        out = [b""] * (2 * len(self.texts) - 1)
        out[::2] = self.texts
        out[1::2] = [values[name] for name in self.names]
        return b"".join(out)

    def __len__(self) -> int:
        return sum(map(len, self.texts))


def variant(options: SubscriberOptions) -> tuple[Any, ...]:
    """The key under which subscribers share fragments."""
    return (*(getattr(options, name) for name in VARIANT_FIELDS), scripture_key(options))


def variant_key(name: str, options: SubscriberOptions) -> tuple[Any, ...]:
    """The sharing key of any template: the whole variant."""
    return (name, *variant(options))


def fragment_key(name: str, options: SubscriberOptions) -> tuple[Any, ...]:
    """The narrower key under which subscribers share the built-in template `name`: only
    the options it (with what it includes) reads for the story, so more subscribers
    share each fragment. Site templates may read anything: they use `variant`.

    Keep in step with the templates; test_render_shared's sharing test renders random options
    shared and unshared and fails on any difference."""
    o = options
    # Dates are holes (`date_value`): the date format and time zone need no key of their own.
    # Whatever shows the body holds the scripture choice (`scripture_key`).
    if name in ("article.html", "_story.html"):
        return (name, o.image != "none", o.utm, o.language, scripture_key(o))
    if name == "gone.html":
        return (name, o.language)
    if name == "_feed_item.html":
        pictured = o.content != "title" and o.image != "none"
        if o.content == "title":
            return (name, o.content, o.utm, o.language)
        if o.content == "full":
            return (name, o.content, pictured, o.utm, o.language, scripture_key(o))
        return (name, o.content, o.excerpt_words, pictured, o.link_to, o.utm, o.language)
    if name == "_item.html":
        image = o.image if o.content != "title" else "none"
        position = o.image_position if image != "none" else None
        words = o.excerpt_words if o.content == "excerpt" else None
        links = scripture_key(o) if o.content == "full" else ()
        return (name, o.content, words, image, position, o.link_to, o.utm, o.language, links)
    return variant_key(name, o)


@dataclass(frozen=True, slots=True)
class ItemView:
    """One story as templates see it, for one subscriber (or one variant, with holes)."""

    slug: str
    title: str
    url: str  # where the subscriber's readers go: per link_to
    original_url: str  # the outlet's article (with UTM parameters when asked)
    canonical: str | None  # the outlet's article, untagged: rel=canonical, og:url
    outlet_home: str  # the outlet's front page, for "no longer available"
    hosted_url: str  # our articles/<slug>.html for this subscriber
    author: str | None
    author_role: str | None
    outlet: str
    dateline: str | None
    date_iso: str
    date_text: str
    # The story's language where it is not the subscriber's: its text is marked with it
    # (`lang`), so that screen readers read it in the right voice. None: the page's.
    lang: str | None
    excerpt: str  # cut to the subscriber's excerpt_words
    summary: str  # the outlet-wide excerpt, the same for every subscriber: page descriptions
    body: Markup  # in a list, under the story's h2: its headings from h3 (`headings_from`)
    lead: Markup  # `body`'s first blocks, and the rest (`lead_and_rest`): "Continue reading"
    rest: Markup
    story_body: Markup  # under the story's h1 (article page, the embed's story): from h2
    feed_body: Markup  # the body as feeds carry it: players become links (`players`)
    image: Image | None
    image_in_body: bool  # the lead image is already in the body (full text shows it there)
    categories: tuple[str, ...]
    reading_minutes: int
    word_count: int


def item_view(story: Story, sub: SubscriberView) -> ItemView:
    article = story.article
    link = as_uri(article.link) if article.link else None
    original = link or sub.urls.base
    if sub.utm and link:
        original = with_utm(link, sub.id)
    hosted = sub.urls.base + SUBSCRIBER_FILES["articles"].format(slug=story.slug)
    url = {"original": original, "hosted": hosted}.get(
        sub.link_to, f"{sub.detail_prefix}story={story.slug}"
    )
    body_html = linked_body(story, sub.scripture)  # the body every output shows
    body = headings_from(body_html, 3)
    lead, rest = lead_and_rest(body)
    return ItemView(
        slug=story.slug,
        title=article.title,
        url=url,
        original_url=original,
        canonical=link,
        outlet_home=_home(link) or sub.site_url,
        hosted_url=hosted,
        author=article.author,
        author_role=article.author_role,
        outlet=story.outlet,
        dateline=article.dateline,
        date_iso=story.date.isoformat(),
        date_text=hole(DATE)
        if sub.dates_as_holes
        else format_date(story.date, sub.date_format, sub.timezone, sub.language),
        lang=_own_language(story, sub.language),
        excerpt=excerpt_of(story, sub.excerpt_words),
        summary=article.excerpt,
        body=body,
        lead=lead,
        rest=rest,
        story_body=headings_from(body_html, 2),
        feed_body=safe_html(without_players(body_html, _watch(sub.language))),
        image=article.lead_image,
        image_in_body=_in_body(article.lead_image, article.body_html),
        categories=article.categories,
        reading_minutes=article.reading_minutes,
        word_count=article.word_count,
    )


def _own_language(story: Story, language: str) -> str | None:
    """`story`'s language when it is known and not `language`."""
    own = story.language
    return own if own and not same_language(own, language) else None


def _watch(language: str) -> str:
    _ = words_for(language)
    return _("Watch the video")


@functools.lru_cache(maxsize=4096)
def _in_body(image: Image | None, body: str) -> bool:
    return image is not None and (image.url in body or str(escape(image.url)) in body)


def _home(link: str | None) -> str | None:
    if not link:
        return None
    parts = urlsplit(link)
    return f"{parts.scheme}://{parts.netloc}/"


@functools.lru_cache(maxsize=8192)
def _excerpt(text: str, words: int) -> str:
    return make_excerpt(text, words)


def excerpt_of(story: Story, words: int) -> str:
    """The cleaned excerpt when it fits `words`, else one cut from the text."""
    article = story.article
    if len(article.excerpt.split()) <= words:
        return article.excerpt
    return _excerpt(article.text, words)


_NOT_ASCII = re.compile(r"[^\x00-\x7f]+")
_AUTHORITY = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)(.*)", re.S)


@functools.lru_cache(maxsize=4096)
def as_uri(url: str) -> str:
    """`url` as a URI: an IRI's host labels in IDNA as browsers write them (UTS 46), its
    other characters outside ASCII percent-encoded as UTF-8 (RFC 3987 3.1). RSS needs
    URIs (the W3C validator rejects an IRI in a link or an enclosure); every reader and
    browser takes them."""
    if url.isascii():
        return url
    parts = _AUTHORITY.fullmatch(url)
    if parts is None:
        return _percent_encoded(url)
    start, authority, rest = parts.groups()
    userinfo, at, hostport = authority.rpartition("@")
    host, colon, port = hostport.partition(":")  # an IPv6 literal is ASCII: left as it is
    labels = ".".join(_ascii_label(label) for label in host.split("."))
    return f"{start}{_percent_encoded(userinfo)}{at}{labels}{colon}{port}{_percent_encoded(rest)}"


def _ascii_label(label: str) -> str:
    if label.isascii():
        return label
    try:
        return idna.encode(label, uts46=True).decode("ascii")
    except idna.IDNAError:  # no IDNA form: percent-encoded, as RFC 3986 allows a host
        return _percent_encoded(label)


def _percent_encoded(text: str) -> str:
    return _NOT_ASCII.sub(lambda match: quote(match[0], safe=""), text)


def with_utm(link: str, subscriber_id: str) -> str:
    """The outlet's link tagged so the outlet can see which subscriber sent the reader."""
    link, hash_mark, fragment = link.partition("#")
    separator = "&" if "?" in link else "?"
    fragment = hash_mark + fragment
    return (
        f"{link}{separator}utm_source={subscriber_id}&utm_medium=syndication"
        f"&utm_campaign=syndicator{fragment}"
    )


def safe_html(value: object) -> Markup:
    """The one place templates get unescaped HTML: only what `sanitize` produced."""
    if isinstance(value, SafeHtml):
        return Markup(value)  # noqa: S704 - SafeHtml only comes from clean.sanitize
    return escape(value)


_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})  # fmt: skip
LEAD_BLOCKS = 3  # the blocks a full-text story shows in a list before "Continue reading"


@dataclass(frozen=True, slots=True)
class _Tag:
    at: int  # where its `<` is
    stop: int  # just after its `>`
    name: str
    end: bool  # an end tag
    depth: int  # elements open around it


class _Tags(HTMLParser):
    """The tags of sanitized HTML, in order, with where they are."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[_Tag] = []
        self._depth = 0
        self._starts = [0, *(match.end() for match in re.finditer("\n", html))]
        self.feed(html)
        self.close()

    def _at(self) -> int:
        line, column = self.getpos()
        return self._starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = self._at()
        stop = at + len(self.get_starttag_text() or "")
        self.found.append(_Tag(at, stop, tag, False, self._depth))
        if tag not in _VOID:
            self._depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = self._at()
        stop = at + len(self.get_starttag_text() or "")
        self.found.append(_Tag(at, stop, tag, False, self._depth))

    def handle_endtag(self, tag: str) -> None:
        self._depth = max(0, self._depth - 1)
        at = self._at()
        self.found.append(_Tag(at, at + len(tag) + 3, tag, True, self._depth))


@functools.lru_cache(maxsize=4096)
def _tags(html: str) -> tuple[_Tag, ...]:
    return tuple(_Tags(html).found)


@functools.lru_cache(maxsize=4096)
def headings_from(body: SafeHtml, top: int) -> Markup:
    """The sanitized `body` with its heading levels renumbered from `top` in their order
    (a story's h3 and h4 under the article's h1 become h2 and h3), so that they follow the
    heading above the body without skipping a level (screen readers navigate by them).

    Only the level digit of tags the parser found as heading tags changes: a heading stays
    a heading, every other byte stays what `sanitize` made."""
    found = [tag for tag in _tags(body) if tag.name in _HEADINGS] if "<h" in body else []
    levels = sorted({int(tag.name[1]) for tag in found})
    renumbered = {level: min(6, top + n) for n, level in enumerate(levels)}
    if all(old == new for old, new in renumbered.items()):
        return safe_html(body)
    text = list(body)
    for tag in found:
        at = tag.at + (3 if tag.end else 2)  # the digit of `<hN` or `</hN`
        if text[at] != tag.name[1] or text[at - 1].lower() != "h":
            return safe_html(body)  # not where the parser said: leave the story as it is
        text[at] = str(renumbered[int(tag.name[1])])
    return Markup("".join(text))  # noqa: S704 - `sanitize`'s output, heading levels renumbered


@functools.lru_cache(maxsize=4096)
def lead_and_rest(body: Markup, blocks: int = LEAD_BLOCKS) -> tuple[Markup, Markup]:
    """A story's body cut after its first `blocks` top-level elements (before a heading
    that would end them: it opens the rest), for a list to show the lead and a "Continue
    reading" control; the rest is empty when there is little more.

    `body` is sanitized HTML (every element closed): cut between two top-level elements,
    each part is whole HTML."""
    tops = [tag for tag in _tags(body) if tag.depth == 0]
    ends = [tag for tag in tops if tag.end or tag.name in _VOID]
    if len(ends) <= blocks:
        return body, Markup("")
    last = ends[blocks - 1]
    cut = last.stop
    if last.name in _HEADINGS:
        opened = [tag for tag in tops if not tag.end and tag.at < last.at]
        cut = opened[-1].at if opened else 0
        if cut == 0:
            return body, Markup("")
    lead, rest = body[:cut], body[cut:]
    return Markup(lead), Markup(rest)  # noqa: S704 - cut between elements of `sanitize`'s output
