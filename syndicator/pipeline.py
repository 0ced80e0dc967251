"""Wire the stages: `run_once(config, now)` polls, cleans, renders and publishes.

The CLI, cron mode and the daemon all call `run_once`. A failure of one source or one
subscriber is a result (recorded in the store and in the report), never a crash of the
run, and never costs anyone their last good outputs.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from pathlib import Path

import httpx2
from pydantic import ValidationError

from . import ingest
from .config import Config, SubscriberConfig
from .errors import (
    NotRecorded,
    PublishError,
    RenderError,
    StoreError,
)
from .fetch import Fetcher
from .models import (
    SITE_FILES,
    PublishOutcome,
    RenderRecord,
    RunReport,
    SubscriberReport,
)
from .publish import OWNER_MARK, OWNER_MARK_TEXT, Publisher, ownership
from .render import (
    Plan,
    Renderer,
    Selections,
    article_path,
    page_tokens,
    plan,
    settings_digest,
)
from .store import Store

log = logging.getLogger(__name__)


def run_once(
    config: Config,
    now: datetime,
    *,
    force: bool = False,
    only: Collection[str] | None = None,
    transport: httpx2.BaseTransport | None = None,
    rng: random.Random | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunReport:
    """Run one cycle: poll every due source (all of them with `force`), store the changes,
    clean, then render and publish the subscribers whose inputs changed.

    `only` limits the polling to some source ids; `progress(done, total)` is called per
    subscriber; `transport` and `rng` are test seams.
    """
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    sources = [s for s in config.sources if only is None or s.id in only]
    contact = config.site.contact_url or config.site.base_url
    with (
        Store(config.database_path) as store,
        Fetcher(config.fetch, contact_url=contact, transport=transport) as fetcher,
    ):
        try:
            reports = tuple(
                ingest.poll_source(config, source, store, fetcher, now, rng=rng, force=force)
                for source in sources
            )
            cleaning = tuple(ingest.clean_source(source, store) for source in sources)
            outcome = publish_outputs(config, store, now, force=force, progress=progress)
        except sqlite3.Error as exc:  # read-only, full, corrupt: every write rolled back
            raise StoreError(
                f"{config.database_path}: the state database cannot be used: {exc}; "
                "nothing more was stored or published this run"
            ) from exc
    return RunReport(
        started=now,
        sources=reports,
        cleaning=cleaning,
        config_errors=tuple(str(problem) for problem in config.problems),
        subscribers=outcome.subscribers,
        publish=outcome.publish,
        publish_error=outcome.error,
        index_error=outcome.index_error,
    )


def publish_outputs(
    config: Config,
    store: Store,
    now: datetime,
    *,
    force: bool = False,
    renderer: Renderer | None = None,
    publisher: Publisher | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PublishOutcome:
    """Render every subscriber whose inputs changed (all with `force`) and publish them.

    A subscriber that fails to render, or whose files cannot be written (a file or link
    in the way of its folder), keeps its last good outputs and is reported; the others
    carry on. When the file system itself refuses (full, read-only, failing), what is
    staged and whole is still published, every changed subscriber not reached is reported
    and left for the next run, and the outcome carries the error; so it does when the
    database cannot record what was published. Files are published in batches (one
    durability barrier each); the ledger records a subscriber only once its files are in
    place. A failing site-wide template (index.html, subscribers.opml) keeps the last good
    index; the subscribers are published all the same. `renderer` and `publisher` (rooted
    at the output folder) are made from `config` unless given.
    """
    renderer = renderer or Renderer(config.path.parent, config.site)
    stories = ingest.load_stories(config, store)
    by_slug = {story.slug: story for story in stories}
    ledger = store.page_ledger()
    records = store.render_records()
    selections = Selections(stories, now)
    output_dir = config.site.output_dir
    publisher = publisher or Publisher(output_dir)
    present = outputs_present(output_dir)  # a folder deleted by hand is made again
    reports: dict[str, SubscriberReport] = {}
    # Staged, not yet committed: each subscriber's plan, page tokens, files, files written.
    pending: list[tuple[Plan, dict[str, str], int, int]] = []
    settings: dict[str, bytes] = {}  # each subscriber's options, digested once
    stopped: PublishError | None = None  # the file system refused: no one else is tried

    def fail(subscriber_id: str, error: str, *, record: bool = True) -> None:
        log.warning("subscriber %s: %s", subscriber_id, error)
        reports[subscriber_id] = SubscriberReport(subscriber_id, "failed", error=error)
        if record:  # not when the disk refused: the database may well be on it
            with store.transaction():
                store.save_render_failure(subscriber_id, error, now)

    def commit() -> dict[str, PublishError]:
        with store.transaction():  # until recorded, their files may be ahead of the ledger
            store.unsettle(done.subscriber.id for done, _, _, _ in pending)
        refused = publisher.commit()
        for done, _, _, _ in pending:
            if (error := refused.get(done.subscriber.id)) is not None:
                fail(done.subscriber.id, f"stale files not removed: {error}")  # tried again
        published = []
        try:
            with store.transaction():
                for done, tokens, files, written in pending:
                    subscriber_id = done.subscriber.id
                    if subscriber_id in refused:
                        continue
                    store.save_published(
                        subscriber_id,
                        done.fingerprint,
                        now,
                        files,
                        done.ledger,
                        done.settings,
                        tokens,
                        len(done.listed),
                    )
                    published.append(
                        SubscriberReport(
                            subscriber_id, "published", files, written, items=len(done.listed)
                        )
                    )
        except sqlite3.Error as exc:
            raise NotRecorded(str(exc)) from exc
        for report in published:  # recorded: reported as such only now
            reports[report.subscriber_id] = report
        pending.clear()
        return refused

    def stop(error: str, pending_were: str) -> PublishOutcome:
        """Publishing stopped on `error`: the subscribers still pending are reported as
        `pending_were` (how far they got), every subscriber not reached as such."""
        log.error("publishing stopped: %s", error)
        for done, _, _, _ in pending:
            subscriber_id = done.subscriber.id
            reports[subscriber_id] = SubscriberReport(
                subscriber_id, "failed", error=f"{pending_were}: {error}"
            )
        pending.clear()
        for subscriber in ordered:
            if subscriber.id not in reports:
                reports[subscriber.id] = SubscriberReport(
                    subscriber.id, "failed", error=f"{NOT_REACHED}: {error}", reached=False
                )
        return PublishOutcome(_in_order(config, reports), publisher.report, error)

    ordered = sorted(config.subscribers, key=renderer.sort_key)
    try:
        for number, subscriber in enumerate(ordered, 1):
            if progress is not None:
                progress(number, len(ordered))
            record = records.get(subscriber.id)
            salt = renderer.salt(subscriber.id)
            previous = ledger.get(subscriber.id, {})
            if not _published(records, subscriber.id):  # its first publish in this database
                previous = {
                    **ownership.pages_on_disk(output_dir, subscriber.id, now),
                    **previous,
                }
            decided = plan(subscriber, stories, by_slug, previous, now, salt, selections=selections)
            settings[subscriber.id] = settings_digest(decided.settings)
            if (
                not force
                and record is not None
                and record.fingerprint == decided.fingerprint
                and record.settled  # else its files may be ahead of the ledger
                and record.items is not None  # published before items were kept: once more
                and subscriber.id in present
            ):
                reports[subscriber.id] = SubscriberReport(
                    subscriber.id, "unchanged", files=record.files, items=len(decided.listed)
                )
                continue
            if stopped is not None:  # changed, and the disk refused: left for the next run
                continue
            first = not _published(records, subscriber.id)  # its first publish here
            if taken := ownership.taken(output_dir, subscriber.id, first=first):
                fail(subscriber.id, taken)
                continue
            tokens = page_tokens(decided)
            # Its pages' tokens tell what is on disk only while its last publish is recorded.
            trusted = not first and not force and record is not None and record.settled
            unchanged = _unchanged_pages(config, store, decided, tokens) if trusted else []
            try:
                files = renderer.render(decided, unchanged=unchanged)
            except RenderError as exc:
                fail(subscriber.id, exc.message)
                continue
            if oversized := _oversized(files):
                fail(subscriber.id, oversized)
                continue
            kept = [article_path(subscriber.id, slug) for slug in (*unchanged, *decided.found)]
            try:
                written = publisher.stage(files, managed=[subscriber.id], keep=kept)
            except PublishError as exc:
                fail(subscriber.id, f"not published: {exc}", record=not exc.disk_wide)
                if exc.disk_wide:
                    stopped = exc
                continue
            pending.append((decided, tokens, len(files) + len(kept), written))
            if publisher.pending_bytes >= BATCH_BYTES:
                commit()
        if stopped is not None:  # what is staged is whole: publish it, then stop
            commit()
            return stop(str(stopped), "not published")
        earlier = [  # published before, not just now (the mark is with its files)
            subscriber_id
            for subscriber_id in sorted(_present(config))
            if _published(records, subscriber_id)
            and ((report := reports.get(subscriber_id)) is None or report.outcome != "published")
        ]
        for subscriber_id in ownership.unmarked(output_dir, earlier):
            publisher.stage({f"{subscriber_id}/{OWNER_MARK}": OWNER_MARK_TEXT})
        retired = retired_subscribers(config, records)
        for subscriber_id in retired:
            if not _published(records, subscriber_id):  # the folder is not ours
                continue
            if found := ownership.foreign(output_dir, subscriber_id):  # made again by someone else
                log.warning(
                    "retired subscriber %s: %s is left as it is: it holds files Syndicator "
                    "did not write, such as %s, and not its mark",
                    subscriber_id,
                    output_dir / subscriber_id,
                    ", ".join(found),
                )
                continue
            publisher.stage({}, managed=[subscriber_id])
        # Listed once it has outputs: published before, or in this run (maybe pending).
        live = {r.subscriber_id for r in reports.values() if r.outcome == "published"}
        live.update(done.subscriber.id for done, _, _, _ in pending)
        listed = [
            subscriber
            for subscriber in index_subscribers(config, store)
            if subscriber.id in live or _published(records, subscriber.id)
        ]
        index = renderer.index_fingerprint(listed, settings)
        index_error = None
        known = store.site_fingerprint(INDEX)
        if known is None and (index_error := ownership.index_taken(output_dir)):  # first time
            log.warning("%s", index_error)
        if index_error is None and (force or known != index or not present >= set(SITE_FILES)):
            try:
                publisher.stage({**renderer.render_index(listed), OWNER_MARK: OWNER_MARK_TEXT})
            except RenderError as exc:
                log.warning("%s", exc)
                index_error = exc.message
            except PublishError as exc:  # a folder in index.html's way, say
                log.warning("%s", exc)
                index_error = str(exc)
        elif known is not None and not ownership.is_marked(output_dir):  # from before marks
            publisher.stage({OWNER_MARK: OWNER_MARK_TEXT})
        refused = commit()
        with store.transaction():
            if index_error is None:
                store.save_site_fingerprint(INDEX, index)
            for subscriber_id in retired:
                if subscriber_id in refused:  # its files stay: so does its ledger, to retry
                    reports[subscriber_id] = SubscriberReport(
                        subscriber_id, "failed", error=str(refused[subscriber_id])
                    )
                    continue
                store.forget_subscriber(subscriber_id)
                reports[subscriber_id] = SubscriberReport(subscriber_id, "retired")
    except PublishError as exc:
        return stop(str(exc), "not published")
    except NotRecorded as exc:
        error = f"{config.database_path}: cannot record what was published: {exc}"
        return stop(error, "published, not recorded (the next run records it)")
    except sqlite3.Error as exc:
        return stop(f"{config.database_path}: cannot record: {exc}", "not published")
    finally:
        publisher.discard()  # whatever is staged and not committed: no stray temporary files
    return PublishOutcome(_in_order(config, reports), publisher.report, index_error=index_error)


def outputs_present(output_dir: Path) -> frozenset[str]:
    """The names in the output folder (subscriber folders, index files): one scandir,
    however many subscribers; none when it is gone or cannot be read."""
    try:
        with os.scandir(output_dir) as scan:
            return frozenset(entry.name for entry in scan)
    except OSError:
        return frozenset()


def outputs_left(report: RunReport, before: frozenset[str] = frozenset()) -> frozenset[str]:
    """The names a cycle left in the output folder, which must stay there until the next:
    the folder of every subscriber published or unchanged, and the index files unless
    they failed; of what was expected `before`, a failed subscriber's folder and failed
    index files too (their last good outputs are kept, so gone they are missing). Pure.
    (The daemon looks for them; `outputs_present` tells what is.)"""
    names = {s.subscriber_id for s in report.subscribers if s.outcome in {"published", "unchanged"}}
    names.update(before & {s.subscriber_id for s in report.subscribers if s.outcome == "failed"})
    if report.index_error is None and report.publish_error is None:
        names.update(SITE_FILES)
    else:
        names.update(before.intersection(SITE_FILES))
    return frozenset(names)


def _unchanged_pages(
    config: Config, store: Store, decided: Plan, tokens: Mapping[str, str]
) -> list[str]:
    """The slugs whose article page the subscriber last published from the same inputs,
    and which is still there (a page deleted by hand is made again)."""
    subscriber_id = decided.subscriber.id
    published = store.page_tokens(subscriber_id)
    same = [slug for slug, token in tokens.items() if published.get(slug) == token]
    if not same:
        return []
    folder = (config.site.output_dir / article_path(subscriber_id, same[0])).parent
    try:
        present = set(os.listdir(folder))
    except OSError:  # gone, or in the way: every page is made (and staging says why)
        return []
    return [slug for slug in same if f"{slug}.html" in present]


def _oversized(files: Mapping[str, bytes]) -> str | None:
    """Why `files` cannot be published when one is beyond any real output's size (an
    override template gone wrong), else None."""
    for name, data in files.items():
        if len(data) > MAX_FILE_BYTES:
            return (
                f"{name}: {len(data):,} bytes, over the {MAX_FILE_BYTES:,} any output may "
                "have (does an override template repeat something?)"
            )
    return None


MAX_FILE_BYTES = 32 * 1024 * 1024  # a full-text feed of 100 long stories is under 2 MB


BATCH_BYTES = 64 * 1024 * 1024  # staged bytes per durability barrier
NOT_REACHED = "not reached: publishing stopped"  # how a subscriber left for the next run fails
INDEX = "index"  # the site-wide outputs' name in the ledger


def index_subscribers(config: Config, store: Store) -> list[SubscriberConfig]:
    """Who index.html and subscribers.opml list: every configured subscriber, and each
    whose file is broken as it was last published (its outputs stay, so its entry does)."""
    kept = []
    for subscriber_id, settings in store.published_settings(
        sorted(config.broken_subscriber_ids)
    ).items():
        try:
            kept.append(SubscriberConfig.model_validate_json(settings))
        except ValidationError:  # published by a version whose options no longer load
            log.warning(
                "%s: its last published options no longer load; left out of the index",
                subscriber_id,
            )
    if not kept:
        return list(config.subscribers)
    return sorted([*config.subscribers, *kept], key=lambda subscriber: subscriber.id)


def retired_subscribers(config: Config, records: Mapping[str, RenderRecord]) -> list[str]:
    """Subscribers whose file is gone (not merely broken: a broken file keeps its
    outputs). Pure. Those never published have no folder of ours to remove."""
    return sorted(set(records) - _present(config))


def _present(config: Config) -> set[str]:
    """Every subscriber with a file, broken or not (a broken file keeps its outputs)."""
    return {s.id for s in config.subscribers} | config.broken_subscriber_ids


def _published(records: Mapping[str, RenderRecord], subscriber_id: str) -> bool:
    record = records.get(subscriber_id)
    return record is not None and record.fingerprint is not None


def _in_order(
    config: Config, reports: Mapping[str, SubscriberReport]
) -> tuple[SubscriberReport, ...]:
    ids = [s.id for s in config.subscribers] + sorted(
        set(reports) - {s.id for s in config.subscribers}
    )
    return tuple(reports[i] for i in ids if i in reports)
