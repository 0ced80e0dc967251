"""Subscriber selection: pure, over plain Story values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syndicator.clean import sanitize
from syndicator.config import SubscriberOptions
from syndicator.models import Article, Presence, Story
from syndicator.select import capacity, select, unknown_categories

from .conftest import NOW


def article(
    n: int, *categories: str, days_old: float = 0, presence: Presence = "present", **extra: Any
) -> Story:
    fields: dict[str, Any] = {
        "source_id": "wn",
        "id": f"https://www.worthynews.com/?p={n}",
        "title": f"Story {n}",
        "link": f"https://www.worthynews.com/{n}-story",
        "author": "Jane Doe",
        "author_role": None,
        "dateline": None,
        "published": NOW - timedelta(days=days_old),
        "updated": None,
        "categories": categories or ("World News",),
        "body_html": sanitize("<p>Body.</p>"),
        "text": "Body.",
        "excerpt": "Body.",
        "word_count": 1,
        "reading_minutes": 1,
        "lead_image": None,
        "content_hash": f"h{n}",
    }
    fields.update(extra)
    return Story(Article(**fields), f"story-{n}", "Worthy News", 1, presence, NOW, f"v{n}")


def ids(stories: tuple[Story, ...]) -> list[int]:
    return [int(s.article.id.rsplit("=", 1)[1]) for s in stories]


def test_newest_first_then_by_id() -> None:
    chosen = select(
        [article(1, days_old=2), article(3, days_old=1), article(2, days_old=1)],
        SubscriberOptions(),
        NOW,
    )
    assert ids(chosen) == [2, 3, 1]


def test_categories_include_and_exclude_case_insensitively() -> None:
    pool = [
        article(1, "World News"),
        article(2, "Israel"),
        article(3, "Israel", "Opinion"),
        article(4, "US News"),
    ]
    assert ids(select(pool, SubscriberOptions(categories=("israel", "WORLD NEWS")), NOW)) == [
        1,
        2,
        3,
    ]
    assert ids(
        select(
            pool, SubscriberOptions(categories=("Israel",), exclude_categories=("opinion",)), NOW
        )
    ) == [2]
    assert ids(select(pool, SubscriberOptions(exclude_categories=("US News",)), NOW)) == [1, 2, 3]


def test_unknown_categories_are_named_with_the_closest_known_one() -> None:
    known = {"World News": 5, "Israel": 2, "Opinion": 1, "US News": 2}
    options = SubscriberOptions(
        categories=("Wrold News", "israel", "Gardening"), exclude_categories=("Opinon", "US NEWS")
    )
    assert unknown_categories(options, known) == [
        ("categories", "Wrold News", "World News"),
        ("categories", "Gardening", None),  # nothing close: no guess
        ("exclude_categories", "Opinon", "Opinion"),
    ]  # "israel" and "US NEWS" match whatever their case
    assert unknown_categories(SubscriberOptions(categories=("Israel",)), known) == []
    assert unknown_categories(SubscriberOptions(), known) == []


def test_keywords_match_whole_words_in_title_or_text() -> None:
    pool = [
        article(1, title="Churches rebuild in Kyiv"),
        article(2, text="Volunteers in KYIV opened shelters."),
        article(3, title="Kyivan choir tours"),  # not the whole word
        article(4, title="Floods in Chennai", text="Churches and floods."),
    ]
    assert ids(select(pool, SubscriberOptions(keywords=("kyiv",)), NOW)) == [1, 2]
    assert ids(select(pool, SubscriberOptions(exclude_keywords=("floods", "kyiv")), NOW)) == [3]


def test_max_age_days_drops_older_articles_and_undated_ones_count_from_first_seen() -> None:
    pool = [article(1, days_old=1), article(2, days_old=10), article(3, published=None)]
    assert ids(select(pool, SubscriberOptions(max_age_days=7), NOW)) == [3, 1]


def test_a_story_dated_far_in_the_future_is_dated_when_first_seen() -> None:
    """A typo'd year (2099) would top every list for decades: a date more than a day
    past when the story was first seen is not believed; one within a day is."""
    typo = article(1, published=NOW + timedelta(days=365 * 70))  # first seen at NOW
    early = article(2, published=NOW + timedelta(hours=20), days_old=0)
    later = article(3, days_old=-0.5)  # genuinely newer than the typo's first sighting
    assert typo.date == NOW and early.date == NOW + timedelta(hours=20)
    assert ids(select([typo, early, later], SubscriberOptions(), NOW)) == [2, 3, 1]


def test_removed_stories_leave_every_list_but_aged_out_ones_stay() -> None:
    pool = [article(1, presence="removed"), article(2, presence="aged_out"), article(3)]
    assert ids(select(pool, SubscriberOptions(), NOW)) == [2, 3]


def test_result_is_capped_at_what_the_outputs_can_show() -> None:
    pool = [article(n, days_old=n) for n in range(200)]
    options = SubscriberOptions(limit=5, per_page=10, pages=3)
    assert capacity(options) == 30
    assert ids(select(pool, options, NOW)) == list(range(30))
    assert len(select(pool, SubscriberOptions(limit=100, per_page=1, pages=1), NOW)) == 100


@given(
    st.lists(st.tuples(st.integers(0, 50), st.sampled_from(["A", "B", "C"])), max_size=40),
    st.sets(st.sampled_from(["A", "B", "C"])),
)
def test_selection_is_a_sorted_filtered_subset(
    items: list[tuple[int, str]], wanted: set[str]
) -> None:
    pool = [article(i, cat, days_old=age) for i, (age, cat) in enumerate(items)]
    chosen = select(pool, SubscriberOptions(categories=tuple(sorted(wanted))), NOW)
    assert all(not wanted or s.article.categories[0] in wanted for s in chosen)
    dates = [s.date for s in chosen]
    assert dates == sorted(dates, reverse=True)
    expected = sum(1 for _, c in items if not wanted or c in wanted)
    assert len(chosen) == min(expected, 50)
