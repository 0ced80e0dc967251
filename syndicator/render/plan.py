"""What a subscriber's outputs show, decided before anything is rendered. Pure.

`plan` works out, from the stories, the subscriber's options, its page ledger and `now`,
what the subscriber shows and a fingerprint of everything its outputs depend on. An
unchanged fingerprint means unchanged outputs, so the subscriber is skipped.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..config import SubscriberConfig, SubscriberOptions
from ..models import SUBSCRIBER_FILES, Story
from ..select import capacity, select


@dataclass(frozen=True, slots=True)
class Plan:
    """What one subscriber's outputs show, and the fingerprint of all their inputs."""

    subscriber: SubscriberConfig
    listed: tuple[Story, ...]  # newest first; feeds and widget take the first `limit`
    pages: tuple[Story, ...]  # stories with an articles/<slug>.html (listed + kept + gone)
    ledger: Mapping[str, datetime | None]  # slug → when it left the lists (None: listed)
    fingerprint: str
    settings: str  # the subscriber's options as JSON (part of the fingerprint)
    salt: str  # what its outputs depend on besides options and stories (templates, site)
    empty_date: datetime  # the date of its feeds when they list nothing (`Selections`)
    # Pages on disk of stories no longer stored (a database lost and started afresh, a
    # source removed): kept as they are, never rendered, until `keep_pages_days` passes.
    found: tuple[str, ...] = ()


class Selections:
    """`select` for many subscribers over the same stories at the same `now`: each
    distinct selection is worked out once, with the fingerprint bytes of what it shows."""

    def __init__(self, stories: Sequence[Story], now: datetime) -> None:
        self.stories = stories
        self.now = now
        self._memo: dict[tuple[Any, ...], tuple[tuple[Story, ...], bytes]] = {}

    @functools.cached_property
    def empty_date(self) -> datetime:
        """The date of a feed that lists nothing: the newest story's, as of which nothing
        was for it; `now` while there is no story at all. (The epoch, its date before,
        is one the W3C feed validator calls implausible.)"""
        return max((story.date for story in self.stories), default=self.now)

    def select(self, options: SubscriberOptions) -> tuple[tuple[Story, ...], bytes]:
        """The stories `options` selects, and their fingerprint bytes."""
        key = (
            options.categories,
            options.exclude_categories,
            options.keywords,
            options.exclude_keywords,
            options.max_age_days,
            capacity(options),
        )
        found = self._memo.get(key)
        if found is None:
            listed = select(self.stories, options, self.now)
            found = self._memo[key] = (listed, b"".join(_token(story) for story in listed))
        return found


def _token(story: Story) -> bytes:
    """What a story contributes to a fingerprint."""
    return (
        f"{story.slug}\0{story.version}\0{story.presence}\0{story.outlet}\0{story.language}\0"
    ).encode()


def plan(
    subscriber: SubscriberConfig,
    stories: Sequence[Story],
    by_slug: Mapping[str, Story],
    previous: Mapping[str, datetime | None],
    now: datetime,
    salt: str,
    *,
    selections: Selections | None = None,
) -> Plan:
    """Decide what `subscriber` shows now. Pure.

    `previous` is its page ledger. A story that leaves its lists keeps its page for
    `keep_pages_days` (links given out keep working); a story removed upstream keeps a
    "no longer available" page for as long. `selections` shares the selecting among
    many subscribers planned over the same `stories` and `now`.
    """
    if selections is None:
        selections = Selections(stories, now)
    listed, listed_bytes = selections.select(subscriber)
    ledger: dict[str, datetime | None] = {}
    pages: list[Story] = []
    found: list[str] = []
    if "articles" in subscriber.outputs:
        ledger = {story.slug: None for story in listed}
        pages = list(listed)
        keep = timedelta(days=subscriber.keep_pages_days)
        for slug, unlisted in sorted(previous.items()):
            if slug in ledger:
                continue
            since = unlisted or now
            if now - since < keep:
                ledger[slug] = since
                story = by_slug.get(slug)
                if story is None:
                    found.append(slug)
                else:
                    pages.append(story)
    digest = hashlib.sha256(salt.encode())
    settings = subscriber.model_dump_json()
    digest.update(settings.encode())
    digest.update(b"|" + listed_bytes + b"|")
    for story in pages[len(listed) :]:
        digest.update(_token(story))
    for slug in found:
        digest.update(f"found\0{slug}\0{ledger[slug]}\0".encode())
    return Plan(
        subscriber,
        listed,
        tuple(pages),
        ledger,
        digest.hexdigest(),
        settings,
        salt,
        selections.empty_date,
        tuple(found),
    )


def article_path(subscriber_id: str, slug: str) -> str:
    """Where a subscriber's article page of a story is published, under the output root."""
    return f"{subscriber_id}/" + SUBSCRIBER_FILES["articles"].format(slug=slug)


def page_tokens(plan: Plan) -> dict[str, str]:
    """Slug → what the subscriber's article page of that story is rendered from: its
    story, the subscriber's options and the templates. Pure.

    A page whose token is the one it was last published with has the same bytes, so a
    subscriber re-rendered for another reason (a new story, say) leaves it alone.
    """
    basis = hashlib.sha256(f"{plan.salt}\0{plan.settings}\0".encode())
    tokens = {}
    for story in plan.pages:
        digest = basis.copy()
        digest.update(_token(story))
        tokens[story.slug] = digest.hexdigest()[:32]
    return tokens


def settings_digest(settings: str) -> bytes:
    """A subscriber's options JSON, as the index fingerprint takes it (32 bytes kept per
    subscriber during a run, not the JSON)."""
    return hashlib.sha256(settings.encode()).digest()
