#!/usr/bin/env python3
"""Benchmarks, printed as tables, each with a baseline measured in the same run.

    python3 scripts/dev.py bench clean [--rounds N] [--shape-kb N]
    python3 scripts/dev.py bench render [--subscribers N] [--outputs all|feeds] [--dir DIR]
    python3 scripts/dev.py bench embed [--loads N] [--before REV]
    python3 scripts/dev.py bench templates [--seconds N] [--limit-mb N]
    python3 scripts/dev.py bench watch [--subscribers N]
    python3 scripts/dev.py bench web [--subscribers N] [--rounds N]

`clean`: one ~20 KB WordPress-shaped article (built from the bundled sample feed) cleaned
`--rounds` times: median ms for the whole clean step and for each stage, against
feedparser's own HTML sanitizer on the same input; then the pipeline on the sample feed run
three times, to show that unchanged articles are not cleaned again; then the worst shapes
found (runs of `&`, tracking pixels, nested wrappers, …) at `--shape-kb` KB and four times
that, each cleaned once in its own process: seconds, seconds per MB, how the time grew
(linear: ×4) and peak RSS, beside the WordPress article repeated to the same sizes.

`render`: 50 synthetic articles over 10 categories (the sample feed's, re-dated and
re-titled; some cite scripture), stored and cleaned in a real SQLite file; subscribers
with varied options (seeded, so every run builds the same ones; 30 % link scripture
references), all outputs or feeds only. Measured, each
phase in its own process so its peak RSS is its own: the full build; the same build done
the naive way (every subscriber rendered from scratch, stories reloaded for each; on a
sample when that would take long, scaled); the write-only floor (the full build's bytes
written to the same files by the same Publisher); a rebuild with nothing changed; one new
article in one category; one corrected article. Without `--subscribers` it runs 10,000
subscribers with all outputs, then 100,000 with feeds only (when the disk has room).

`templates`: one subscriber with a hostile override template (one of each kind the
sandbox bounds: arithmetic, widths, repetitions and joins, printing, loops that build a
little many times, output), over the bundled sample feed, each in its own process: the
run's time and peak RSS and what the subscriber was told, beside the same subscriber with
a harmless override. `--seconds` and `--limit-mb` stop a case that would run on (for
measuring code without the bounds).

`embed`: the bundled example subscribers and one with every default, over the sample feed,
published and served by `syndicator serve`: each embed.js's gzipped size (target ≤ 6 KB for
the default one), then in headless Chromium (Debian's) the time from inserting the script
into a page of another origin to its items painted, median of `--loads` cold loads, beside
an empty script from the same server and the same items as static HTML; with `--before
REV`, also the default subscriber's embed.js as the code at git revision REV renders it
(published by that code, in its own process), measured in the same run.

`watch`: what the daemon's looks cost, every `--watch` seconds, with `--subscribers`
(default 10,000) subscriber files and folders. Edited config files: `ConfigWatch`'s look
(the main file and the subscribers folder), and the daemon's (that, with every file
stat'ed at one look in `RECHECK_LOOKS`: the mean of that many), beside a stat of every
file at each look (the daemon before `ConfigWatch`). Deleted outputs: one scandir of the
output folder (`outputs_present`), beside a stat of each subscriber's folder.

`web`: the console (`syndicator web`'s app on a real uvicorn server on 127.0.0.1, asked
over HTTP by one signed-in client) over the bundled config after one cycle, plus
`--subscribers` (default 10,000) subscriber files (feeds only, so the cycle is short):
median and p95 ms of GET /admin/subscribers and of a search, and of a live preview of the
bundled grace-church (POST /admin/preview, its limit changed each round, so each is a
render), beside `syndicator preview`'s render of the same subscriber (`build_preview`
into a temporary folder) and `render_preview` alone, in process; then, in headless
Chromium, the editor of that subscriber: from changing its accent to the new iframe page
laid out (preview.js's pause included). `--rounds` each (default 50). Targets (median):
list ≤ 50 ms, preview ≤ 150 ms, the editor following a change ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import json
import logging
import math
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import feedparser.sanitizer  # noqa: E402

from syndicator.clean import clean_entry, policy_for, sanitize  # noqa: E402
from syndicator.config import (  # noqa: E402
    OUTPUTS,
    CleanSettings,
    Config,
    FetchSettings,
    Output,
    PublishConfig,
    SiteConfig,
    SourceConfig,
    SubscriberConfig,
    SubscriberOptions,
    Theme,
    load_config,
)
from syndicator.daemon import RECHECK_LOOKS, WATCH_SECONDS  # noqa: E402
from syndicator.errors import CleanError  # noqa: E402
from syndicator.ingest import clean_source, load_stories  # noqa: E402
from syndicator.models import Entry, ParsedFeed, Story  # noqa: E402
from syndicator.parse import parse_bytes  # noqa: E402
from syndicator.pipeline import run_once  # noqa: E402
from syndicator.publish import Publisher, PublishError  # noqa: E402
from syndicator.publish.run import BATCH_BYTES, publish_outputs  # noqa: E402
from syndicator.publish.target import LocalTarget, outputs_present  # noqa: E402
from syndicator.render import Renderer, plan  # noqa: E402
from syndicator.render.views import variant  # noqa: E402
from syndicator.scripture import Passage, find_references, link_references  # noqa: E402
from syndicator.select import select  # noqa: E402
from syndicator.store import Store, make_slug  # noqa: E402
from syndicator.watch import ConfigWatch  # noqa: E402

SAMPLE = ROOT / "config" / "samples" / "worthynews-feed.xml"
TARGET_BYTES = 20 * 1024
TARGET_MS = 10.0


def _console() -> Console:
    """Rich output; wide enough for the tables when written to a file or a pipe."""
    return Console() if sys.stdout.isatty() else Console(width=150)


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
    extra: list[str] = []
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


def bench_clean(rounds: int, shape_kb: int) -> None:
    console = _console()
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
    scripture = _scripture_rows(article, settings, rounds)

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
    for label, ms in scripture:
        table.add_row(label, f"{ms:.2f}", f"{ms / whole:.0%}")
    table.add_row("baseline: feedparser's sanitizer alone", f"{median_ms(base):.2f}", "")
    feed_ms = median_ms(_time(lambda: [clean_entry(e, settings) for e in entries], 5))
    table.add_row(
        "whole sample feed (15 articles), per article", f"{feed_ms / len(entries):.2f}", ""
    )
    console.print(table)
    console.print(_clean_once_table())
    console.print(_shapes_table(shape_kb))


# A paragraph of the kind a story quoting Scripture has: ten references, five shapes.
SCRIPTURE_PARAGRAPH = (
    "<p>The pastor read John 3:16 and 1 Cor. 13:4–7, then Psalm 23, Romans 8:28, 31 and 39,"
    " and closed with Isaiah 53:5; 55:1, Jude 3 and Second Corinthians 5:17 – while Mark"
    " 5 players met at 3:30 pm.</p>"
)


def _scripture_rows(
    article: Entry, settings: CleanSettings, rounds: int
) -> list[tuple[str, float]]:
    """The detector on the article's clean body with 50 references added (the "scripture"
    stage above is the same on the body as it is), then linking those 50 for one subscriber."""
    policy = policy_for(settings)
    body = clean_entry(article, settings).body_html
    quoting = sanitize(body + SCRIPTURE_PARAGRAPH * 5, policy)
    refs = find_references(quoting)
    added = len(refs) - len(find_references(body))

    def url(passage: Passage) -> str:
        return f"https://www.biblegateway.com/passage/?search={passage.osis}&version=NIV"

    return [
        (f"  scripture: find_references, + {added} references", median_ms(
            _time(lambda: find_references(quoting), rounds)
        )),
        ("scripture: link_references, the same body (render)", median_ms(
            _time(lambda: link_references(quoting, refs, url, policy), rounds)
        )),
    ]  # fmt: skip


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


# Hostile shapes, each a unit repeated to a size (and the WordPress article as baseline).
# Shapes of elements use units of 110 bytes or more, so 1 MB stays within the 10,000
# elements an article may have.
_PATH = "/wp-content/uploads/2026/11/" + "a" * 60
CLEAN_SHAPES: dict[str, tuple[str, str]] = {  # name: (unit, wrapper)
    "bare &": ("&", "<p>{}</p>"),
    "&nbsp; between words": ("x&nbsp;", "<p>{}</p>"),
    "&lt; (escaped <)": ("&lt;", "<p>{}</p>"),
    "curly quotes as &#8217;": ("&#8217;", "<p>{}</p>"),
    "one long word": ("a", "<p>{}</p>"),
    "one comment": ("a", "<p>x<!--{}--></p>"),
    "mojibake (â€œ)": ("â€œ", "<p>{}</p>"),
    "attributes on one element": (" data-a=1", "<p{}>x</p>"),
    "& in alt text (16 KB each)": (
        '<img src="https://img.example/a.jpg" alt="' + "&amp;" * 3200 + '">',
        "<p>{}</p>",
    ),
    "tracking pixels": (
        f'<img src="https://www.worthynews.com{_PATH}.gif" width="1">',
        "<div>x{}</div>",
    ),
    "foreign iframes": (f'<iframe src="https://ads.example{_PATH}"></iframe>', "<div>{}</div>"),
    "paragraphs in 47 nested divs": (
        "<p>" + "text " * 21 + "</p>",
        "<div>" * 47 + "{}" + "</div>" * 47,
    ),
    "spans": ('<span class="x">' + "text " * 18 + "</span>", "<p>{}</p>"),
    "table cells": ("<td>" + "text " * 21 + "</td>", "<table><tr>{}</tr></table>"),
    "<br> lines": ("text " * 22 + "<br>", "<p>{}</p>"),
}
BASELINE_SHAPE = "WordPress article (baseline)"


def _shape_body(name: str, size: int, article: str) -> str:
    if name == BASELINE_SHAPE:
        return article * max(1, size // len(article.encode()))
    unit, wrapper = CLEAN_SHAPES[name]
    return wrapper.format(unit * max(1, (size - len(wrapper)) // len(unit.encode())))


def _phase_shape(name: str, size: int) -> dict[str, Any]:
    """Clean one shape of `size` bytes twice, in this (fresh) process: the shorter time
    (the machine may be shared) and peak RSS."""
    article = article_of_20kb(sample_entries())
    entry = replace(article, content_html=_shape_body(name, size, article.content_html))
    idle = _peak_mb()
    times = []
    outcome = "cleaned"
    for _ in range(2):
        started = time.perf_counter()
        try:
            clean_entry(entry, CleanSettings())
        except CleanError as exc:
            outcome = f"refused: {exc}"
        times.append(time.perf_counter() - started)
    return {"seconds": min(times), "peak": _peak_mb(), "idle": idle, "outcome": outcome}


def _shapes_table(kb: int) -> Table:
    """Each shape at `kb` KB and four times that, each clean in its own process."""
    sizes = (kb * 1024, 4 * kb * 1024)
    table = Table(
        title=f"clean: worst shapes at {kb:,} KB and {4 * kb:,} KB (best of two cleans, each "
        "size in its own process; linear time grows ×4)"
    )
    for column in ("shape", f"{kb:,} KB s", f"{4 * kb:,} KB s", "s per MB", "growth", "peak MB"):
        table.add_column(column, justify="left" if column == "shape" else "right")
    for name in (BASELINE_SHAPE, *CLEAN_SHAPES):
        results = [_run_shape(name, size) for size in sizes]
        small, large = (result["seconds"] for result in results)
        refused = next((r["outcome"] for r in results if r["outcome"] != "cleaned"), None)
        table.add_row(
            name,
            f"{small:.2f}",
            f"{large:.2f}",
            f"{large / (sizes[1] / 2**20):.2f}",
            f"×{large / small:.1f}" if small > 0 else "",
            f"{results[1]['peak']:.0f} (idle {results[1]['idle']:.0f})",
        )
        if refused:
            table.add_row(f"  {refused}", "", "", "", "", "")
    return table


def _run_shape(name: str, size: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "_shape", name, str(size)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# -- render --------------------------------------------------------------------------

CATEGORIES = (
    "World News", "Europe", "US News", "Christian News", "Persecution",
    "Africa", "Israel", "Middle East", "Opinion", "Asia",
)  # fmt: skip
ARTICLES = 50
TITLE_SUFFIXES = ("", " (follow-up)", " (update)", " (analysis)")  # 50 articles from 15
SOURCE = SourceConfig(id="worthynews", url="https://www.worthynews.com/feed")
RENDER_NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
FEEDS_ONLY: tuple[Output, ...] = ("rss", "atom", "json")
NEW_CATEGORY = "Israel"  # the category of the one new article
CORRECTED = 3  # the corrected article: the fourth newest
NAIVE_SAMPLE = 1000  # at most this many subscribers are built the naive way; then scaled
TARGET_SPEEDUP = 5.0  # full build vs naive
TARGET_FLOOR = 3.0  # full build vs the write-only floor
TARGET_NO_CHANGE_S = 2.0
NO_CHANGE_RUNS = 3  # the no-change rebuild is short: its median is reported
TARGET_RSS_MB = 400.0
DEFAULT_RUNS = ((10_000, "all"), (100_000, "feeds"))
TARGETS_SET_FOR = (10_000, "all")

NAMES = (
    ("Grace", "Hope", "St. Mark's", "Calvary", "New Life", "Cornerstone", "Bethel",
     "Trinity", "First Baptist", "Emmanuel", "Iglesia Betania", "Église Saint-Paul"),
    ("Church", "Chapel", "Fellowship", "Church & Mission", "Community Church", "Ministries"),
)  # fmt: skip
LANGUAGES = (("en", 84), ("es", 5), ("pt", 4), ("fr", 4), ("de", 3))
DATE_FORMATS = ("%d/%m/%Y", "%-d %B %Y", "%Y-%m-%d", "%A, %B %-d", "%b %-d, %Y %H:%M")
TIMEZONES = (
    "America/Chicago", "America/New_York", "America/Los_Angeles", "Europe/London",
    "Europe/Berlin", "Africa/Lagos", "Asia/Manila", "America/Sao_Paulo",
)  # fmt: skip
ACCENTS = ("#8b1e3f", "#2e7d32", "#6a1b9a", "#ef6c00", "#00695c", "#283593", "#5d4037")
# Who links scripture references, and to which translation (None: its language's default).
SCRIPTURE_LINKS = (("none", 70), ("biblegateway", 20), ("youversion", 10))
SCRIPTURE_VERSIONS = (None, None, "ESV", "KJV")


def synthetic_entry(
    samples: Sequence[Entry], number: int, published: datetime, categories: tuple[str, ...]
) -> Entry:
    """Sample entry `number % 15` as a new post: its own id, link, title, date, categories."""
    base = samples[number % len(samples)]
    title = base.title + TITLE_SUFFIXES[min(number // len(samples), len(TITLE_SUFFIXES) - 1)]
    post = 90_000 + number
    return replace(
        base,
        id=f"https://www.worthynews.com/?p={post}",
        link=f"https://www.worthynews.com/{post}-{make_slug(None, title)}",
        title=title,
        published=published,
        updated=published,
        categories=categories,
    )


def synthetic_entries() -> list[Entry]:
    """The 50 articles of the first build, newest first, about a day apart, each in one
    of the 10 categories (in turn) plus, mostly, one of its sample's own."""
    samples = sample_entries()
    newest = RENDER_NOW - timedelta(hours=3)
    entries = []
    for number in range(ARTICLES):
        primary = CATEGORIES[number % len(CATEGORIES)]
        extra = [c for c in samples[number % len(samples)].categories if c != primary][:1]
        published = newest - timedelta(hours=23 * number, minutes=7 * number)
        entries.append(synthetic_entry(samples, number, published, (primary, *extra)))
    return entries


def new_entry() -> Entry:
    """The one new article: newer than the rest, in `NEW_CATEGORY` only."""
    published = RENDER_NOW + timedelta(minutes=30)
    return synthetic_entry(sample_entries(), ARTICLES, published, (NEW_CATEGORY,))


def corrected_entry(entry: Entry) -> Entry:
    """`entry` with a sentence added to its lede (the second paragraph; the first is the
    byline, which cleaning drops), as an upstream correction would."""
    body = entry.content_html
    lede_end = body.index("</p>", body.index("</p>") + 1)
    correction = " This article has been corrected."
    return replace(entry, content_html=body[:lede_end] + correction + body[lede_end:])


def synthetic_subscriber(number: int, outputs: tuple[Output, ...]) -> SubscriberConfig:
    """Subscriber `number`, the same in every run: most options at their defaults, each
    one differing with its own probability; every footer is the subscriber's own."""
    rng = random.Random(f"subscriber-{number}")
    subscriber_id = f"church-{number:06d}"
    site_url = f"https://{subscriber_id}.example.org/"
    name = f"{rng.choice(NAMES[0])} {rng.choice(NAMES[1])}"
    options: dict[str, Any] = {}
    if rng.random() < 0.3:
        options["categories"] = tuple(rng.sample(CATEGORIES, rng.randint(1, 3)))
    elif rng.random() < 0.1:
        options["exclude_categories"] = ("Opinion",)
    if rng.random() < 0.3:
        options["limit"] = rng.randint(5, 20)
    options["content"] = _pick(rng, (("excerpt", 80), ("full", 12), ("title", 8)))
    if rng.random() < 0.1:
        options["excerpt_words"] = rng.choice((30, 40, 80))
    options["image"] = _pick(rng, (("thumbnail", 80), ("none", 12), ("full", 8)))
    options["image_position"] = _pick(rng, (("left", 85), ("right", 8), ("top", 7)))
    hosted = 12 if "articles" in outputs else 0  # hosted links point at our article pages
    options["link_to"] = _pick(rng, (("original", 80), ("hosted", hosted), ("detail_page", 8)))
    if options["link_to"] == "detail_page":
        options["detail_page_url"] = f"{site_url}news/?view=full"
    options["utm"] = rng.random() >= 0.05
    options["language"] = _pick(rng, LANGUAGES)
    if rng.random() < 0.15:
        options["date_format"] = rng.choice(DATE_FORMATS)
    if rng.random() < 0.4:
        options["timezone"] = rng.choice(TIMEZONES)
    # Every footer names its subscriber; half are the church's own words.
    own_words = rng.random() < 0.5
    options["footer"] = (
        f"Shared with the {name} family ({subscriber_id}), by permission."
        if own_words
        else f"News courtesy of Worthy News, for {name} ({subscriber_id})."
    )
    # Its own random numbers: the other options stay those of runs before this option.
    scripture = random.Random(f"scripture-{number}")
    link = _pick(scripture, SCRIPTURE_LINKS)
    if link != "none":
        version = scripture.choice(SCRIPTURE_VERSIONS)
        options["scripture"] = {"link": link, **({"version": version} if version else {})}
    theme: dict[str, str] = {}
    if rng.random() < 0.4:
        theme["accent"] = rng.choice(ACCENTS)
    if rng.random() < 0.2:
        theme["mode"] = rng.choice(("light", "dark"))
    if rng.random() < 0.3:
        theme["layout"] = rng.choice(("cards", "compact"))
    if rng.random() < 0.2:
        theme["font"] = rng.choice(("system", "serif"))
    return SubscriberConfig(
        id=subscriber_id,
        name=name,
        site_url=site_url,
        outputs=outputs,
        theme=Theme.model_validate(theme),
        **options,
    )


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


def _outputs(name: str) -> tuple[Output, ...]:
    return FEEDS_ONLY if name == "feeds" else OUTPUTS


def _kind(name: str) -> str:
    return "all outputs" if name == "all" else "feeds only (rss, atom, json)"


def bench_config(work: Path, count: int, outputs: str, output: str, state: str) -> Config:
    """The whole config in memory: `count` synthetic subscribers, outputs in work/<output>,
    the database in work/<state>."""
    site = SiteConfig(
        name="Syndicator benchmark",
        base_url="https://news.example.org/",
        output_dir=work / output,
        state_dir=work / state,
    )
    wanted = _outputs(outputs)
    return Config(
        path=work / "config" / "syndicator.toml",
        site=site,
        fetch=FetchSettings(),
        defaults=SubscriberOptions(),
        sources=(SOURCE,),
        subscribers=tuple(synthetic_subscriber(n, wanted) for n in range(count)),
    )


def ingest(store: Store, entries: Sequence[Entry], now: datetime) -> None:
    """Store and clean `entries` as one poll of the feed would."""
    with store.transaction():
        store.apply_feed(ParsedFeed(SOURCE.id, "Worthy News", None, tuple(entries)), now)
    report = clean_source(SOURCE, store)
    assert not report.errors, report.errors


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux


def _progress(label: str) -> Callable[[int, int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(number: int, total: int) -> None:
        if number % 500 == 0 or number == total:
            end = "\n" if number == total else ""
            print(f"\r  {label}: {number:,}/{total:,}", end=end, file=sys.stderr, flush=True)

    return show


# Each phase runs in a fresh process (`bench.py _phase NAME WORK COUNT OUTPUTS`) and prints
# one line of JSON: its figures and its own peak RSS.


class _TimedPublisher(Publisher):
    """A Publisher that adds up the time spent writing files (staging and committing)."""

    seconds = 0.0

    def stage(
        self, files: Mapping[str, bytes], *, managed: Iterable[str] = (), keep: Iterable[str] = ()
    ) -> int:
        started = time.perf_counter()
        try:
            return super().stage(files, managed=managed, keep=keep)
        finally:
            self.seconds += time.perf_counter() - started

    def commit(self) -> dict[str, PublishError]:
        started = time.perf_counter()
        try:
            return super().commit()
        finally:
            self.seconds += time.perf_counter() - started


def _phase_build(work: Path, count: int, outputs: str) -> dict[str, Any]:
    """The full build into an empty folder, with the database of the setup."""
    config = bench_config(work, count, outputs, "out-full", "state-full")
    before = _peak_mb()
    publisher = _TimedPublisher(config.site.output_dir)
    with Store(config.database_path) as store:
        started = time.perf_counter()
        outcome = publish_outputs(
            config,
            store,
            RENDER_NOW,
            target=LocalTarget(config.site.output_dir, publisher),
            progress=_progress("full build"),
        )
        seconds = time.perf_counter() - started
    published = outcome.publish
    assert outcome.error is None and outcome.index_error is None, outcome
    assert all(r.outcome == "published" for r in outcome.subscribers)
    variants = Counter(variant(s) for s in config.subscribers)
    return {
        "seconds": seconds,
        "render_seconds": seconds - publisher.seconds,
        "files": published.written,
        "bytes": published.bytes_written,
        "rss": _peak_mb(),
        "rss_before": before,
        "variants": len(variants),
        "largest_variant": variants.most_common(1)[0][1],
    }


def _phase_naive(work: Path, count: int, outputs: str) -> dict[str, Any]:
    """The same build done naively: no fragment shared, stories reloaded per subscriber."""
    config = bench_config(work, count, outputs, "out-naive", "state-naive")
    step, numbers = _sample(count, NAIVE_SAMPLE)
    sample = [config.subscribers[n] for n in numbers]
    renderer = Renderer(config.path.parent, config.site, share=False)
    publisher = _TimedPublisher(config.site.output_dir)
    show = _progress("naive build")
    with Store(config.database_path) as store:
        started = time.perf_counter()
        for number, subscriber in enumerate(sample, 1):
            stories = load_stories(config, store)
            by_slug = {story.slug: story for story in stories}
            salt = renderer.salt(subscriber.id)
            decided = plan(subscriber, stories, by_slug, {}, RENDER_NOW, salt)
            publisher.stage(renderer.render(decided), managed=[subscriber.id])
            if publisher.pending_bytes >= BATCH_BYTES:
                publisher.commit()
            if show:
                show(number, len(sample))
        publisher.commit()
        subscribers_seconds = time.perf_counter() - started
        writing_seconds = publisher.seconds
        sampled = publisher.report
        started = time.perf_counter()
        publisher.stage(renderer.render_index(config.subscribers))  # once, for everyone
        publisher.commit()
        index_seconds = time.perf_counter() - started
    index = publisher.report
    return {  # the sample scaled to every subscriber, plus the index
        "seconds": subscribers_seconds * step + index_seconds,
        "render_seconds": (subscribers_seconds - writing_seconds) * step,
        "measured": len(sample),
        "step": step,
        "files": sampled.written * step + index.written - sampled.written,
        "bytes": sampled.bytes_written * step + index.bytes_written - sampled.bytes_written,
        "rss": _peak_mb(),
    }


def _phase_floor(work: Path, count: int, outputs: str) -> dict[str, Any]:
    """The full build's bytes written to the same files, in the same batches, by the same
    Publisher, into an empty folder. Reading them back is not timed."""
    source = work / "out-full"
    publisher = Publisher(work / "out-floor")
    seconds = 0.0
    folders = sorted(p for p in source.iterdir() if p.is_dir())
    top = {p.name: _read_quietly(p) for p in source.iterdir() if p.is_file()}
    for folder in folders:
        files = {
            path.relative_to(source).as_posix(): _read_quietly(path)
            for path in folder.rglob("*")
            if path.is_file()
        }
        started = time.perf_counter()
        publisher.stage(files, managed=[folder.name])
        if publisher.pending_bytes >= BATCH_BYTES:
            publisher.commit()
        seconds += time.perf_counter() - started
    started = time.perf_counter()
    publisher.stage(top)
    publisher.commit()
    seconds += time.perf_counter() - started
    return {
        "seconds": seconds,
        "files": publisher.report.written,
        "bytes": publisher.report.bytes_written,
        "rss": _peak_mb(),
    }


def _read_quietly(path: Path) -> bytes:
    """The file's bytes, without updating its access time: a first read of a new file
    would (relatime), and flushing those inode updates would be billed to the floor."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def _phase_change(work: Path, count: int, outputs: str, change: str) -> dict[str, Any]:
    """Ingest one change ("new": one new article in one category; "corrected": one
    article's body corrected upstream) and write the ids of the subscribers it affects.

    They are worked out independently of the render stage's fingerprints: those whose
    selection (slugs and content hashes) differs before and after, plus those still
    keeping a page of a changed article. Runs in its own process, so its memory is not
    counted as the rebuild's."""
    config = bench_config(work, count, outputs, "out-full", "state-full")
    entries = [*synthetic_entries(), new_entry()]
    if change == "corrected":
        entries[CORRECTED] = corrected_entry(entries[CORRECTED])
    now = CHANGES[change]
    with Store(config.database_path) as store:
        before = load_stories(config, store)
        ingest(store, entries, now)
        after = load_stories(config, store)
        ledger = store.page_ledger()
    old = set(_shown(before))
    changed = {slug for slug, digest in _shown(after) if (slug, digest) not in old}
    affected = [
        subscriber.id
        for subscriber in config.subscribers
        if _shown(select(before, subscriber, now)) != _shown(select(after, subscriber, now))
        or changed & ledger.get(subscriber.id, {}).keys()
    ]
    _affected(work).write_text(json.dumps(affected))
    return {"changed": sorted(changed)}


def _phase_rebuild(work: Path, count: int, outputs: str, change: str) -> dict[str, Any]:
    """publish_outputs again over the full build, after `change` ("none": nothing)."""
    config = bench_config(work, count, outputs, "out-full", "state-full")
    with Store(config.database_path) as store:
        started = time.perf_counter()
        outcome = publish_outputs(config, store, CHANGES[change], progress=_progress("rebuild"))
        seconds = time.perf_counter() - started
    published = outcome.publish
    assert outcome.error is None and outcome.index_error is None, outcome
    rendered = {r.subscriber_id for r in outcome.subscribers if r.outcome == "published"}
    affected = set() if change == "none" else set(json.loads(_affected(work).read_text()))
    return {
        "seconds": seconds,
        "files": published.written,
        "bytes": published.bytes_written,
        "removed": published.removed,
        "rendered": len(rendered),
        "expected": len(affected),
        "exact": rendered == affected,
        "rss": _peak_mb(),
    }


def _affected(work: Path) -> Path:
    return work / "affected.json"


def _shown(stories: Sequence[Story]) -> list[tuple[str, str]]:
    return [(story.slug, story.article.content_hash) for story in stories]


CHANGES = {  # the time each rebuild runs at
    "none": RENDER_NOW,
    "new": RENDER_NOW + timedelta(hours=1),
    "corrected": RENDER_NOW + timedelta(hours=2),
}
PHASES: dict[str, Callable[..., dict[str, Any]]] = {
    "build": _phase_build,
    "naive": _phase_naive,
    "floor": _phase_floor,
    "change": _phase_change,
    "rebuild": _phase_rebuild,
}


def _run_phase(name: str, work: Path, count: int, outputs: str, *extra: str) -> dict[str, Any]:
    """Run one phase in a fresh process, once the disk has written back earlier phases."""
    os.sync()
    command = [sys.executable, __file__, "_phase", name, str(work), str(count), outputs, *extra]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _sample(count: int, most: int) -> tuple[int, range]:
    """Every k-th of `count` subscribers, at most `most` of them: (k, their numbers)."""
    step = max(1, -(-count // most))
    return step, range(0, count, step)


def _setup(work: Path) -> None:
    """The articles stored and cleaned once; the naive build gets its own copy."""
    with Store(work / "state-full" / "syndicator.sqlite3") as store:
        ingest(store, synthetic_entries(), RENDER_NOW - timedelta(hours=1))
    shutil.copytree(work / "state-full", work / "state-naive")


def _estimate(work: Path, count: int, outputs: str) -> tuple[int, int]:
    """Disk bytes (whole blocks) and files of one output tree, from 200 subscribers."""
    config = bench_config(work, 0, outputs, "out-full", "state-full")
    renderer = Renderer(config.path.parent, config.site)
    block = os.statvfs(work).f_frsize
    with Store(config.database_path) as store:
        stories = load_stories(config, store)
    by_slug = {story.slug: story for story in stories}
    _, numbers = _sample(count, 200)
    used = files = 0
    for number in numbers:
        subscriber = synthetic_subscriber(number, _outputs(outputs))
        decided = plan(subscriber, stories, by_slug, {}, RENDER_NOW, renderer.salt(subscriber.id))
        rendered = renderer.render(decided)
        used += sum(-(-len(data) // block) * block for data in rendered.values()) + 3 * block
        files += len(rendered)
    scale = count / len(numbers)
    return int(used * scale), int(files * scale)


def _same_outputs(left: Path, right: Path, names: Iterable[str]) -> bool:
    """Whether the two trees hold the same files with the same bytes under each name."""
    for name in names:
        if (left / name).is_file():
            if (left / name).read_bytes() != (right / name).read_bytes():
                return False
            continue
        mine = {p.relative_to(left): p for p in (left / name).rglob("*") if p.is_file()}
        theirs = {p.relative_to(right): p for p in (right / name).rglob("*") if p.is_file()}
        if mine.keys() != theirs.keys():
            return False
        if any(path.read_bytes() != theirs[key].read_bytes() for key, path in mine.items()):
            return False
    return True


def bench_render(count: int, outputs: str, folder: Path | None = None) -> None:
    console = _console()
    console.print(f"[bold]render: {count:,} subscribers, {_kind(outputs)}[/]")
    work = Path(tempfile.mkdtemp(prefix="syndicator-bench-", dir=folder))
    where = _filesystem(work)
    console.print(f"  working in {work} ({where})")
    try:
        _setup(work)
        used, files = _estimate(work, count, outputs)
        disk = shutil.disk_usage(work)
        inodes = os.statvfs(work).f_favail
        console.print(
            f"  free disk {disk.free / 1e9:.1f} GB, {inodes:,} inodes in {work.parent}; "
            f"one output tree needs about {used / 1e9:.2f} GB and {files:,} files, "
            "and two exist at once"
        )
        if disk.free < 2.2 * used or inodes < 2.2 * files:
            console.print("  [yellow]skipped: not enough free disk for two output trees[/]")
            return
        results: dict[str, dict[str, Any]] = {}
        console.print("  full build …")
        results["build"] = _run_phase("build", work, count, outputs)
        console.print("  naive build …")
        results["naive"] = naive = _run_phase("naive", work, count, outputs)
        _, numbers = _sample(count, NAIVE_SAMPLE)
        names = [*(f"church-{n:06d}" for n in numbers), "index.html"]
        naive["identical"] = _same_outputs(work / "out-naive", work / "out-full", names)
        # Trees are deleted only at the end, so that no timed phase follows a large
        # deletion: on ext4 without a journal, creating files in the minutes after one
        # scans past the recently deleted inodes (fs/ext4/ialloc.c, recently_deleted);
        # on this project's dev VM that made creating 50,000 files up to ten times slower.
        console.print("  write-only floor …")
        results["floor"] = _run_phase("floor", work, count, outputs)
        console.print(f"  no-change rebuild ×{NO_CHANGE_RUNS} …")
        quiet = [_run_phase("rebuild", work, count, outputs, "none") for _ in range(NO_CHANGE_RUNS)]
        results["none"] = sorted(quiet, key=lambda result: result["seconds"])[NO_CHANGE_RUNS // 2]
        for change in ("new", "corrected"):
            console.print(f"  rebuild after one change: {change} …")
            _run_phase("change", work, count, outputs, change)
            results[change] = _run_phase("rebuild", work, count, outputs, change)
        console.print(_render_table(count, outputs, results, where))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _filesystem(path: Path) -> str:
    """The type of the file system `path` is on (Linux), for the table's reader."""
    best, kind = "", "unknown file system"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    for line in mounts:
        fields = line.split()
        point = fields[1].replace("\\040", " ")
        if str(path).startswith(point.rstrip("/") + "/") and len(point) > len(best):
            best, kind = point, f"{fields[2]} mounted on {point}"
    return kind


def _render_table(
    count: int, outputs: str, results: Mapping[str, Mapping[str, Any]], where: str
) -> Table:
    build, naive, floor = results["build"], results["naive"], results["floor"]
    table = Table(
        title=f"render: {ARTICLES} articles, {count:,} subscribers, {_kind(outputs)}"
        + (
            ""
            if (count, outputs) == TARGETS_SET_FOR
            else "\n(targets as set for 10,000 with all outputs)"
        ),
        caption=(
            f"{build['variants']:,} distinct option variants (largest: "
            f"{build['largest_variant']:,} subscribers); {os.cpu_count()} CPUs; outputs on "
            f"{where}. Peak RSS is "
            f"each run's own process ({build['rss_before']:.0f} MB of the full build's before "
            "it started: Python, libraries and the subscriber configs). Writing the files "
            f"alone takes the floor's time, so no build can beat naive by more than "
            f"naive ÷ floor = {naive['seconds'] / floor['seconds']:.1f}×."
        ),
    )
    for column in ("run", "time", "files written", "MB written", "peak RSS"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for column in ("target", "measured", "result"):
        table.add_column(column)

    def figures(result: Mapping[str, Any], scaled: bool = False) -> list[str]:
        mark = "≈ " if scaled else ""
        return [
            f"{result['seconds']:.2f} s",
            f"{mark}{result['files']:,}",
            f"{mark}{result['bytes'] / 1e6:,.1f}",
            f"{result['rss']:.0f} MB",
        ]

    speedup = naive["seconds"] / build["seconds"]
    over_floor = build["seconds"] / floor["seconds"]
    table.add_row(
        "full build",
        *figures(build),
        f"≥ {TARGET_SPEEDUP:g}× faster than naive\n≤ {TARGET_FLOOR:g}× the floor\n"
        f"peak RSS ≤ {TARGET_RSS_MB:g} MB",
        f"{speedup:.1f}× faster\n{over_floor:.2f}× the floor\n{build['rss']:.0f} MB",
        "\n".join(
            _verdict(ok)
            for ok in (
                speedup >= TARGET_SPEEDUP,
                over_floor <= TARGET_FLOOR,
                build["rss"] <= TARGET_RSS_MB,
            )
        ),
    )
    sampled = naive["step"] > 1
    label = "naive: nothing shared"
    if sampled:
        label += f"\n(measured on {naive['measured']:,}, scaled ×{naive['step']})"
    table.add_row(
        label,
        *figures(naive, scaled=sampled),
        "same bytes as full build",
        f"identical on {naive['measured']:,}",
        _verdict(naive["identical"]),
    )
    table.add_row("write-only floor", *figures(floor), "", "", "")
    mark = "≈ " if sampled else ""
    table.add_row(
        "all but writing\n(full build)",
        f"{build['render_seconds']:.2f} s",
        "",
        "",
        "",
        "what sharing saves",
        f"{naive['render_seconds'] / build['render_seconds']:.1f}× less than\n"
        f"naive's {mark}{naive['render_seconds']:.1f} s",
        "",
    )
    quiet = results["none"]
    table.add_row(
        f"no-change rebuild\n(median of {NO_CHANGE_RUNS})",
        *figures(quiet),
        f"0 files written in ≤ {TARGET_NO_CHANGE_S:g} s",
        f"{quiet['files']:,} files in {quiet['seconds']:.2f} s",
        _verdict(quiet["files"] == 0 and quiet["seconds"] <= TARGET_NO_CHANGE_S),
    )
    for name, label in (
        ("new", f"one new article ({NEW_CATEGORY})"),
        ("corrected", "one corrected article"),
    ):
        result = results[name]
        table.add_row(
            label,
            *figures(result),
            "re-renders only the\naffected subscribers",
            f"{result['rendered']:,} re-rendered\n{result['expected']:,} affected",
            _verdict(result["exact"]),
        )
    return table


def _verdict(ok: bool) -> str:
    return "[green]pass[/]" if ok else "[bold red]FAIL[/]"


# -- embed ----------------------------------------------------------------------------------

EMBED_TARGET = 6 * 1024  # gzipped embed.js of a default subscriber with 15 items
EMBED_LOADS = 20
EMBED_NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # the sample feed's week
# Insert something, then wait for the frame that shows it (two animation frames), and
# report the times in ms since the insertion. `kind` picks what is inserted.
EMBED_HOST = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>bench</title></head><body><h1>Church</h1><div id="news"></div>
<template id="static">%(snippet)s</template>
<script>
window.measure = (kind, src) => new Promise(done => {
  const news = document.getElementById('news');
  const start = performance.now();
  const painted = ready => requestAnimationFrame(() => requestAnimationFrame(() => {
    const entry = performance.getEntriesByName(src)[0];
    done({total: performance.now() - start, ready: ready - start,
          fetched: entry ? entry.responseEnd - start : 0,
          items: ((news.querySelector('div') || {}).shadowRoot || news)
                   .querySelectorAll('.syn-item').length});
  }));
  if (kind === 'static') {
    news.appendChild(document.getElementById('static').content.cloneNode(true));
    painted(performance.now());
    return;
  }
  const script = document.createElement('script');
  script.src = src;
  script.async = true;
  script.onload = () => painted(performance.now());
  news.appendChild(script);
});
</script></body></html>"""


def _embed_site(work: Path, port: int) -> Config:
    """The bundled example subscribers and a default one over the sample feed, published
    for `syndicator serve` on `port`."""
    (work / "subscribers").mkdir(parents=True)
    for path in sorted((ROOT / "config" / "subscribers").glob("*.toml")):
        shutil.copy(path, work / "subscribers" / path.name)
    (work / "subscribers" / "default.toml").write_text(
        'name = "Default Church"\nsite_url = "https://default.example.org/"\n', encoding="utf-8"
    )
    sample = ROOT / "config" / "samples" / "worthynews-feed.xml"
    (work / "syndicator.toml").write_text(
        f'[site]\nname = "bench"\nbase_url = "http://127.0.0.1:{port}/"\n'
        f'[[sources]]\nid = "worthynews"\nurl = "{sample.as_uri()}"\n',
        encoding="utf-8",
    )
    config = load_config(work / "syndicator.toml")
    run_once(config, EMBED_NOW)
    return config


def _publish_before(work: Path, revision: str, port: int) -> Path:
    """The default subscriber's outputs as the code at `revision` renders them, under
    output/_before/ (that code, unpacked with `git archive`, run in its own process)."""
    code = work / "before-code"
    code.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    config_dir = work / "before"
    (config_dir / "subscribers").mkdir(parents=True)
    (config_dir / "subscribers" / "default.toml").write_text(
        'name = "Default Church"\nsite_url = "https://default.example.org/"\n', encoding="utf-8"
    )
    sample = ROOT / "config" / "samples" / "worthynews-feed.xml"
    (config_dir / "syndicator.toml").write_text(
        f'[site]\nname = "bench"\nbase_url = "http://127.0.0.1:{port}/_before/"\n'
        f'output_dir = "../output/_before"\n'
        f'[[sources]]\nid = "worthynews"\nurl = "{sample.as_uri()}"\n',
        encoding="utf-8",
    )
    script = (
        "import sys; from datetime import datetime, UTC; from pathlib import Path\n"
        "from syndicator.config import load_config; from syndicator.pipeline import run_once\n"
        "run_once(load_config(Path(sys.argv[1])), datetime(2026, 11, 24, 12, 0, tzinfo=UTC))\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(config_dir / "syndicator.toml")],
        cwd=code,
        env={**os.environ, "PYTHONPATH": str(code)},
        check=True,
    )
    return work / "output" / "_before" / "default" / "embed.js"


def bench_embed(loads: int, before: str | None = None) -> None:
    """embed.js gzipped sizes, and time from inserting the script to its items painted in
    Chromium, against an empty script and the same items as static HTML."""
    from playwright.sync_api import sync_playwright

    from syndicator.serve import make_server
    from tests.embed_site import CHROMIUM, LAUNCH_ARGS

    console = _console()
    work = Path(tempfile.mkdtemp(prefix="syndicator-bench-"))
    try:
        (work / "output").mkdir()
        server = make_server(work / "output", port=0)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        port = server.server_port
        config = _embed_site(work, port)
        out = config.site.output_dir

        sizes = Table(
            title="embed.js (gzip level 6, as `syndicator serve` and the nginx config send it)"
        )
        for column in ("subscriber", "items", "content", "bytes", "gzipped", "target", "result"):
            sizes.add_column(
                column, justify="left" if column in {"subscriber", "content"} else "right"
            )
        for subscriber in config.subscribers:
            data = (out / subscriber.id / "embed.js").read_bytes()
            packed = len(gzip.compress(data, compresslevel=6, mtime=0))
            count = len(select(load_bench_stories(config), subscriber, EMBED_NOW))
            is_default = subscriber.id == "default"
            sizes.add_row(
                subscriber.id + (" (all defaults)" if is_default else ""),
                str(count),
                subscriber.content,
                f"{len(data):,}",
                f"{packed:,}",
                f"≤ {EMBED_TARGET:,}" if is_default else "",
                _verdict(packed <= EMBED_TARGET) if is_default else "",
            )
        before_js = None
        if before:
            before_js = _publish_before(work, before, port)
            data = before_js.read_bytes()
            packed = len(gzip.compress(data, compresslevel=6, mtime=0))
            sizes.add_row(
                f"default at {before} (before)",
                "",
                "excerpt",
                f"{len(data):,}",
                f"{packed:,}",
                f"≤ {EMBED_TARGET:,}",
                _verdict(packed <= EMBED_TARGET),
            )
        console.print(sizes)

        (out / "_bench").mkdir()
        (out / "_bench" / "empty.js").write_text("/* nothing */\n", encoding="utf-8")
        snippet = (out / "default" / "snippet.html").read_text(encoding="utf-8")
        page_bytes = (EMBED_HOST % {"snippet": snippet}).encode()

        class Host(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page_bytes)))
                self.end_headers()
                self.wfile.write(page_bytes)

            def log_message(self, *args: Any) -> None:
                pass

        host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Host)
        threading.Thread(target=host.serve_forever, args=(0.05,), daemon=True).start()
        outputs = f"http://127.0.0.1:{port}"
        embed = f"{outputs}/default/embed.js"
        cases = [
            ("embed.js, default subscriber (15 stories, 10 a page)", "script", embed),
            ("baseline: an empty script, same server", "script", f"{outputs}/_bench/empty.js"),
            *(
                [
                    (
                        f"before: embed.js as {before} renders it",
                        "script",
                        f"{outputs}/_before/default/embed.js",
                    )
                ]
                if before_js
                else []
            ),
            ("baseline: its snippet.html, the same 10 items as static HTML", "static", ""),
        ]
        times: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in cases}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            for _ in range(loads):
                for name, kind, src in cases:  # interleaved, so drift hits all alike
                    context = browser.new_context()  # a cold cache every time
                    page = context.new_page()
                    page.goto(f"http://127.0.0.1:{host.server_port}/")
                    times[name].append(page.evaluate("([k, s]) => measure(k, s)", [kind, src]))
                    context.close()
            browser.close()
        host.shutdown()
        server.shutdown()

        table = Table(title=f"time to items painted in Chromium, median of {loads} cold loads (ms)")
        for column in ("what", "items", "downloaded", "run", "painted", "painted p90"):
            table.add_column(column, justify="left" if column == "what" else "right")
        for name, _, _ in cases:
            runs = times[name]

            def median(key: str, runs: list[dict[str, float]] = runs) -> float:
                return statistics.median(run[key] for run in runs)

            painted = sorted(run["total"] for run in runs)
            table.add_row(
                name,
                str(int(median("items"))),
                f"{median('fetched'):.1f}" if median("fetched") else "—",
                f"{median('ready'):.1f}",
                f"{median('total'):.1f}",
                f"{painted[int(len(painted) * 0.9) - 1]:.1f}",
            )
        console.print(table)
        console.print(
            "  downloaded: responseEnd of the script; run: its load event (executed); painted: "
            "two animation frames later. All since the script element was inserted."
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


BIG = '"x" * 1000000'
LOOP = "{% for i in range(100000) %}"
TEMPLATE_CASES = {  # name → the subscriber's _footer.html; the first is the baseline
    "harmless override (baseline)": "{{ sub.name }}",
    "((9 ** 1000) ** 1000) ** 1000": "{{ ((9 ** 1000) ** 1000) ** 1000 }}",
    "lipsum(100000)": "{{ lipsum(100000) }}",
    "center(10⁹)": '{{ "x"|center(1000000000) }}',
    "zfill(10⁹)": '{{ "1".zfill(1000000000) }}',
    "indent(10⁹)": '{{ "a\nb"|indent(1000000000) }}',
    '"%1000000000d"|format': '{{ "%1000000000d"|format(1) }}',
    '"{:>1000000000}".format': '{{ "{:>1000000000}".format(1) }}',
    "list × 1000 of 1 MB, joined": f"{{{{ ([{BIG}] * 1000)|join }}}}",
    "replace x → 1000 chars": f'{{{{ ({BIG})|replace("x", "y" * 1000) }}}}',
    "loop appending 1 MB": '{% set ns = namespace(s="") %}'
    + LOOP
    + f"{{% set ns.s = ns.s ~ {BIG} %}}{{% endfor %}}",
    "loop printing 1 MB": LOOP + f"{{{{ {BIG} }}}}{{% endfor %}}",
    "loop keeping lists": "{% set ns = namespace(l=[]) %}"
    + LOOP
    + "{% set ns.l = ns.l + [ns.l] %}{% endfor %}",
    "map center(10⁶) over 100,000": '{{ range(100000)|map("center", 1000000)|list|length }}',
}


def _phase_template(work: Path, case: str) -> dict[str, Any]:
    """One run over the sample feed with one subscriber whose footer is `case`'s."""
    config_dir = work / "config"
    shutil.copytree(ROOT / "config" / "samples", config_dir / "samples")
    (config_dir / "syndicator.toml").write_text(
        '[site]\nname = "Bench"\nbase_url = "https://example.org/out/"\n'
        'output_dir = "../output"\nstate_dir = "../state"\n\n'
        '[[sources]]\nid = "worthynews"\nurl = "file:samples/worthynews-feed.xml"\n'
    )
    (config_dir / "subscribers").mkdir()
    (config_dir / "subscribers" / "church.toml").write_text(
        'name = "Church"\nsite_url = "https://church.example/"\n'
    )
    own = config_dir / "templates" / "subscribers" / "church"
    own.mkdir(parents=True)
    (own / "_footer.html").write_text(f'<p class="syn-footer">{TEMPLATE_CASES[case]}</p>\n')
    config = load_config(config_dir / "syndicator.toml")
    started = time.perf_counter()
    try:
        report = run_once(config, datetime.now(UTC))
    except MemoryError:
        return {
            "seconds": time.perf_counter() - started,
            "peak_mb": _peak_mb(),
            "said": "MemoryError",
        }
    seconds = time.perf_counter() - started
    (outcome,) = report.subscribers
    said = re.sub(r"^.*? line \d+: ", "", outcome.error or outcome.outcome)
    return {"seconds": seconds, "peak_mb": _peak_mb(), "said": said.removeprefix("church: ")}


def bench_templates(seconds: float, limit_mb: int) -> None:
    table = Table(title=f"Hostile override templates (each run stopped after {seconds:g} s)")
    for column in ("template", "run", "peak RSS", "the subscriber is told"):
        table.add_column(column, justify="right" if column in {"run", "peak RSS"} else "left")
    for case in TEMPLATE_CASES:
        with tempfile.TemporaryDirectory() as work:
            command = [sys.executable, __file__, "_template", work, case, str(limit_mb)]
            started = time.perf_counter()
            try:
                done = subprocess.run(
                    command, stdout=subprocess.PIPE, text=True, timeout=seconds, check=False
                )
            except subprocess.TimeoutExpired:
                took = time.perf_counter() - started
                table.add_row(case, f"> {took:.0f} s", "", "(still running: stopped)")
                continue
        lines = done.stdout.splitlines()
        if done.returncode or not lines:
            table.add_row(case, "", "", f"(process ended: exit {done.returncode})")
            continue
        result = json.loads(lines[-1])
        table.add_row(
            case, f"{result['seconds']:.2f} s", f"{result['peak_mb']:.0f} MB", result["said"]
        )
    _console().print(table)


def load_bench_stories(config: Config) -> list[Story]:
    with Store(config.database_path) as store:
        return load_stories(config, store)


def bench_watch(count: int, rounds: int = 50) -> None:
    """Median ms per look at `count` subscriber folders and files."""
    work = Path(tempfile.mkdtemp(prefix="syndicator-bench-watch-"))
    try:
        output, subscribers = work / "output", work / "subscribers"
        names = [f"church-{number:06d}" for number in range(count)]
        for name in names:
            (output / name).mkdir(parents=True)
        subscribers.mkdir()
        for name in names:
            (subscribers / f"{name}.toml").write_bytes(
                b'name = "x"\nsite_url = "https://x.example/"\n'
            )
        main = work / "syndicator.toml"
        main.write_text(
            '[site]\nname = "Bench"\nbase_url = "https://example.org/"\n\n'
            '[[sources]]\nid = "worthynews"\nurl = "https://www.worthynews.com/feed"\n'
        )
        expected = frozenset(names)
        daemon_clock = [0.0]

        def watch(recheck: float, clock: Callable[[], float] = time.monotonic) -> ConfigWatch:
            watched = ConfigWatch(main, recheck=recheck, clock=clock)
            watched.reload()
            return watched

        def daemon_look(watched: ConfigWatch) -> None:
            daemon_clock[0] += WATCH_SECONDS
            watched.changed()

        def stat_each(folder: Path, suffix: str) -> None:
            for name in names:
                os.stat(folder / f"{name}{suffix}")

        every_file, quick = watch(0), watch(math.inf)
        daemon = watch(WATCH_SECONDS * RECHECK_LOOKS, lambda: daemon_clock[0])
        looks: dict[str, Callable[[], object]] = {
            "edited config files: stat every file at each look (before)": every_file.changed,
            "edited config files: main file + folder (ConfigWatch's look)": quick.changed,
            f"edited config files: the daemon's look, mean of {RECHECK_LOOKS} (one full)": (
                lambda: daemon_look(daemon)
            ),
            "deleted outputs: stat each subscriber folder (naive)": lambda: stat_each(output, ""),
            "deleted outputs: one scandir (outputs_present)": lambda: (
                expected - outputs_present(output)
            ),
        }
        table = Table(title=f"The daemon's look every --watch seconds, {count:,} subscribers")
        table.add_column("look")
        table.add_column("ms (median, or mean as said)", justify="right")
        for label, look in looks.items():
            samples = _time(look, rounds - rounds % RECHECK_LOOKS)  # whole rounds of looks
            middle = statistics.fmean(samples) * 1000 if "mean of" in label else median_ms(samples)
            table.add_row(label, f"{middle:.2f}")
        _console().print(table)
    finally:
        shutil.rmtree(work, ignore_errors=True)


PUBLISH_RUNS = (1_000, 10_000)
PUBLISH_CYCLES = (("full", "none"), ("no change", "none"), ("one article", "new"))


def bench_publish(counts: Sequence[int], target: str) -> None:
    """Requests and seconds of the full, no-change and one-article cycles, publishing to a
    bucket (moto's S3 server on 127.0.0.1 behind the tests' counting proxy) beside the
    local-disk publish of the same build (the baseline, measured in the same run)."""
    from tests.s3_server import CREDENTIALS, running_s3

    os.environ.update(CREDENTIALS)  # moto's; never a real account
    table = Table(title="publish: local disk beside an S3 bucket (moto on 127.0.0.1)")
    for column in ("subscribers", "target", "cycle", "seconds", "files written", "PUT", "DELETE"):
        table.add_column(column, justify="left" if column in {"target", "cycle"} else "right")
    kinds = ["local", "s3"] if target == "s3" else ["local"]
    try:
        with running_s3() as s3:
            for count in counts:
                work = Path(tempfile.mkdtemp(prefix="syndicator-bench-publish-"))
                try:
                    _setup(work)
                    for kind in kinds:
                        for row in _publish_cycles(work, count, kind, s3):
                            table.add_row(f"{count:,}", kind, *row)
                            # Each row as it is measured: a 10,000-subscriber run takes an
                            # hour, and what it measured must outlive a failure after it.
                            print(f"{count:,}", kind, *row, sep="\t", flush=True)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        _console().print(table)


def _publish_cycles(work: Path, count: int, kind: str, s3: Any) -> list[tuple[str, ...]]:
    """The three cycles of one target, each timed, with the writes the proxy counted."""
    shutil.copytree(work / "state-full", work / f"state-{kind}")
    config = bench_config(work, count, "all", f"out-{kind}", f"state-{kind}")
    if kind == "s3":
        publish = PublishConfig(
            target=f"s3://{s3.bucket()}/site", endpoint_url=s3.url, region="us-east-1"
        )
        config = replace(config, publish=publish)
    rows = []
    with Store(config.database_path) as store:
        for cycle, change in PUBLISH_CYCLES:
            if change == "new":
                ingest(store, [*synthetic_entries(), new_entry()], CHANGES[change])
            s3.reset()
            started = time.perf_counter()
            outcome = publish_outputs(
                config, store, CHANGES[change], progress=_progress(f"{kind} {cycle}")
            )
            seconds = time.perf_counter() - started
            assert outcome.error is None, outcome.error
            writes = (s3.counts["PUT"], s3.counts["DELETE"]) if kind == "s3" else ("—", "—")
            rows.append(
                (cycle, f"{seconds:.1f}", f"{outcome.publish.written:,}", *map(str, writes))
            )
    return rows


WEB_ROUNDS = 50
WEB_TARGETS_MS = {"list": 50.0, "preview": 150.0, "follow": 300.0}
# In the editor: change the accent, then wait for the new iframe page's load event (its
# document and stylesheet loaded: it shows the new accent); ms since the change.
FOLLOW = """async (colour) => {
  const input = document.querySelector("#f-theme-accent");
  const frames = document.querySelector("#preview [data-frames]");
  return await new Promise((resolve, reject) => {
    const start = performance.now();
    setTimeout(() => reject(new Error("the frame did not follow within 10 s")), 10000);
    // The iframe page's next load event, whether its element is replaced or navigated
    // (load does not bubble: caught on its way down).
    const loaded = (event) => {
      if (event.target.dataset && event.target.dataset.frame === "iframe") {
        frames.removeEventListener("load", loaded, true);
        resolve(performance.now() - start);
      }
    };
    frames.addEventListener("load", loaded, true);
    input.value = colour;
    input.dispatchEvent(new Event("input", {bubbles: true}));
  });
}"""
WEB_ADMIN, WEB_PASSWORD = "bench", "a long enough benchmark passphrase"


def p95_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] * 1000


def _web_config(work: Path, count: int) -> Path:
    """The bundled config after one cycle, with `count` more subscribers (feeds only)."""
    folder = work / "config"
    shutil.copytree(ROOT / "config", folder)
    for number in range(count):
        subscriber = synthetic_subscriber(number, FEEDS_ONLY)
        (folder / "subscribers" / f"{subscriber.id}.toml").write_text(
            f"name = {json.dumps(subscriber.name)}\n"
            f"site_url = {json.dumps(subscriber.site_url)}\n"
            f"categories = {json.dumps(list(subscriber.categories))}\n"
            f"limit = {subscriber.limit}\n"
            'outputs = ["rss", "atom", "json"]\n',
            encoding="utf-8",
        )
    path = folder / "syndicator.toml"
    run_once(load_config(path), datetime.now(UTC))
    return path


def _web_server(path: Path) -> tuple[Any, threading.Thread, str]:
    """`syndicator web`'s app on uvicorn, on a free 127.0.0.1 port: server, thread, URL."""
    import socket

    import uvicorn

    from syndicator.web import create_app

    # IPPROTO_TCP said: asyncio sets TCP_NODELAY only on sockets made so (as uvicorn's own
    # are); on others every answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    app = create_app(path)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the console's server did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


def _signed_in(base: str) -> tuple[Any, str]:
    """An HTTP client signed in as the benchmark's admin, and its CSRF token."""
    import httpx2

    field = re.compile(r'name="csrf_token" value="([^"]*)"')
    client = httpx2.Client(base_url=base, timeout=120)
    login = client.get("/admin/login").text
    token = field.search(login)
    assert token, "no sign-in form"
    data = {"csrf_token": token.group(1), "name": WEB_ADMIN, "password": WEB_PASSWORD}
    assert client.post("/admin/login", data=data).status_code == 303, "sign-in failed"
    found = field.search(client.get("/admin/").text)
    assert found, "no csrf_token on the dashboard"
    return client, found.group(1)


def _follow_in_chromium(base: str, subscriber_id: str, rounds: int) -> list[float]:
    """Seconds from changing the accent in the editor to the new iframe page laid out, in
    Debian's headless Chromium (the editor's preview.js, the real server)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # The sample's images are the outlet's: refused at once rather than left to fail
        # a DNS lookup, which the frames' load events would wait for. Chromium's resolver
        # refuses them: a page.route would hold every local request for the client too.
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        page = browser.new_page(base_url=base)
        page.goto("/admin/login")
        page.fill("input[name=name]", WEB_ADMIN)
        page.fill("input[name=password]", WEB_PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url("**/admin/")
        page.goto(f"/admin/subscribers/{subscriber_id}")
        page.frame_locator("#preview iframe[data-frame=iframe]").locator(
            ".syn-item"
        ).first.wait_for()
        samples = [
            page.evaluate(FOLLOW, f"#{0x101010 * (1 + number % 14):06x}") / 1000
            for number in range(rounds)
        ]
        browser.close()
    return samples


def bench_web(count: int, rounds: int) -> None:
    """Median and p95 ms of the console's subscriber list and live preview."""
    from syndicator.preview import build_preview, render_preview
    from syndicator.web.auth import add_admin

    work = Path(tempfile.mkdtemp(prefix="syndicator-bench-web-"))
    try:
        started = time.perf_counter()
        path = _web_config(work, count)
        config = load_config(path)
        add_admin(config, WEB_ADMIN, WEB_PASSWORD, datetime.now(UTC))
        setup = time.perf_counter() - started
        server, thread, base = _web_server(path)
        client, csrf = _signed_in(base)
        subscriber = next(s for s in config.subscribers if s.id == "grace-church")
        form = {
            "csrf_token": csrf,
            "preview_of": subscriber.id,
            "name": subscriber.name,
            "site_url": subscriber.site_url,
        }
        rows: list[tuple[str, list[float], str | None]] = []

        def get(url: str) -> Callable[[], None]:
            def one() -> None:
                answer = client.get(url)
                assert answer.status_code == 200, (url, answer.status_code)

            return one

        limits = iter(range(10**6))

        def preview() -> None:
            data = {**form, "limit": str(1 + next(limits) % 20)}
            answer = client.post(
                "/admin/preview", data=data, headers={"Accept": "application/json"}
            )
            assert answer.status_code == 200, answer.text

        for label, work_once, target in (
            ("GET /admin/subscribers (first page)", get("/admin/subscribers"), "list"),
            ("GET /admin/subscribers?q=church-0099", get("/admin/subscribers?q=church-0099"),
             "list"),
            ("POST /admin/preview (JSON; one render)", preview, "preview"),
        ):  # fmt: skip
            work_once()  # the first builds what later requests reuse (config, roster)
            rows.append((label, _time(work_once, rounds), target))
        client.close()
        rows.append(
            (
                "editor in Chromium: accent changed → iframe page shown with it",
                _follow_in_chromium(base, subscriber.id, rounds),
                "follow",
            )
        )
        server.should_exit = True
        thread.join(10)

        now = datetime.now(UTC)
        folder = work / "cli-preview"
        folder.mkdir()
        rows.append(
            (
                "baseline: `syndicator preview`'s render (build_preview, written)",
                _time(lambda: build_preview(config, subscriber, folder, "http://x/", now), rounds),
                None,
            )
        )
        rows.append(
            (
                "render_preview alone, in process (nothing written)",
                _time(lambda: render_preview(config, subscriber, "/p/", now), rounds),
                None,
            )
        )
        title = (
            f"web: the console on uvicorn (real HTTP, 127.0.0.1), {count + 3:,} subscribers, "
            f"{rounds} requests each (setup {setup:.0f} s)"
        )
        table = Table(title=title)
        for column in ("request", "median ms", "p95 ms", "target (median)"):
            table.add_column(column, justify="left" if column == "request" else "right")
        for label, samples, target in rows:
            goal = WEB_TARGETS_MS.get(target or "")
            verdict = ""
            if goal is not None:
                verdict = f"{_verdict(median_ms(samples) <= goal)} ≤ {goal:g} ms"
            table.add_row(label, f"{median_ms(samples):.1f}", f"{p95_ms(samples):.1f}", verdict)
        _console().print(table)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["_template"]:  # one case of `templates`, in its own process
        work, case, limit_mb = argv[1:]
        limit = int(limit_mb) * 2**20
        logging.disable(logging.CRITICAL)  # the subscriber's failure is in the table
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        print(json.dumps(_phase_template(Path(work), case)))
        return 0
    if argv[:1] == ["_shape"]:  # one shape of `clean`, in its own process
        print(json.dumps(_phase_shape(argv[1], int(argv[2]))))
        return 0
    if argv[:1] == ["_phase"]:  # one phase of `render`, in its own process
        name, work, count, outputs, *extra = argv[1:]
        print(json.dumps(PHASES[name](Path(work), int(count), outputs, *extra)))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "suite",
        choices=["clean", "render", "embed", "templates", "watch", "publish", "web"],
        help="which benchmark to run",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=120.0,
        help="templates: stop a case's run after this long (default 120)",
    )
    parser.add_argument(
        "--limit-mb",
        type=int,
        default=4096,
        help="templates: address-space limit of each case's process, MB (default 4096)",
    )
    parser.add_argument(
        "--rounds", type=int, help="clean: repetitions (default 200); web: requests (default 50)"
    )
    parser.add_argument(
        "--shape-kb",
        type=int,
        default=256,
        help="clean: measure each hostile shape at this many KB and four times as many "
        "(default 256)",
    )
    parser.add_argument(
        "--before",
        metavar="REV",
        help="embed: also time the default embed.js as git revision REV renders it",
    )
    parser.add_argument(
        "--loads", type=int, default=EMBED_LOADS, help=f"embed: page loads (default {EMBED_LOADS})"
    )
    parser.add_argument(
        "--subscribers",
        type=int,
        help="render: this many subscribers (default: 10,000 with all outputs, then 100,000 "
        "with feeds only); watch, web: this many (default 10,000)",
    )
    parser.add_argument(
        "--outputs",
        choices=["all", "feeds"],
        default="all",
        help="render with --subscribers: every output, or rss/atom/json only (default all)",
    )
    parser.add_argument(
        "--target",
        choices=["s3", "local"],
        default="s3",
        help="publish: an S3 bucket (moto on 127.0.0.1) beside the local-disk baseline "
        "(default), or the local disk alone",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        help="render: where the outputs are written (default: the system's temporary folder); "
        "point it at the disk your outputs will live on",
    )
    args = parser.parse_args(argv)
    if args.suite == "clean":
        bench_clean(args.rounds or 200, args.shape_kb)
    elif args.suite == "web":
        bench_web(args.subscribers or 10_000, args.rounds or WEB_ROUNDS)
    elif args.suite == "embed":
        bench_embed(args.loads, args.before)
    elif args.suite == "templates":
        bench_templates(args.seconds, args.limit_mb)
    elif args.suite == "publish":
        bench_publish([args.subscribers] if args.subscribers else PUBLISH_RUNS, args.target)
    elif args.suite == "watch":
        bench_watch(args.subscribers or 10_000)
    elif args.subscribers is None:
        for subscribers, outputs in DEFAULT_RUNS:
            bench_render(subscribers, outputs, args.dir)
    else:
        bench_render(args.subscribers, args.outputs, args.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
