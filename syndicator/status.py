"""What `status` shows and how problems are worded: typed rows read from the store, and
the sentences the CLI and the daemon both say. Nothing here prints or exits: a reader of
the state raises `StoreError`, and the caller decides what that means.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .admin import empty_selection_warnings, stored_categories
from .config import Config, SourceConfig, SubscriberConfig, display_path
from .errors import StoreError
from .ingest import current_state
from .models import RenderRecord, RunReport, SourceReport, SourceState, SubscriberReport
from .store import Store

Json = str | int | bool | None


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One configured source as the store last saw it."""

    id: str
    url: str  # the URL polled: differs from configured_url after a permanent redirect
    configured_url: str
    state: str  # "ok", "ok, with warnings", "suspicious", "failing (N×)", "disabled", ...
    polled: bool  # False: never polled at this configured URL (so it is due now)
    last_success: datetime | None
    last_error: str | None
    last_warning: str | None
    suspicious: str | None  # why its last document looked wrong
    consecutive_failures: int
    articles: int  # stored articles from it
    next_due: datetime | None  # None while polled: due now

    def to_json(self) -> dict[str, Json]:
        """The row as `status --json` prints it (times as "YYYY-MM-DD HH:MM UTC")."""
        return {
            "id": self.id,
            "url": self.url,
            "configured_url": self.configured_url,
            "state": self.state,
            "last_success": stamp(self.last_success),
            "last_error": self.last_error,
            "last_warning": self.last_warning,
            "suspicious": self.suspicious,
            "consecutive_failures": self.consecutive_failures,
            "articles": self.articles,
            "next_due": stamp(self.next_due) if self.polled else "now",
        }


@dataclass(frozen=True, slots=True)
class SubscriberStatus:
    """One subscriber (or one broken subscriber file) as the publish ledger saw it."""

    id: str
    name: str | None  # None for a file that does not load
    state: str  # "ok", "never published", "failing ...", "invalid file (skipped ...)"
    published_at: datetime | None
    items: int | None  # stories its lists showed; None: not known
    files: int | None  # None for a broken file never published
    last_error: str | None
    failed_at: datetime | None

    def to_json(self) -> dict[str, Json]:
        """The row as `status --json` prints it (times as "YYYY-MM-DD HH:MM UTC")."""
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "last_published": stamp(self.published_at),
            "items": self.items,
            "files": self.files,
            "last_error": self.last_error,
            "failed_at": stamp(self.failed_at),
        }


@dataclass(frozen=True, slots=True)
class Status:
    """Everything `status` shows: sources, the stored articles' categories, subscribers."""

    sources: tuple[SourceStatus, ...]
    categories: dict[str, int]  # by name; empty before the first run
    subscribers: tuple[SubscriberStatus, ...]

    def to_json(self) -> dict[str, object]:
        """What `status --json` prints, keys in this order."""
        return {
            "sources": [row.to_json() for row in self.sources],
            "categories": self.categories,
            "subscribers": [row.to_json() for row in self.subscribers],
        }


def read_status(config: Config) -> Status:
    """Read what `status` shows from the state database, never creating it. Raises
    `StoreError` (`StateUnusable` when the state folder cannot be used) when it cannot
    be read or is damaged."""
    sources = source_status(config)
    subscribers = subscriber_status(config)
    categories = dict(sorted((stored_categories(config) or {}).items()))
    return Status(tuple(sources), categories, tuple(subscribers))


def source_status(config: Config) -> list[SourceStatus]:
    """One row per configured source, from the store."""
    states: dict[str, SourceState] = {}
    counts: dict[str, int] = {}
    if config.database_path.exists():
        with Store(config.database_path) as store:
            damage = store.damage()
            if damage:
                raise StoreError(
                    f"{config.database_path}: the state database is damaged ({damage}); "
                    "restore it from a backup with the outputs (see Backups in the README)"
                )
            states = store.source_states()
            counts = store.article_counts()
    return [_source_row(source, states.get(source.id), counts) for source in config.sources]


def _source_row(
    source: SourceConfig, stored: SourceState | None, counts: dict[str, int]
) -> SourceStatus:
    state = current_state(stored, source)
    polled = stored is state
    if state.disabled:
        label = "disabled"
    elif not polled:
        label = "never polled"
    elif state.consecutive_failures:
        label = f"failing ({state.consecutive_failures}×)"
    elif state.suspicious:
        label = "suspicious"
    elif state.last_warning:
        label = "ok, with warnings"
    else:
        label = "ok"
    return SourceStatus(
        id=source.id,
        url=state.url,
        configured_url=source.url,
        state=label,
        polled=polled,
        last_success=state.last_success,
        last_error=state.last_error,
        last_warning=state.last_warning,
        suspicious=state.suspicious,
        consecutive_failures=state.consecutive_failures,
        articles=counts.get(source.id, 0),
        next_due=state.next_due,
    )


def subscriber_status(config: Config) -> list[SubscriberStatus]:
    """One row per subscriber, then one per broken subscriber file, from the ledger."""
    records: dict[str, RenderRecord] = {}
    if config.database_path.exists():
        with Store(config.database_path) as store:
            records = store.render_records()
    rows = [_subscriber_row(s, records.get(s.id)) for s in config.subscribers]
    broken: dict[str, list[str]] = {}
    for problem in config.problems:
        broken.setdefault(Path(problem.file).stem, []).append(str(problem))
    for subscriber_id, problems in broken.items():
        rows.append(_broken_row(subscriber_id, records.get(subscriber_id), problems))
    return rows


def _subscriber_row(subscriber: SubscriberConfig, record: RenderRecord | None) -> SubscriberStatus:
    if record is None:
        return SubscriberStatus(
            subscriber.id, subscriber.name, "never published", None, None, 0, None, None
        )
    if record.last_error:
        state = "failing (last good outputs kept)" if record.fingerprint else "failing"
    else:
        state = "ok"
    return SubscriberStatus(
        id=subscriber.id,
        name=subscriber.name,
        state=state,
        published_at=record.published_at,
        items=record.items,
        files=record.files,
        last_error=record.last_error,
        failed_at=record.failed_at,
    )


def _broken_row(
    subscriber_id: str, record: RenderRecord | None, problems: list[str]
) -> SubscriberStatus:
    live = record is not None and record.published_at is not None
    return SubscriberStatus(
        id=subscriber_id,
        name=None,
        state="invalid file (skipped" + ("; last outputs still published)" if live else ")"),
        published_at=record.published_at if record else None,
        items=record.items if record else None,
        files=record.files if record else None,
        last_error="; ".join(problems),
        failed_at=None,
    )


def stamp(value: datetime | None) -> str | None:
    """A time as status and the CLI's reports show it: "2026-11-24 12:00 UTC"."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else None


def failures(
    subscribers: Iterable[SubscriberReport],
) -> tuple[list[SubscriberReport], list[str]]:
    """The failed subscribers to name one by one, and the ids of those merely not reached
    after publishing stopped (to tell in one line: at scale there are thousands)."""
    named: list[SubscriberReport] = []
    not_reached: list[str] = []
    for subscriber in subscribers:
        if subscriber.outcome != "failed":
            continue
        if not subscriber.reached:
            not_reached.append(subscriber.subscriber_id)
        else:
            named.append(subscriber)
    return named, not_reached


def named_few(ids: Sequence[str]) -> str:
    """The first `NAMED` of `ids`, and how many more: "a, b and 3 more"."""
    shown = ", ".join(ids[:NAMED])
    return f"{shown} and {len(ids) - NAMED:,} more" if len(ids) > NAMED else shown


NAMED = 10  # subscribers named in one line before "and N more"


def doubts(source: SourceReport) -> list[str]:
    """What an admin must hear about a source polled without failing (`doubtful`), one
    sentence each: the CLI and the daemon say them as problems."""
    found = []
    if garbled := source.changes.garbled:
        found.append(
            f"{len(garbled)} stored article(s) kept as they were: the feed's new text of "
            f"them is garbled (mojibake, or U+FFFD where a character was): {named_few(garbled)}"
        )
    if source.damaged:
        found.append(
            f"{len(source.damaged)} article(s) stored with U+FFFD for bytes not valid in the "
            f"feed's encoding (the warning says where): {named_few(source.damaged)}"
        )
    if source.changes.suspicious:
        found.append(str(source.changes.suspicious))
    return found


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One line of a cycle's report: a problem (the CLI's stderr, even with --quiet)
    or news (stdout)."""

    text: str
    problem: bool


def report_lines(config: Config, report: RunReport) -> list[ReportLine]:
    """What a cycle's report says, in order: `run` prints it, the console shows it."""
    lines: list[ReportLine] = []

    def say(text: str, problem: bool) -> None:
        lines.append(ReportLine(text, problem))

    for problem in report.config_errors:
        say(f"error: {problem} (subscriber skipped)", True)
    for source in report.sources:
        for text, is_problem in _source_lines(source):
            say(text, is_problem)
    for cleaning in report.cleaning:
        for error in cleaning.errors:
            say(f"{cleaning.source_id}: {error}", True)
    named, not_reached = failures(report.subscribers)
    for subscriber in named:
        say(
            f"subscriber {subscriber.subscriber_id}: FAILED: {subscriber.error} "
            "(its last good outputs stay published)",
            True,
        )
    if not_reached:
        say(
            f"{len(not_reached):,} subscriber(s) not reached after publishing stopped: "
            f"{named_few(not_reached)} (their last good outputs stay published; the next "
            "run publishes them)",
            True,
        )
    if report.index_error:
        say(
            f"index.html and subscribers.opml: FAILED: {report.index_error} "
            "(the last good ones stay published)",
            True,
        )
    if report.publish_error:
        say(f"error: publishing stopped: {report.publish_error}", True)
    for warning in empty_selection_warnings(config, report.subscribers):
        say(f"warning: {warning}", True)
    for text in _summary(config, report):
        say(text, False)
    return lines


def _summary(config: Config, report: RunReport) -> list[str]:
    polled = [s for s in report.sources if s.outcome in {"updated", "not_modified"}]
    new = sum(len(s.changes.new) for s in report.sources)
    changed = sum(len(s.changes.changed) for s in report.sources)
    failed = sum(s.failed for s in report.sources)
    cleaned = sum(c.cleaned for c in report.cleaning)
    kept = sum(c.up_to_date for c in report.cleaning)
    outcomes = [s.outcome for s in report.subscribers]
    written = report.publish
    return [
        f"run: {len(polled)} of {len(report.sources)} source(s) polled, {new} new, "
        f"{changed} changed, {failed} failed; {cleaned} cleaned, {kept} already clean; "
        f"state in {display_path(config.database_path)}",
        f"publish: {len(outcomes)} subscriber(s): {outcomes.count('published')} rendered, "
        f"{outcomes.count('unchanged')} unchanged, {outcomes.count('failed')} failed"
        + (f", {outcomes.count('retired')} retired" if "retired" in outcomes else "")
        + "; "
        f"{written.written} file(s) written, {written.removed} removed, "
        f"in {display_path(config.site.output_dir)}",
    ]


def _source_lines(report: SourceReport) -> Iterable[tuple[str, bool]]:
    sid = report.source_id
    if report.outcome == "updated":
        c = report.changes
        yield (
            f"{sid}: {len(c.new)} new, {len(c.changed)} changed, {len(c.unchanged)} unchanged, "
            f"{len(c.removed)} removed, {len(c.aged_out)} aged out",
            False,
        )
    elif report.outcome == "not_modified":
        yield f"{sid}: not modified", False
    elif report.outcome == "skipped":
        yield f"{sid}: not due until {stamp(report.next_due)}", False
    elif report.outcome == "disabled":
        yield (
            f"{sid}: DISABLED: {report.error} "
            f"(fix the URL in the config, or retry with `syndicator fetch {sid}`)",
            True,
        )
    else:
        yield (
            f"{sid}: FAILED: {report.error} ({report.url}); next try {stamp(report.next_due)}",
            True,
        )
    for doubt in doubts(report):
        yield f"{sid}: {doubt}", True
    if report.moved_to:
        yield f"{sid}: moved permanently to {report.moved_to}; stored URL updated", False
    for warning in report.warnings:  # with a doubt, they say where it came from
        yield f"{sid}: warning: {warning}", report.doubtful
