"""The store on a real SQLite file, and the pure `compare_entries` decision."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syndicator.errors import StoreError
from syndicator.models import Entry, Image, ParsedFeed, Presence, SourceState, Suspicion
from syndicator.store import MIGRATIONS, Store, StoredKey, compare_entries, is_garbled

from .conftest import NOW


def entry(guid: str, day: int, body: str = "<p>Body.</p>") -> Entry:
    return Entry(
        source_id="wn",
        id=f"https://www.worthynews.com/?p={guid}",
        title=f"Story {guid}",
        link=f"https://www.worthynews.com/{guid}-story",
        author="Jane Doe",
        published=datetime(2026, 11, day, 9, tzinfo=UTC),
        updated=None,
        categories=("World News", "Israel"),
        content_html=body,
        summary_html="Excerpt [&#8230;]",
        base_url=f"https://www.worthynews.com/{guid}-story",
        images=(Image("https://www.worthynews.com/a.jpg", "image/jpeg", 800, 600),),
    )


def feed(*entries: Entry) -> ParsedFeed:
    return ParsedFeed("wn", "Worthy", "https://www.worthynews.com", tuple(entries))


def key(e: Entry, presence: Presence = "present", first_seen: datetime = NOW) -> StoredKey:
    return StoredKey(e.content_hash(), e.published, presence, first_seen)


class TestCompareEntries:
    def test_new_changed_unchanged(self) -> None:
        a, b, c = entry("1", 20), entry("2", 21), entry("3", 22)
        corrected = replace(b, content_html="<p>Body, corrected.</p>")
        changes = compare_entries({a.id: key(a), b.id: key(b)}, [a, corrected, c])
        assert changes.new == (c.id,)
        assert changes.changed == (b.id,)
        assert changes.unchanged == (a.id,)
        assert changes.removed == changes.aged_out == ()

    def test_missing_older_than_the_feed_aged_out_missing_within_was_removed(self) -> None:
        oldest, old, mid, new = entry("0", 8), entry("1", 10), entry("2", 15), entry("3", 20)
        newest = entry("4", 21)
        stored = {e.id: key(e) for e in (oldest, old, mid, new)}
        changes = compare_entries(stored, [newest, new])  # the feed now starts at day 20
        assert changes.aged_out == tuple(sorted([oldest.id, old.id, mid.id]))
        assert changes.removed == ()
        changes = compare_entries(stored, [newest, new, old, oldest])  # day 15 vanished
        assert changes.removed == (mid.id,)

    def test_one_backdated_item_does_not_turn_aged_out_into_removed(self) -> None:
        aged, kept = entry("1", 15), entry("2", 20)
        backdated = entry("9", 1)  # misdated upstream: far older than the rest
        changes = compare_entries({aged.id: key(aged), kept.id: key(kept)}, [kept, backdated])
        assert changes.aged_out == (aged.id,) and changes.removed == ()

    def test_undated_missing_articles_age_out(self) -> None:
        undated = replace(entry("1", 15), published=None)
        feed_now = [entry("2", 10), entry("3", 11), entry("4", 20)]
        stored = {e.id: key(e) for e in (undated, *feed_now)}
        changes = compare_entries(stored, feed_now)
        assert changes.aged_out == (undated.id,) and changes.removed == ()

    def test_an_article_that_comes_back_counts_as_changed(self) -> None:
        a = entry("1", 20)
        assert compare_entries({a.id: key(a, "removed")}, [a]).changed == (a.id,)

    def test_already_missing_articles_are_not_reported_again(self) -> None:
        a, b = entry("1", 20), entry("2", 21)
        assert compare_entries({a.id: key(a, "removed")}, [b]).removed == ()

    def test_a_poll_sharing_no_item_with_the_current_stories_withdraws_nothing(self) -> None:
        """The report: a poll that returned two items dated 1990 and none of the 15
        stored marked all 15 as removed (every article page 'no longer available')."""
        stored = {e.id: key(e) for e in (entry(str(n), n) for n in range(1, 16))}
        junk = [
            replace(entry(str(n), 1), published=datetime(1990, 1, n - 90, tzinfo=UTC))
            for n in (91, 92)
        ]
        changes = compare_entries(stored, junk, last_items=15)
        assert changes.removed == changes.aged_out == ()
        assert changes.new == tuple(e.id for e in junk)  # new items are still stored
        assert changes.suspicious == Suspicion(items=2, current=15, in_common=0, last_items=15)
        assert changes.suspicious.kept == 15
        assert "none of its 2 item(s) is among the 15 current ones" in str(changes.suspicious)

    def test_a_poll_far_smaller_than_the_last_withdraws_nothing(self) -> None:
        feed_now = [entry(str(n), n) for n in range(1, 11)]
        stored = {e.id: key(e) for e in feed_now}
        shrunk = compare_entries(stored, feed_now[:4], last_items=10)
        assert shrunk.suspicious == Suspicion(items=4, current=10, in_common=4, last_items=10)
        assert shrunk.removed == shrunk.aged_out == ()
        assert "4 item(s), under half of the last poll's 10" in str(shrunk.suspicious)
        moved_on = compare_entries(stored, [entry("99", 28), *feed_now[5:]], last_items=10)
        assert moved_on.suspicious is None and len(moved_on.aged_out) == 5  # 6 of 10: normal

    def test_without_a_last_count_the_current_stories_stand_for_it(self) -> None:
        feed_now = [entry(str(n), n) for n in range(1, 11)]
        stored = {e.id: key(e) for e in feed_now}
        assert compare_entries(stored, feed_now[:4]).suspicious is not None
        assert compare_entries(stored, feed_now[:5]).suspicious is None

    def test_items_new_to_us_dated_long_ago_do_not_make_older_stories_removed(self) -> None:
        a, b, c, d = entry("1", 20), entry("2", 21), entry("3", 22), entry("4", 23)
        stored = {e.id: key(e) for e in (a, b, c, d)}
        old = [replace(entry(n, 1), published=datetime(1990, 1, 1, tzinfo=UTC)) for n in "89"]
        changes = compare_entries(stored, [d, c, *old], last_items=4)
        assert changes.suspicious is None
        assert changes.removed == () and changes.aged_out == (a.id, b.id)

    def test_a_story_dated_years_ahead_ages_out_like_the_others(self) -> None:
        """Its date is not believed (`believed_date`): below every story newer than the
        day we first saw it, it leaves the feed by ageing out, not by being withdrawn."""
        typo = replace(entry("5", 20), published=datetime(2099, 11, 20, tzinfo=UTC))
        older, newer = entry("1", 19), entry("6", 21)
        stored = {e.id: key(e) for e in (older, typo)} | {
            newer.id: key(newer, first_seen=NOW + timedelta(days=1))
        }
        later = [entry("8", 26), entry("7", 25), newer, older]
        changes = compare_entries(stored, later, last_items=3)
        assert changes.aged_out == (typo.id,) and changes.removed == ()

    def test_stories_already_aged_out_coming_back_alone_withdraw_nothing(self) -> None:
        """A stale copy of the feed (a cache, a restored backup) lists only stories that
        aged out since: on its word, the current ones would be removed."""
        gone = [entry(str(n), n) for n in range(1, 5)]
        current = [entry(str(n), n) for n in range(5, 9)]
        stored = {e.id: key(e, "aged_out") for e in gone} | {e.id: key(e) for e in current}
        changes = compare_entries(stored, gone, last_items=4)
        assert changes.suspicious is not None and changes.suspicious.in_common == 0
        assert changes.removed == changes.aged_out == ()
        assert changes.changed == tuple(e.id for e in gone)  # they are back

    def test_hash_covers_every_field_upstream_can_correct(self) -> None:
        a = entry("1", 20)
        assert a.published is not None
        for change in (
            {"title": "New title"},
            {"content_html": "<p>x</p>"},
            {"categories": ("US News",)},
            {"author": "John"},
            {"published": a.published + timedelta(hours=1)},
            {"images": ()},
        ):
            assert replace(a, **change).content_hash() != a.content_hash(), change
        assert replace(a).content_hash() == a.content_hash()


POLISH = replace(
    entry("7", 20),
    title="Kraków – “Łódź” café",
    content_html="<p>ŁÓDŹ (Worthy News) – São Paulo’s choir sang &#8220;Amen&#8221;.</p>",
)


def misread(text: str, wrote: str, read: str, *, keep: str = "") -> str:
    """`text` as a reader in the wrong encoding sees it; the characters in `keep` came
    from character references (&#8211;), which a wrong encoding leaves as they are."""
    return "".join(
        char if char in keep else char.encode(wrote).decode(read, errors="replace") for char in text
    )


class TestGarbled:
    @pytest.mark.parametrize(
        ("title", "wrote", "read", "keep"),
        [
            (POLISH.title, "utf-8", "iso8859-2", ""),  # the reported KrakĂłw
            (POLISH.title, "utf-8", "iso8859-2", "–“”"),  # references' characters intact
            (POLISH.title, "utf-8", "cp1252", ""),  # â€œ
            ("Fête « Nous » - Año", "iso8859-1", "iso8859-2", ""),  # a label changed
        ],
    )
    def test_the_stored_text_read_in_another_encoding_is_no_correction(
        self, title: str, wrote: str, read: str, keep: str
    ) -> None:
        stored = replace(POLISH, title=title)
        garbled = replace(stored, title=misread(title, wrote, read, keep=keep))
        assert garbled.title != stored.title
        assert is_garbled(stored, garbled)

    def test_a_replacement_character_where_the_stored_text_had_one_is_no_correction(
        self,
    ) -> None:
        assert is_garbled(POLISH, replace(POLISH, title="Krak\ufffdw – “Łódź” café"))
        assert is_garbled(POLISH, replace(POLISH, content_html=POLISH.content_html + "\ufffd"))

    @pytest.mark.parametrize(
        "change",
        [
            {"title": "Kraków – “Łódź” café reopens"},  # an edit
            {"title": "Krakow – “Lodz” cafe"},  # letters made ASCII by an editor
            {"title": "Kraków – “Łódź” cafè"},  # one accent corrected
            {"content_html": "<p>ŁÓDŹ (Worthy News) – A new first sentence.</p>"},
            {"categories": ("Europe",)},
        ],
    )
    def test_an_edit_is_a_correction(self, change: dict[str, Any]) -> None:
        assert not is_garbled(POLISH, replace(POLISH, **change))

    def test_a_garbled_story_is_repaired_by_the_right_text(self) -> None:
        garbled = replace(POLISH, title=misread(POLISH.title, "utf-8", "iso8859-2"))
        assert not is_garbled(garbled, POLISH)

    def test_the_store_keeps_a_story_whose_new_text_garbles_it(self, tmp_path: Path) -> None:
        other = entry("8", 21)
        garbled = replace(POLISH, title=misread(POLISH.title, "utf-8", "iso8859-2"))
        later = NOW + timedelta(hours=1)
        with Store(tmp_path / "db.sqlite3") as store:
            store.apply_feed(feed(other, POLISH), NOW)
            corrected = replace(other, title="Story 8, corrected")
            changes = store.apply_feed(feed(corrected, garbled), later)
            by_id = {s.entry.id: s for s in store.articles()}
        assert changes.garbled == (POLISH.id,) and changes.changed == (other.id,)
        kept = by_id[POLISH.id]
        assert kept.entry == POLISH and kept.revision == 1 and kept.changed_at == NOW
        assert kept.last_seen == later and kept.presence == "present"
        assert by_id[other.id].revision == 2  # a correction beside it goes through


def test_schema_is_migrated_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "state" / "db.sqlite3"
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"articles", "sources"} <= tables
    with Store(path) as store:  # reopening does not migrate twice
        assert store.schema_version == len(MIGRATIONS)


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer than this Syndicator"):
        Store(path)


def test_articles_round_trip_through_the_file(tmp_path: Path) -> None:
    a, b = entry("1", 20), entry("2", 21)
    with Store(tmp_path / "db.sqlite3") as store:
        changes = store.apply_feed(feed(b, a), NOW)
    assert set(changes.new) == {a.id, b.id}
    with Store(tmp_path / "db.sqlite3") as store:
        stored = store.articles("wn")
    assert [s.entry for s in stored] == [b, a]  # newest first, every field intact
    assert all(s.revision == 1 and s.presence == "present" for s in stored)
    assert stored[0].first_seen == stored[0].last_seen == NOW


def test_correction_bumps_revision_and_keeps_first_seen(tmp_path: Path) -> None:
    a = entry("1", 20)
    later = NOW + timedelta(hours=2)
    with Store(tmp_path / "db.sqlite3") as store:
        store.apply_feed(feed(a), NOW)
        unchanged = store.apply_feed(feed(a), NOW + timedelta(hours=1))
        changes = store.apply_feed(feed(replace(a, content_html="<p>Fixed.</p>")), later)
        (stored,) = store.articles()
    assert unchanged.unchanged == (a.id,)
    assert changes.changed == (a.id,)
    assert stored.entry.content_html == "<p>Fixed.</p>"
    assert stored.revision == 2
    assert stored.first_seen == NOW and stored.changed_at == stored.last_seen == later


def test_summary_only_feed_keeps_the_stored_full_text(tmp_path: Path) -> None:
    a = entry("1", 20, body="<p>The full text.</p>")
    with Store(tmp_path / "db.sqlite3") as store:
        store.apply_feed(feed(a), NOW)
        changes = store.apply_feed(feed(replace(a, content_html="")), NOW)
        (stored,) = store.articles()
    assert changes.unchanged == (a.id,)
    assert stored.entry.content_html == "<p>The full text.</p>" and stored.revision == 1


def test_category_counts_leave_out_articles_removed_upstream(tmp_path: Path) -> None:
    z, a = entry("0", 19), replace(entry("1", 20), categories=("Asia", "Israel"))
    gone = replace(entry("2", 21), categories=("Opinion",))
    with Store(tmp_path / "db.sqlite3") as store:
        assert store.category_counts() == {}
        store.apply_feed(feed(gone, a, z), NOW)
        assert store.category_counts() == {"World News": 1, "Israel": 2, "Asia": 1, "Opinion": 1}
        store.apply_feed(feed(a, z), NOW + timedelta(hours=1))  # `gone` removed upstream
        assert store.category_counts() == {"World News": 1, "Israel": 2, "Asia": 1}


def test_removed_item_is_kept_with_its_last_seen(tmp_path: Path) -> None:
    z, a, b, c = entry("0", 19), entry("1", 20), entry("2", 21), entry("3", 22)
    later = NOW + timedelta(hours=1)
    with Store(tmp_path / "db.sqlite3") as store:
        store.apply_feed(feed(c, b, a, z), NOW)
        changes = store.apply_feed(feed(c, a, z), later)
        by_id = {s.entry.id: s for s in store.articles()}
    assert changes.removed == (b.id,)
    assert by_id[b.id].presence == "removed"
    assert by_id[b.id].last_seen == NOW  # when it was last in the feed
    assert by_id[b.id].entry == b  # its content is kept
    assert by_id[a.id].last_seen == later


def test_a_changed_guid_format_withdraws_nothing_then_the_old_ids_age_out(
    tmp_path: Path,
) -> None:
    """Every item comes back under a new id (a guid migration): that poll shares no id with
    what is stored, so it withdraws nothing; the next poll like it is taken as it is, and
    the old ids age out (their pages stay), none is removed."""
    current = [entry(str(n), 10 + n) for n in range(1, 6)]
    rekeyed = [replace(e, id=f"{e.link}/") for e in current]
    with Store(tmp_path / "db.sqlite3") as store:
        store.apply_feed(feed(*current), NOW)
        first = store.apply_feed(feed(*rekeyed), NOW + timedelta(hours=1), last_items=5)
        assert first.suspicious is not None and first.new == tuple(e.id for e in rekeyed)
        assert {s.presence for s in store.articles()} == {"present"}
        second = store.apply_feed(feed(*rekeyed), NOW + timedelta(hours=2), last_items=5)
        presence = {s.entry.id: s.presence for s in store.articles()}
    assert second.suspicious is None and second.unchanged == tuple(e.id for e in rekeyed)
    assert second.aged_out == tuple(sorted(e.id for e in current)) and second.removed == ()
    assert {presence[e.id] for e in current} == {"aged_out"}


def test_a_failed_write_rolls_back_everything(tmp_path: Path) -> None:
    a, b = entry("1", 20), entry("2", 21)
    with Store(tmp_path / "db.sqlite3") as store:
        store.apply_feed(feed(a), NOW)
        before = store.articles()
        with pytest.raises(RuntimeError), store.transaction():
            store.apply_feed(feed(b, replace(a, title="Changed")), NOW)
            raise RuntimeError("crash mid-store")
        assert store.articles() == before


class _CommitFailsOnce:
    """A connection whose first COMMIT fails as on a full disk (SQLite then keeps the
    transaction open)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.failed = False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and not self.failed:
            self.failed = True
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)


def test_a_failed_commit_leaves_no_transaction_open(tmp_path: Path) -> None:
    """Else every later transaction of the process (the daemon's) would join the
    dangling one and never be committed."""
    with Store(tmp_path / "db.sqlite3") as store:
        store._db = _CommitFailsOnce(store._db)  # type: ignore[assignment]
        with pytest.raises(sqlite3.OperationalError), store.transaction():
            store.save_site_fingerprint("index", "lost")
        with store.transaction():
            store.save_site_fingerprint("index", "kept")
    with Store(tmp_path / "db.sqlite3") as store:  # what another process reads
        assert store.site_fingerprint("index") == "kept"


def test_source_state_round_trip(tmp_path: Path) -> None:
    state = SourceState(
        source_id="wn",
        config_url="https://a.example/feed",
        url="https://b.example/feed",
        etag='"x"',
        last_modified="Mon, 23 Nov 2026 10:00:00 GMT",
        last_attempt=NOW,
        last_success=NOW - timedelta(hours=1),
        last_error="HTTP 500",
        consecutive_failures=3,
        next_due=NOW + timedelta(minutes=5),
        disabled=None,
        last_warning="feed is not well-formed",
        last_items=15,
        suspicious="the feed looks wrong: none of its 2 item(s) is among the 15 current ones",
    )
    with Store(tmp_path / "db.sqlite3") as store:
        store.save_source_state(state)
    with Store(tmp_path / "db.sqlite3") as store:
        assert store.source_state("wn") == state
        assert store.source_state("other") is None


def test_slugs_come_from_the_outlet_url_and_are_unique_and_kept(tmp_path: Path) -> None:
    from syndicator.store import make_slug

    assert (
        make_slug("https://www.worthynews.com/78415-churches-in-kyiv/", "X")
        == "78415-churches-in-kyiv"
    )
    assert make_slug("https://www.worthynews.com/?p=78415", "Église à Kyiv!") == "eglise-a-kyiv"
    assert make_slug(None, "") == "article"
    assert make_slug("https://x.example/123", "123") == "article"  # never a bare number
    with Store(tmp_path / "s.sqlite3") as store:
        store._db.execute(  # a row cleaned before slugs existed (schema 3)
            "INSERT INTO articles (source_id, id, title, link, categories, content_html, "
            "summary_html, images, content_hash, revision, first_seen, last_seen, changed_at, "
            "presence, cleaned) VALUES ('wn', ?, 'Same title', NULL, '[]', '', '', '[]', 'h', 1, "
            "'2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00', "
            "'2026-11-01T00:00:00+00:00', 'present', '{}')",
            ("a",),
        )
        store._db.execute(
            "INSERT INTO articles (source_id, id, title, link, categories, content_html, "
            "summary_html, images, content_hash, revision, first_seen, last_seen, changed_at, "
            "presence, cleaned) VALUES ('wn', ?, 'Same title', NULL, '[]', '', '', '[]', 'h', 1, "
            "'2026-11-02T00:00:00+00:00', '2026-11-02T00:00:00+00:00', "
            "'2026-11-02T00:00:00+00:00', 'present', '{}')",
            ("b",),
        )
        assert store.ensure_slugs() == 2
        assert [a.slug for a in store.articles()] == ["same-title-2", "same-title"]
        assert store.ensure_slugs() == 0
