"""The SQLite store: articles with their content hash, and each source's poll state.

One file under `state_dir`, WAL mode, schema versioned by `PRAGMA user_version` with
numbered migrations. Writes for one source happen in one transaction, so a failed poll
leaves every stored article exactly as it was. `compare_entries` is the pure decision of
what a fetched feed changes; the `Store` methods only carry it out.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, astuple, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import StateUnusable, StoreError
from .models import (
    Article,
    Entry,
    EntryChanges,
    Image,
    JoinRequest,
    JoinState,
    ParsedFeed,
    Presence,
    RenderRecord,
    SourceState,
    StoredArticle,
    StoredObject,
    Suspicion,
    believed_date,
    slugify,
)

# Each migration brings the schema from version N (its index) to N + 1. Append only.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sources (
        id                   TEXT PRIMARY KEY,
        config_url           TEXT NOT NULL,
        url                  TEXT NOT NULL,
        etag                 TEXT,
        last_modified        TEXT,
        last_attempt         TEXT,
        last_success         TEXT,
        last_error           TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_due             TEXT,
        disabled             TEXT
    );
    CREATE TABLE articles (
        source_id    TEXT NOT NULL,
        id           TEXT NOT NULL,
        title        TEXT NOT NULL,
        link         TEXT,
        author       TEXT,
        published    TEXT,
        updated      TEXT,
        categories   TEXT NOT NULL,
        content_html TEXT NOT NULL,
        summary_html TEXT NOT NULL,
        base_url     TEXT,
        images       TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        revision     INTEGER NOT NULL,
        first_seen   TEXT NOT NULL,
        last_seen    TEXT NOT NULL,
        changed_at   TEXT NOT NULL,
        presence     TEXT NOT NULL CHECK (presence IN ('present', 'removed', 'aged_out')),
        PRIMARY KEY (source_id, id)
    );
    CREATE INDEX articles_by_date ON articles (presence, published DESC);
    """,
    # 2: the cleaned article beside the raw one, and what it was cleaned from.
    """
    ALTER TABLE articles ADD COLUMN cleaned TEXT;
    ALTER TABLE articles ADD COLUMN clean_key TEXT;
    """,
    # 3: what was odd about the last document parsed (bozo feeds are accepted with it).
    """
    ALTER TABLE sources ADD COLUMN last_warning TEXT;
    """,
    # 4: article slugs (URLs given out: assigned once, never changed) and the publish
    # ledger: what each subscriber was last rendered from, and which article pages it has.
    """
    ALTER TABLE articles ADD COLUMN slug TEXT;
    CREATE UNIQUE INDEX articles_by_slug ON articles (slug);
    CREATE TABLE renders (
        subscriber_id TEXT PRIMARY KEY,
        fingerprint   TEXT,
        published_at  TEXT,
        files         INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        failed_at     TEXT
    );
    CREATE TABLE pages (
        subscriber_id TEXT NOT NULL,
        slug          TEXT NOT NULL,
        unlisted_at   TEXT,
        PRIMARY KEY (subscriber_id, slug)
    );
    """,
    # 5: what the site-wide outputs (index.html, subscribers.opml) were last rendered from.
    """
    CREATE TABLE site_renders (
        name        TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL
    );
    """,
    # 6: the options each subscriber was last published with, so that the index can keep
    # listing a subscriber whose file is broken (its outputs stay published too).
    """
    ALTER TABLE renders ADD COLUMN settings TEXT;
    """,
    # 7: what each article page was rendered from (`page_tokens`), so that a subscriber
    # re-rendered for a new story leaves its other pages alone. NULL: not known.
    """
    ALTER TABLE pages ADD COLUMN token TEXT;
    """,
    # 8: whether a subscriber's files are as its ledger says. Cleared before its files are
    # replaced and set again once that is recorded: when the recording fails (a full
    # disk) or stale files stay, its page tokens are not trusted.
    """
    ALTER TABLE renders ADD COLUMN settled INTEGER NOT NULL DEFAULT 1;
    """,
    # 9: how many items the last document parsed had, and why it looked wrong if it did:
    # a poll far smaller than the last one withdraws nothing.
    """
    ALTER TABLE sources ADD COLUMN last_items INTEGER;
    ALTER TABLE sources ADD COLUMN suspicious TEXT;
    """,
    # 10: how many stories each subscriber's lists showed when last published (`status`
    # shows it; 0 is an empty widget). NULL: published before this was recorded.
    """
    ALTER TABLE renders ADD COLUMN items INTEGER;
    """,
    # 11: the language the last document parsed gave (its <language>): its stories' text
    # is marked with it unless the source's config names one.
    """
    ALTER TABLE sources ADD COLUMN language TEXT;
    """,
    # 12: the web console: its admins (argon2id hashes), their sessions (the id stored
    # hashed: a copy of this file signs no one in), the audit log of every change, and
    # recent failed sign-ins (the throttle counts them by account and by address).
    """
    CREATE TABLE admins (
        name          TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at    TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id_hash    TEXT PRIMARY KEY,
        admin      TEXT NOT NULL REFERENCES admins (name) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at TEXT NOT NULL,
        seen_at    TEXT NOT NULL
    );
    CREATE TABLE audit (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        at     TEXT NOT NULL,
        admin  TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE TABLE signin_failures (
        key TEXT NOT NULL,
        at  TEXT NOT NULL
    );
    CREATE INDEX signin_failures_by_key ON signin_failures (key, at);
    """,
    """
    CREATE TABLE manifest (
        target        TEXT NOT NULL,
        path          TEXT NOT NULL,
        md5           TEXT NOT NULL,
        size          INTEGER NOT NULL,
        etag          TEXT NOT NULL,
        content_type  TEXT NOT NULL,
        cache_control TEXT NOT NULL,
        PRIMARY KEY (target, path)
    ) WITHOUT ROWID;
    """,
    # 14: churches' requests made on /join (`web.join`): the private link's token only
    # as its SHA-256; the contact email only here, deleted with the request.
    """
    CREATE TABLE join_requests (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        token_hash    TEXT NOT NULL UNIQUE,
        state         TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'declined')),
        name          TEXT NOT NULL,
        site_url      TEXT NOT NULL,
        email         TEXT NOT NULL,
        options       TEXT NOT NULL,
        subscriber_id TEXT UNIQUE,
        reason        TEXT NOT NULL DEFAULT '',
        created_at    TEXT NOT NULL
    );
    """,
)


@dataclass(frozen=True, slots=True)
class StoredKey:
    """What `compare_entries` needs to know of a stored article."""

    content_hash: str
    published: datetime | None
    presence: Presence
    first_seen: datetime


def compare_entries(
    stored: Mapping[str, StoredKey],
    entries: Sequence[Entry],
    last_items: int | None = None,
    damaged: Collection[str] = (),
) -> EntryChanges:
    """Decide what a freshly fetched feed means for the stored articles of its source.

    An entry not stored is new; one whose hash differs (a correction), or that comes back
    after leaving the feed, is changed. A present article missing from the feed was
    *removed* upstream only when at least two items still in the feed were in it before
    it (present, first seen no later) and are dated older than it: it vanished from the
    middle of the list as we knew it. Otherwise it *aged out* (the feed only shows the
    latest items) — also when dates are missing, when items new to us are dated older
    (1990, a backdated outlier), and when its own date is years ahead (`believed_date`),
    because "removed" takes pages down and must not be guessed. A poll that looks wrong
    (`suspicion`; `last_items` is how many items the poll before had) withdraws nothing.

    An id that shows U+FFFD for bytes that were bad (in `damaged`, the parser's word) and
    is not stored is no story's id: it may stand for any stored story, so nothing is
    withdrawn, and it is stored as none (it is `garbled`).
    """
    unreadable = {e.id for e in entries if e.id in damaged and "\ufffd" in e.id} - set(stored)
    entries = [entry for entry in entries if entry.id not in unreadable]
    new, changed, unchanged = [], [], []
    for entry in entries:
        key = stored.get(entry.id)
        if key is None:
            new.append(entry.id)
        elif key.content_hash != entry.content_hash() or key.presence != "present":
            changed.append(entry.id)
        else:
            unchanged.append(entry.id)
    removed, aged_out = _withdrawn(stored, entries)
    suspicious = suspicion(stored, entries, last_items)
    if suspicious is not None or unreadable:  # on the word of a wrong feed, nothing leaves
        removed, aged_out = [], []
    return EntryChanges(
        tuple(new),
        tuple(changed),
        tuple(unchanged),
        tuple(sorted(removed)),
        tuple(sorted(aged_out)),
        garbled=tuple(sorted(unreadable)),
        suspicious=suspicious,
    )


def _withdrawn(
    stored: Mapping[str, StoredKey], entries: Sequence[Entry]
) -> tuple[list[str], list[str]]:
    """The present articles missing from `entries`: (removed, aged out)."""
    in_feed = {entry.id for entry in entries}
    known = [  # (first seen, date) of the items that were in the feed before this poll
        (key.first_seen, entry.published)
        for entry in entries
        if entry.published is not None
        and (key := stored.get(entry.id)) is not None
        and key.presence == "present"
    ]
    removed: list[str] = []
    aged_out: list[str] = []
    for article_id, key in stored.items():
        if article_id in in_feed or key.presence != "present":
            continue
        below = 0  # items it was listed above, still there
        if key.published is not None:
            date = believed_date(key.published, key.first_seen)
            below = sum(1 for seen, when in known if seen <= key.first_seen and when < date)
        (removed if below >= 2 else aged_out).append(article_id)
    return removed, aged_out


SHRINK = 2  # a poll with under 1/SHRINK of the last poll's items looks wrong


def suspicion(
    stored: Mapping[str, StoredKey], entries: Sequence[Entry], last_items: int | None
) -> Suspicion | None:
    """Whether a poll looks wrong rather than like the feed moving on: it shares no item
    with the stories current (present) before it, or has under half as many items as
    the poll before it (`last_items`; None: as many as are current). Such a poll would
    withdraw stories on the word of a broken feed, a stale cache or a changed guid
    format. None when nothing current would be withdrawn.

    The next poll that looks like this one (shares items with it, is not much smaller)
    is taken as it is: this poll's new items are current then, and `last_items` its own.
    """
    current = {article_id for article_id, key in stored.items() if key.presence == "present"}
    ids = {entry.id for entry in entries}
    in_common = len(ids & current)
    last = len(current) if last_items is None else last_items
    if in_common == len(current) or (in_common and SHRINK * len(ids) >= last):
        return None
    return Suspicion(items=len(ids), current=len(current), in_common=in_common, last_items=last)


def keep_stored_text(
    changes: EntryChanges, stored: Mapping[str, Entry], fetched: Mapping[str, Entry]
) -> EntryChanges:
    """Changed entries whose new text garbles the stored text are no corrections: they
    move to `garbled`, and the stored article stays as it is. `stored` and `fetched`
    hold (at least) the changed entries, by id."""
    garbled = {i for i in changes.changed if i in stored and is_garbled(stored[i], fetched[i])}
    if not garbled:
        return changes
    return replace(
        changes,
        changed=tuple(i for i in changes.changed if i not in garbled),
        garbled=tuple(sorted({*changes.garbled, *garbled})),
    )


def is_garbled(stored: Entry, fetched: Entry) -> bool:
    """Whether a text of `fetched` is a garbled copy of the stored one rather than an edit:
    it shows more U+FFFD (bytes that could not be read), or it is the stored text with
    characters' bytes read in another encoding (mojibake: Kraków as KrakĂłw, or
    “ as â€œ). A feed read in the wrong encoding, or a stray byte, must never revise a
    story that was fine; the upstream's next real correction still does."""
    for old, new in zip(_texts(stored), _texts(fetched), strict=True):
        if old != new and (new.count("\ufffd") > old.count("\ufffd") or _misread(old, new)):
            return True
    return False


def _texts(entry: Entry) -> tuple[str, ...]:
    link, author = entry.link or "", entry.author or ""
    texts = (link, entry.title, author, entry.content_html, entry.summary_html)
    return (*texts, "\n".join(entry.categories))


_RUNS = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]+")  # ASCII and non-ASCII stretches
# Encodings a feed's bytes are read in by mistake, from UTF-8 or from each other.
_SINGLE_BYTE = ("cp1252", "iso8859-1", "iso8859-2", "iso8859-15", "cp1250", "cp1251", "mac-roman")
_MISREADINGS = tuple(
    (wrote, read) for wrote in ("utf-8", *_SINGLE_BYTE) for read in _SINGLE_BYTE if wrote != read
)


def _misread(old: str, new: str) -> bool:
    """Whether `new` is `old` with some non-ASCII characters' bytes in one encoding read
    as another. Characters from references (&#8220;) are not misread with the rest, so
    each character may be either; the ASCII text must be the same (a misreading never
    makes ASCII)."""
    old_runs, new_runs = _RUNS.findall(old), _RUNS.findall(new)
    if len(old_runs) != len(new_runs):
        return False
    pairs = [(o, n) for o, n in zip(old_runs, new_runs, strict=True) if o != n]
    if not pairs or any(o.isascii() or n.isascii() for o, n in pairs):
        return False
    return any(
        all(_misread_run(o, n, wrote, read) for o, n in pairs) for wrote, read in _MISREADINGS
    )


def _misread_run(old: str, new: str, wrote: str, read: str) -> bool:
    at = 0
    for char in old:
        try:
            misread = char.encode(wrote).decode(read, errors="replace")
        except UnicodeEncodeError:
            misread = char
        if misread != char and new.startswith(misread, at):
            at += len(misread)
        elif new.startswith(char, at):
            at += 1
        else:
            return False
    return at == len(new)


def keep_full_text(entries: Sequence[Entry], stored_content: Mapping[str, str]) -> list[Entry]:
    """Entries that arrive with only a summary keep the full text already stored.

    Feeds sometimes drop `content:encoded` for a while (a setting, a plugin glitch);
    that must not replace every stored article's full text with its excerpt.
    """
    return [
        replace(entry, content_html=stored_content[entry.id])
        if not entry.content_html and stored_content.get(entry.id)
        else entry
        for entry in entries
    ]


# SQLite's primary result codes for a file it may not or cannot write (the extended
# codes, such as SQLITE_READONLY_DIRECTORY, carry them in their low byte).
_NOT_WRITABLE = {3, 8, 14}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_CANTOPEN


class Store:
    """A connection to the state database. Use as a context manager, or `close()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # A deleted row's bytes are overwritten, not left in free pages: a church's
            # contact email is gone from the file once its request is.
            self._db.execute("PRAGMA secure_delete=ON")
            self._migrate()
        except OSError as exc:
            raise StateUnusable(path.parent, f"cannot create it: {exc.strerror}") from None
        except sqlite3.Error as exc:
            if exc.sqlite_errorcode & 0xFF in _NOT_WRITABLE:
                reason = f"cannot open {path.name} to write: {exc}"
                raise StateUnusable(path.parent, reason) from exc
            raise StoreError(f"{path}: cannot open the state database: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this Syndicator "
                f"understands ({len(MIGRATIONS)}); upgrade Syndicator"
            )
        for number in range(version, len(MIGRATIONS)):
            with self.transaction():
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all. Nested use joins the outer one."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except BaseException:  # a full disk, say: never leave the transaction open
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    # -- the manifest of a bucket ----------------------------------------------------

    def manifest(self, target: str) -> dict[str, StoredObject]:
        """What the store of `target` (`s3://bucket/prefix`) confirmed holding, by path."""
        rows = self._db.execute(
            "SELECT path, md5, size, etag, content_type, cache_control FROM manifest "
            "WHERE target = ?",
            (target,),
        )
        return {row[0]: StoredObject(*row[1:]) for row in rows}

    def save_manifest(self, target: str, stored: Mapping[str, StoredObject]) -> None:
        """Record objects the store of `target` confirmed writing."""
        self._db.executemany(
            "INSERT OR REPLACE INTO manifest "
            "(target, path, md5, size, etag, content_type, cache_control) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(target, path, *astuple(item)) for path, item in stored.items()],
        )

    def forget_manifest(self, target: str, paths: Iterable[str]) -> None:
        """Forget objects of `target` that were deleted (or are no longer as recorded)."""
        self._db.executemany(
            "DELETE FROM manifest WHERE target = ? AND path = ?", [(target, p) for p in paths]
        )

    # -- sources ---------------------------------------------------------------------

    def source_state(self, source_id: str) -> SourceState | None:
        row = self._db.execute("SELECT * FROM sources WHERE id = ?", (source_id,)).fetchone()
        return _state_from_row(row) if row else None

    def source_states(self) -> dict[str, SourceState]:
        rows = self._db.execute("SELECT * FROM sources ORDER BY id").fetchall()
        return {row["id"]: _state_from_row(row) for row in rows}

    def save_source_state(self, state: SourceState) -> None:
        values = {k: _to_db(v) for k, v in asdict(state).items()}
        values["id"] = values.pop("source_id")
        columns = ", ".join(values)
        placeholders = ", ".join(f":{name}" for name in values)
        self._db.execute(
            f"INSERT OR REPLACE INTO sources ({columns}) VALUES ({placeholders})",  # noqa: S608
            values,
        )

    # -- articles --------------------------------------------------------------------

    def stored_keys(self, source_id: str) -> dict[str, StoredKey]:
        rows = self._db.execute(
            "SELECT id, content_hash, published, presence, first_seen FROM articles "
            "WHERE source_id = ?",
            (source_id,),
        )
        return {
            row["id"]: StoredKey(
                row["content_hash"],
                _from_db(row["published"]),
                row["presence"],
                _required(row["first_seen"]),
            )
            for row in rows
        }

    def apply_feed(
        self, feed: ParsedFeed, now: datetime, last_items: int | None = None
    ) -> EntryChanges:
        """Store a parsed feed: insert new entries, revise changed ones, mark missing ones
        (unless the poll looks wrong: `compare_entries`, with the last poll's item count)."""
        with self.transaction():
            entries = keep_full_text(feed.entries, self._full_texts(feed))
            stored_keys = self.stored_keys(feed.source_id)
            changes = compare_entries(stored_keys, entries, last_items, feed.damaged)
            by_id = {entry.id: entry for entry in entries}
            stored = self._entries(feed.source_id, changes.changed)
            changes = keep_stored_text(changes, stored, by_id)
            stamp = _to_db(now)
            for article_id in changes.new:
                self._insert(by_id[article_id], stamp)
            for article_id in changes.changed:
                self._revise(by_id[article_id], stamp)
            for presence in ("removed", "aged_out"):
                ids = getattr(changes, presence)
                self._db.executemany(
                    "UPDATE articles SET presence = ?, changed_at = ? "
                    "WHERE source_id = ? AND id = ?",
                    [(presence, stamp, feed.source_id, article_id) for article_id in ids],
                )
            self._db.executemany(
                "UPDATE articles SET last_seen = ? WHERE source_id = ? AND id = ?",
                [(stamp, feed.source_id, article_id) for article_id in changes.unchanged],
            )
            self._db.executemany(  # seen, and back if it had left: its text stays
                "UPDATE articles SET last_seen = :stamp, presence = 'present', changed_at = "
                "CASE presence WHEN 'present' THEN changed_at ELSE :stamp END "
                "WHERE source_id = :source_id AND id = :id",
                [{"stamp": stamp, "source_id": feed.source_id, "id": i} for i in changes.garbled],
            )
        return changes

    def _entries(self, source_id: str, ids: Sequence[str]) -> dict[str, Entry]:
        """The stored entries of `ids`, by id."""
        found = {}
        for article_id in ids:
            row = self._db.execute(
                "SELECT * FROM articles WHERE source_id = ? AND id = ?", (source_id, article_id)
            ).fetchone()
            if row is not None:
                found[article_id] = _article_from_row(row).entry
        return found

    def _full_texts(self, feed: ParsedFeed) -> dict[str, str]:
        """Stored full texts of the entries that arrived without one."""
        ids = [entry.id for entry in feed.entries if not entry.content_html]
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))  # placeholders only: the ids are bound parameters
        query = f"SELECT id, content_html FROM articles WHERE source_id = ? AND id IN ({marks})"  # noqa: S608
        rows = self._db.execute(query, (feed.source_id, *ids))
        return {row["id"]: row["content_html"] for row in rows if row["content_html"]}

    def touch_present(self, source_id: str, now: datetime) -> None:
        """A not-modified poll: everything present was seen again."""
        self._db.execute(
            "UPDATE articles SET last_seen = ? WHERE source_id = ? AND presence = 'present'",
            (_to_db(now), source_id),
        )

    def _insert(self, entry: Entry, stamp: str) -> None:
        row = _entry_row(entry)
        row.update(
            revision=1, first_seen=stamp, last_seen=stamp, changed_at=stamp, presence="present"
        )
        columns = ", ".join(row)
        placeholders = ", ".join(f":{name}" for name in row)
        self._db.execute(
            f"INSERT INTO articles ({columns}) VALUES ({placeholders})",  # noqa: S608
            row,
        )

    def _revise(self, entry: Entry, stamp: str) -> None:
        row = _entry_row(entry)
        assignments = ", ".join(
            f"{name} = :{name}" for name in row if name not in {"source_id", "id"}
        )
        row.update(stamp=stamp)
        self._db.execute(
            f"UPDATE articles SET {assignments}, revision = revision + 1, "  # noqa: S608
            "last_seen = :stamp, changed_at = :stamp, presence = 'present' "
            "WHERE source_id = :source_id AND id = :id",
            row,
        )

    def entries_to_clean(self, source_id: str, fingerprint: str) -> list[Entry]:
        """Entries whose cleaned form is missing or was made from other content or settings."""
        rows = self._db.execute(
            "SELECT * FROM articles WHERE source_id = ? "
            "AND clean_key IS NOT content_hash || ':' || ?",
            (source_id, fingerprint),
        )
        return [_article_from_row(row).entry for row in rows]

    def count_cleaned(self, source_id: str, fingerprint: str) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM articles WHERE source_id = ? "
            "AND clean_key IS content_hash || ':' || ?",
            (source_id, fingerprint),
        ).fetchone()
        return int(row[0])

    def save_cleaned(self, article: Article, fingerprint: str, cleaned: str) -> None:
        """Store an article's cleaned form (JSON), keyed by the content it was cleaned from.

        The first time, the article also gets its slug, unique across the store; it never
        changes afterwards (corrections keep it), because its pages' URLs are given out.
        """
        key = (article.source_id, article.id)
        row = self._db.execute(
            "SELECT slug FROM articles WHERE source_id = ? AND id = ?", key
        ).fetchone()
        slug = row["slug"] if row and row["slug"] else self._free_slug(article.link, article.title)
        self._db.execute(
            "UPDATE articles SET cleaned = ?, clean_key = ?, slug = ? "
            "WHERE source_id = ? AND id = ?",
            (cleaned, f"{article.content_hash}:{fingerprint}", slug, *key),
        )

    def ensure_slugs(self) -> int:
        """Give a slug to every cleaned article without one (cleaned before slugs existed)."""
        rows = self._db.execute(
            "SELECT source_id, id, link, title FROM articles "
            "WHERE cleaned IS NOT NULL AND slug IS NULL ORDER BY first_seen, id"
        ).fetchall()
        for row in rows:
            slug = self._free_slug(row["link"], row["title"])
            self._db.execute(
                "UPDATE articles SET slug = ? WHERE source_id = ? AND id = ?",
                (slug, row["source_id"], row["id"]),
            )
        return len(rows)

    def _free_slug(self, link: str | None, title: str) -> str:
        base = make_slug(link, title)
        for number in range(1, 10_000):
            slug = base if number == 1 else f"{base[:72]}-{number}"
            if not self._db.execute("SELECT 1 FROM articles WHERE slug = ?", (slug,)).fetchone():
                return slug
        raise StoreError(f"no free slug for {link or title!r}")  # pragma: no cover

    def render_records(self) -> dict[str, RenderRecord]:
        """What each subscriber was last published from (and its last render error)."""
        rows = self._db.execute("SELECT * FROM renders")
        return {
            row["subscriber_id"]: RenderRecord(
                subscriber_id=row["subscriber_id"],
                fingerprint=row["fingerprint"],
                published_at=_from_db(row["published_at"]),
                files=row["files"],
                last_error=row["last_error"],
                failed_at=_from_db(row["failed_at"]),
                settled=bool(row["settled"]),
                items=row["items"],
            )
            for row in rows
        }

    def page_ledger(self) -> dict[str, dict[str, datetime | None]]:
        """Per subscriber: slug of every article page it has → when the article left its
        lists (None while still listed)."""
        ledger: dict[str, dict[str, datetime | None]] = {}
        # Tens of thousands of subscribers share a few hundred slugs and times: one object
        # each instead of one per row.
        slugs: dict[str, str] = {}
        times: dict[str | None, datetime | None] = {None: None}
        for subscriber_id, slug, unlisted_at in self._db.execute(
            "SELECT subscriber_id, slug, unlisted_at FROM pages ORDER BY subscriber_id"
        ):
            pages = ledger.get(subscriber_id)
            if pages is None:
                pages = ledger[subscriber_id] = {}
            if unlisted_at not in times:
                times[unlisted_at] = _from_db(unlisted_at)
            pages[slugs.setdefault(slug, slug)] = times[unlisted_at]
        return ledger

    def site_fingerprint(self, name: str) -> str | None:
        """What the site-wide output `name` was last published from."""
        row = self._db.execute(
            "SELECT fingerprint FROM site_renders WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else str(row[0])

    def save_site_fingerprint(self, name: str, fingerprint: str) -> None:
        """Record that the site-wide output `name` is published from `fingerprint`."""
        self._db.execute(
            "INSERT INTO site_renders (name, fingerprint) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint",
            (name, fingerprint),
        )

    def save_published(
        self,
        subscriber_id: str,
        fingerprint: str,
        now: datetime,
        files: int,
        pages: Mapping[str, datetime | None],
        settings: str,
        tokens: Mapping[str, str],
        items: int,
    ) -> None:
        """Record a successful publish: its input fingerprint, its article pages (each
        with what it was rendered from, `tokens`, where known), the options
        (`SubscriberConfig` as JSON) it was published with and how many stories its
        lists show (`items`)."""
        self._db.execute(
            "INSERT INTO renders (subscriber_id, fingerprint, published_at, files, settings, "
            "items) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subscriber_id) DO UPDATE SET "
            "fingerprint = excluded.fingerprint, published_at = excluded.published_at, "
            "files = excluded.files, settings = excluded.settings, items = excluded.items, "
            "last_error = NULL, failed_at = NULL, settled = 1",
            (subscriber_id, fingerprint, _to_db(now), files, settings, items),
        )
        self._db.execute("DELETE FROM pages WHERE subscriber_id = ?", (subscriber_id,))
        self._db.executemany(
            "INSERT INTO pages (subscriber_id, slug, unlisted_at, token) VALUES (?, ?, ?, ?)",
            [(subscriber_id, slug, _to_db(when), tokens.get(slug)) for slug, when in pages.items()],
        )

    def page_tokens(self, subscriber_id: str) -> dict[str, str]:
        """Slug → what the subscriber's article page of it was last published from (to
        be trusted only while its record is `settled`)."""
        rows = self._db.execute(
            "SELECT slug, token FROM pages WHERE subscriber_id = ? AND token IS NOT NULL",
            (subscriber_id,),
        )
        return {str(slug): str(token) for slug, token in rows}

    def unsettle(self, subscriber_ids: Iterable[str]) -> None:
        """These subscribers' files are about to change: until `save_published` records
        them, their records are not `settled` (what the ledger says may be behind)."""
        self._db.executemany(
            "UPDATE renders SET settled = 0 WHERE subscriber_id = ?",
            [(subscriber_id,) for subscriber_id in subscriber_ids],
        )

    def published_settings(self, subscriber_ids: Iterable[str]) -> dict[str, str]:
        """The options (JSON) each of these subscribers was last published with, if any."""
        found = {}
        for subscriber_id in subscriber_ids:
            row = self._db.execute(
                "SELECT settings FROM renders WHERE subscriber_id = ? AND settings IS NOT NULL",
                (subscriber_id,),
            ).fetchone()
            if row is not None:
                found[subscriber_id] = str(row[0])
        return found

    def save_render_failure(self, subscriber_id: str, error: str, now: datetime) -> None:
        """Record why a subscriber could not be rendered; its last fingerprint stays."""
        self._db.execute(
            "INSERT INTO renders (subscriber_id, last_error, failed_at) VALUES (?, ?, ?) "
            "ON CONFLICT (subscriber_id) DO UPDATE SET "
            "last_error = excluded.last_error, failed_at = excluded.failed_at",
            (subscriber_id, error, _to_db(now)),
        )

    def forget_subscriber(self, subscriber_id: str) -> None:
        """Drop a retired subscriber's ledger rows."""
        self._db.execute("DELETE FROM renders WHERE subscriber_id = ?", (subscriber_id,))
        self._db.execute("DELETE FROM pages WHERE subscriber_id = ?", (subscriber_id,))

    def cleaned(self, source_id: str | None = None) -> list[tuple[StoredArticle, str]]:
        """Stored articles with their cleaned JSON, newest first; uncleaned ones left out."""
        rows = self._newest_first("cleaned IS NOT NULL", source_id)
        return [(_article_from_row(row), row["cleaned"]) for row in rows]

    def articles(self, source_id: str | None = None) -> list[StoredArticle]:
        """Stored articles, newest first (by published date, then first seen)."""
        return [_article_from_row(row) for row in self._newest_first("1", source_id)]

    def _newest_first(self, condition: str, source_id: str | None) -> list[sqlite3.Row]:
        query = f"SELECT * FROM articles WHERE {condition}"  # noqa: S608 - fixed conditions
        params: tuple[str, ...] = ()
        if source_id is not None:
            query += " AND source_id = ?"
            params = (source_id,)
        query += " ORDER BY coalesce(published, first_seen) DESC, id"
        return self._db.execute(query, params).fetchall()

    def damage(self) -> str | None:
        """What SQLite's quick check finds wrong with the file (a page overwritten, a
        truncated copy), or None when it is sound."""
        try:
            rows = [row[0] for row in self._db.execute("PRAGMA quick_check(5)")]
        except sqlite3.DatabaseError as exc:
            return str(exc)
        return None if rows == ["ok"] else "; ".join(rows).replace("\n", "; ")

    def category_counts(self) -> dict[str, int]:
        """How many stored articles not removed upstream carry each category."""
        counts: Counter[str] = Counter()
        rows = self._db.execute("SELECT categories FROM articles WHERE presence != 'removed'")
        for (categories,) in rows:
            counts.update(json.loads(categories))
        return dict(counts)

    def article_counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT source_id, count(*) FROM articles GROUP BY source_id")
        return {source_id: count for source_id, count in rows}

    # -- the web console: admins, sessions, audit log, sign-in failures -----------------

    def add_admin(self, name: str, password_hash: str, now: datetime) -> bool:
        """Record a new admin; False when one of that name exists (nothing changed)."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO admins (name, password_hash, created_at) VALUES (?, ?, ?)",
            (name, password_hash, _to_db(now)),
        )
        return cursor.rowcount == 1

    def remove_admin(self, name: str) -> bool:
        """Remove an admin and their sessions; False when there is none of that name."""
        return self._db.execute("DELETE FROM admins WHERE name = ?", (name,)).rowcount == 1

    def set_password_hash(self, name: str, password_hash: str) -> bool:
        """Replace an admin's password hash; False when there is none of that name."""
        cursor = self._db.execute(
            "UPDATE admins SET password_hash = ? WHERE name = ?", (password_hash, name)
        )
        return cursor.rowcount == 1

    def end_admin_sessions(self, admin: str, keep: str | None = None) -> int:
        """End every session of `admin` but the one whose id hash is `keep`: how many."""
        cursor = self._db.execute(
            "DELETE FROM sessions WHERE admin = ? AND id_hash IS NOT ?", (admin, keep)
        )
        return cursor.rowcount

    def admins(self) -> list[tuple[str, datetime]]:
        """Every admin's name and when it was added, by name."""
        rows = self._db.execute("SELECT name, created_at FROM admins ORDER BY name")
        return [(name, _required(created)) for name, created in rows]

    def password_hash(self, name: str) -> str | None:
        row = self._db.execute("SELECT password_hash FROM admins WHERE name = ?", (name,))
        found = row.fetchone()
        return str(found[0]) if found else None

    def add_session(self, id_hash: str, admin: str, csrf_token: str, now: datetime) -> None:
        self._db.execute(
            "INSERT INTO sessions (id_hash, admin, csrf_token, created_at, seen_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (id_hash, admin, csrf_token, _to_db(now), _to_db(now)),
        )

    def session(self, id_hash: str) -> tuple[str, str, datetime, datetime] | None:
        """The admin, CSRF token, start and last use of a session, or None."""
        row = self._db.execute(
            "SELECT admin, csrf_token, created_at, seen_at FROM sessions WHERE id_hash = ?",
            (id_hash,),
        ).fetchone()
        if row is None:
            return None
        return row[0], row[1], _required(row[2]), _required(row[3])

    def touch_session(self, id_hash: str, now: datetime) -> None:
        self._db.execute(
            "UPDATE sessions SET seen_at = ? WHERE id_hash = ?", (_to_db(now), id_hash)
        )

    def end_session(self, id_hash: str) -> None:
        self._db.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))

    def end_sessions_before(self, created: datetime, seen: datetime) -> None:
        """Forget the sessions started before `created` or last used before `seen`."""
        self._db.execute(
            "DELETE FROM sessions WHERE created_at < ? OR seen_at < ?",
            (_to_db(created), _to_db(seen)),
        )

    def add_audit(self, now: datetime, admin: str, action: str, target: str, detail: str) -> None:
        self._db.execute(
            "INSERT INTO audit (at, admin, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (_to_db(now), admin, action, target, detail),
        )

    def audit_entries(
        self, limit: int, offset: int = 0
    ) -> list[tuple[datetime, str, str, str, str]]:
        """(when, who, action, target, detail), newest first."""
        rows = self._db.execute(
            "SELECT at, admin, action, target, detail FROM audit ORDER BY id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [(_required(row[0]), row[1], row[2], row[3], row[4]) for row in rows]

    def audit_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM audit").fetchone()[0])

    def add_signin_failure(self, keys: Iterable[str], now: datetime) -> None:
        self._db.executemany(
            "INSERT INTO signin_failures (key, at) VALUES (?, ?)",
            [(key, _to_db(now)) for key in keys],
        )

    def signin_failures(self, key: str, since: datetime) -> list[datetime]:
        """When `key` last failed to sign in, from `since` on, oldest first."""
        rows = self._db.execute(
            "SELECT at FROM signin_failures WHERE key = ? AND at >= ? ORDER BY at",
            (key, _to_db(since)),
        )
        return [_required(at) for (at,) in rows]

    def forget_signin_failures(self, key: str | None, before: datetime) -> None:
        """Forget `key`'s failures (every key's when None) from before `before`."""
        self._db.execute(
            "DELETE FROM signin_failures WHERE (? IS NULL OR key = ?) AND at < ?",
            (key, key, _to_db(before)),
        )

    # -- churches' requests made on /join ---------------------------------------------------

    def add_join_request(
        self, token_hash: str, name: str, site_url: str, email: str,
        options: Mapping[str, Any], now: datetime,
    ) -> int:  # fmt: skip
        """Record a new pending request; its id."""
        cursor = self._db.execute(
            "INSERT INTO join_requests (token_hash, state, name, site_url, email, options, "
            "created_at) VALUES (?, 'pending', ?, ?, ?, ?, ?)",
            (token_hash, name, site_url, email, json.dumps(dict(options)), _to_db(now)),
        )
        return int(cursor.lastrowid or 0)

    def join_request(
        self, *, token_hash: str | None = None, id: int | None = None
    ) -> JoinRequest | None:
        """The request of that token (its hash) or id, or None."""
        column, value = ("token_hash", token_hash) if token_hash is not None else ("id", id)
        row = self._db.execute(
            f"SELECT * FROM join_requests WHERE {column} = ?",  # noqa: S608 - fixed columns
            (value,),
        ).fetchone()
        return _request_from_row(row) if row else None

    def join_requests(self, state: JoinState) -> list[JoinRequest]:
        """The requests in `state`, oldest first."""
        rows = self._db.execute("SELECT * FROM join_requests WHERE state = ? ORDER BY id", (state,))
        return [_request_from_row(row) for row in rows]

    def count_join_requests(self, state: JoinState) -> int:
        query = "SELECT count(*) FROM join_requests WHERE state = ?"
        return int(self._db.execute(query, (state,)).fetchone()[0])

    def update_join_request(self, request_id: int, **values: Any) -> None:
        """Set some of a request's columns (state, name, site_url, email, options,
        subscriber_id, reason)."""
        allowed = {"state", "name", "site_url", "email", "options", "subscriber_id", "reason"}
        if not set(values) <= allowed:
            raise ValueError(f"not a request's column: {sorted(set(values) - allowed)}")
        if "options" in values:
            values["options"] = json.dumps(dict(values["options"]))
        sets = ", ".join(f"{column} = ?" for column in values)
        self._db.execute(
            f"UPDATE join_requests SET {sets} WHERE id = ?",  # noqa: S608 - allowed columns
            (*values.values(), request_id),
        )

    def forget_join_request(self, request_id: int) -> None:
        """Delete a request, its contact email with it."""
        self._db.execute("DELETE FROM join_requests WHERE id = ?", (request_id,))

    def forget_join_request_of(self, subscriber_id: str) -> None:
        """Delete the request a removed subscriber came from (its link stops working)."""
        self._db.execute("DELETE FROM join_requests WHERE subscriber_id = ?", (subscriber_id,))


def _request_from_row(row: sqlite3.Row) -> JoinRequest:
    return JoinRequest(
        id=row["id"],
        state=row["state"],
        name=row["name"],
        site_url=row["site_url"],
        email=row["email"],
        options=json.loads(row["options"]),
        subscriber_id=row["subscriber_id"],
        reason=row["reason"],
        created_at=_required(row["created_at"]),
    )


def database_stamp(path: Path) -> tuple[int, ...]:
    """The state database's files' times and sizes at `path`: any write changes them (in
    WAL mode a commit appends to the -wal file; a checkpoint rewrites the database file).
    What the console keeps from the store is kept until its stamp changes."""
    stamp: list[int] = []
    for suffix in ("", "-wal"):
        try:
            info = os.stat(f"{path}{suffix}")
        except OSError:
            stamp += [-1, -1]
        else:
            stamp += [info.st_mtime_ns, info.st_size]
    return tuple(stamp)


def make_slug(link: str | None, title: str) -> str:
    """A readable slug for an article's page: the last path segment of its link (the
    publisher's own slug, which survives title corrections), else its title."""
    segment = urlsplit(link).path.rstrip("/").rpartition("/")[2] if link else ""
    for candidate in (unquote(segment), title):
        slug = slugify(candidate, 80)
        if slug and not slug.isdigit():
            return slug
    return "article"


def _entry_row(entry: Entry) -> dict[str, Any]:
    return {
        "source_id": entry.source_id,
        "id": entry.id,
        "title": entry.title,
        "link": entry.link,
        "author": entry.author,
        "published": _to_db(entry.published),
        "updated": _to_db(entry.updated),
        "categories": json.dumps(list(entry.categories), ensure_ascii=False),
        "content_html": entry.content_html,
        "summary_html": entry.summary_html,
        "base_url": entry.base_url,
        "images": json.dumps([asdict(image) for image in entry.images], ensure_ascii=False),
        "content_hash": entry.content_hash(),
    }


def _article_from_row(row: sqlite3.Row) -> StoredArticle:
    entry = Entry(
        source_id=row["source_id"],
        id=row["id"],
        title=row["title"],
        link=row["link"],
        author=row["author"],
        published=_from_db(row["published"]),
        updated=_from_db(row["updated"]),
        categories=tuple(json.loads(row["categories"])),
        content_html=row["content_html"],
        summary_html=row["summary_html"],
        base_url=row["base_url"],
        images=tuple(Image(**image) for image in json.loads(row["images"])),
    )
    return StoredArticle(
        entry=entry,
        content_hash=row["content_hash"],
        revision=row["revision"],
        first_seen=_required(row["first_seen"]),
        last_seen=_required(row["last_seen"]),
        changed_at=_required(row["changed_at"]),
        presence=row["presence"],
        slug=row["slug"],
    )


def _state_from_row(row: sqlite3.Row) -> SourceState:
    return SourceState(
        source_id=row["id"],
        config_url=row["config_url"],
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_attempt=_from_db(row["last_attempt"]),
        last_success=_from_db(row["last_success"]),
        last_error=row["last_error"],
        consecutive_failures=row["consecutive_failures"],
        next_due=_from_db(row["next_due"]),
        disabled=row["disabled"],
        last_warning=row["last_warning"],
        last_items=row["last_items"],
        suspicious=row["suspicious"],
        language=row["language"],
    )


def _to_db(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _from_db(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _required(value: str) -> datetime:
    return datetime.fromisoformat(value)
