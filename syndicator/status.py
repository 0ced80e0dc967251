"""What `status` shows and how problems are worded: typed rows read from the store, and
the sentences the CLI and the daemon both say. Nothing here prints or exits: a reader of
the state raises `StoreError`, and the caller decides what that means.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .models import SourceReport, SubscriberReport
from .pipeline import NOT_REACHED


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
        if (subscriber.error or "").startswith(NOT_REACHED):
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
