"""The scripture detector measured on the blind corpus: recall ≥ 95 % and no false link.

The corpus (`tests/fixtures/scripture/corpus.txt`) was written from issue 24's rules without
reading the detector. A reference counts as found only with its exact span and passage; any
other reference found is a false link. Run with `-s` to see the figures per rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syndicator.scripture import BY_OSIS, find_references

from .scripture_corpus import (
    CorpusError,
    Fixture,
    Found,
    Group,
    Score,
    load_corpus,
    osis_parts,
    score,
)

RECALL_TARGET = 0.95
GROUPS = load_corpus()
RULES = [g for g in GROUPS if not g.is_trap]
TRAPS = [g for g in GROUPS if g.is_trap]
ALL = [fixture for group in GROUPS for fixture in group.fixtures]


def ours(fixture: Fixture) -> list[Found]:
    return [Found(ref.start, ref.end, ref.passage.osis) for ref in find_references(fixture.html)]


def _figures(groups: list[Group]) -> str:
    rows = [f"{'group':34} {'refs':>5} {'traps':>5} {'recall':>7} {'false':>5}"]
    for group in groups:
        result = score(group.fixtures, ours)
        traps = sum(len(f.traps) for f in group.fixtures)
        recall = f"{result.recall:.1%}" if result.expected else "-"
        rows.append(
            f"{group.id:34} {result.expected:5} {traps:5} {recall:>7} {len(result.false_links):5}"
        )
    return "\n".join(rows)


def _report(result: Score, what: str) -> str:
    return (
        f"{what}: recall {result.recall:.1%} ({result.expected - len(result.misses)}"
        f"/{result.expected}), false links {len(result.false_links)}\n{result.explain()}"
    )


def test_the_corpus_holds_at_least_180_references_and_100_traps() -> None:
    references = sum(len(f.expected) for f in ALL)
    traps = sum(len(f.traps) for f in ALL)
    assert references >= 180, references
    assert traps >= 100, traps
    assert len(RULES) >= 12 and len(TRAPS) >= 6


def test_every_expected_passage_exists_in_the_book_table() -> None:
    wrong = []
    for fixture in ALL:
        for expected in fixture.expected:
            book, chapter, verse, end_chapter, end_verse = osis_parts(expected.osis)
            verses = BY_OSIS[book].verses if book in BY_OSIS else ()
            fits = 1 <= chapter <= end_chapter <= len(verses)
            if fits and verse is not None and end_verse is not None:
                fits = (
                    1 <= verse <= verses[chapter - 1]
                    and 1 <= end_verse <= verses[end_chapter - 1]
                    and (chapter, verse) <= (end_chapter, end_verse)
                )
            if not fits:
                wrong.append(f"line {fixture.line}: {expected.text!r} -> {expected.osis}")
    assert not wrong, "\n".join(wrong)


def test_the_detector_finds_95_percent_of_the_corpus_and_links_nothing_else() -> None:
    result = score(ALL, ours)
    print(f"\n{_figures(list(GROUPS))}\n{_report(result, 'whole corpus')}")
    assert result.recall >= RECALL_TARGET and not result.false_links, _report(
        result, "whole corpus"
    )


@pytest.mark.parametrize("group", RULES, ids=[g.id for g in RULES])
def test_each_rule_finds_95_percent_of_its_own_references(group: Group) -> None:
    result = score(group.fixtures, ours)
    assert result.recall >= RECALL_TARGET, _report(result, group.id)


@pytest.mark.parametrize("group", TRAPS, ids=[g.id for g in TRAPS])
def test_each_kind_of_trap_gets_no_link(group: Group) -> None:
    result = score(group.fixtures, ours)
    assert not result.false_links and not result.misses, _report(result, group.id)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("<p>Read {{John 3:16|John 3 16}}.</p>", "is not an OSIS reference"),
        ("<p>Read {{John 3:16|John.3.16}.</p>", "malformed"),
        ("<p>Read John 3:16.</p>", "marks no {{reference|osis}}"),
    ],
)
def test_a_malformed_corpus_line_is_an_error_naming_its_line(
    tmp_path: Path, line: str, says: str
) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(f"# header\n## full-names: full names\n{line}\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=f"^corpus.txt:3: .*{re.escape(says)}"):
        load_corpus(corpus)
