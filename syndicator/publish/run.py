"""The publish loop: render every subscriber whose inputs changed, and publish the outputs
through one `Target`, in batches, recording each subscriber once its files are in place.

The decisions are `publish.decide`'s (pure); this module reads what they need, carries
them out in a safe order (a subscriber's article pages before its lists, the site's
index after every subscriber, retired folders after the index that stopped listing them)
and turns every failure into a report.
"""

from __future__ import annotations

import logging
import os
import posixpath
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from ..config import Config, SubscriberConfig
from ..errors import NotRecorded, PublishError, RenderError
from ..ingest import load_stories
from ..models import PublishOutcome, PublishReport, SubscriberReport
from ..render import Plan, Renderer, Selections, article_path, page_tokens, plan, settings_digest
from ..store import Store
from . import decide
from .s3 import (
    Drift,
    S3Target,
    find_credentials,
    find_drift,
    open_bucket,
    purger,
    s3_target,
    target_name,
)
from .target import LocalTarget, Target

log = logging.getLogger(__name__)

BATCH_BYTES = 64 * 1024 * 1024  # staged bytes per commit (one durability barrier each)
NOT_REACHED = "not reached: publishing stopped"  # how a subscriber left for the next run fails
INDEX = "index"  # the site-wide outputs' name in the ledger


@dataclass(frozen=True, slots=True)
class Staged:
    """A subscriber whose outputs are staged on the target and not yet committed."""

    plan: Plan
    tokens: Mapping[str, str]  # slug → what its article page was rendered from
    files: int  # output files it has (rendered, and kept as they are)
    written: int  # of which differ from what was there


def publish_outputs(
    config: Config,
    store: Store,
    now: datetime,
    *,
    force: bool = False,
    renderer: Renderer | None = None,
    target: Target | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PublishOutcome:
    """Render every subscriber whose inputs changed (all with `force`) and publish them.

    A subscriber that fails to render, or whose files cannot be written (a file or link
    in the way of its folder), keeps its last good outputs and is reported; the others
    carry on. When the target itself refuses (full, read-only, failing), what is staged
    and whole is still published, every changed subscriber not reached is reported and
    left for the next run, and the outcome carries the error; so it does when the
    database cannot record what was published. Files are published in batches (one
    durability barrier each); the ledger records a subscriber only once its files are in
    place. A failing site-wide template (index.html, subscribers.opml) keeps the last good
    index; the subscribers are published all the same. `renderer` and `target` (the
    output folder) are made from `config` unless given; `progress(done, total)` is called
    per subscriber.
    """
    try:
        target = target or target_for(config, store)
    except PublishError as exc:  # no credentials for the bucket, say
        log.error("publishing stopped: %s", exc)
        return PublishOutcome((), PublishReport(), str(exc))
    return PublishRun(
        config,
        store,
        now,
        force=force,
        renderer=renderer or Renderer(config.path.parent, config.site),
        target=target,
        progress=progress,
    ).run()


def verify_bucket(config: Config, store: Store, now: datetime) -> tuple[Drift, PublishOutcome]:
    """List the bucket, forget from the manifest whatever is missing or changed there, and
    publish every subscriber again (`force`), so exactly that is uploaded again."""
    publish = config.publish
    if publish.bucket is None:
        raise PublishError(f"{config.path}: [publish] target names no bucket: nothing to verify")
    bucket = open_bucket(publish, find_credentials(os.environ, Path.home()))
    drift = find_drift(store, bucket, target_name(publish))
    target = S3Target(
        store,
        bucket,
        target_name(publish),
        public_url=config.site.base_url,
        purger=purger(publish),
    )
    return drift, publish_outputs(config, store, now, force=True, target=target)


def target_for(config: Config, store: Store) -> Target:
    """Where `config` publishes: the bucket `[publish] target` names, else `output_dir`."""
    if config.publish.bucket is None:
        return LocalTarget(config.site.output_dir)
    return s3_target(config, store)


class PublishRun:
    """One publish: the subscribers in render order, then the site's index and the
    retired subscribers; `run` once."""

    def __init__(
        self,
        config: Config,
        store: Store,
        now: datetime,
        *,
        force: bool,
        renderer: Renderer,
        target: Target,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.config, self.store, self.now, self.force = config, store, now, force
        self.renderer, self.target, self.progress = renderer, target, progress
        self.stories = load_stories(config, store)
        self.by_slug = {story.slug: story for story in self.stories}
        self.ledger = store.page_ledger()
        self.records = store.render_records()
        self.selections = Selections(self.stories, now)
        self.present = target.present()  # a folder deleted by hand is made again
        self.ordered = sorted(config.subscribers, key=renderer.sort_key)
        self.reports: dict[str, SubscriberReport] = {}
        self.pending: list[Staged] = []
        self.settings: dict[str, bytes] = {}  # each subscriber's options, digested once
        self.stopped: PublishError | None = None  # the target refused: no one else is tried

    def run(self) -> PublishOutcome:
        """Publish; every failure is in the outcome, none is raised."""
        try:
            for number, subscriber in enumerate(self.ordered, 1):
                if self.progress is not None:
                    self.progress(number, len(self.ordered))
                self._subscriber(subscriber)
            if self.stopped is not None:  # what is staged is whole: publish it, then stop
                self._commit()
                return self._stop(str(self.stopped), "not published")
            return self._finish()
        except PublishError as exc:
            return self._stop(str(exc), "not published")
        except NotRecorded as exc:
            error = f"{self.config.database_path}: cannot record what was published: {exc}"
            return self._stop(error, "published, not recorded (the next run records it)")
        except sqlite3.Error as exc:
            return self._stop(f"{self.config.database_path}: cannot record: {exc}", "not published")
        finally:
            self.target.discard()  # whatever is staged and not committed: no stray files

    def _subscriber(self, subscriber: SubscriberConfig) -> None:
        """Render and stage one subscriber, unless it is up to date (or fails: reported)."""
        decided = self._plan(subscriber)
        record = self.records.get(subscriber.id)
        on_target = subscriber.id in self.present
        if decide.up_to_date(record, decided.fingerprint, on_target=on_target, force=self.force):
            self.reports[subscriber.id] = SubscriberReport(
                subscriber.id, "unchanged", files=record.files, items=len(decided.listed)
            )
            return
        if self.stopped is not None:  # changed, and the target refused: left for the next run
            return
        first = not decide.published(self.records, subscriber.id)  # its first publish here
        if refusal := self.target.refusal(subscriber.id, first=first):
            self._fail(subscriber.id, refusal)
            return
        tokens = page_tokens(decided)
        trusted = decide.pages_trusted(record, first=first, force=self.force)
        unchanged = self._unchanged_pages(decided, tokens) if trusted else []
        try:
            files = self.renderer.render(decided, unchanged=unchanged)
        except RenderError as exc:
            self._fail(subscriber.id, exc.message)
            return
        if oversized := decide.oversized(files):
            self._fail(subscriber.id, oversized)
            return
        self._stage(decided, tokens, files, unchanged)

    def _plan(self, subscriber: SubscriberConfig) -> Plan:
        """What the subscriber's outputs show now (its options digested for the index)."""
        salt = self.renderer.salt(subscriber.id)
        previous = self.ledger.get(subscriber.id, {})
        if not decide.published(self.records, subscriber.id):  # its first publish here
            left = self.target.pages_left(subscriber.id)
            previous = {**decide.adopted_pages(left, self.now), **previous}
        decided = plan(
            subscriber,
            self.stories,
            self.by_slug,
            previous,
            self.now,
            salt,
            selections=self.selections,
        )
        self.settings[subscriber.id] = settings_digest(decided.settings)
        return decided

    def _unchanged_pages(self, decided: Plan, tokens: Mapping[str, str]) -> list[str]:
        """The slugs whose article page the subscriber last published from the same inputs,
        and which is still there (a page deleted by hand is made again)."""
        subscriber_id = decided.subscriber.id
        same = decide.same_pages(tokens, self.store.page_tokens(subscriber_id))
        if not same:
            return []
        there = self.target.listing(posixpath.dirname(article_path(subscriber_id, same[0])))
        return [slug for slug in same if article_path(subscriber_id, slug) in there]

    def _stage(
        self,
        decided: Plan,
        tokens: Mapping[str, str],
        files: Mapping[str, bytes],
        unchanged: list[str],
    ) -> None:
        """Put the subscriber's files on the target (its pages first); commit a full batch."""
        subscriber_id = decided.subscriber.id
        kept = [article_path(subscriber_id, slug) for slug in (*unchanged, *decided.found)]
        try:
            written = self.target.put(
                decide.leaves_first(files, subscriber_id), folder=subscriber_id, keep=kept
            )
        except PublishError as exc:
            self._fail(subscriber_id, f"not published: {exc}", record=not exc.disk_wide)
            if exc.disk_wide:
                self.stopped = exc
            return
        self.pending.append(Staged(decided, tokens, len(files) + len(kept), written))
        if self.target.pending_bytes >= BATCH_BYTES:
            self._commit()

    def _fail(self, subscriber_id: str, error: str, *, record: bool = True) -> None:
        log.warning("subscriber %s: %s", subscriber_id, error)
        self.reports[subscriber_id] = SubscriberReport(subscriber_id, "failed", error=error)
        if record:  # not when the disk refused: the database may well be on it
            with self.store.transaction():
                self.store.save_render_failure(subscriber_id, error, self.now)

    def _commit(self) -> dict[str, PublishError]:
        """Commit what is staged and record the subscribers whose files are in place;
        return the folders whose stale files could not be removed."""
        with self.store.transaction():  # until recorded, their files may be ahead of the ledger
            self.store.unsettle(staged.plan.subscriber.id for staged in self.pending)
        refused = self.target.commit()
        for staged in self.pending:
            subscriber_id = staged.plan.subscriber.id
            if (error := refused.get(subscriber_id)) is not None:
                self._fail(subscriber_id, f"stale files not removed: {error}")  # tried again
        self._record(
            [staged for staged in self.pending if staged.plan.subscriber.id not in refused]
        )
        self.pending.clear()
        return refused

    def _record(self, done: list[Staged]) -> None:
        """Record `done` as published; reported as such only once recorded."""
        published = []
        try:
            with self.store.transaction():
                for staged in done:
                    decided = staged.plan
                    self.store.save_published(
                        decided.subscriber.id,
                        decided.fingerprint,
                        self.now,
                        staged.files,
                        decided.ledger,
                        decided.settings,
                        staged.tokens,
                        len(decided.listed),
                    )
                    published.append(
                        SubscriberReport(
                            decided.subscriber.id,
                            "published",
                            staged.files,
                            staged.written,
                            items=len(decided.listed),
                        )
                    )
        except sqlite3.Error as exc:
            raise NotRecorded(str(exc)) from exc
        for report in published:
            self.reports[report.subscriber_id] = report

    def _finish(self) -> PublishOutcome:
        """After every subscriber: the site's index, the marks, the retired; commit."""
        live = {r.subscriber_id for r in self.reports.values() if r.outcome == "published"}
        live.update(staged.plan.subscriber.id for staged in self.pending)
        listed = decide.index_listing(
            index_subscribers(self.config, self.store), live, self.records
        )
        index = self.renderer.index_fingerprint(listed, self.settings)
        known = self.store.site_fingerprint(INDEX)
        due = decide.index_due(known, index, on_target=self.present, force=self.force)
        index_error = self._stage_index(listed, first=known is None) if due else None
        earlier = decide.published_before(self.config, self.records, self.reports)
        self.target.adopt(earlier, site=known is not None and not due)
        retired = decide.retired_subscribers(self.config, self.records)
        for subscriber_id in retired:
            if decide.published(self.records, subscriber_id):  # else the folder is not ours
                self.target.delete(subscriber_id)
        refused = self._commit()
        with self.store.transaction():
            if index_error is None:
                self.store.save_site_fingerprint(INDEX, index)
            for subscriber_id in retired:
                if subscriber_id in refused:  # its files stay: so does its ledger, to retry
                    error = str(refused[subscriber_id])
                    self.reports[subscriber_id] = SubscriberReport(
                        subscriber_id, "failed", error=error
                    )
                    continue
                self.store.forget_subscriber(subscriber_id)
                self.reports[subscriber_id] = SubscriberReport(subscriber_id, "retired")
        return PublishOutcome(self._in_order(), self.target.report, index_error=index_error)

    def _stage_index(self, listed: list[SubscriberConfig], *, first: bool) -> str | None:
        """Put index.html and subscribers.opml listing `listed` (for the `first` time:
        unless someone else's are there); why not, or None."""
        if first and (refusal := self.target.index_refusal()):
            log.warning("%s", refusal)  # a web root's own home page, say
            return refusal
        try:
            self.target.put(self.renderer.render_index(listed))
        except RenderError as exc:
            log.warning("%s", exc)
            return exc.message
        except PublishError as exc:  # a folder in index.html's way, say
            log.warning("%s", exc)
            return str(exc)
        return None

    def _stop(self, error: str, pending_were: str) -> PublishOutcome:
        """Publishing stopped on `error`: the subscribers still pending are reported as
        `pending_were` (how far they got), every subscriber not reached as such."""
        log.error("publishing stopped: %s", error)
        for staged in self.pending:
            subscriber_id = staged.plan.subscriber.id
            self.reports[subscriber_id] = SubscriberReport(
                subscriber_id, "failed", error=f"{pending_were}: {error}"
            )
        self.pending.clear()
        for subscriber in self.ordered:
            if subscriber.id not in self.reports:
                self.reports[subscriber.id] = SubscriberReport(
                    subscriber.id, "failed", error=f"{NOT_REACHED}: {error}", reached=False
                )
        return PublishOutcome(self._in_order(), self.target.report, error)

    def _in_order(self) -> tuple[SubscriberReport, ...]:
        """The reports, configured subscribers first (in config order), then the rest."""
        configured = [s.id for s in self.config.subscribers]
        ids = configured + sorted(set(self.reports) - set(configured))
        return tuple(self.reports[i] for i in ids if i in self.reports)


def index_subscribers(config: Config, store: Store) -> list[SubscriberConfig]:
    """Who index.html and subscribers.opml may list: every configured subscriber, and
    each whose file is broken as it was last published (its outputs stay, so its entry
    does)."""
    broken = []
    for subscriber_id, settings in store.published_settings(
        sorted(config.broken_subscriber_ids)
    ).items():
        try:
            broken.append(SubscriberConfig.model_validate_json(settings))
        except ValidationError:  # published by a version whose options no longer load
            log.warning(
                "%s: its last published options no longer load; left out of the index",
                subscriber_id,
            )
    return decide.index_candidates(config.subscribers, broken)
