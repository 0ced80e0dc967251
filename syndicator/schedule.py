"""Pure decisions about when a source is polled next. No clock, no I/O: `now` is given."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .models import SourceState

# Never believe a Retry-After further out than this; a typo upstream must not mute a feed.
MAX_RETRY_AFTER = timedelta(days=7)


def is_due(state: SourceState | None, now: datetime) -> bool:
    """True when the source should be polled now (never polled, or its time has come)."""
    if state is None:
        return True
    if state.disabled:
        return False
    return state.next_due is None or state.next_due <= now


def after_success(now: datetime, interval: timedelta) -> datetime:
    return now + interval


def after_failure(
    now: datetime,
    interval: timedelta,
    failures: int,
    max_backoff: timedelta,
    rng: random.Random,
    retry_after: datetime | None = None,
) -> datetime:
    """When to try again after `failures` consecutive failures (the first failure is 1).

    The server's Retry-After wins when it gives one (bounded by a week). Otherwise the
    delay doubles per failure from one interval up to `max_backoff`, with "equal jitter"
    (a random point in the upper half) so that many sources do not retry in lockstep.
    """
    if retry_after is not None:
        return min(max(retry_after, now), now + MAX_RETRY_AFTER)
    ceiling = min(interval * 2 ** min(max(failures - 1, 0), 20), max_backoff)
    delay: timedelta = ceiling / 2 + ceiling / 2 * rng.random()
    return now + delay
