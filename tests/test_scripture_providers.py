"""Scripture links: each provider's URL for a passage, and its translations as data."""

from __future__ import annotations

import functools
import typing
from urllib.parse import parse_qs, urlsplit

import pytest

from syndicator.clean.sanitize import DEFAULT_POLICY, sanitize
from syndicator.config import Link
from syndicator.scripture import Passage, find_references, link_references
from syndicator.scripture.books import BY_OSIS
from syndicator.scripture.providers import PROVIDERS, passage_url

from .conftest import REPO

# Every translation the issue asks for, on both sites.
REQUIRED = (
    "NIV", "ESV", "KJV", "NKJV", "NLT", "CSB", "NASB", "NRSV", "MSG",
    "RVR1960", "NVI", "NTV", "ARC", "NVI-PT",
)  # fmt: skip


def search_of(url: str) -> tuple[str, str]:
    """What a Bible Gateway link searches for, decoded, and the version it asks for."""
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "www.biblegateway.com",
        "/passage/",
    )
    query = parse_qs(parts.query, strict_parsing=True)
    assert sorted(query) == ["search", "version"]
    return query["search"][0], query["version"][0]


@pytest.mark.parametrize(
    ("passage", "search"),
    [
        (Passage("John", 3, 16), "John 3:16"),
        (Passage("John", 3, 16, 3, 18), "John 3:16-18"),
        (Passage("John", 3, 16, 4, 2), "John 3:16-4:2"),
        (Passage("Ps", 23), "Psalm 23"),
        (Passage("Isa", 53, None, 55), "Isaiah 53-55"),
        (Passage("Jude", 1, 3), "Jude 1:3"),
        (Passage("1Cor", 13, 4, 13, 7), "1 Corinthians 13:4-7"),
        (Passage("3John", 1, 4), "3 John 1:4"),
    ],
)
def test_a_bible_gateway_link_searches_for_the_passage_as_people_write_it(
    passage: Passage, search: str
) -> None:
    assert search_of(passage_url("biblegateway", "ESV", passage)) == (search, "ESV")


def test_a_bible_gateway_query_is_percent_encoded() -> None:
    url = passage_url("biblegateway", "NVI-PT", Passage("1Cor", 13, 4, 13, 7))
    assert url == (
        "https://www.biblegateway.com/passage/?search=1%20Corinthians%2013%3A4-7&version=NVI-PT"
    )


@pytest.mark.parametrize(
    ("passage", "reference"),
    [
        (Passage("John", 3, 16), "JHN.3.16"),
        (Passage("John", 3, 16, 3, 18), "JHN.3.16-18"),
        (Passage("Ps", 23), "PSA.23"),
        (Passage("Jude", 1, 3), "JUD.1.3"),
        (Passage("1Cor", 13, 4, 13, 7), "1CO.13.4-7"),
        (Passage("Song", 2, 4), "SNG.2.4"),
    ],
)
def test_a_bible_com_link_names_the_version_id_the_usfm_passage_and_the_abbreviation(
    passage: Passage, reference: str
) -> None:
    assert passage_url("youversion", "NIV", passage) == (
        f"https://www.bible.com/bible/111/{reference}.NIV"
    )


def test_a_cross_chapter_range_on_bible_com_links_its_first_verse_to_that_chapters_end() -> None:
    # John 3 has 36 verses; bible.com has no form for a range across chapters.
    assert BY_OSIS["John"].verses[2] == 36
    url = passage_url("youversion", "ESV", Passage("John", 3, 16, 4, 2))
    assert url == "https://www.bible.com/bible/59/JHN.3.16-36.ESV"


def test_a_range_of_whole_chapters_on_bible_com_links_its_first_chapter() -> None:
    url = passage_url("youversion", "KJV", Passage("Isa", 53, None, 55))
    assert url == "https://www.bible.com/bible/1/ISA.53.KJV"


def test_bible_com_urls_use_its_own_abbreviation_where_it_differs_from_ours() -> None:
    john = Passage("John", 3, 16)
    assert (
        passage_url("youversion", "NVI-PT", john) == "https://www.bible.com/bible/129/JHN.3.16.NVI"
    )
    assert passage_url("youversion", "NVI", john) == "https://www.bible.com/bible/128/JHN.3.16.NVI"
    assert passage_url("youversion", "NASB", john) == (
        "https://www.bible.com/bible/2692/JHN.3.16.NASB2020"
    )


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_each_provider_has_every_required_translation_and_defaults_it_has(provider: str) -> None:
    site = PROVIDERS[provider]
    assert set(REQUIRED) <= set(site.versions)
    assert all(code == code.upper() for code in site.versions)  # config upper-cases input
    assert {site.fallback, *site.by_language.values()} <= set(site.versions)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_default_translation_follows_the_primary_language_of_the_subscriber(
    provider: str,
) -> None:
    site = PROVIDERS[provider]
    found = [
        site.default_version(tag) for tag in ("en", "en-GB", "es", "es-MX", "pt-BR", "pt", "fr")
    ]
    assert found == ["NIV", "NIV", "RVR1960", "RVR1960", "ARC", "ARC", "NIV"]


def test_bible_com_version_ids_are_numbers_and_none_is_used_twice() -> None:
    ids = [version.id for version in PROVIDERS["youversion"].versions.values()]
    assert all(found.isdigit() for found in ids)
    assert len(set(ids)) == len(ids)


def test_the_link_option_offers_none_and_exactly_the_providers() -> None:
    assert set(typing.get_args(Link)) == {"none", *PROVIDERS}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_book_links_on_every_provider(provider: str) -> None:
    for book in BY_OSIS.values():
        url = passage_url(provider, "KJV", Passage(book.osis, 1, 1))
        assert url.startswith("https://") and " " not in url


def test_the_readmes_before_and_after_example_is_what_linking_gives() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Scripture links\n", 1)[1].split("\n## ", 1)[0]
    example = section.split("```html\n", 1)[1].split("```", 1)[0]
    before, after = (" ".join(part.split()) for part in example.split("\n\n"))
    body = sanitize(before)
    url_for = functools.partial(passage_url, "biblegateway", "NIV")
    linked = link_references(body, find_references(body), url_for, DEFAULT_POLICY)
    assert linked == after
