"""The scripture corpus (`tests/fixtures/scripture/corpus.txt`) read into fixtures, and scored.

Shared by `tests/test_scripture_corpus.py` (recall and false links of our detector) and
`scripts/scripture_compare.py` (ours beside pythonbible). The file's header describes its format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "fixtures" / "scripture" / "corpus.txt"

_MARKER = re.compile(r"\{\{(?P<text>[^{}|]+)\|(?P<osis>[^{}|]+)\}\}|\[\[(?P<trap>[^\[\]]+)\]\]")
_GROUP = re.compile(r"## (?P<id>[a-z0-9-]+): (?P<about>.+)")
# Passage.osis as syndicator.scripture defines it: Book.C, Book.C-C, Book.C.V, Book.C.V-C.V.
_OSIS = re.compile(
    r"(?P<book>[1-3]?[A-Z][a-z]+)\.(?P<c1>\d+)(?:\.(?P<v1>\d+))?(?:-(?P<c2>\d+)(?:\.(?P<v2>\d+))?)?"
)


class CorpusError(ValueError):
    """A corpus line that does not follow the format; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Expected:
    """A reference the detector must find: `html[start:end] == text`, parsed to `osis`."""

    start: int
    end: int
    text: str
    osis: str


@dataclass(frozen=True, slots=True)
class Trap:
    """Text a careful editor would not link (documentation; counted as one trap)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Fixture:
    """One corpus line: the HTML fragment with the markers taken out."""

    group: str
    line: int
    html: str
    expected: tuple[Expected, ...]
    traps: tuple[Trap, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """The fixtures of one rule; groups whose id starts with `trap-` hold traps."""

    id: str
    about: str
    fixtures: tuple[Fixture, ...]

    @property
    def is_trap(self) -> bool:
        return self.id.startswith("trap-")


@dataclass(frozen=True, slots=True)
class Found:
    """What a detector found: a span of the fixture's HTML (None when the detector gives no
    spans, as pythonbible) and its passage's OSIS id."""

    start: int | None
    end: int | None
    osis: str


@dataclass(frozen=True, slots=True)
class Score:
    """Recall and false links over some fixtures, with every miss and false link kept."""

    expected: int
    misses: tuple[tuple[Fixture, Expected], ...]
    false_links: tuple[tuple[Fixture, Found], ...]

    @property
    def recall(self) -> float:
        return (self.expected - len(self.misses)) / self.expected if self.expected else 1.0

    def explain(self) -> str:
        """Every miss and false link, one a line, with the corpus line it comes from."""
        lines = [
            f"  miss  line {fx.line} [{fx.group}]: {exp.text!r} -> {exp.osis}"
            for fx, exp in self.misses
        ]
        lines += [
            f"  FALSE line {fx.line} [{fx.group}]: "
            + (
                f"{fx.html[f.start : f.end]!r} at {f.start}:{f.end} -> "
                if f.start is not None
                else ""
            )
            + f.osis
            for fx, f in self.false_links
        ]
        return "\n".join(lines)


def load_corpus(path: Path = CORPUS) -> tuple[Group, ...]:
    """Read the corpus; a line that breaks the format raises CorpusError naming it."""
    groups: list[Group] = []
    current: tuple[str, str] | None = None
    fixtures: list[Fixture] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path.name}:{number}"
        if not raw.strip() or (raw.startswith("#") and not raw.startswith("## ")):
            continue
        if raw.startswith("## "):
            header = _GROUP.fullmatch(raw)
            if header is None:
                raise CorpusError(f"{where}: a group header is '## group-id: what it covers'")
            if current is not None:
                groups.append(Group(current[0], current[1], tuple(fixtures)))
            if any(g.id == header["id"] for g in groups):
                raise CorpusError(f"{where}: group {header['id']!r} appears twice")
            current, fixtures = (header["id"], header["about"]), []
            continue
        if current is None:
            raise CorpusError(f"{where}: a fixture before the first '## group-id: …' header")
        fixtures.append(_fixture(current[0], number, raw, where))
    if current is not None:
        groups.append(Group(current[0], current[1], tuple(fixtures)))
    return tuple(groups)


def _fixture(group: str, number: int, raw: str, where: str) -> Fixture:
    html: list[str] = []
    expected: list[Expected] = []
    traps: list[Trap] = []
    length = 0
    rest = 0
    for marker in _MARKER.finditer(raw):
        html.append(raw[rest : marker.start()])
        length += marker.start() - rest
        text = marker["text"] if marker["trap"] is None else marker["trap"]
        if marker["trap"] is None:
            osis = marker["osis"]
            if _OSIS.fullmatch(osis) is None:
                raise CorpusError(f"{where}: {osis!r} is not an OSIS reference like John.3.16")
            expected.append(Expected(length, length + len(text), text, osis))
        else:
            traps.append(Trap(length, length + len(text), text))
        html.append(text)
        length += len(text)
        rest = marker.end()
    html.append(raw[rest:])
    joined = "".join(html)
    if any(token in joined for token in ("{{", "}}", "[[", "]]")):
        raise CorpusError(f"{where}: an unclosed or malformed {{{{…|…}}}} or [[…]] marker")
    if group.startswith("trap-") and not traps:
        raise CorpusError(f"{where}: a fixture in a trap group marks no [[trap]]")
    if not group.startswith("trap-") and not expected:
        raise CorpusError(f"{where}: a fixture in a rule group marks no {{{{reference|osis}}}}")
    return Fixture(group, number, joined, tuple(expected), tuple(traps))


def osis_parts(osis: str) -> tuple[str, int, int | None, int, int | None]:
    """(book, chapter, verse, end chapter, end verse) of an OSIS id; verses None for chapters."""
    match = _OSIS.fullmatch(osis)
    if match is None:
        raise ValueError(f"{osis!r} is not an OSIS reference like John.3.16")
    c1 = int(match["c1"])
    v1 = int(match["v1"]) if match["v1"] else None
    if match["c2"] is None:
        return match["book"], c1, v1, c1, v1
    if v1 is not None and match["v2"] is None:
        raise ValueError(f"{osis!r}: a verse range ends in chapter.verse (John.3.16-3.18)")
    return match["book"], c1, v1, int(match["c2"]), int(match["v2"]) if match["v2"] else None


def osis_of(
    book: str, chapter: int, verse: int | None, end_chapter: int, end_verse: int | None
) -> str:
    """The OSIS id of a passage given by its parts (the inverse of `osis_parts`)."""
    start = f"{book}.{chapter}" if verse is None else f"{book}.{chapter}.{verse}"
    if (end_chapter, end_verse) == (chapter, verse):
        return start
    return f"{start}-{end_chapter}" + ("" if end_verse is None else f".{end_verse}")


def score(
    fixtures: Iterable[Fixture],
    detect: Callable[[Fixture], Iterable[Found]],
    *,
    spans: bool = True,
) -> Score:
    """Compare what `detect` finds in each fixture with the corpus: exact span and passage.

    A found reference counts when its span and OSIS id are those of an expected one; anything
    else it finds is a false link (so a right span with a wrong passage is a miss and a false
    link at once). With `spans=False` only the passages are compared, each expected one
    matched at most once (for detectors that give no spans).
    """
    total = 0
    misses: list[tuple[Fixture, Expected]] = []
    false_links: list[tuple[Fixture, Found]] = []
    for fixture in fixtures:
        total += len(fixture.expected)
        wanted = list(fixture.expected)
        for item in detect(fixture):
            match = next(
                (
                    e
                    for e in wanted
                    if e.osis == item.osis
                    and (not spans or (e.start, e.end) == (item.start, item.end))
                ),
                None,
            )
            if match is None:
                false_links.append((fixture, item))
            else:
                wanted.remove(match)
        misses += [(fixture, e) for e in wanted]
    return Score(total, tuple(misses), tuple(false_links))
