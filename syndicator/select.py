"""Which articles a subscriber gets, newest first: a pure function of its options.

No I/O, no clock: `now` is given. Categories match case-insensitively; keywords match
whole words in the title or the text. The result is as long as the subscriber's largest
output needs (`limit` for feeds, `per_page × pages` for the archive).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta

from .config import SubscriberOptions
from .models import Story


def capacity(options: SubscriberOptions) -> int:
    """How many articles the subscriber's outputs can show at most."""
    return max(options.limit, options.per_page * options.pages)


def select(
    stories: Iterable[Story], options: SubscriberOptions, now: datetime
) -> tuple[Story, ...]:
    """The stories `options` asks for, newest first, at most `capacity(options)`.
    Stories removed upstream are never selected."""
    wanted = _folded(options.categories)
    unwanted = _folded(options.exclude_categories)
    include = _words(options.keywords)
    exclude = _words(options.exclude_keywords)
    oldest = now - timedelta(days=options.max_age_days) if options.max_age_days else None
    chosen = []
    for story in stories:
        article = story.article
        if story.presence == "removed":
            continue
        categories = {c.casefold() for c in article.categories}
        if wanted and not categories & wanted:
            continue
        if categories & unwanted:
            continue
        if oldest is not None and story.date < oldest:
            continue
        if include or exclude:
            haystack = f"{article.title}\n{article.text}"
            if include and not include.search(haystack):
                continue
            if exclude and exclude.search(haystack):
                continue
        chosen.append(story)
    chosen.sort(key=_newest_first)
    return tuple(chosen[: capacity(options)])


def unknown_categories(
    options: SubscriberOptions, known: Collection[str]
) -> list[tuple[str, str, str | None]]:
    """The categories `options` includes or excludes that none of `known` matches (case
    aside): (key, name, the closest known name or None) each, in the order given. A
    misspelt category selects nothing and says nothing, so the admin is told."""
    by_folded = {name.casefold(): name for name in sorted(known)}
    unknown = []
    for key in ("categories", "exclude_categories"):
        for name in getattr(options, key):
            folded = name.casefold()
            if folded in by_folded:
                continue
            close = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=0.6)
            unknown.append((key, name, by_folded[close[0]] if close else None))
    return unknown


def _newest_first(story: Story) -> tuple[float, str]:
    return (-story.date.timestamp(), story.slug)


def _folded(names: Sequence[str]) -> frozenset[str]:
    return frozenset(name.casefold() for name in names)


@functools.lru_cache(maxsize=4096)
def _words(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    if not keywords:
        return None
    alternatives = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
