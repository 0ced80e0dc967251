"""Ingest: poll each source when due, record how it went, and clean what it brought.

A source's failure is a result (its state records the error and when to try again),
never a crash of the run. Every stored article is cleaned once per content and settings;
`load_stories` hands what was cleaned to the publish stage as `Story` records.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import replace
from datetime import datetime, timedelta

from . import clean, schedule
from .clean.worker import Budget, Refusal, shared
from .config import Config, SourceConfig
from .errors import FetchError, ParseError, SourceGone
from .fetch import Fetcher
from .models import (
    CleanReport,
    EntryChanges,
    FetchResult,
    ParsedFeed,
    SourceReport,
    SourceState,
    Story,
)
from .parse import parse_feed
from .store import Store

log = logging.getLogger(__name__)
CLEAN_BUDGET = Budget()  # what cleaning one article may take (`clean.worker`)


def current_state(stored: SourceState | None, source: SourceConfig) -> SourceState:
    """The state to poll with: a fresh one when the source is new or its URL was edited."""
    if stored is None or stored.config_url != source.url:
        return SourceState(source_id=source.id, config_url=source.url, url=source.url)
    return stored


def poll_source(
    config: Config,
    source: SourceConfig,
    store: Store,
    fetcher: Fetcher,
    now: datetime,
    *,
    rng: random.Random,
    force: bool = False,
) -> SourceReport:
    """Poll one source if due; record the outcome in the store and return it."""
    state = current_state(store.source_state(source.id), source)
    if state.disabled and not force:
        return SourceReport(source.id, "disabled", state.url, error=state.disabled)
    if not force and not schedule.is_due(state, now):
        return SourceReport(source.id, "skipped", state.url, next_due=state.next_due)

    interval = timedelta(minutes=config.interval_minutes(source))
    attempt = replace(state, last_attempt=now)
    try:
        fetched = fetcher.fetch(
            source.id, state.url, now=now, etag=state.etag, last_modified=state.last_modified
        )
        parsed = None if fetched.not_modified else parse_feed(fetched)
    except (FetchError, ParseError) as exc:
        return _record_failure(config, store, attempt, exc, now, interval, rng)
    except Exception as exc:  # a bug must cost one source, not the run
        log.exception("%s: unexpected error", source.id)
        return _record_failure(config, store, attempt, exc, now, interval, rng)

    return _record_success(store, state, fetched, parsed, now, interval)


def _record_success(
    store: Store,
    state: SourceState,
    fetched: FetchResult,
    parsed: ParsedFeed | None,
    now: datetime,
    interval: timedelta,
) -> SourceReport:
    """Store what a poll of `state`'s source brought (`parsed` is None: not modified) and
    the source's new state."""
    succeeded = replace(
        state,
        last_attempt=now,
        url=fetched.moved_to or state.url,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        last_success=now,
        last_error=None,
        consecutive_failures=0,
        next_due=schedule.after_success(now, interval),
        disabled=None,
        last_warning=state.last_warning if parsed is None else "; ".join(parsed.warnings) or None,
    )
    with store.transaction():
        if parsed is None:  # the same document as last time: its verdict stands
            store.touch_present(state.source_id, now)
            changes = EntryChanges()
        else:
            changes = store.apply_feed(parsed, now, state.last_items)
            succeeded = replace(
                succeeded,
                language=parsed.language,
                last_items=len(parsed.entries),
                suspicious=str(changes.suspicious) if changes.suspicious else None,
            )
        store.save_source_state(succeeded)
    stored = {*changes.new, *changes.changed}
    return SourceReport(
        state.source_id,
        "not_modified" if parsed is None else "updated",
        succeeded.url,
        changes=changes,
        warnings=parsed.warnings if parsed else (),
        moved_to=fetched.moved_to,
        next_due=succeeded.next_due,
        damaged=tuple(i for i in parsed.damaged if i in stored) if parsed else (),
    )


def _record_failure(
    config: Config,
    store: Store,
    state: SourceState,
    exc: Exception,
    now: datetime,
    interval: timedelta,
    rng: random.Random,
) -> SourceReport:
    failures = state.consecutive_failures + 1
    reason = exc.reason if isinstance(exc, FetchError | ParseError) else f"internal error: {exc!r}"
    retry_after = exc.retry_after if isinstance(exc, FetchError) else None
    next_due = schedule.after_failure(
        now,
        interval,
        failures,
        timedelta(hours=config.fetch.max_backoff_hours),
        rng,
        retry_after,
    )
    failed = replace(
        state,
        last_error=reason,
        consecutive_failures=failures,
        next_due=next_due,
        disabled=reason if isinstance(exc, SourceGone) else None,
    )
    with store.transaction():
        store.save_source_state(failed)
    return SourceReport(state.source_id, "failed", state.url, error=reason, next_due=next_due)


def clean_source(source: SourceConfig, store: Store, budget: Budget | None = None) -> CleanReport:
    """Clean every stored article of `source` not yet cleaned from its current content
    with the current settings; everything else is left alone (it costs nothing). Each is
    cleaned within `budget` (`CLEAN_BUDGET` unless given): one that needs more is refused
    and named, and the others are cleaned."""
    key = clean.fingerprint(source.clean)
    pending = store.entries_to_clean(source.id, key)
    errors = []
    worker = shared(budget or CLEAN_BUDGET)
    for entry in pending:
        try:
            article = worker.clean(entry, source.clean)
        except Exception as exc:  # one hostile article must not stop the rest
            log.exception("%s: cannot clean %s", source.id, entry.id)
            errors.append(f"{entry.id}: cannot clean: {exc!r}")
            continue
        if isinstance(article, Refusal):  # refused as it is: said, no traceback
            if article.details:  # unless it was a bug
                log.error("%s: cannot clean %s:\n%s", source.id, entry.id, article.details)
            errors.append(f"{entry.id}: cannot clean: {article.reason}")
            continue
        with store.transaction():
            store.save_cleaned(article, key, clean.dump_article(article))
    cleaned = len(pending) - len(errors)
    return CleanReport(
        source.id,
        cleaned=cleaned,
        up_to_date=store.count_cleaned(source.id, key) - cleaned,
        errors=tuple(errors),
    )


def load_stories(config: Config, store: Store) -> list[Story]:
    """Every cleaned article of a configured source, newest first, ready to render."""
    with store.transaction():
        store.ensure_slugs()
    stories = []
    states = store.source_states()
    for source in config.sources:
        state = states.get(source.id)
        language = source.language or (state.language if state else None)
        policy = clean.policy_for(source.clean)
        for stored, cleaned in store.cleaned(source.id):
            article = clean.load_article(cleaned, source.clean)
            stories.append(
                Story(
                    article=article,
                    slug=stored.slug or "",
                    outlet=source.clean.outlet_name,
                    revision=stored.revision,
                    presence=stored.presence,
                    first_seen=stored.first_seen,
                    version=hashlib.sha256(cleaned.encode()).hexdigest()[:32],
                    language=language,
                    policy=policy,
                )
            )
    stories.sort(key=lambda story: (-story.date.timestamp(), story.slug))
    return stories
