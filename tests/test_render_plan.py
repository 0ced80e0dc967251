"""`plan`'s pure decisions (`syndicator.render.plan`): what a subscriber shows, the
fingerprint of its inputs, its article pages' tokens, and selections shared in a run."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from syndicator.config import SubscriberConfig
from syndicator.render import Selections, page_tokens, plan
from syndicator.select import select

from .conftest import NOW
from .test_render import Site, rendered_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return rendered_site(tmp_path_factory.mktemp("site"))


def test_plan_is_pure_and_fingerprints_every_input(site: Site) -> None:
    sub = site.subscriber("grace")
    by_slug = {s.slug: s for s in site.stories}
    first = plan(sub, site.stories, by_slug, {}, NOW, "salt")
    assert plan(sub, site.stories, by_slug, {}, NOW, "salt") == first
    assert first.listed == site.listed("grace")
    assert first.ledger == {s.slug: None for s in first.listed}
    edited = [replace(site.stories[0], version="cleaned again")]
    others = {
        "option": plan(
            sub.model_copy(update={"footer": "x"}), site.stories, by_slug, {}, NOW, "salt"
        ),
        "salt": plan(sub, site.stories, by_slug, {}, NOW, "other"),
        "content": plan(sub, edited + site.stories[1:], by_slug, {}, NOW, "salt"),
    }
    for what, other in others.items():
        assert other.fingerprint != first.fingerprint, what


def test_page_tokens_follow_each_pages_own_inputs(site: Site) -> None:
    """A page's token changes with its story, the subscriber's options or the templates
    (salt), and with nothing else: another story's change leaves it alone."""
    sub = site.subscriber("grace")
    by_slug = {s.slug: s for s in site.stories}
    decided = plan(sub, site.stories, by_slug, {}, NOW, "salt")
    first = page_tokens(decided)
    assert list(first) == [story.slug for story in decided.pages]
    assert page_tokens(plan(sub, site.stories, by_slug, {}, NOW, "salt")) == first
    story = decided.pages[1]
    stories = [replace(s, version="cleaned again") if s == story else s for s in site.stories]
    edited = page_tokens(plan(sub, stories, by_slug, {}, NOW, "salt"))
    assert {slug for slug in first if edited[slug] != first[slug]} == {story.slug}
    for other in (
        plan(sub.model_copy(update={"footer": "x"}), site.stories, by_slug, {}, NOW, "salt"),
        plan(sub, site.stories, by_slug, {}, NOW, "other templates"),
    ):
        tokens = page_tokens(other)
        assert all(tokens[slug] != first[slug] for slug in first)


def test_plan_keeps_pages_of_unlisted_stories_for_keep_pages_days(site: Site) -> None:
    sub = site.subscriber("compact")  # excludes Opinion: those stories are never listed
    by_slug = {s.slug: s for s in site.stories}
    unlisted = next(s for s in site.stories if s not in site.listed("compact"))
    keep = timedelta(days=sub.keep_pages_days)
    for since, kept in ((NOW - keep + timedelta(hours=1), True), (NOW - keep, False)):
        decided = plan(sub, site.stories, by_slug, {unlisted.slug: since}, NOW, "salt")
        assert (unlisted in decided.pages) is kept
        assert decided.ledger.get(unlisted.slug, "dropped") == (since if kept else "dropped")
    newly = plan(sub, site.stories, by_slug, {unlisted.slug: None}, NOW, "salt")
    assert newly.ledger[unlisted.slug] == NOW  # it left the lists now
    feeds_only = sub.model_copy(update={"outputs": ("rss",)})
    no_pages = plan(feeds_only, site.stories, by_slug, {unlisted.slug: None}, NOW, "salt")
    assert no_pages.pages == () and no_pages.ledger == {}


SELECTING_OPTIONS: dict[str, tuple[Any, ...]] = {
    "categories": ((), ("Israel",), ("israel", "World News")),
    "exclude_categories": ((), ("Opinion",), ("Christian News",)),
    "keywords": ((), ("church",), ("Kyiv", "Nigeria")),
    "exclude_keywords": ((), ("prayer",)),
    "max_age_days": (None, 3, 10),
    "limit": (2, 10),
    "per_page": (3, 10),
    "pages": (1, 3),
}


def test_selections_shared_in_a_run_are_each_subscribers_own(site: Site) -> None:
    """The pipeline selects once per distinct selection (`Selections`): twins that differ
    in one selecting option each, asked of one `Selections` in turn, get exactly what
    `select` gives each alone. A memo key missing an option hands a twin another's list."""
    base = site.subscriber("grace").model_dump()
    twins = [base] + [
        {**base, name: value}
        for name, values in SELECTING_OPTIONS.items()
        for value in values
        if value != base[name]
    ]
    shared = Selections(site.stories, NOW)
    seen = set()
    for number, options in enumerate(twins):
        subscriber = SubscriberConfig.model_validate({**options, "id": f"church-{number}"})
        listed, _ = shared.select(subscriber)
        assert listed == select(site.stories, subscriber, NOW), options
        seen.add(tuple(story.slug for story in listed))
    assert len(seen) >= len(twins) // 2  # the options do select differently here
