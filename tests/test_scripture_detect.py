"""Finding Bible references: the book table, then one fixture per rule (what is found,
what is not), each named as the sentence it proves."""

from __future__ import annotations

import pytest

from syndicator.clean.sanitize import sanitize
from syndicator.scripture import BOOKS, BY_OSIS, Passage, find_references


def found(body: str) -> list[tuple[str, str]]:
    """(text as written, OSIS) of each reference in the sanitized `body`."""
    html = sanitize(body)
    return [(html[ref.start : ref.end], ref.passage.osis) for ref in find_references(html)]


def test_the_book_table_holds_the_66_books_with_the_english_versification() -> None:
    assert len(BOOKS) == 66
    assert sum(book.chapters for book in BOOKS) == 1189
    assert sum(sum(book.verses) for book in BOOKS) == 31102
    assert (BOOKS[0].osis, BOOKS[-1].osis) == ("Gen", "Rev")
    assert BY_OSIS["Ps"].verses[118] == 176 and BY_OSIS["3John"].verses == (14,)
    assert BY_OSIS["Mal"].chapters == 4 and BY_OSIS["Rev"].verses[11] == 17


def test_every_book_has_its_own_osis_id_usfm_code_and_name() -> None:
    for field in ("osis", "usfm", "name"):
        assert len({getattr(book, field) for book in BOOKS}) == 66, field


@pytest.mark.parametrize(
    ("passage", "osis"),
    [
        (Passage("John", 3, 16), "John.3.16"),
        (Passage("John", 3, 16, 3, 18), "John.3.16-3.18"),
        (Passage("John", 3, 16, 4, 2), "John.3.16-4.2"),
        (Passage("Ps", 23), "Ps.23"),
        (Passage("Isa", 53, None, 55), "Isa.53-55"),
        (Passage("Jude", 1, 3), "Jude.1.3"),
    ],
)
def test_a_passage_is_written_in_osis(passage: Passage, osis: str) -> None:
    assert passage.osis == osis


RULES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "a full book name with chapter and verse is found": (
        "<p>Pastors quoted John 3:16 on Sunday.</p>",
        [("John 3:16", "John.3.16")],
    ),
    "a verse range with a hyphen or an en dash is found": (
        "<p>Read Romans 8:28-30 and Romans 8:31–39.</p>",
        [("Romans 8:28-30", "Rom.8.28-8.30"), ("Romans 8:31–39", "Rom.8.31-8.39")],
    ),
    "an abbreviation with a dot and an en dash entity keeps its exact offsets": (
        "<p>He cited 1 Cor. 13:4&ndash;7 at the wedding.</p>",
        [("1 Cor. 13:4–7", "1Cor.13.4-13.7")],
    ),
    "a no-break space between book and chapter counts as a space": (
        "<p>Psalm&nbsp;23 was read.</p>",
        [("Psalm&nbsp;23", "Ps.23")],
    ),
    "a chapter alone counts after a name that is never a word": (
        "<p>They sang Psalm 23 and read Isaiah 53.</p>",
        [("Psalm 23", "Ps.23"), ("Isaiah 53", "Isa.53")],
    ),
    "a chapter alone does not count after a name that is also a word or a name": (
        "<p>Mark 5 players, John 3 times, Acts 2 and Job 12 were mentioned.</p>",
        [],
    ),
    "a chapter that does not exist is not a reference": (
        "<p>The Acts 29 Network met, Romans 17:1 and John 3:99 do not exist.</p>",
        [],
    ),
    "a single-chapter book takes a bare verse": (
        "<p>As Jude 3 says, and Philemon 6, and 3 John 4.</p>",
        [("Jude 3", "Jude.1.3"), ("Philemon 6", "Phlm.1.6"), ("3 John 4", "3John.1.4")],
    ),
    "a cross-chapter range is found": (
        "<p>The sermon covered John 3:16–4:2.</p>",
        [("John 3:16–4:2", "John.3.16-4.2")],
    ),
    "numbered books are written with digits, roman numerals or words": (
        "<p>1 John 4:8, III John 4 and Second Corinthians 5:17.</p>",
        [
            ("1 John 4:8", "1John.4.8"),
            ("III John 4", "3John.1.4"),
            ("Second Corinthians 5:17", "2Cor.5.17"),
        ],
    ),
    "text inside links, headings and code is never searched": (
        '<p><a href="https://x.test/">John 3:16</a></p><h2>John 3:16</h2><pre>John 3:16</pre>'
        "<p><code>John 3:16</code></p>",
        [],
    ),
    "a time, a count or an age after a name is not a verse": (
        "<p>We met at 3:30. Numbers 3:2 million. Isaiah 53-year-old. Mark 12:30 pm.</p>",
        [],
    ),
    "a street with a number before a book's name is not a reference": (
        "<p>They live at 1 John Street.</p>",
        [],
    ),
}


@pytest.mark.parametrize("rule", list(RULES), ids=list(RULES))
def test_rule(rule: str) -> None:
    body, expected = RULES[rule]
    assert found(body) == expected


def test_html_without_digits_holds_no_reference() -> None:
    assert find_references(sanitize("<p>Psalm and John and Jude</p>")) == ()
