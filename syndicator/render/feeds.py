"""RSS 2.0 and Atom 1.0 through feedgen, JSON Feed 1.1 directly.

Feed-level dates are the newest item's date, never the time of the run, so unchanged
inputs give byte-identical feeds (an empty feed's is the newest stored story's).
feedgen's traps are handled here: entries appended in order, timezone-aware dates, Atom
content typed `html`, an entry's Atom links cut to its one alternate (feedgen drops their
rel), XML-invalid characters stripped.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from feedgen.ext.base import BaseEntryExtension
from feedgen.feed import FeedGenerator
from markupsafe import escape

from .. import __version__
from ..clean.sanitize import strip_invalid_chars
from ..locales import words_for
from ..models import Image, Story
from .cache import Bounded
from .views import ItemView, SubscriberView, as_uri, filled

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One story ready for the feeds: its view and its rendered content HTML."""

    story: Story
    view: ItemView
    content_html: str


def entry_id(story: Story) -> str:
    """A stable, absolute id: the upstream guid when it is a URL, else a tag URI of it."""
    guid = story.article.id
    if guid.startswith(("http://", "https://")):
        return guid
    return f"urn:syndicator:{story.article.source_id}:{sha256(guid.encode()).hexdigest()[:32]}"


def feed_date(items: Sequence[FeedItem], empty: datetime) -> datetime:
    """The feed's own date: its newest item's; `empty` for a feed without items."""
    return max((_updated(item.story) for item in items), default=empty)


def _updated(story: Story) -> datetime:
    return max(story.date, story.article.updated or story.date)


def rss_and_atom(
    sub: SubscriberView, items: Sequence[FeedItem], date: datetime, *, rss: bool, atom: bool
) -> tuple[bytes | None, bytes | None]:
    """The subscriber's RSS 2.0 and Atom 1.0 documents (None for one not asked for), of
    `date` (`feed_date`)."""
    generator = _channel(sub, items, date)
    for item in items:
        _add_entry(generator, item, sub)
    return _documents(generator, sub, rss=rss, atom=atom)


def _generator() -> FeedGenerator:
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    generator.load_extension("media", atom=False, rss=True)
    return generator


def _about(sub: SubscriberView, items: Sequence[FeedItem]) -> tuple[str, str, str]:
    """A feed's outlet, title and description, in the subscriber's language."""
    _ = words_for(sub.language)
    outlet = items[0].story.outlet if items else "Syndicator"
    title = _("News for %(name)s", name=sub.name)
    return (
        outlet,
        title,
        _("Stories from %(outlet)s, selected for %(name)s", outlet=outlet, name=sub.name),
    )


def _channel(sub: SubscriberView, items: Sequence[FeedItem], date: datetime) -> FeedGenerator:
    outlet, title, description = _about(sub, items)
    generator = _generator()
    generator.id(sub.urls.atom)
    generator.title(_text(title))
    generator.subtitle(_text(description))
    generator.language(sub.language)
    generator.author({"name": _text(outlet)})
    generator.generator("Syndicator", version=__version__)
    generator.lastBuildDate(date)
    generator.updated(date)
    generator.ttl(30)
    return generator


def _documents(
    generator: FeedGenerator, sub: SubscriberView, *, rss: bool, atom: bool
) -> tuple[bytes | None, bytes | None]:
    rss_bytes = atom_bytes = None
    alternate = {"href": sub.site_url, "rel": "alternate", "type": "text/html"}
    if rss:  # feedgen takes the RSS <link> from the last link given
        rss_self = {"href": sub.urls.rss, "rel": "self", "type": "application/rss+xml"}
        generator.link([rss_self, alternate], replace=True)
        rss_bytes = _rss_profile(generator.rss_str(pretty=True).decode()).encode()
    if atom:
        atom_self = {"href": sub.urls.atom, "rel": "self", "type": "application/atom+xml"}
        generator.link([alternate, atom_self], replace=True)
        atom_bytes = generator.atom_str(pretty=True)
    return rss_bytes, atom_bytes


def _add_entry(generator: FeedGenerator, item: FeedItem, sub: SubscriberView) -> None:
    story, view = item.story, item.view
    entry = generator.add_entry(order="append")
    entry.id(entry_id(story))
    entry.guid(entry_id(story), permalink=False)
    entry.title(_text(view.title))
    summary = _summary(sub, view)
    if summary is not None:  # else feedgen makes the content the RSS description
        # Plain text, escaped: readers take an RSS description (and this Atom summary)
        # for HTML, so text that reads "<img onerror=…>" must stay text.
        plain = _text(summary) or _text(view.title)
        entry.summary(html.escape(plain, quote=False), type="html")
    entry.content(_text(item.content_html), type="html")
    entry.published(story.date)
    entry.updated(_updated(story))
    if view.author:
        entry.dc.dc_creator(_text(view.author))
        entry.author({"name": _text(view.author)})
    for category in view.categories:
        entry.category(term=_text(category))
    if view.lang:  # the story's language, where it is not the feed's
        entry.dc.dc_language(view.lang)
        entry.register_extension("lang", _AtomLanguage, atom=True, rss=False)
        entry.lang.language = view.lang
    image = _image(sub, view)
    if image is not None:
        entry.enclosure(image.url, "0", image.mime_type or _image_type(image.url))
        media = {"url": image.url, "medium": "image"}
        if image.width and image.height:
            media.update(width=str(image.width), height=str(image.height))
        # One picture is no media:group (a group holds alternatives of one work, two at
        # least, or the W3C validator calls it an error): media:content goes in the item.
        entry.media.content(media, group=None)
    # feedgen 1.0 writes an entry's Atom links without their rel and type (a shadowed loop
    # variable), so the enclosure would become a second rel=alternate that readers take
    # for the article's link. `replace` keeps only the article's link in Atom; the RSS
    # enclosure set above stays.
    entry.link(href=view.url, rel="alternate", replace=True)


class _AtomLanguage(BaseEntryExtension):  # type: ignore[misc]
    """xml:lang on an Atom entry (feedgen has no way to set it)."""

    language = ""

    def extend_atom(self, entry: Any) -> Any:
        entry.set(XML_LANG, self.language)
        return entry


XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


# Shared entries. Subscribers of one option variant get the same <item>/<entry> for a
# story but for their own values (id, name, footer, site and detail URLs). Those are
# rendered by feedgen once, with MARK letter MARK where each value goes, then spliced
# into each subscriber's own channel and filled in, escaped for where they stand.
# MARK is a Unicode noncharacter: when any of a story's own text holds one, the
# subscriber's feeds are made entirely by feedgen instead.
MARK = "\ufdd0"
_HOLE = re.compile("\x00([a-z])\x00")
_RSS_END = "  </channel>"
_RSS_ITEM = "    <item>\n"
_ATOM_END = "</feed>"


@dataclass(frozen=True, slots=True)
class SharedEntry:
    """One story's RSS <item> and Atom <entry>, marked where subscriber values go: each cut
    at its marks (text, letter, text, …, text), a lower-case letter for a value in
    content, an upper-case one for a value in a link."""

    rss: tuple[str, ...]
    atom: tuple[str, ...]
    json: tuple[str, ...]  # the JSON Feed item, indented as an element of "items"

    @classmethod
    def of(cls, rss: str, atom: str, json: str) -> SharedEntry:
        return cls(tuple(rss.split(MARK)), tuple(atom.split(MARK)), tuple(json.split(MARK)))

    def __len__(self) -> int:
        return sum(sum(map(len, layout)) for layout in (self.rss, self.atom, self.json))


def shared_entries(
    sub: SubscriberView, items: Sequence[tuple[Story, ItemView, str]]
) -> list[SharedEntry]:
    """Each story's entries for the hole view `sub`: its view and content carry NUL holes
    (`views.hole`); in the link they become upper-case marks, in the content lower-case."""
    generator = _generator()  # a stand-in channel: only the entries are kept
    generator.id("urn:syndicator:entry")
    generator.title("entry")
    generator.subtitle("entry")
    generator.link({"href": "urn:syndicator:entry", "rel": "alternate"})
    generator.updated(_EPOCH)
    json_items = []
    for story, view, content in items:
        url = _HOLE.sub(lambda m: f"{MARK}{m[1].upper()}{MARK}", view.url)
        marked = _marked(content)
        item = FeedItem(story, replace(view, url=url), marked)
        _add_entry(generator, item, sub)
        json_items.append(_json_text(_json_item(item, sub)).replace("\n", _JSON_ITEM_BREAK))
    rss_document = _rss_profile(generator.rss_str(pretty=True).decode())
    rss = _pieces(rss_document, _RSS_ITEM, "    </item>\n")
    atom = _pieces(generator.atom_str(pretty=True).decode(), "  <entry", "  </entry>\n")
    return [SharedEntry.of(*three) for three in zip(rss, atom, json_items, strict=True)]


def _pieces(document: str, start: str, end: str) -> list[str]:
    """The serialized entries of `document`, each from its `start` line to its `end` line
    (element text is escaped, so neither line occurs inside an entry)."""
    first = document.find(start)
    if first < 0:
        return []
    body = document[first : document.rindex(end) + len(end)]
    return [piece + end for piece in body.split(end)[:-1]]


def has_mark(item: FeedItem) -> bool:
    """Whether the story's own text holds a MARK (then its entries cannot be shared)."""
    view = item.view
    image = view.image
    texts = (item.content_html, entry_id(item.story), view.url, view.title, view.excerpt)
    return any(MARK in text for text in (*texts, view.author or "", *view.categories)) or (
        image is not None and MARK in f"{image.url}{image.alt}{image.mime_type}"
    )


class Channels:
    """Feed documents without their entries, made by feedgen once for every subscriber
    they differ for only by values (name, id, site): marked where those go, and cut at the
    marks like `SharedEntry`. A letter's case tells the value's place: lower-case in text,
    upper-case in an attribute."""

    def __init__(self, limit: int = 1024) -> None:
        self._made: Bounded[tuple[Any, ...], tuple[tuple[str, ...] | None, ...]] = Bounded(limit)

    def documents(
        self,
        holes: SubscriberView,
        items: Sequence[FeedItem],
        date: datetime,
        *,
        rss: bool,
        atom: bool,
    ) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """The RSS and Atom documents (None for one not asked for) of the hole view
        `holes` (`views.hole_view`) and `date`, cut at their marks."""
        outlet = items[0].story.outlet if items else "Syndicator"
        key = (holes.language, outlet, date, rss, atom)
        made = self._made.get(key)
        if made is None:
            urls = holes.urls
            marked = replace(  # lxml refuses NUL: the holes the channel shows become marks
                holes,
                name=_marked(holes.name),
                site_url=_marked(holes.site_url),
                urls=replace(
                    urls, **{f.name: _marked(getattr(urls, f.name)) for f in fields(urls)}
                ),
            )
            documents = _documents(_channel(marked, items, date), marked, rss=rss, atom=atom)
            made = self._made.put(
                key,
                tuple(
                    None if document is None else _cut(document.decode()) for document in documents
                ),
            )
        return made[0], made[1]


def _marked(text: str) -> str:
    """`text` with its holes (`views.hole`) turned into marks."""
    return _HOLE.sub(f"{MARK}\\1{MARK}", text)


def _cut(document: str) -> tuple[str, ...]:
    """`document` cut at its marks, each letter upper-cased where it stands in an
    attribute (inside a tag: after a `<` with no `>` since; text escapes both)."""
    layout = document.split(MARK)
    for at in range(1, len(layout), 2):
        before = layout[at - 1]
        if before.rfind("<") > before.rfind(">"):
            layout[at] = layout[at].upper()
    return tuple(layout)


def rss_and_atom_shared(
    sub: SubscriberView,
    items: Sequence[FeedItem],
    date: datetime,
    entries: Sequence[SharedEntry],
    values: Mapping[str, str],
    *,
    channels: Channels,
    holes: SubscriberView,
    rss: bool,
    atom: bool,
) -> tuple[bytes | None, bytes | None]:
    """What `rss_and_atom(sub, items, date, ...)` gives, from `channels` and `items`' shared
    entries filled with `values` (the subscriber's raw hole values,
    `views.raw_hole_values`); `holes` is the subscriber's hole view."""
    rss_layout, atom_layout = channels.documents(holes, items, date, rss=rss, atom=atom)
    text = {key: _xml_text(_text(value)) for key, value in values.items()}  # as lxml escapes
    content = {key: _xml_text(str(escape(_text(value)))) for key, value in values.items()}
    attribute = {key.upper(): value.replace('"', "&quot;") for key, value in text.items()}
    rss_bytes = atom_bytes = None
    if rss_layout is not None:  # RSS text as `_rss_profile` writes it; an item's link is text
        plain = {key: _rss_text(value) for key, value in text.items()}
        channel = {**plain, **attribute}
        link = {**content, **{key.upper(): value for key, value in plain.items()}}
        rss_bytes = _splice(rss_layout, channel, _RSS_END, (e.rss for e in entries), link)
    if atom_layout is not None:  # an Atom entry's link is an attribute
        channel = {**text, **attribute}
        link = {**content, **attribute}
        atom_bytes = _splice(atom_layout, channel, _ATOM_END, (e.atom for e in entries), link)
    return rss_bytes, atom_bytes


def _splice(
    channel: tuple[str, ...],
    channel_values: Mapping[str, str],
    end: str,
    entries: Iterable[tuple[str, ...]],
    entry_values: Mapping[str, str],
) -> bytes:
    """The channel filled in, with the entries filled in before its `end`."""
    text = "".join(filled(channel, channel_values))
    at = text.rindex(end)
    pieces = [text[:at]]
    for entry in entries:
        pieces.extend(filled(entry, entry_values))
    pieces.append(text[at:])
    return "".join(pieces).encode()


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# RSS plain text carries "&" and "<" as &#x26; and &#x3C; (the RSS Best Practices Profile;
# the W3C validator warns on a title or description with "&lt;b" or "&amp;#"): readers that
# take every RSS text for HTML still show it as the text it is. The HTML elements (an item's
# description and content:encoded) keep the entities their HTML needs.
_RSS_ELEMENT_TEXT = re.compile(r"(<([a-z:]+)(?: [^>]*)?>)([^<]*&[^<]*)(</\2>)")
_RSS_HTML = frozenset({"description", "content:encoded"})  # in an item; a channel's is text


def _rss_profile(document: str) -> str:
    """The RSS `document` as lxml wrote it, its plain text escaped the Profile's way."""
    channel, item, items = document.partition(_RSS_ITEM)
    return _hex_escaped(channel, frozenset()) + item + _hex_escaped(items, _RSS_HTML)


def _hex_escaped(xml: str, html: frozenset[str]) -> str:
    def element(match: re.Match[str]) -> str:
        if match[2] in html:
            return match[0]
        return match[1] + _rss_text(match[3]) + match[4]

    return _RSS_ELEMENT_TEXT.sub(element, xml)


def _rss_text(xml_text: str) -> str:
    """Text escaped as lxml writes it (`_xml_text`), as `_rss_profile` rewrites it."""
    return xml_text.replace("&amp;", "&#x26;").replace("&lt;", "&#x3C;")


def _summary(sub: SubscriberView, view: ItemView) -> str | None:
    """The item's summary: none for a headlines-only subscriber, whose readers would
    otherwise see the excerpt it chose not to show."""
    return None if sub.content == "title" else view.excerpt


def _image(sub: SubscriberView, view: ItemView) -> Image | None:
    """The item's picture (enclosure, media:content, JSON image): none when its lists and
    feed content show none (`image = "none"`, or headlines only), as `_feed_item.html`.
    Its address is a URI, as RSS needs (`as_uri`)."""
    image = view.image
    if image is None or sub.image == "none" or sub.content == "title":
        return None
    return replace(image, url=as_uri(image.url))


def _image_type(url: str) -> str:
    path = url.split("?", 1)[0].lower()
    for suffix, mime in (
        (".png", "image/png"),
        (".gif", "image/gif"),
        (".webp", "image/webp"),
        (".avif", "image/avif"),
        (".svg", "image/svg+xml"),
    ):
        if path.endswith(suffix):
            return mime
    return "image/jpeg"


def _text(value: str) -> str:
    return strip_invalid_chars(value)


def json_feed(sub: SubscriberView, items: Sequence[FeedItem]) -> bytes:
    """The subscriber's JSON Feed 1.1 document."""
    document = _json_document(sub, items)
    document["items"] = [_json_item(item, sub) for item in items]
    return (_json_text(document) + "\n").encode()


def json_feed_shared(
    sub: SubscriberView,
    items: Sequence[FeedItem],
    entries: Sequence[SharedEntry],
    values: Mapping[str, str],
) -> bytes:
    """What `json_feed(sub, items)` gives, from `items`' shared entries filled with
    `values` (the subscriber's raw hole values)."""
    text = _json_text(_json_document(sub, items))
    if entries:
        link = {key: _json_string(value) for key, value in values.items()}
        letters = {key: _json_string(str(escape(value))) for key, value in values.items()}
        letters.update((key.upper(), value) for key, value in link.items())
        made = ["".join(filled(entry.json, letters)) for entry in entries]
        # json.dumps ends the document with its last member, "items": [] here.
        text = f"{text.removesuffix(_NO_ITEMS)}[{_JSON_ITEM_BREAK}"
        text += f",{_JSON_ITEM_BREAK}".join(made) + "\n  ]\n}"
    return (text + "\n").encode()


_JSON_ITEM_BREAK = "\n    "  # a line break inside an element of the document's "items"
_NO_ITEMS = "[]\n}"


def _json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _json_string(value: str) -> str:
    """`value` as json.dumps writes it inside a string, without the quotes."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _json_document(sub: SubscriberView, items: Sequence[FeedItem]) -> dict[str, object]:
    """The document without its items (an empty list, last)."""
    outlet, title, description = _about(sub, items)
    return {
        "version": JSON_FEED_VERSION,
        "title": title,
        "home_page_url": sub.site_url,
        "feed_url": sub.urls.json,
        "description": description,
        "language": sub.language,
        "authors": [{"name": outlet}],
        "items": [],
    }


def _json_item(item: FeedItem, sub: SubscriberView) -> dict[str, object]:
    story, view = item.story, item.view
    entry: dict[str, object] = {
        "id": entry_id(story),
        "url": view.url,
        "title": view.title,
        "content_html": item.content_html,
    }
    summary = _summary(sub, view)
    if summary is not None:
        entry["summary"] = summary
    entry["date_published"] = story.date.isoformat()
    entry["date_modified"] = _updated(story).isoformat()
    if view.canonical and view.canonical != view.url:
        entry["external_url"] = view.canonical
    image = _image(sub, view)
    if image is not None:
        entry["image"] = image.url
    if view.author:
        entry["authors"] = [{"name": view.author}]
    if view.categories:
        entry["tags"] = list(view.categories)
    if view.lang:
        entry["language"] = view.lang
    return entry
