#!/usr/bin/env python3
"""Benchmarks, printed as tables, each with a baseline measured in the same run.

    python3 scripts/dev.py bench clean [--rounds N]

`clean`: one ~20 KB WordPress-shaped article (built from the bundled sample feed) cleaned
`--rounds` times: median ms for the whole clean step and for each stage, against
feedparser's own HTML sanitizer on the same input; then the pipeline on the sample feed run
three times, to show that unchanged articles are not cleaned again.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import feedparser.sanitizer  # noqa: E402

from syndicator.clean import clean_entry  # noqa: E402
from syndicator.config import CleanSettings, load_config  # noqa: E402
from syndicator.models import Entry  # noqa: E402
from syndicator.parse import parse_bytes  # noqa: E402
from syndicator.pipeline import run_once  # noqa: E402

SAMPLE = ROOT / "config" / "samples" / "worthynews-feed.xml"
TARGET_BYTES = 20 * 1024
TARGET_MS = 10.0


def sample_entries() -> tuple[Entry, ...]:
    feed = parse_bytes("worthynews", SAMPLE.read_bytes(), {"content-type": "application/xml"})
    return feed.entries


def article_of_20kb(entries: tuple[Entry, ...]) -> Entry:
    """The longest sample article, grown to ~20 KB with body paragraphs of the others.

    It keeps every upstream quirk of the sample (mojibake, captions, lazy images, embeds,
    share blocks, promo and footer), so each cleaning rule has work to do.
    """
    longest = max(entries, key=lambda e: len(e.content_html))
    html = longest.content_html
    cut = html.rfind("<p>If you are interested")  # insert before the promo paragraph
    extra = []
    for other in entries:
        if len(html) + sum(map(len, extra)) >= TARGET_BYTES:
            break
        if other is not longest:
            body = other.content_html
            extra.append(body[: body.find("<p>If you are interested")])
    grown = html[:cut] + "".join(extra) + html[cut:]
    return replace(longest, content_html=grown[: max(len(grown), TARGET_BYTES)])


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_clean(rounds: int) -> None:
    console = Console()
    entries = sample_entries()
    article = article_of_20kb(entries)
    settings = CleanSettings()
    size = len(article.content_html.encode())

    stages: dict[str, list[float]] = {}
    totals: list[float] = []
    for _ in range(rounds):
        laps: dict[str, float] = {}
        started = time.perf_counter()
        clean_entry(article, settings, timings=laps)
        totals.append(time.perf_counter() - started)
        for stage, seconds in laps.items():
            stages.setdefault(stage, []).append(seconds)

    def baseline() -> None:
        feedparser.sanitizer._sanitize_html(article.content_html, "utf-8", "text/html")

    base = _time(baseline, rounds)

    table = Table(title=f"clean: one {size / 1024:.1f} KB article, {rounds} rounds (median)")
    table.add_column("step")
    table.add_column("ms", justify="right")
    table.add_column("share", justify="right")
    whole = median_ms(totals)
    for stage, samples in stages.items():
        ms = median_ms(samples)
        table.add_row(f"  {stage}", f"{ms:.2f}", f"{ms / whole:.0%}")
    verdict = "meets" if whole <= TARGET_MS else "MISSES"
    table.add_row("whole clean step", f"{whole:.2f}", f"{verdict} ≤ {TARGET_MS:g} ms")
    table.add_row("baseline: feedparser's sanitizer alone", f"{median_ms(base):.2f}", "")
    feed_ms = median_ms(_time(lambda: [clean_entry(e, settings) for e in entries], 5))
    table.add_row(
        "whole sample feed (15 articles), per article", f"{feed_ms / len(entries):.2f}", ""
    )
    console.print(table)
    console.print(_clean_once_table())


def _time(work: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return samples


def _clean_once_table() -> Table:
    """Run the pipeline three times on a copy of the bundled config: cleaned vs skipped."""
    table = Table(title="clean once: the bundled sample feed, three runs")
    for column in ("run", "fetched", "new", "changed", "cleaned", "already clean", "ms"):
        table.add_column(column, justify="right" if column != "run" else "left")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "config", Path(tmp) / "config")
        main = Path(tmp) / "config" / "syndicator.toml"
        feed = Path(tmp) / "config" / "samples" / "worthynews-feed.xml"
        now = datetime(2026, 11, 24, 12, tzinfo=UTC)
        for label in ("first run", "feed not modified", "feed re-saved, same items"):
            if label == "feed re-saved, same items":
                feed.write_bytes(feed.read_bytes() + b"\n")  # new mtime and size: re-parsed
            started = time.perf_counter()
            report = run_once(load_config(main), now, force=True, rng=random.Random(0))
            elapsed = (time.perf_counter() - started) * 1000
            source, cleaning = report.sources[0], report.cleaning[0]
            table.add_row(
                label,
                "not modified" if source.outcome == "not_modified" else "parsed",
                str(len(source.changes.new)),
                str(len(source.changes.changed)),
                str(cleaning.cleaned),
                str(cleaning.up_to_date),
                f"{elapsed:.0f}",
            )
    return table


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("suite", choices=["clean"], help="which benchmark to run")
    parser.add_argument("--rounds", type=int, default=200, help="repetitions (default 200)")
    args = parser.parse_args(argv)
    if args.suite == "clean":
        bench_clean(args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
