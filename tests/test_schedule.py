"""Pure poll-scheduling decisions."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from syndicator import schedule
from syndicator.models import SourceState

from .conftest import NOW

INTERVAL = timedelta(minutes=30)
CAP = timedelta(hours=24)


def test_due_when_never_polled_or_time_has_come() -> None:
    state = SourceState("wn", "u", "u", next_due=NOW + timedelta(minutes=1))
    assert schedule.is_due(None, NOW)
    assert not schedule.is_due(state, NOW)
    assert schedule.is_due(state, NOW + timedelta(minutes=1))
    assert not schedule.is_due(SourceState("wn", "u", "u", disabled="410"), NOW)


def test_backoff_doubles_per_failure_up_to_the_cap() -> None:
    rng = random.Random(1)
    delays = [schedule.after_failure(NOW, INTERVAL, n, CAP, rng) - NOW for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(INTERVAL * 2 ** (n - 1), CAP)
        assert ceiling / 2 <= delay <= ceiling
    assert delays[-1] <= CAP


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0))
def test_backoff_never_exceeds_the_cap_nor_goes_back_in_time(failures: int, seed: int) -> None:
    due = schedule.after_failure(NOW, INTERVAL, failures, CAP, random.Random(seed))
    assert NOW < due <= NOW + CAP


def test_jitter_spreads_sources_apart() -> None:
    rng = random.Random(7)
    dues = {schedule.after_failure(NOW, INTERVAL, 3, CAP, rng) for _ in range(20)}
    assert len(dues) == 20


def test_retry_after_wins_but_is_bounded() -> None:
    rng = random.Random(1)
    asked = NOW + timedelta(hours=3)
    assert schedule.after_failure(NOW, INTERVAL, 1, CAP, rng, asked) == asked
    past = NOW - timedelta(hours=1)
    assert schedule.after_failure(NOW, INTERVAL, 1, CAP, rng, past) == NOW
    far = NOW + timedelta(days=365)
    assert schedule.after_failure(NOW, INTERVAL, 1, CAP, rng, far) == NOW + schedule.MAX_RETRY_AFTER
