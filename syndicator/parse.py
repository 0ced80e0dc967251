"""Parse fetched bytes into normalised `Entry` records with feedparser.

feedparser is given bytes (in a BytesIO: a bare string would be taken as a path or URL),
the response headers (for the charset), and its sanitizer is OFF: it is not an XSS
defence, and the clean stage owns that. Documents declaring entities in a DOCTYPE are
refused before feedparser sees them, because its loose parser expands them without limit.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from .clean.sanitize import strip_text_chars
from .errors import ParseError
from .models import Entry, FetchResult, Image, ParsedFeed

_COMMENT = re.compile(rb"<!--.*?(?:-->|\Z)", re.S)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_CHAR_REFERENCE = re.compile(rb"&#([xX][0-9a-fA-F]{1,8}|[0-9]{1,10});")
_ROOT_NAME = re.compile(rb"<([A-Za-z_:][\w.:-]*)")  # the first start tag: the root
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")


def parse_feed(fetched: FetchResult) -> ParsedFeed:
    """Turn a fetched document into entries. Raises `ParseError` when nothing is usable."""
    if fetched.body is None:
        raise ValueError("a not-modified result has nothing to parse")
    return parse_bytes(fetched.source_id, fetched.body, fetched.headers, fetched.final_url)


def parse_bytes(
    source_id: str, body: bytes, headers: Mapping[str, str], url: str | None = None
) -> ParsedFeed:
    """Parse one feed document (RSS 0.9x/1.0/2.0 or Atom) from bytes."""
    if declares_entities(body):
        raise ParseError(
            source_id,
            "refused: the document declares entities in its DOCTYPE "
            "(entity expansion can exhaust memory)",
        )
    response_headers = {k.lower(): v for k, v in headers.items()}
    if url:
        response_headers.setdefault("content-location", url)
    try:
        result = feedparser.parse(
            io.BytesIO(_drop_surrogate_references(body)),
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser's loose parser has raised on odd input before
        raise ParseError(source_id, f"feedparser failed: {type(exc).__name__}: {exc}") from exc
    if result.get("bozo") and (root := _unclosed_root(body)):
        # Cut off (a dropped connection, a proxy's size limit): the item it ends inside
        # lacks its guid, date or body, and a cut multi-byte character makes feedparser
        # decode the whole document as another encoding. Nothing of it can be trusted.
        raise ParseError(
            source_id,
            f"the document ends early ({len(body):,} bytes, no closing </{root}>): "
            "nothing stored from it; the next poll tries again",
        )
    warnings = _warnings(result)
    entries = _entries(source_id, result, url)
    if not entries:
        raise ParseError(source_id, _why_empty(result, response_headers))
    feed = result.get("feed", {})
    return ParsedFeed(
        source_id=source_id,
        title=_text(feed.get("title")),
        link=_text(feed.get("link")),
        entries=entries,
        warnings=warnings,
    )


def _drop_surrogate_references(body: bytes) -> bytes:
    """Remove `&#xD800;`-style references to surrogates: no text may hold them, and
    feedparser's loose parser raises on them instead of skipping one bad character."""
    if b"&#" not in body:
        return body
    return _CHAR_REFERENCE.sub(
        lambda m: b"" if 0xD800 <= _code_point(m) <= 0xDFFF else m.group(), body
    )


def _code_point(match: re.Match[bytes]) -> int:
    digits = match.group(1)
    return int(digits[1:], 16) if digits[:1] in {b"x", b"X"} else int(digits)


def _unclosed_root(body: bytes) -> str | None:
    """The root element's name when the document has no end tag for it (it was cut off),
    else None."""
    head = _COMMENT.sub(b"", _as_ascii_view(body))
    root = _ROOT_NAME.search(head)  # <?xml and <!DOCTYPE are no start tags
    if root is None or re.search(rb"</" + re.escape(root.group(1)) + rb"\s*>", head):
        return None
    return root.group(1).decode("ascii", errors="replace")


def declares_entities(body: bytes) -> bool:
    """True when the prolog (everything before the root element) declares an entity."""
    head = _as_ascii_view(body)
    head = _COMMENT.sub(b"", head)
    root = _ROOT_NAME.search(head)
    prolog = head[: root.start()] if root else head
    return _ENTITY_DECL.search(prolog) is not None


def _as_ascii_view(body: bytes) -> bytes:
    """Bytes in which ASCII markup is findable, whatever the document's encoding."""
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"<\x00?\x00", "utf-16-le"),
        (b"\x00<\x00?", "utf-16-be"),
    ):
        if body.startswith(bom):
            return body.decode(codec, errors="replace").encode("ascii", errors="replace")
    return body


def _warnings(result: Any) -> tuple[str, ...]:
    if not result.get("bozo"):
        return ()
    exc = result.get("bozo_exception")
    name = type(exc).__name__
    if name == "CharacterEncodingOverride":
        return (f"declared character encoding was wrong; decoded as {result.get('encoding')}",)
    return (f"feed is not well-formed ({name}: {exc}); parsed leniently",)


def _why_empty(result: Any, headers: Mapping[str, str]) -> str:
    content_type = headers.get("content-type", "unknown")
    if result.get("bozo") and not result.get("version"):
        exc = result.get("bozo_exception")
        return (
            f"not a usable RSS or Atom feed (content-type {content_type}): "
            f"{type(exc).__name__}: {exc}"
        )
    if not result.get("version"):
        return f"not an RSS or Atom feed (content-type {content_type})"
    return "the feed has no usable items; keeping what is stored"


def _entries(source_id: str, result: Any, url: str | None) -> tuple[Entry, ...]:
    feed_base = _text(result.get("feed", {}).get("link")) or url
    seen: set[str] = set()
    entries: list[Entry] = []
    for raw in result.get("entries", []):
        entry = _entry(source_id, raw, feed_base)
        if entry is not None and entry.id not in seen:
            seen.add(entry.id)
            entries.append(entry)
    return tuple(entries)


def _entry(source_id: str, raw: Any, feed_base: str | None) -> Entry | None:
    title = _text(raw.get("title")) or ""
    link = _text(raw.get("link"))
    content, content_base = _content(raw)
    summary = raw.get("summary") or ""
    if not (title or link or content or summary):
        return None
    published = _utc(raw.get("published_parsed"))
    updated = _utc(dict.get(raw, "updated_parsed"))  # not .get: feedparser would alias it
    base = content_base or link or feed_base
    return Entry(
        source_id=source_id,
        id=_stable_id(raw, link, title, published or updated),
        title=title,
        link=link,
        author=_text(raw.get("author")),
        published=published or updated,
        updated=updated,
        categories=_categories(raw),
        content_html=content,  # "" when the feed only has a summary: see Entry.body_source
        summary_html=summary,
        base_url=base,
        images=_images(raw, base),
    )


def _stable_id(raw: Any, link: str | None, title: str, when: datetime | None) -> str:
    guid = _text(raw.get("id"))
    if guid:
        return guid
    if link:
        return link
    seed = f"{title}\x00{when.isoformat() if when else ''}"
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def _content(raw: Any) -> tuple[str, str | None]:
    """The fullest HTML body (content:encoded / Atom content) and its xml:base."""
    for item in raw.get("content") or ():
        value = item.get("value") or ""
        if value.strip():
            return value, _text(item.get("base"))
    detail = raw.get("summary_detail") or {}
    return "", _text(detail.get("base"))


def _categories(raw: Any) -> tuple[str, ...]:
    out: list[str] = []
    for tag in raw.get("tags") or ():
        term = _text(tag.get("term"))
        if term and term not in out:
            out.append(term)
    return tuple(out)


def _images(raw: Any, base: str | None) -> tuple[Image, ...]:
    """Enclosures and media:content/thumbnail that are images, with absolute http(s) URLs."""
    found: list[Image] = []

    def add(url: Any, mime: Any = None, width: Any = None, height: Any = None) -> None:
        absolute = _absolute(_text(url), base)
        if absolute and all(image.url != absolute for image in found):
            found.append(Image(absolute, _text(mime), _int(width), _int(height)))

    for enclosure in raw.get("enclosures") or ():
        mime = enclosure.get("type") or ""
        href = enclosure.get("href") or ""
        if mime.startswith("image/") or href.lower().endswith(_IMAGE_SUFFIXES):
            add(href, mime or None)
    for media in raw.get("media_content") or ():
        mime = media.get("type") or ""
        if media.get("medium") == "image" or mime.startswith("image/"):
            add(media.get("url"), mime or None, media.get("width"), media.get("height"))
    for thumb in raw.get("media_thumbnail") or ():
        add(thumb.get("url"), None, thumb.get("width"), thumb.get("height"))
    return tuple(found)


def _absolute(url: str | None, base: str | None) -> str | None:
    if not url:
        return None
    absolute = urljoin(base or "", url)
    return absolute if urlsplit(absolute).scheme in {"http", "https"} else None


def _utc(value: time.struct_time | None) -> datetime | None:
    """feedparser's `*_parsed` values are UTC struct_times; make them aware datetimes."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _text(value: Any) -> str | None:
    """A feed's text field, stripped of characters no output may carry (ids, links,
    categories and image fields are not cleaned again before they are rendered)."""
    if value is None:
        return None
    text = strip_text_chars(str(value)).strip()
    return text or None


def _int(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
