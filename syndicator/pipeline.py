"""Wire the stages: `run_once(config, now)` polls due sources and stores what changed.

The CLI, cron mode and the daemon all call `run_once`. A failure of one source is a
result (recorded in its state and in the report), never a crash of the run.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta

import httpx2

from . import clean, schedule
from .config import Config, SourceConfig
from .errors import FetchError, ParseError, SourceGone
from .fetch import Fetcher
from .models import CleanReport, EntryChanges, RunReport, SourceReport, SourceState
from .parse import parse_feed
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
) -> RunReport:
    """Run one cycle: poll every due source (all of them with `force`), store the changes.

    `only` limits the run to some source ids; `transport` and `rng` are test seams.
    """
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    sources = [s for s in config.sources if only is None or s.id in only]
    contact = config.site.contact_url or config.site.base_url
    with (
        Store(config.database_path) as store,
        Fetcher(config.fetch, contact_url=contact, transport=transport) as fetcher,
    ):
        reports = tuple(
            poll_source(config, source, store, fetcher, now, rng=rng, force=force)
            for source in sources
        )
        cleaning = tuple(clean_source(source, store) for source in sources)
    return RunReport(
        started=now,
        sources=reports,
        cleaning=cleaning,
        config_errors=tuple(str(problem) for problem in config.problems),
    )


def clean_source(source: SourceConfig, store: Store) -> CleanReport:
    """Clean every stored article of `source` not yet cleaned from its current content
    with the current settings; everything else is left alone (it costs nothing)."""
    key = clean.fingerprint(source.clean)
    pending = store.entries_to_clean(source.id, key)
    errors = []
    for entry in pending:
        try:
            article = clean.clean_entry(entry, source.clean)
        except Exception as exc:  # one hostile article must not stop the rest
            log.exception("%s: cannot clean %s", source.id, entry.id)
            errors.append(f"{entry.id}: cannot clean: {exc!r}")
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

    succeeded = replace(
        attempt,
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
        if parsed is None:
            store.touch_present(source.id, now)
            changes = EntryChanges()
        else:
            changes = store.apply_feed(parsed, now)
        store.save_source_state(succeeded)
    return SourceReport(
        source.id,
        "not_modified" if parsed is None else "updated",
        succeeded.url,
        changes=changes,
        warnings=parsed.warnings if parsed else (),
        moved_to=fetched.moved_to,
        next_due=succeeded.next_due,
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
