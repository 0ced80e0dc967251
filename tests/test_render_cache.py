"""The render stage's one bounded cache (`syndicator.render.cache.Bounded`)."""

from __future__ import annotations

from syndicator.render.cache import Bounded


def test_past_its_count_the_least_recently_used_value_goes() -> None:
    cache: Bounded[str, int] = Bounded(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recently used: "b" goes next
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_a_cache_sized_by_length_keeps_values_up_to_that_many_characters() -> None:
    cache: Bounded[int, str] = Bounded(10, size=len)
    for key in range(4):
        cache.put(key, "x" * 4)
    assert [key for key in range(4) if cache.get(key) is not None] == [2, 3]
    assert cache.total == 8


def test_a_value_past_the_limit_on_its_own_is_kept_until_the_next_one() -> None:
    cache: Bounded[str, str] = Bounded(3, size=len)
    cache.put("small", "ab")
    cache.put("big", "abcdef")
    assert cache.get("small") is None and cache.get("big") == "abcdef"
    cache.put("next", "a")
    assert cache.get("big") is None and cache.get("next") == "a"


def test_putting_a_key_again_replaces_its_value_and_its_size() -> None:
    cache: Bounded[str, str] = Bounded(100, size=len)
    cache.put("a", "x" * 40)
    cache.put("a", "y" * 10)
    assert cache.get("a") == "y" * 10
    assert cache.total == 10


def test_get_or_make_makes_a_missing_value_once_and_keeps_it() -> None:
    cache: Bounded[str, list[int]] = Bounded(4)
    made: list[str] = []

    def make() -> list[int]:
        made.append("made")
        return [1]

    first = cache.get_or_make("k", make)
    assert cache.get_or_make("k", make) is first
    assert made == ["made"]
