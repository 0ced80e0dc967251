#!/usr/bin/env python3
"""Our scripture detector beside pythonbible on the corpus: recall, false links, misses by rule.

    uv run --with pythonbible python scripts/scripture_compare.py [--examples N]

pythonbible is not a dependency of Syndicator: `uv run --with` adds it for this run only.
The corpus is `tests/fixtures/scripture/corpus.txt` (its header gives the format).

pythonbible gives passages, not where they are written, so both detectors are scored on
passages (each expected one matched at most once per fixture; anything else found is a false
link); ours is also scored as the tests score it, on exact spans. pythonbible is given its best
chance: the text of each fragment that may hold a reference (outside links, headings, code and
preformatted text; no attributes), with entities decoded, one text node at a time.
"""

from __future__ import annotations

import argparse
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import TypeVar

import pythonbible  # type: ignore[import-not-found]
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syndicator.scripture import BOOKS, find_references  # noqa: E402
from tests.scripture_corpus import (  # noqa: E402
    Fixture,
    Found,
    Score,
    load_corpus,
    osis_of,
    score,
)

T = TypeVar("T")
WHOLE_BOOK = " (whole book)"  # pythonbible's reference for a book name alone
SKIPPED = frozenset({"a", "h1", "h2", "h3", "h4", "h5", "h6", "code", "pre"})


class _Text(HTMLParser):
    """The visible text nodes of a fragment outside SKIPPED elements, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skipping += tag in SKIPPED

    def handle_endtag(self, tag: str) -> None:
        self._skipping -= tag in SKIPPED and self._skipping > 0

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.nodes.append(data)


def text_nodes(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser.nodes


def _book_osis(book: object) -> str:
    # pythonbible numbers the 66 books canonically from 1; its apocrypha come after.
    number = int(book.value)  # type: ignore[attr-defined]
    return BOOKS[number - 1].osis if number <= len(BOOKS) else f"({book.name})"  # type: ignore[attr-defined]


def theirs(fixture: Fixture) -> list[Found]:
    found = []
    for node in text_nodes(fixture.html):
        for ref in pythonbible.get_references(node):
            book = _book_osis(ref.book)
            end_book = _book_osis(ref.end_book or ref.book)
            if ref.start_chapter is None:  # a book name alone: "JOS", "Pro-life", "a song"
                found.append(Found(None, None, f"{book}{WHOLE_BOOK}"))
                continue
            osis = osis_of(book, ref.start_chapter, ref.start_verse, ref.end_chapter, ref.end_verse)
            if end_book != book:
                osis = f"{osis}…{end_book}"  # a range into another book: never expected
            found.append(Found(None, None, osis))
    return found


def ours(fixture: Fixture) -> list[Found]:
    return [Found(r.start, r.end, r.passage.osis) for r in find_references(fixture.html)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=12, help="pythonbible errors to show")
    args = parser.parse_args()
    groups = load_corpus()
    fixtures = [f for g in groups for f in g.fixtures]
    traps = sum(len(f.traps) for f in fixtures)
    results: dict[str, Score] = {
        "ours (exact span)": score(fixtures, ours),
        "ours (passage)": score(fixtures, ours, spans=False),
        "pythonbible (passage)": score(fixtures, theirs, spans=False),
    }
    console = Console(width=110)

    summary = Table(
        title=f"Scripture corpus: {len(fixtures)} fixtures, "
        f"{results['ours (passage)'].expected} references, {traps} traps"
    )
    for column in ("detector", "recall", "found", "misses", "false links", "of which a bare name"):
        summary.add_column(column, justify="left" if column == "detector" else "right")
    for name, result in results.items():
        summary.add_row(
            name,
            f"{result.recall:.1%}",
            f"{result.expected - len(result.misses)}/{result.expected}",
            str(len(result.misses)),
            str(len(result.false_links)),
            str(sum(found.osis.endswith(WHOLE_BOOK) for _, found in result.false_links)),
        )
    console.print(summary)

    by_rule = Table(title="By rule group (misses / false links)")
    by_rule.add_column("group")
    for column in ("refs", "traps", "ours", "pythonbible"):
        by_rule.add_column(column, justify="right")
    for group in groups:
        mine = score(group.fixtures, ours)
        other = score(group.fixtures, theirs, spans=False)
        by_rule.add_row(
            group.id,
            str(mine.expected),
            str(sum(len(f.traps) for f in group.fixtures)),
            f"{len(mine.misses)} / {len(mine.false_links)}",
            f"{len(other.misses)} / {len(other.false_links)}",
        )
    console.print(by_rule)

    for name in ("ours (exact span)", "pythonbible (passage)"):
        result = results[name]
        examples = Table(title=f"What {name.split()[0]} got wrong (up to {args.examples} each)")
        for column in ("line", "group", "kind", "text or what was found"):
            examples.add_column(column)
        for fixture, expected in _spread(result.misses, args.examples):
            examples.add_row(
                str(fixture.line), fixture.group, "miss", f"{expected.text} → {expected.osis}"
            )
        for fixture, found in _spread(result.false_links, args.examples):
            if found.start is None:
                text = f"{found.osis} in “{_excerpt(fixture)}”"
            else:
                text = f"{fixture.html[found.start : found.end]} → {found.osis}"
            examples.add_row(str(fixture.line), fixture.group, "false link", text)
        console.print(examples)
    return 0


def _excerpt(fixture: Fixture, width: int = 60) -> str:
    text = " ".join("".join(text_nodes(fixture.html)).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _spread(items: tuple[tuple[Fixture, T], ...], limit: int) -> list[tuple[Fixture, T]]:
    """Up to `limit` items, taking one per rule group in turn so every group is shown."""
    by_group: dict[str, list[tuple[Fixture, T]]] = {}
    for item in items:
        by_group.setdefault(item[0].group, []).append(item)
    picked: list[tuple[Fixture, T]] = []
    while len(picked) < limit and any(by_group.values()):
        for queue in by_group.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return sorted(picked, key=lambda item: item[0].line)


if __name__ == "__main__":
    raise SystemExit(main())
