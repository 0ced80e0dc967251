"""The console's subscriber list: search, a problem filter and pages over every subscriber.

A `Roster` holds one row per subscriber (and per broken subscriber file), joined once
from the loaded `Config` and the publish ledger (`status.subscriber_status`); a query is
then a pure scan of rows in memory, quick with 10,000 of them. `roster_for` keeps the
roster of the config and ledger it was built from, and builds a new one when either
changed: a new `Config` object (the console reloads it when its files change), or the
state database's files (a run wrote to the ledger).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ..config import Config
from ..render.cache import Bounded
from ..status import SubscriberStatus, subscriber_status
from ..store import database_stamp

Problem = Literal["failing", "empty", "broken", "never"]
PROBLEMS: dict[Problem, str] = {  # the filter's choices, in the order shown
    "failing": "Failing",
    "empty": "Empty selection",
    "broken": "Broken file",
    "never": "Never published",
}
# What is wrong, as the dashboard counts it (never published is only "not yet"), and the
# filter for any of it.
TROUBLES: frozenset[Problem] = frozenset({"failing", "empty", "broken"})
ANY: Literal["any"] = "any"
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Listed:
    """One row of the list: a subscriber as the ledger last saw it."""

    id: str
    name: str | None  # None: its file does not load
    site_url: str | None
    state: str  # as `status` words it
    items: int | None  # stories its lists showed at the last publish; None: not known
    published_at: datetime | None
    problem: Problem | None
    detail: str | None  # the last error, or why the file is broken
    haystack: str = field(repr=False, compare=False)  # what a search looks in, casefolded


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a query's rows, and what the filter shows."""

    rows: tuple[Listed, ...]
    total: int  # rows matching the query, on every page
    page: int  # 1-based, within 1..pages
    pages: int  # at least 1
    counts: Mapping[Problem, int]  # subscribers with each problem, whatever the query


def problem_of(row: SubscriberStatus) -> Problem | None:
    """The one problem a status row shows, the most urgent first."""
    if row.name is None:
        return "broken"
    if row.last_error:
        return "failing"
    if row.published_at is None:
        return "never"
    if row.items == 0:
        return "empty"
    return None


class Roster:
    """Every subscriber's row, sorted by id, with what queries need worked out once."""

    def __init__(self, rows: Iterable[Listed]) -> None:
        self.rows = tuple(sorted(rows, key=lambda row: row.id))
        self.counts: dict[Problem, int] = dict.fromkeys(PROBLEMS, 0)
        for row in self.rows:
            if row.problem:
                self.counts[row.problem] += 1

    @classmethod
    def build(cls, config: Config, statuses: Iterable[SubscriberStatus]) -> Roster:
        """Rows from `status` rows, with each valid subscriber's site from `config`."""
        sites = {subscriber.id: subscriber.site_url for subscriber in config.subscribers}
        return cls(
            Listed(
                id=row.id,
                name=row.name,
                site_url=sites.get(row.id),
                state=row.state,
                items=row.items,
                published_at=row.published_at,
                problem=problem_of(row),
                detail=row.last_error,
                haystack="\n".join((row.id, row.name or "", sites.get(row.id, ""))).casefold(),
            )
            for row in statuses
        )

    def query(
        self,
        text: str = "",
        problem: Problem | Literal["any"] | None = None,
        page: int = 1,
        size: int = PAGE_SIZE,
    ) -> ListPage:
        """The rows whose id, name or site has `text` in it (any case), with `problem`
        when given (`ANY`: any of `TROUBLES`), on `page` (out of range: the nearest page)."""
        needle = text.strip().casefold()
        found = [
            row
            for row in self.rows
            if needle in row.haystack
            and (
                problem is None
                or row.problem == problem
                or (problem == ANY and row.problem in TROUBLES)
            )
        ]
        pages = max(1, math.ceil(len(found) / size))
        page = min(max(page, 1), pages)
        shown = tuple(found[(page - 1) * size : page * size])
        return ListPage(shown, len(found), page, pages, self.counts)


_ROSTERS: Bounded[tuple[int, tuple[int, ...]], tuple[Config, Roster]] = Bounded(2)
_BUILDING = threading.Lock()


def roster_for(config: Config) -> Roster:
    """The roster of `config` and the ledger as they are now, built again only when one
    changed since the last call. Raises `StoreError` as `status` does."""
    key = (id(config), database_stamp(config.database_path))
    with _BUILDING:
        kept = _ROSTERS.get(key)
        if kept is not None and kept[0] is config:  # the id of a live object: the same one
            return kept[1]
        roster = Roster.build(config, subscriber_status(config))
        _ROSTERS.put(key, (config, roster))
        return roster
