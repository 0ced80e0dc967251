"""Parse fetched bytes into normalised `Entry` records with feedparser.

The document is decoded here, as it declares (`decode_document`), and handed to feedparser
as UTF-8 that says so: left to guess, feedparser reads a whole document as another
encoding when one byte of it is bad. feedparser gets bytes (in a BytesIO: a bare string
would be taken as a path or URL), and its sanitizer is OFF: it is not an XSS defence, and
the clean stage owns that. Documents declaring entities in a DOCTYPE are refused before
feedparser sees them, because its loose parser expands them without limit.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import io
import re
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from .clean.sanitize import strip_text_chars
from .errors import ParseError
from .locales import language_tag
from .models import Entry, FetchResult, Image, ParsedFeed, url_base

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
    decoded = decode_document(body, response_headers)
    as_utf8 = _declared_utf8(decoded.text)
    decoded = replace(decoded, text="")  # up to 4 bytes a character: not kept while parsing
    try:
        result = feedparser.parse(
            io.BytesIO(_drop_surrogate_references(as_utf8)),
            response_headers=_headers_for_utf8(response_headers, url),
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser's loose parser has raised on odd input before
        raise ParseError(source_id, f"feedparser failed: {type(exc).__name__}: {exc}") from exc
    if result.get("bozo") and (root := _unclosed_root(as_utf8)):
        # Cut off (a dropped connection, a proxy's size limit): the item it ends inside
        # lacks its guid, date or body. Nothing of it can be trusted.
        raise ParseError(
            source_id,
            f"the document ends early ({len(body):,} bytes, no closing </{root}>): "
            "nothing stored from it; the next poll tries again",
        )
    entries, unusable = _entries(source_id, result, url)
    if not entries:
        raise ParseError(source_id, _why_empty(result, response_headers, unusable))
    damaged = tuple(entry.id for entry in entries if decoded.bad and _shows_replacement(entry))
    bad_bytes = decoded.bad_bytes_warning(damaged)
    skipped = f"{unusable} item(s) with no title and no text: skipped" if unusable else None
    feed = result.get("feed", {})
    language, unknown = _language(feed.get("language"))
    return ParsedFeed(
        source_id=source_id,
        title=_text(feed.get("title")),
        link=_text(feed.get("link")),
        entries=entries,
        warnings=(
            *decoded.notes,
            *(note for note in (bad_bytes, skipped) if note),
            *_warnings(result),
            *unknown,
        ),
        damaged=damaged,
        language=language,
    )


def _language(value: Any) -> tuple[str | None, tuple[str, ...]]:
    """The feed's <language> as a tag, and a warning when it names none CLDR knows."""
    text = _text(value)
    if not text:
        return None, ()
    tag = language_tag(text)
    if tag is None:
        return None, (
            f"<language> {text[:40]!r} is no language CLDR knows: its stories are not marked "
            "with one (set language in its [[sources]] entry)",
        )
    return tag, ()


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
    wide = _byte_order(body)
    if wide is None or wide[0] == "utf-8":
        return body
    codec, skip, _ = wide
    return body[skip:].decode(codec, errors="replace").encode("ascii", errors="replace")


# -- decoding: as declared; a bad byte costs its own character, never the document's ---


@dataclass(frozen=True, slots=True)
class Decoded:
    """A fetched document as text, and what was odd about reading it."""

    text: str
    encoding: str  # the Python codec it was read with
    notes: tuple[str, ...] = ()  # declarations that were wrong, unknown or at odds
    bad: int = 0  # byte sequences not valid in `encoding`, each read as one U+FFFD
    bad_at: tuple[tuple[int, int], ...] = ()  # (line, byte offset) of the first few

    def bad_bytes_warning(self, item_ids: Sequence[str]) -> str | None:
        """What to say about the bad byte sequences, naming the items that show them."""
        if not self.bad:
            return None
        where = ", ".join(f"line {line} (byte {offset:,})" for line, offset in self.bad_at)
        more = f" and {self.bad - len(self.bad_at):,} more" if self.bad > len(self.bad_at) else ""
        items = f"item(s) {', '.join(item_ids)}" if item_ids else "no item's text"
        return (
            f"{self.bad:,} byte sequence(s) not valid {self.encoding}, each read as U+FFFD "
            f"(the rest of the document as declared): at {where}{more}; in {items}"
        )


def decode_document(body: bytes, headers: Mapping[str, str]) -> Decoded:
    """Read a feed document as text, in the encoding it declares.

    A byte order mark decides, and so do a UTF-16/32 document's first bytes (XML 1.0
    appendix F); then the HTTP charset, then the XML declaration (RFC 7303). Labels are
    read as the web reads them (ISO-8859-1 and ASCII mean windows-1252); an unknown one
    is skipped. When two declarations disagree, the first under which the bytes are valid
    and make no C1 control characters wins (U+0080 to U+009F are in no real text: they
    are what windows-1252's quotes and dashes become when read as ISO-8859-n). Bytes that
    are UTF-8 (more well-formed multi-byte characters than bad sequences) are read as
    UTF-8 whatever a legacy label says: servers mislabel UTF-8 all the time, and legacy
    text is not UTF-8 by chance. Nothing declared and not UTF-8: windows-1252. A byte
    sequence not valid in the chosen encoding becomes one U+FFFD: it is never a reason to
    read the whole document as another encoding. `headers` have lower-case names.
    """
    http_label = _http_charset(headers.get("content-type", ""))
    if (wide := _byte_order(body)) is not None:
        codec, skip, told = wide
        notes = []
        said = _codec(http_label) if http_label is not None else None
        if said is not None and _byte_orderless(said) != _byte_orderless(codec):
            notes.append(f"the HTTP charset says {http_label}, the {told} {codec}: read as {codec}")
        return replace(_decode(body, codec, skip=skip), notes=tuple(notes))
    notes, declared = _declarations(http_label, _xml_encoding(body))
    as_utf8 = _decode(body, "utf-8")
    if _reads_as_utf8(as_utf8) or (not declared and not as_utf8.bad):
        notes += [
            f"{said}, but the document is UTF-8: read as UTF-8"
            for said, c in declared
            if c != "utf-8"
        ]
        return replace(as_utf8, notes=tuple(notes))
    if not declared:
        notes.append("no encoding declared, and the document is not UTF-8: read as windows-1252")
        return replace(_decode(body, "cp1252"), notes=tuple(notes))
    tried = [(said, _decode(body, codec)) for said, codec in declared]
    said, chosen = min(tried, key=lambda attempt: _misfit(attempt[1]))
    if len({codec for _, codec in declared}) > 1:
        notes.append(f"{' and '.join(s for s, _ in declared)} disagree: read as {said}")
    return replace(chosen, notes=tuple(notes))


def _misfit(decoded: Decoded) -> tuple[bool, bool]:
    """Orders readings best first: no bad bytes, then no C1 control characters."""
    return decoded.bad > 0, _C1_CONTROL.search(decoded.text) is not None


def _declarations(
    http_label: str | None, xml_label: str | None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Notes on the labels that cannot be used, and (what said it, codec) of the others,
    the HTTP charset first (RFC 7303)."""
    notes, declared = [], []
    for said, label in (
        (f"the HTTP charset says {http_label}", http_label),
        (f"the XML declaration says {xml_label}", xml_label),
    ):
        if label is None:
            continue
        codec = _codec(label)
        if codec is None:
            notes.append(f"{said}, not an encoding Syndicator knows: ignored")
        elif codec in _WIDE:
            notes.append(f"{said}, but the document is not {codec}: ignored")
        else:
            declared.append((said, codec))
    return notes, declared


def _decode(body: bytes, codec: str, *, skip: int = 0) -> Decoded:
    """`body` (from `skip`) read as `codec`, each bad byte sequence as one U+FFFD."""
    found = _BadBytes()
    token = _BAD_BYTES.set(found)
    try:
        text = body[skip:].decode(codec, errors=_RECORD_AND_REPLACE)
    finally:
        _BAD_BYTES.reset(token)
    newline = "\n".encode(codec)
    at = tuple((body.count(newline, 0, skip + start) + 1, skip + start) for start in found.starts)
    return Decoded(text, codec, bad=found.count, bad_at=at)


def _reads_as_utf8(decoded: Decoded) -> bool:
    """More well-formed multi-byte UTF-8 characters than bad sequences (read as UTF-8)."""
    non_ascii = len(decoded.text) - len(decoded.text.encode("ascii", errors="ignore"))
    return non_ascii - decoded.bad > decoded.bad


class _BadBytes:
    """Where the bad byte sequences of one decoding were (the first few) and how many."""

    def __init__(self) -> None:
        self.count = 0
        self.starts: list[int] = []


_C1_CONTROL = re.compile("[\x80-\x9f]")
_BAD_BYTES: ContextVar[_BadBytes] = ContextVar("_BAD_BYTES")
_RECORD_AND_REPLACE = "syndicator.record-and-replace"
_SHOWN_BAD = 5  # bad byte sequences located in a warning; the rest are counted


def _record_and_replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    found = _BAD_BYTES.get()
    found.count += 1
    if len(found.starts) < _SHOWN_BAD:
        found.starts.append(exc.start)
    return "\ufffd", exc.end


codecs.register_error(_RECORD_AND_REPLACE, _record_and_replace)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16's: it begins with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WIDE = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})


def _byte_order(body: bytes) -> tuple[str, int, str] | None:
    """(codec, bytes of its mark, what told) when a byte order mark tells the encoding,
    or the first bytes are those of `<` in UTF-16/32 (no ASCII-compatible document
    starts with a NUL byte, XML 1.0 appendix F); else None."""
    for mark, codec in _BOMS:
        if body.startswith(mark):
            return codec, len(mark), "byte order mark"
    head = body[:4]
    for codec, looks in (
        ("utf-32-le", len(head) == 4 and head[1:] == b"\0\0\0"),
        ("utf-32-be", len(head) == 4 and head[:3] == b"\0\0\0"),
        ("utf-16-le", head[1:2] == b"\0"),
        ("utf-16-be", head[:1] == b"\0"),
    ):
        if looks:
            return codec, 0, "first bytes"
    return None


def _byte_orderless(codec: str) -> str:
    """utf-16 for utf-16-le and utf-16-be (a label need not say the byte order)."""
    return codec.removesuffix("-le").removesuffix("-be")


_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([^\"';\s]+)", re.I)
_XML_ENCODING = re.compile(rb"\s*<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([^\"'>]{1,60})[\"']")


def _http_charset(content_type: str) -> str | None:
    match = _CHARSET.search(content_type)
    return match.group(1) if match else None


def _xml_encoding(body: bytes) -> str | None:
    match = _XML_ENCODING.match(body)
    return match.group(1).decode("ascii", errors="replace") if match else None


# Labels the web reads as a wider encoding (the WHATWG Encoding Standard): a server that
# says ISO-8859-1 or ASCII sends windows-1252, and browsers have always read it so.
_WEB_READS = {
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
    "utf-8-sig": "utf-8",
}
# Python codecs that are no document encodings (UTF-7 hides markup from a reader).
_NOT_CHARSETS = frozenset(
    {"utf-7", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "charmap"}
)


def _codec(label: str) -> str | None:
    """The Python codec a declared label names, as the web reads it; None if unknown."""
    try:
        name = codecs.lookup(label.strip()).name
        b"<".decode(name, errors="ignore")  # bytes-to-bytes codecs (base64, zlib) raise
    except LookupError:
        return None
    if name in _NOT_CHARSETS:
        return None
    return _WEB_READS.get(name, name)


_XML_DECLARATION = re.compile(r"\s*<\?xml\s[^>]*>")


def _declared_utf8(text: str) -> bytes:
    """The document as UTF-8 whose XML declaration says so: feedparser guesses nothing."""
    declaration = _XML_DECLARATION.match(text)
    rest = text[declaration.end() :] if declaration else text
    return ('<?xml version="1.0" encoding="utf-8"?>' + rest).encode("utf-8")


def _headers_for_utf8(headers: Mapping[str, str], url: str | None) -> dict[str, str]:
    """The response headers as feedparser is to see them with the document re-encoded:
    the charset says utf-8 (a charset wins over the XML declaration), and the URL is the
    base of relative links."""
    said = dict(headers)
    if url:
        said.setdefault("content-location", url)
    if "content-type" in said:
        said["content-type"] = said["content-type"].split(";", 1)[0].strip() + "; charset=utf-8"
    return said


def _shows_replacement(entry: Entry) -> bool:
    """Whether any text of the entry, its id or link holds U+FFFD (a bad byte read as it)."""
    link, author = entry.link or "", entry.author or ""
    texts = (entry.id, link, entry.title, author, entry.content_html, entry.summary_html)
    return any("\ufffd" in text for text in (*texts, *entry.categories))


def _warnings(result: Any) -> tuple[str, ...]:
    if not result.get("bozo"):
        return ()
    exc = result.get("bozo_exception")
    return (f"feed is not well-formed ({type(exc).__name__}: {exc}); parsed leniently",)


def _why_empty(result: Any, headers: Mapping[str, str], unusable: int) -> str:
    content_type = headers.get("content-type", "unknown")
    if unusable:
        return f"none of its {unusable} item(s) has a title or any text; keeping what is stored"
    if result.get("bozo") and not result.get("version"):
        exc = result.get("bozo_exception")
        return (
            f"not a usable RSS or Atom feed (content-type {content_type}): "
            f"{type(exc).__name__}: {exc}"
        )
    if not result.get("version"):
        return f"not an RSS or Atom feed (content-type {content_type})"
    return "the feed has no usable items; keeping what is stored"


def _entries(source_id: str, result: Any, url: str | None) -> tuple[tuple[Entry, ...], int]:
    """The entries (the first of each id), and how many items had nothing to show."""
    feed_base = _text(result.get("feed", {}).get("link")) or url
    seen: set[str] = set()
    entries: list[Entry] = []
    unusable = 0
    for raw in result.get("entries", []):
        entry = _entry(source_id, raw, feed_base)
        if entry is None:
            unusable += 1
        elif entry.id not in seen:
            seen.add(entry.id)
            entries.append(entry)
    return tuple(entries), unusable


def _entry(source_id: str, raw: Any, feed_base: str | None) -> Entry | None:
    title = _words(raw.get("title")) or ""
    link = _text(raw.get("link"))
    content, content_base = _content(raw)
    summary = raw.get("summary") or ""
    if not (title or content or summary):  # a link alone (a guid, say) has nothing to show
        return None
    published = _utc(raw.get("published_parsed"))
    updated = _utc(dict.get(raw, "updated_parsed"))  # not .get: feedparser would alias it
    base = content_base or feed_base  # feedparser's xml:base, else the document's URL
    return Entry(
        source_id=source_id,
        id=_stable_id(raw, link, title, published or updated),
        title=title,
        link=link,
        author=_words(raw.get("author")),
        published=published or updated,
        updated=updated,
        categories=_categories(raw),
        content_html=content,  # "" when the feed only has a summary: see Entry.body_source
        summary_html=summary,
        base_url=base,
        images=_images(raw, url_base(link, base)),
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
        term = _words(tag.get("term"))
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
    """A feed's text field, stripped of characters no output may carry (ids, links and
    image fields are not cleaned again before they are rendered)."""
    if value is None:
        return None
    text = strip_text_chars(str(value)).strip()
    return text or None


def _words(value: Any) -> str | None:
    """`_text` for what the clean stage repairs (title, author, categories): DEL and the
    C1 controls stay until then, since mojibake is made of them."""
    if value is None:
        return None
    text = strip_text_chars(str(value), repairable=True).strip()
    return text or None


def _int(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
