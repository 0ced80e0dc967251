"""Find Bible references in sanitized body HTML: a small matcher over the book table.

One compiled pattern finds candidates ("Name 3:16", "1 Cor. 13:4–7", "Psalm 23") in each
visible text node; the book table decides what the name is, whether a bare number may
follow it, and whether the chapter and verse exist. Precision comes first: whatever is in
doubt stays plain text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .books import BOOKS, BY_OSIS, Book


@dataclass(frozen=True, slots=True)
class Passage:
    """A verse, a chapter, or a range of them, in OSIS terms."""

    book: str  # OSIS id
    chapter: int
    verse: int | None = None  # None: a whole chapter ("Psalm 23")
    end_chapter: int | None = None  # set for any range ("John 3:16-18": 3)
    end_verse: int | None = None  # None with end_chapter: a range of chapters

    @property
    def osis(self) -> str:
        """ "John.3.16", "John.3.16-3.18", "Ps.23", "Isa.53-55", "Jude.1.3"."""
        start = f"{self.book}.{self.chapter}"
        if self.verse is not None:
            start += f".{self.verse}"
        if self.end_chapter is None:
            return start
        end = f"{self.end_chapter}"
        if self.end_verse is not None:
            end += f".{self.end_verse}"
        return f"{start}-{end}"


@dataclass(frozen=True, slots=True)
class Reference:
    """A passage and where it is written: `html[start:end]` is its text exactly."""

    start: int
    end: int
    passage: Passage


# Tags whose text is never searched: links already made, headings, code.
SKIPPED_TAGS = frozenset({"a", "h1", "h2", "h3", "h4", "h5", "h6", "code", "pre"})

_NUMBERS = {"1": 1, "2": 2, "3": 3, "I": 1, "II": 2, "III": 3, "First": 1, "Second": 2}
_NUMBERS |= {"Third": 3, "1st": 1, "2nd": 2, "3rd": 3}


@dataclass(frozen=True, slots=True)
class _Alias:
    book: Book
    bare: bool  # a bare number may follow ("Psalm 23", "Jude 3")
    dotted: bool  # an abbreviation: a dot may follow it
    bare_dotted: bool  # a bare number may follow when the dot is written ("Isa. 53")


def _aliases() -> dict[tuple[int | None, str], _Alias]:
    """(number, name as written) → alias; full names also in capitals ("JOHN 3:16")."""
    table: dict[tuple[int | None, str], _Alias] = {}
    for book in BOOKS:
        for name in book.names:
            alias = _Alias(book, name in book.bare, dotted=False, bare_dotted=False)
            table[book.number, name] = table[book.number, name.upper()] = alias
        for short in book.abbreviations:
            bare = short in book.bare
            table[book.number, short] = _Alias(book, bare, True, bare or f"{short}." in book.bare)
    return table


_ALIASES = _aliases()

# Spaces between a book and its number: a space, a no-break space (`&nbsp;`), a thin or
# narrow no-break space, or a line break in the source (a browser shows a space).
_SPACE = r"[ \xa0\u2009\u202f\n]"
_DASH = "[-\u2010\u2011\u2013\u2014]"
# Part of a verse ("John 3:16a"): written as part of the reference, linked as the verse.
_PART = "[ab]?"
# Before a name without its number: no number it could belong to ("I John" is 1 John,
# never John). A digit there is checked in `_in_text`: it may end the reference before.
_NO_NUMBER = "".join(
    f"(?<!{number}{_SPACE})" for number in ("I", "First", "Second", "Third", "1st", "2nd", "3rd")
)
_NUMBER_BEFORE = re.compile(rf"\d{_SPACE}\Z")
# A person's title just before a name: the name is a person's and the number a time or a
# score ("Pastor John 9:30", "Dr. Luke 7:30").
_TITLE_BEFORE = re.compile(
    r"(?<![\w.])(?:Pastor|Reverend|Rev\.|Bishop|Father|Fr\.|Brother|Sister|Deacon|Elder|"
    rf"Dr\.?|Mr\.?|Mrs\.?|Ms\.?|Prof\.|Coach){_SPACE}+\Z"
)
# A candidate: [number] name[.] chapter[:verse][-[chapter:]verse]. Nothing glued before it
# but a dash before a name ("—Romans 8:28" after a quotation); no digit after a dash, which
# a range before may have read ("John 3:16 – 1 Cor. 13:4" is no range, and not trusted as
# a reference after one either).
_CANDIDATE = re.compile(
    rf"""
    (?<![\w.,;:/\-\u2010\u2011])
    (?:
        (?<![\u2013\u2014])(?<!{_DASH}{_SPACE})(?P<digit>[123]){_SPACE}?
        |(?P<word>III|II|I|First|Second|Third|1st|2nd|3rd){_SPACE}+
        |{_NO_NUMBER}
    )
    (?P<name>[A-Z][A-Za-z]*(?:{_SPACE}+of{_SPACE}+[A-Z][a-z]+)?)
    (?P<dot>\.)?
    {_SPACE}+
    (?P<chapter>[1-9]\d{{0,2}})
    (?::(?P<verse>[1-9]\d{{0,2}}){_PART})?
    (?:{_SPACE}?{_DASH}{_SPACE}?(?:(?P<end_chapter>[1-9]\d{{0,2}}):)?(?P<end_verse>[1-9]\d{{0,2}}))?
    (?P<end_part>{_PART})
    """,
    re.X,
)
_UNITS = (
    r"years?|yrs?|year-olds?|months?|weeks?|days?|hours?|hrs?|minutes?|mins?|seconds?|"
    r"percent|per{_SPACE}cent|million|billion|trillion|thousand|hundred|dozen|people|"
    r"persons?|men|women|children|points?|goals?|runs?|votes?|seats?|degrees?|miles?|"
    r"km|kilometers?|kilometres?|meters?|metres?|feet|foot|ft|inches?|pounds?|lbs?|kg|"
    r"dollars?|euros?|times|vs|versus|am|pm|a\.m|p\.m|AM|PM|A\.M|P\.M|GMT|UTC|ET|EST|PST|CET|"
    # a score or a count of people or things ("Daniel 2:1 win", "Haggai 2 kids")
    r"wins?|won|victory|lead|loss|losses|defeat|draw|tie|score|margin|ratio|odds|"
    r"kids|girls|boys|members|students|churches|believers|Christians|families|pastors|"
    r"soldiers|victims|deaths|killed|dead|injured|wounded|arrested|homes|houses|cases|attacks"
).replace("{_SPACE}", _SPACE)
# Words after a number that name an organisation or a place ("Acts 29 Network",
# "Revelation 2:1 Gallery", "2 Chronicles 7:14 Prayer Network", two capitalised words
# before it at most): the number is part of a name, not a citation.
_NAMES = (
    "Gallery|Network|Ministries|Ministry|Church|Chapel|Project|Foundation|Initiative|"
    "Fellowship|Movement|Conference|Center|Centre|Collective|Campaign|Coalition|Alliance|"
    "Society|Institute|Academy|School|College|University|Street|St|Road|Rd|Avenue|Ave|"
    "Boulevard|Lane|Records|Band|Tour|Festival|Coffee|Cafe|Café|Club|Group|Trust|Fund|"
    "Films?|Pictures|Productions|Media|Radio|Press|Publishing|Magazine|Podcast|Summit|"
    "Awards?|Prize|Team|Partners|House|Homes?|Village|Farm|Missions?|Orphanage|Hospital|"
    "Clinic|Bank|Inc|LLC|Ltd|Company|Co|Corp|Store|Shop|Brewery|Restaurant|Studio|Studios"
)
# What may not follow a reference: more of a word or number ("53-year-old", "3:16.5",
# "3,000", "23–2020"), a unit ("3:2 million", "11:30 pm"), or a name the number belongs
# to. (A dash then a word is prose: "Psalm 23—the shepherd's psalm".) Whatever may start
# a reference is excluded before one too (`_CANDIDATE`), so linking one reference never
# changes whether its neighbour is found.
_AFTER = re.compile(
    rf"[\w\u00b2\u00b3\u00b9]|[.,:/]\d|[-\u2010\u2011]\w|{_DASH}\d|%|"
    rf"{_SPACE}*(?:{_UNITS})\b|{_SPACE}+(?:[A-Z][A-Za-z'\u2019]*{_SPACE}+){{0,2}}(?:{_NAMES})\b",
)
# A further verse or chapter:verse of the same book after a reference ("Romans 8:28, 31",
# "John 3:16; 4:2", "…, 31 and 39"); each becomes a reference of its own.
_MORE = re.compile(
    rf"""
    (?P<sep>[,;]|{_SPACE}+and{_SPACE}){_SPACE}*
    (?:(?P<chapter>[1-9]\d{{0,2}}):)?(?P<verse>[1-9]\d{{0,2}}){_PART}
    (?:{_DASH}(?:(?P<end_chapter>[1-9]\d{{0,2}}):)?(?P<end_verse>[1-9]\d{{0,2}}){_PART})?
    """,
    re.X,
)
# What may follow a bare verse in a list: punctuation, "and"/"or", or the end ("Romans
# 8:28, 31 and 39"); not a word ("John 3:16, 20 churches") nor a book ("…, 1 John 4:8").
_LIST_END = re.compile(rf"""$|[,;.)\]!?"'\u2019\u201d]|{_SPACE}+(?:and|or)\b""")
_TOKEN = re.compile(
    r"""<!--.*?(?:-->|\Z)|<(?P<close>/?)(?P<tag>[A-Za-z][A-Za-z0-9]*)"""
    r"""(?:[^"'>]|"[^"]*"|'[^']*')*>|(?P<text>[^<]+)|<""",
    re.S,
)
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_DIGIT = re.compile(r"\d")


def find_references(html_text: str) -> tuple[Reference, ...]:
    """The references in sanitized HTML, sorted and non-overlapping.

    Only visible text outside `<a>`, headings, `<code>` and `<pre>` is searched, one text
    node at a time: a reference never spans a tag. Offsets index `html_text` itself, so
    `html_text[ref.start:ref.end]` is the reference as written, entities included.
    """
    if not _DIGIT.search(html_text):
        return ()
    return tuple(ref for start, text in _text_nodes(html_text) for ref in _in_text(text, start))


def _text_nodes(html_text: str) -> Iterator[tuple[int, str]]:
    """(offset, raw text) of each text node outside the skipped tags."""
    skipped = 0
    for token in _TOKEN.finditer(html_text):
        text = token["text"]
        if text is not None:
            if not skipped and _DIGIT.search(text):
                yield token.start(), text
            continue
        tag = (token["tag"] or "").lower()
        if tag in SKIPPED_TAGS:
            skipped = max(0, skipped - 1) if token["close"] else skipped + 1


def _in_text(raw: str, offset: int) -> Iterator[Reference]:
    """The references in one text node whose raw (escaped) text starts at `offset`."""
    text, where = _unescape(raw)
    position = 0
    while match := _CANDIDATE.search(text, position):
        found = list(_parse(text, match))
        if found and match["digit"] is None and match["word"] is None:
            # A number just before the name spoils it ("4 John 3:16"), unless it ends the
            # reference before ("John 3:16 John 3:16"): the same as once that is a link.
            number = _NUMBER_BEFORE.search(text, max(0, match.start() - 2), match.start())
            if number and position != match.start() - 1:
                found = []
            if _TITLE_BEFORE.search(text, max(0, match.start() - 16), match.start()):
                found = []
        if not found:
            position = match.end("name")
            continue
        for start, end, passage in found:
            yield Reference(offset + where[start], offset + where[end], passage)
        position = found[-1][1]


def _unescape(raw: str) -> tuple[str, list[int]]:
    """`raw` with entities decoded, and for each character of the result (and its end)
    the offset in `raw` it came from."""
    if "&" not in raw:
        return raw, list(range(len(raw) + 1))
    pieces: list[str] = []
    where: list[int] = []
    last = 0
    for entity in _ENTITY.finditer(raw):
        pieces.append(raw[last : entity.start()])
        where.extend(range(last, entity.start()))
        decoded = html.unescape(entity[0])
        pieces.append(decoded)
        where.extend([entity.start()] * len(decoded))
        last = entity.end()
    pieces.append(raw[last:])
    where.extend(range(last, len(raw) + 1))
    return "".join(pieces), where


def _parse(text: str, match: re.Match[str]) -> Iterator[tuple[int, int, Passage]]:
    """The references a candidate stands for (the first, then any list after it)."""
    number = _NUMBERS.get(match["digit"] or match["word"] or "")
    alias = _lookup(number, match["name"], match["dot"])
    if alias is None or _AFTER.match(text, match.end()):
        return
    chapter, verse = int(match["chapter"]), _int(match["verse"])
    end_chapter, end_verse = _int(match["end_chapter"]), _int(match["end_verse"])
    if verse is None and (
        match["end_part"] or not (alias.bare_dotted if match["dot"] else alias.bare)
    ):
        return  # "Mark 5", "Psalm 23-24a"
    passage = _passage(alias.book, chapter, verse, end_chapter, end_verse)
    if passage is None:
        return
    yield match.start(), match.end(), passage
    if passage.verse is not None:  # a list follows verses, never chapters ("Psalm 23, 24")
        yield from _list(text, match.end(), passage)


def _lookup(number: int | None, name: str, dot: str | None) -> _Alias | None:
    alias = _ALIASES.get((number, name))
    if alias is None or (dot and not alias.dotted):
        return None  # "said John. 3 days later": a full name's dot ends a sentence
    return alias


def _list(text: str, position: int, last: Passage) -> Iterator[tuple[int, int, Passage]]:
    """Verses and chapter:verses listed after a reference, each its own reference."""
    book = BY_OSIS[last.book]
    listed = False
    while item := _MORE.match(text, position):
        chapter = _int(item["chapter"])
        if item["sep"] == ";" and chapter is None:
            return  # "John 3:16; 17" could be anything
        if item["sep"] not in ",;" and not listed:
            return  # "and" only ends a list: "Romans 8:28, 31 and 39", not "John 3:16 and 17"
        if _AFTER.match(text, item.end()):
            return
        if chapter is None and not _LIST_END.match(text, item.end()):
            return
        last_chapter = last.end_chapter or last.chapter
        last_verse = last.end_verse or last.verse or 0
        passage = _passage(
            book,
            chapter or last_chapter,
            int(item["verse"]),
            _int(item["end_chapter"]),
            _int(item["end_verse"]),
        )
        if passage is None or (passage.chapter, passage.verse or 0) <= (last_chapter, last_verse):
            return  # lists go forward; "Romans 8:28, 2 …" is not a verse list
        first = item.start("chapter") if chapter is not None else item.start("verse")
        yield first, item.end(), passage
        position, last, listed = item.end(), passage, True


def _passage(
    book: Book,
    chapter: int,
    verse: int | None,
    end_chapter: int | None,
    end_verse: int | None,
) -> Passage | None:
    """The passage the numbers mean in `book`, or None when it does not exist."""
    if verse is None:
        if end_chapter is not None:
            return None  # "Psalm 23-24:3"
        if book.chapters == 1:  # "Jude 3", "Jude 3-5": verses of the one chapter
            chapter, verse = 1, chapter
            if end_verse is not None:
                end_chapter = 1
        elif end_verse is not None:  # "Isaiah 53-55"
            if not chapter < end_verse <= book.chapters:
                return None
            return Passage(book.osis, chapter, None, end_verse, None)
        elif chapter > book.chapters:
            return None
        else:
            return Passage(book.osis, chapter)
    if not (chapter <= book.chapters and verse <= book.verses[chapter - 1]):
        return None
    if end_verse is None:
        return Passage(book.osis, chapter, verse)
    end_chapter = end_chapter or chapter
    if not (chapter <= end_chapter <= book.chapters and end_verse <= book.verses[end_chapter - 1]):
        return None
    if (end_chapter, end_verse) <= (chapter, verse):
        return None
    return Passage(book.osis, chapter, verse, end_chapter, end_verse)


def _int(digits: str | None) -> int | None:
    return int(digits) if digits is not None else None
