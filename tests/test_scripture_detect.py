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


def test_every_alias_names_one_book_and_every_bare_alias_is_an_alias() -> None:
    seen: dict[tuple[int | None, str], str] = {}
    for book in BOOKS:
        for alias in (*book.names, *book.abbreviations):
            assert seen.setdefault((book.number, alias), book.osis) == book.osis, alias
        for alias in book.bare:
            assert alias.removesuffix(".") in (*book.names, *book.abbreviations), alias


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


# Each rule: a body, then (text as written, OSIS) of every reference it holds.
RULES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    # What counts.
    "a full book name with chapter and verse is found": (
        "<p>Pastors quoted John 3:16 on Sunday.</p>",
        [("John 3:16", "John.3.16")],
    ),
    "full names of books from both testaments are found": (
        "<p>Genesis 1:1, Deuteronomy 6:4, Ecclesiastes 3:1, Lamentations 3:22, Habakkuk 2:4,"
        " Matthew 5:9, Luke 2:10, Acts 2:38, Ephesians 2:8, Philippians 4:13, Hebrews 11:1,"
        " Revelation 21:4.</p>",
        [
            ("Genesis 1:1", "Gen.1.1"),
            ("Deuteronomy 6:4", "Deut.6.4"),
            ("Ecclesiastes 3:1", "Eccl.3.1"),
            ("Lamentations 3:22", "Lam.3.22"),
            ("Habakkuk 2:4", "Hab.2.4"),
            ("Matthew 5:9", "Matt.5.9"),
            ("Luke 2:10", "Luke.2.10"),
            ("Acts 2:38", "Acts.2.38"),
            ("Ephesians 2:8", "Eph.2.8"),
            ("Philippians 4:13", "Phil.4.13"),
            ("Hebrews 11:1", "Heb.11.1"),
            ("Revelation 21:4", "Rev.21.4"),
        ],
    ),
    "standard abbreviations count with or without a dot": (
        "<p>Gen. 1:1, Exod 20:3, Ps. 46:1, Psa 1:1, Prov. 3:5, Isa. 40:31, Jer 29:11,"
        " Matt. 6:33, Mt 5:3, Mk. 1:15, Lk 2:11, Jn. 14:6, Rom 12:2, Gal. 5:22, Eph 6:11,"
        " Phil. 4:6, Col 3:23, Heb. 12:1, Jas 1:5, Rev. 3:20.</p>",
        [
            ("Gen. 1:1", "Gen.1.1"),
            ("Exod 20:3", "Exod.20.3"),
            ("Ps. 46:1", "Ps.46.1"),
            ("Psa 1:1", "Ps.1.1"),
            ("Prov. 3:5", "Prov.3.5"),
            ("Isa. 40:31", "Isa.40.31"),
            ("Jer 29:11", "Jer.29.11"),
            ("Matt. 6:33", "Matt.6.33"),
            ("Mt 5:3", "Matt.5.3"),
            ("Mk. 1:15", "Mark.1.15"),
            ("Lk 2:11", "Luke.2.11"),
            ("Jn. 14:6", "John.14.6"),
            ("Rom 12:2", "Rom.12.2"),
            ("Gal. 5:22", "Gal.5.22"),
            ("Eph 6:11", "Eph.6.11"),
            ("Phil. 4:6", "Phil.4.6"),
            ("Col 3:23", "Col.3.23"),
            ("Heb. 12:1", "Heb.12.1"),
            ("Jas 1:5", "Jas.1.5"),
            ("Rev. 3:20", "Rev.3.20"),
        ],
    ),
    "numbered books are written with digits, roman numerals or words": (
        "<p>1 John 4:8, 1John 1:9, I Cor. 13:4, II Tim 3:16, III John 4, First Peter 5:7,"
        " Second Corinthians 5:17, Third John 2, 1st Samuel 17:45, 2 Kings 5:14,"
        " 1 Chronicles 4:10, 1 Thess. 5:17, 2 Pet 3:9.</p>",
        [
            ("1 John 4:8", "1John.4.8"),
            ("1John 1:9", "1John.1.9"),
            ("I Cor. 13:4", "1Cor.13.4"),
            ("II Tim 3:16", "2Tim.3.16"),
            ("III John 4", "3John.1.4"),
            ("First Peter 5:7", "1Pet.5.7"),
            ("Second Corinthians 5:17", "2Cor.5.17"),
            ("Third John 2", "3John.1.2"),
            ("1st Samuel 17:45", "1Sam.17.45"),
            ("2 Kings 5:14", "2Kgs.5.14"),
            ("1 Chronicles 4:10", "1Chr.4.10"),
            ("1 Thess. 5:17", "1Thess.5.17"),
            ("2 Pet 3:9", "2Pet.3.9"),
        ],
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
        "<p>Psalm&nbsp;23 was read, then 2&nbsp;Cor 5:17 &amp; John&nbsp;1:1.</p>",
        [
            ("Psalm&nbsp;23", "Ps.23"),
            ("2&nbsp;Cor 5:17", "2Cor.5.17"),
            ("John&nbsp;1:1", "John.1.1"),
        ],
    ),
    "a thin space, a narrow no-break space or a line break counts as a space": (
        "<p>1\u2009John 4:8, Psalm\u202f23 and John\n3:16.</p>",
        [("1\u2009John 4:8", "1John.4.8"), ("Psalm\u202f23", "Ps.23"), ("John\n3:16", "John.3.16")],
    ),
    "a part of a verse is linked as the verse": (
        "<p>Romans 12:1a, John 3:16b-18a and 1 Cor. 13:4–8a; 13:13b.</p>",
        [
            ("Romans 12:1a", "Rom.12.1"),
            ("John 3:16b-18a", "John.3.16-3.18"),
            ("1 Cor. 13:4–8a", "1Cor.13.4-13.8"),
            ("13:13b", "1Cor.13.13"),
        ],
    ),
    "a cross-chapter range is found": (
        "<p>The sermon covered John 3:16–4:2.</p>",
        [("John 3:16–4:2", "John.3.16-4.2")],
    ),
    "a chapter alone counts after a name that is never a word": (
        "<p>They sang Psalm 23, Psalms 91 and read Isaiah 53, Isa. 55, 1 Corinthians 13"
        " and Hebrews 11.</p>",
        [
            ("Psalm 23", "Ps.23"),
            ("Psalms 91", "Ps.91"),
            ("Isaiah 53", "Isa.53"),
            ("Isa. 55", "Isa.55"),
            ("1 Corinthians 13", "1Cor.13"),
            ("Hebrews 11", "Heb.11"),
        ],
    ),
    "a range of chapters counts after a name that is never a word": (
        "<p>Read Isaiah 53-55 and Psalms 120–134.</p>",
        [("Isaiah 53-55", "Isa.53-55"), ("Psalms 120–134", "Ps.120-134")],
    ),
    "the song of songs is found by either of its names": (
        "<p>Song of Solomon 2:4 and Song of Songs 8:6.</p>",
        [("Song of Solomon 2:4", "Song.2.4"), ("Song of Songs 8:6", "Song.8.6")],
    ),
    "a single-chapter book takes a bare verse or chapter one": (
        "<p>As Jude 3 says, and Philemon 6, 3 John 4, Obadiah 15, Jude 1:24 and Jude 24-25.</p>",
        [
            ("Jude 3", "Jude.1.3"),
            ("Philemon 6", "Phlm.1.6"),
            ("3 John 4", "3John.1.4"),
            ("Obadiah 15", "Obad.1.15"),
            ("Jude 1:24", "Jude.1.24"),
            ("Jude 24-25", "Jude.1.24-1.25"),
        ],
    ),
    "verses listed after a reference are references of their own": (
        "<p>See Romans 8:28, 31 and 39, then John 3:16; 4:2 and 1 John 4:8, 16; Jude 3, 24.</p>",
        [
            ("Romans 8:28", "Rom.8.28"),
            ("31", "Rom.8.31"),
            ("39", "Rom.8.39"),
            ("John 3:16", "John.3.16"),
            ("4:2", "John.4.2"),
            ("1 John 4:8", "1John.4.8"),
            ("16", "1John.4.16"),
            ("Jude 3", "Jude.1.3"),
            ("24", "Jude.1.24"),
        ],
    ),
    "a list stops at a number that is not a further verse": (
        "<p>Quoting John 3:16, 20 churches met; Romans 8:28, 2 Corinthians 5:17 and"
        " Romans 8:28, 12 were read; John 3:16; 17 too.</p>",
        [
            ("John 3:16", "John.3.16"),
            ("Romans 8:28", "Rom.8.28"),
            ("2 Corinthians 5:17", "2Cor.5.17"),
            ("Romans 8:28", "Rom.8.28"),
            ("John 3:16", "John.3.16"),
        ],
    ),
    "a dash then words after a reference is prose": (
        "<p>Psalm 23—the shepherd psalm—and John 3:16 – a famous verse.</p>",
        [("Psalm 23", "Ps.23"), ("John 3:16", "John.3.16")],
    ),
    "a reference right after another is found though a number ends the one before": (
        "<p>John 3:16 John 3:17 and Psalm 23:1 John 1:1.</p>",
        [
            ("John 3:16", "John.3.16"),
            ("John 3:17", "John.3.17"),
            ("Psalm 23:1", "Ps.23.1"),
            ("John 1:1", "John.1.1"),
        ],
    ),
    "references between spaced dashes are found unless a range could read the number": (
        "<p>Psalm 23 – Isaiah 53 – John 10:11, but not John 3:16 – 1 Cor. 13:4.</p>",
        [("Psalm 23", "Ps.23"), ("Isaiah 53", "Isa.53"), ("John 10:11", "John.10.11")],
    ),
    "a reference after a dash that attributes a quotation is found": (
        "<blockquote><p>“God works for the good.” —Romans 8:28</p></blockquote>"
        "<p>“Be still.” –Psalm 46:10, and pre-John 3:16 is no reference.</p>",
        [("Romans 8:28", "Rom.8.28"), ("Psalm 46:10", "Ps.46.10")],
    ),
    "a reference in capitals or in brackets is found": (
        "<p>(JOHN 3:16) and [Romans 5:8].</p>",
        [("JOHN 3:16", "John.3.16"), ("Romans 5:8", "Rom.5.8")],
    ),
    # Precision: what does not count.
    "a chapter alone does not count after a name that is also a word or a name": (
        "<p>Mark 5 players, John 3 times, Acts 2, Job 12, Numbers 7, Daniel 4, James 2,"
        " Genesis 3, Revelation 8, Ruth 2, Titus 3, Amos 5, Esther 4, Joel 9, Jude 30.</p>",
        [],
    ),
    "an abbreviation that is also a name takes a bare chapter only with its dot": (
        "<p>Isa 53 and Rom 8 and Gal 5.</p>",
        [],
    ),
    "a chapter or verse that does not exist is not a reference": (
        "<p>The Acts 29 Network met; Romans 17:1, John 3:99, Psalm 151, Jude 26, Mark 0:1,"
        " John 03:16 and John 3:16-3 do not exist.</p>",
        [],
    ),
    "a number before a name it cannot belong to spoils the reference": (
        "<p>They read 4 John 3:16 and 3 John 3:16 and Psalm 23,1 John 4:8.</p>",
        [],
    ),
    "a street with a number before a book's name is not a reference": (
        "<p>They live at 1 John Street and 2 Timothy Road.</p>",
        [],
    ),
    "a time, a count or an age after a name is not a verse": (
        "<p>We met at 3:30. Numbers 3:2 million. Isaiah 53-year-old. Mark 12:30 pm."
        " John 10:30 a.m. Psalm 23 percent. Jude 3 points. Isaiah 40 years. Daniel 2:1 win."
        " Luke 2:1 ratio. Haggai 2 kids. Malachi 3 killed.</p>",
        [],
    ),
    "a time written in capitals after a name is not a verse": (
        "<p>Speaker: Pastor Mark 10:30 AM. John 10:30 A.M. Luke 11:30 PM. Mark 6:30 P.M."
        " James 4:15 EST.</p>",
        [],
    ),
    "a name after a person's title is a person, and the number a time": (
        "<p>Speakers: Pastor John 9:30; Bishop Mark 11:15; Dr. Luke 7:30; Father Mark 2:15;"
        " Sister Ruth 1:16; Rev. Mark 6:15; Brother James 1:12. Pastor Lee read John 3:16.</p>",
        [("John 3:16", "John.3.16")],
    ),
    "a number that is part of a longer number or a decimal is not a verse": (
        "<p>Numbers 3,000, John 3:16.5, Psalm 23/24, Psalm 23:1:2, Mark 5:12c, Psalm 23a,"
        " Psalm 23-24a and Isaiah 53-2020.</p>",
        [],
    ),
    "a number that belongs to an organisation or a place is not a reference": (
        "<p>The Revelation 2:1 Gallery, Proverbs 31 Ministries, Isaiah 58 Project,"
        " Jeremiah 29:11 Foundation and Psalm 23 Church.</p>",
        [],
    ),
    "a number that starts a longer name of an organisation is not a reference": (
        "<p>The 2 Chronicles 7:14 Prayer Network, the Matthew 25 Food Bank Ministries and"
        " the Psalm 91 Life Church.</p>",
        [],
    ),
    "a full name followed by a dot ends a sentence": (
        "<p>It was written by John. 3 days later.</p>",
        [],
    ),
    "a chapter word without a book is not a reference": (
        "<p>Chapter 11 and Section 3:16 and Verse 4.</p>",
        [],
    ),
    "a name in lower case is not a book": (
        "<p>the numbers 3:2 and a job 3:16</p>",
        [],
    ),
    "text inside links, headings and code is never searched": (
        '<p><a href="https://x.test/">John 3:16</a></p><h2>John 3:16</h2><pre>John 3:16</pre>'
        "<p><code>John 3:16</code> <a>Psalm 23</a></p><h3><em>Psalm 23</em></h3>",
        [],
    ),
    "a reference never spans a tag": (
        "<p>John <em>3:16</em> and <strong>Psalm</strong> 23 and Psalm 23<br>4.</p>",
        [("Psalm 23", "Ps.23")],
    ),
    "an attribute that looks like a reference is not text": (
        '<p><img src="https://x.test/a.jpg" alt="John 3:16"> <abbr title="Psalm 23">PS</abbr></p>',
        [],
    ),
}


@pytest.mark.parametrize("rule", list(RULES), ids=list(RULES))
def test_rule(rule: str) -> None:
    body, expected = RULES[rule]
    assert found(body) == expected


def test_html_without_digits_holds_no_reference() -> None:
    assert find_references(sanitize("<p>Psalm and John and Jude</p>")) == ()
