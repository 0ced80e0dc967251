"""The frozen dataclasses that pipeline stages hand to each other.

Config models live in `config.py` (validated by pydantic); everything that flows from
fetch onwards is defined here, so a stage's signature tells the whole contract.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:  # both import this module
    from .clean.sanitize import Policy
    from .scripture import Reference

# The output layout (URLs given out to churches: they never change). The renderer writes
# these names and `publish.ownership` recognises them as Syndicator's, so an output added
# here is both written and known. Each subscriber's, by output, under `<output_dir>/<id>/`
# (`{number}` is a page number, `{slug}` a story's slug):
SUBSCRIBER_FILES: Mapping[str, str] = MappingProxyType(
    {
        "rss": "rss.xml",
        "atom": "atom.xml",
        "json": "feed.json",
        "snippet": "snippet.html",
        "widget": "widget.html",
        "embed": "embed.js",
        "style": "style.css",
        "pages": "page/{number}.html",
        "articles": "articles/{slug}.html",
    }
)
SITE_FILES = ("index.html", "subscribers.opml")  # directly under `<output_dir>/`

FUTURE_TOLERANCE = timedelta(days=1)  # how far past first seen a story's own date is believed
# Whose video players the sanitizer keeps as iframes unless a source's config says otherwise
# (`[sources.clean] video_hosts`): the config's default and the sanitizer's are this one.
DEFAULT_VIDEO_HOSTS = ("www.youtube.com", "www.youtube-nocookie.com", "player.vimeo.com")


def believed_date(published: datetime | None, first_seen: datetime) -> datetime:
    """When a story was published, else when we first saw it (never the time of a run).
    A date over `FUTURE_TOLERANCE` later than we first saw it is not believed (a typo'd
    year, a hostile item): it would top every list for years."""
    if published is None or published > first_seen + FUTURE_TOLERANCE:
        return first_seen
    return published


def slugify(text: str, length: int) -> str:
    """`text` as lower-case ASCII letters and digits joined by single hyphens, at most
    `length` characters ("" when nothing is left): article slugs, suggested ids."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:length].strip("-")


def url_base(link: str | None, base_url: str | None) -> str:
    """What an item's relative URLs resolve against: its own link when a reader can
    follow it (as Miniflux does: a mirror, a feed proxy or a local copy of the feed must
    not move the story's images and links to its own host, or to none), else `base_url`
    (the content's xml:base, else the document's URL)."""
    try:
        followable = bool(link) and urlsplit(link or "").scheme in {"http", "https"}
    except ValueError:  # `http://[x`
        followable = False
    return (link if followable else None) or base_url or ""


def _frozen_mapping(data: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a successful fetch returned: a body, or "not modified" (`body is None`)."""

    source_id: str
    url: str  # the URL we asked for
    final_url: str  # where redirects led
    status: int  # HTTP status; 200 for a local file
    body: bytes | None
    headers: Mapping[str, str] = field(default_factory=_frozen_mapping)  # lower-case names
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # set when only permanent redirects (301/308) led elsewhere

    @property
    def not_modified(self) -> bool:
        return self.body is None


@dataclass(frozen=True, slots=True)
class Image:
    """An image attached to an entry (enclosure, media:content or media:thumbnail)."""

    url: str
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    alt: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, normalised but not cleaned: `content_html` is still hostile."""

    source_id: str
    id: str
    title: str
    link: str | None
    author: str | None
    published: datetime | None  # timezone-aware UTC
    updated: datetime | None  # timezone-aware UTC
    categories: tuple[str, ...]
    content_html: str  # the full text (content:encoded, Atom content); "" when absent
    summary_html: str  # the excerpt (description, Atom summary)
    base_url: str | None  # the content's xml:base, else the document's URL (`url_base`)
    images: tuple[Image, ...] = ()

    @property
    def url_base(self) -> str:
        """What relative URLs in this item resolve against (see `url_base`)."""
        return url_base(self.link, self.base_url)

    @property
    def body_source(self) -> str:
        """The HTML to clean: the full text, else the summary."""
        return self.content_html or self.summary_html

    def content_hash(self) -> str:
        """A digest of everything upstream can correct; equal hashes mean nothing changed."""
        data = asdict(self)
        for key in ("published", "updated"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


class SafeHtml(str):
    """HTML that has passed `clean.sanitize`. Only that function may create one; templates
    mark nothing else as safe."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Article:
    """An entry cleaned once: safe body HTML plus what was learnt from it."""

    source_id: str
    id: str
    title: str  # plain text
    link: str | None
    author: str | None  # the byline's name, else the feed's author
    author_role: str | None  # "Chief International Correspondent"
    dateline: str | None  # "KYIV/MOSCOW"; "" for a bare "(Worthy News) –"; None if absent
    published: datetime | None
    updated: datetime | None
    categories: tuple[str, ...]
    body_html: SafeHtml
    text: str  # the body as plain text, paragraphs separated by blank lines
    excerpt: str  # plain text, ends at a sentence boundary or with "…"
    word_count: int
    reading_minutes: int
    lead_image: Image | None
    content_hash: str  # of the entry it was cleaned from
    # The Bible references in `body_html` (`scripture.find_references`): offsets into it,
    # sorted, non-overlapping, each outside links, headings and code.
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The entries of one fetched document plus what was odd about it."""

    source_id: str
    title: str | None
    link: str | None
    entries: tuple[Entry, ...]
    warnings: tuple[str, ...] = ()
    damaged: tuple[str, ...] = ()  # ids of entries showing U+FFFD for bytes that were bad
    language: str | None = None  # its <language> as a tag (`en-US`); None: none CLDR knows


Presence = Literal["present", "removed", "aged_out"]


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An entry as the store keeps it, with its history."""

    entry: Entry
    content_hash: str
    revision: int  # 1 on first sight, +1 on every upstream correction
    first_seen: datetime
    last_seen: datetime
    changed_at: datetime  # when this revision was stored
    presence: Presence
    slug: str | None = None  # assigned when first cleaned; names its article pages


@dataclass(frozen=True, slots=True)
class Story:
    """A cleaned article as the render stage sees it."""

    article: Article
    slug: str
    outlet: str  # the source's outlet name, for the attribution
    revision: int
    presence: Presence
    first_seen: datetime
    # A digest of the stored cleaned article: it changes with every correction and every
    # cleaning of it under other settings, and so does every output that shows it.
    version: str
    language: str | None = None  # its text's: the source's `language`, else its feed's
    # Its source's sanitizer policy (links in a new tab, video hosts), which HTML made
    # from its body (scripture links) passes again; None: the default policy.
    policy: Policy | None = None

    @property
    def date(self) -> datetime:
        """Its date as lists show it (`believed_date`)."""
        return believed_date(self.article.published, self.first_seen)


@dataclass(frozen=True, slots=True)
class RenderRecord:
    """The publish ledger's row for one subscriber."""

    subscriber_id: str
    fingerprint: str | None  # of the inputs last published; None if never published
    published_at: datetime | None
    files: int
    last_error: str | None
    failed_at: datetime | None
    settled: bool = True  # its files are as recorded (not so after a publish not recorded)
    items: int | None = None  # stories its lists showed; None: published before it was kept


@dataclass(frozen=True, slots=True)
class Suspicion:
    """Why a poll looked wrong (none of its items current, or far fewer items than the
    last poll's): on its word, no story was withdrawn."""

    items: int  # items in the poll
    current: int  # stories stored as present before it
    in_common: int  # of its items, how many were current
    last_items: int  # items in the poll before it

    @property
    def kept(self) -> int:
        """Current stories missing from the poll: kept as they were, not withdrawn."""
        return self.current - self.in_common

    def __str__(self) -> str:
        if not self.in_common:
            why = f"none of its {self.items} item(s) is among the {self.current} current ones"
            hint = " (should every poll bring only new items, shorten interval_minutes)"
        else:
            why = f"{self.items} item(s), under half of the last poll's {self.last_items}"
            hint = ""
        return (
            f"the feed looks wrong: {why}; no story withdrawn ({self.kept} kept as they "
            "were), new ones stored; the next poll that looks like this one is taken as it "
            f"is{hint}"
        )


@dataclass(frozen=True, slots=True)
class EntryChanges:
    """The pure verdict of comparing a fetched feed with what is stored (ids only)."""

    new: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()  # gone from the feed while older items remain
    aged_out: tuple[str, ...] = ()  # gone from the feed because it is older than all that remain
    garbled: tuple[str, ...] = ()  # its new text garbles the stored one: the stored is kept
    suspicious: Suspicion | None = None  # set: nothing is removed or aged out


@dataclass(frozen=True, slots=True)
class SourceState:
    """The poll state of one source, as stored between runs."""

    source_id: str
    config_url: str  # the URL as configured; a change resets the state
    url: str  # the URL we poll: differs from config_url after a permanent redirect
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_due: datetime | None = None  # None: due now
    disabled: str | None = None  # why polling stopped (410 Gone); None while active
    last_warning: str | None = None  # what was odd about the last document parsed
    last_items: int | None = None  # items in the last document parsed; None: not known
    suspicious: str | None = None  # why the last document parsed looked wrong (`Suspicion`)
    language: str | None = None  # the last document parsed's <language>, as a tag


SourceOutcome = Literal["updated", "not_modified", "failed", "skipped", "disabled"]


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What one run did with one source."""

    source_id: str
    outcome: SourceOutcome
    url: str
    changes: EntryChanges = field(default_factory=EntryChanges)
    error: str | None = None
    warnings: tuple[str, ...] = ()
    moved_to: str | None = None
    next_due: datetime | None = None
    damaged: tuple[str, ...] = ()  # stored now showing U+FFFD for bytes that were bad

    @property
    def failed(self) -> bool:
        """Failed this time, or disabled until an admin acts: either way cron should hear."""
        return self.outcome in {"failed", "disabled"}

    @property
    def doubtful(self) -> bool:
        """Polled, but what it brought is damaged, was refused as damage, or looked wrong:
        cron should hear (nothing stored was lost)."""
        return bool(self.damaged or self.changes.garbled or self.changes.suspicious)


@dataclass(frozen=True, slots=True)
class CleanReport:
    """What the clean step did for one source."""

    source_id: str
    cleaned: int = 0  # new, corrected, or cleaned again after a settings change
    up_to_date: int = 0  # already cleaned from the same content and settings: skipped
    errors: tuple[str, ...] = ()  # one line per article that could not be cleaned


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What publishing wrote."""

    written: int = 0
    unchanged: int = 0
    removed: int = 0
    bytes_written: int = 0


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object a bucket confirmed holding, as the manifest records it."""

    md5: str  # hex MD5 of the bytes we sent
    size: int  # bytes
    etag: str  # what the store answered (an MD5 only for plain uploads; compared as is)
    content_type: str
    cache_control: str


SubscriberOutcome = Literal["published", "unchanged", "failed", "retired"]


@dataclass(frozen=True, slots=True)
class SubscriberReport:
    """What one run did with one subscriber."""

    subscriber_id: str
    outcome: SubscriberOutcome
    files: int = 0  # output files it has
    written: int = 0  # of which this run wrote (changed bytes)
    error: str | None = None
    items: int | None = None  # stories its lists show (0: an empty widget); None: not planned
    reached: bool = True  # False: publishing stopped before its turn (the next run does it)


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    """What `publish.run.publish_outputs` did."""

    subscribers: tuple[SubscriberReport, ...]
    publish: PublishReport
    error: str | None = None  # publishing stopped: the output folder refused a write
    index_error: str | None = None  # index.html/subscribers.opml failed; last good ones stay


@dataclass(frozen=True, slots=True)
class RunReport:
    """What `pipeline.run_once` did; the CLI turns it into lines and an exit code."""

    started: datetime
    sources: tuple[SourceReport, ...]
    cleaning: tuple[CleanReport, ...] = ()
    config_errors: tuple[str, ...] = ()  # subscriber files that were skipped
    subscribers: tuple[SubscriberReport, ...] = ()
    publish: PublishReport = field(default_factory=PublishReport)
    publish_error: str | None = None  # the output folder refused a write
    index_error: str | None = None  # index.html/subscribers.opml failed to render

    @property
    def ok(self) -> bool:
        return (
            not self.config_errors
            and not self.publish_error
            and not self.index_error
            and not any(s.failed or s.doubtful for s in self.sources)
            and not any(c.errors for c in self.cleaning)
            and not any(s.outcome == "failed" for s in self.subscribers)
        )


JoinState = Literal["pending", "approved", "declined"]


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """A church's request made on `/join` (`web.join`), as the state database keeps it."""

    id: int
    state: JoinState  # pending: waits for an admin (a new church, or a new name or website)
    name: str  # what it asked to be called (pending: may differ from its file's)
    site_url: str
    email: str  # its contact address: only here, shown only to admins; "" once declined
    options: dict[str, Any]  # the other TOML keys it chose (dotted), as admin.py takes them
    subscriber_id: str | None  # its file's id, once approved
    reason: str  # why it was declined ("" when no reason was given)
    created_at: datetime
