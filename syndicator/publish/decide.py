"""What a publish must do, decided without touching the disk, the clock or the store.

The publish loop (`publish.run`) reads what it needs (the ledger, what is on the
target), asks these functions, and carries out the answer. Each is pure: same
arguments, same answer, so each is tested on its own with plain values.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypeGuard

from ..config import Config, SubscriberConfig
from ..models import SITE_FILES, SUBSCRIBER_FILES, RenderRecord, RunReport, SubscriberReport

MAX_FILE_BYTES = 32 * 1024 * 1024  # a full-text feed of 100 long stories is under 2 MB


def published(records: Mapping[str, RenderRecord], subscriber_id: str) -> bool:
    """Whether the ledger says the subscriber was published (its folder is ours)."""
    record = records.get(subscriber_id)
    return record is not None and record.fingerprint is not None


def up_to_date(
    record: RenderRecord | None, fingerprint: str, *, on_target: bool, force: bool
) -> TypeGuard[RenderRecord]:
    """Whether a subscriber's outputs need no rendering: last published from the same
    inputs (`fingerprint`), recorded as settled (else its files may be ahead of the
    ledger), with its item count kept, and its folder still `on_target` (a folder deleted
    by hand is made again). Never with `force`."""
    return (
        not force
        and record is not None
        and record.fingerprint == fingerprint
        and record.settled
        and record.items is not None  # published before items were kept: once more
        and on_target
    )


def pages_trusted(record: RenderRecord | None, *, first: bool, force: bool) -> bool:
    """Whether a subscriber's recorded page tokens tell what is on the target: only while
    its last publish is recorded and settled (and not on its first publish, nor forced)."""
    return not first and not force and record is not None and record.settled


def same_pages(tokens: Mapping[str, str], published_tokens: Mapping[str, str]) -> list[str]:
    """The slugs whose article page would be rendered from what it was last published
    from (`tokens` now, `published_tokens` then): candidates to leave alone."""
    return [slug for slug, token in tokens.items() if published_tokens.get(slug) == token]


def adopted_pages(slugs: Iterable[str], now: datetime) -> dict[str, datetime]:
    """Article pages found in a subscriber's folder on its first publish in this database
    (published with a database since lost), each as left out of the lists `now`: their
    links stay good for `keep_pages_days` like any page of a story that left the lists."""
    return dict.fromkeys(slugs, now)


def oversized(files: Mapping[str, bytes]) -> str | None:
    """Why `files` cannot be published when one is beyond any real output's size (an
    override template gone wrong), else None."""
    for name, data in files.items():
        if len(data) > MAX_FILE_BYTES:
            return (
                f"{name}: {len(data):,} bytes, over the {MAX_FILE_BYTES:,} any output may "
                "have (does an override template repeat something?)"
            )
    return None


def leaves_first(files: Mapping[str, bytes], folder: str) -> dict[str, bytes]:
    """A subscriber's `files` (under `folder`) with its article pages (the leaves) before
    everything else (the lists, feeds and widgets that link to them): the order a target
    must make them visible in."""
    prefix = f"{folder}/{_LEAF_FOLDER}/"
    leaves = {name: data for name, data in files.items() if name.startswith(prefix)}
    return {**leaves, **{name: data for name, data in files.items() if name not in leaves}}


_LEAF_FOLDER = posixpath.dirname(SUBSCRIBER_FILES["articles"])  # "articles"


def with_files(config: Config) -> set[str]:
    """Every subscriber with a file, broken or not (a broken file keeps its outputs)."""
    return {s.id for s in config.subscribers} | config.broken_subscriber_ids


def retired_subscribers(config: Config, records: Mapping[str, RenderRecord]) -> list[str]:
    """Subscribers whose file is gone (not merely broken: a broken file keeps its
    outputs). Those never published have no folder of ours to remove."""
    return sorted(set(records) - with_files(config))


def published_before(
    config: Config, records: Mapping[str, RenderRecord], reports: Mapping[str, SubscriberReport]
) -> list[str]:
    """Subscribers with a file that were published before and not just now (their
    folder's mark, if lost, is not being written again with their files)."""
    return [
        subscriber_id
        for subscriber_id in sorted(with_files(config))
        if published(records, subscriber_id)
        and ((report := reports.get(subscriber_id)) is None or report.outcome != "published")
    ]


def index_candidates(
    configured: Sequence[SubscriberConfig], broken: Sequence[SubscriberConfig]
) -> list[SubscriberConfig]:
    """Who index.html and subscribers.opml may list: every configured subscriber, and
    each whose file is broken as it was last published (`broken`: its outputs stay, so
    its entry does), by id when there are both."""
    if not broken:
        return list(configured)
    return sorted([*configured, *broken], key=lambda subscriber: subscriber.id)


def index_listing(
    candidates: Iterable[SubscriberConfig],
    live: Collection[str],
    records: Mapping[str, RenderRecord],
) -> list[SubscriberConfig]:
    """The candidates the index lists: those with outputs, published before (`records`)
    or in this run (`live`: maybe not committed yet)."""
    return [s for s in candidates if s.id in live or published(records, s.id)]


def index_due(
    known: str | None, fingerprint: str, *, on_target: Collection[str], force: bool
) -> bool:
    """Whether the site files must be rendered: forced, never published (`known` is
    None), their inputs changed, or one is missing from the target (`on_target`)."""
    return force or known != fingerprint or not set(SITE_FILES) <= set(on_target)


def outputs_left(report: RunReport, before: frozenset[str] = frozenset()) -> frozenset[str]:
    """The names a cycle left in the output folder, which must stay there until the next:
    the folder of every subscriber published or unchanged, and the index files unless
    they failed; of what was expected `before`, a failed subscriber's folder and failed
    index files too (their last good outputs are kept, so gone they are missing).
    (The daemon looks for them; `publish.target.outputs_present` tells what is.)"""
    names = {s.subscriber_id for s in report.subscribers if s.outcome in {"published", "unchanged"}}
    names.update(before & {s.subscriber_id for s in report.subscribers if s.outcome == "failed"})
    if report.index_error is None and report.publish_error is None:
        names.update(SITE_FILES)
    else:
        names.update(before.intersection(SITE_FILES))
    return frozenset(names)
