"""What the tests of a whole cycle share: running one at a pinned time, reading a
subscriber's published files, finding a story's slug, and the feeds and subscribers
they use."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import lxml.html

from syndicator.config import Config
from syndicator.models import RunReport
from syndicator.pipeline import run_once
from syndicator.store import Store

from .conftest import NOW, item, rss

GOOD = rss(item("1", 20), item("2", 21), item("3", 22))


MakeConfig = Callable[..., Config]


def run(
    config: Config,
    at: timedelta = timedelta(0),
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RunReport:
    return run_once(config, NOW + at, rng=random.Random(0), force=force, progress=progress)


FOUR = [item("1", 20), item("2", 21), item("3", 22), item("4", 23)]


def outputs_of(config: Config, subscriber: str) -> dict[str, bytes]:
    """Every published file of one subscriber: relative path → bytes."""
    root = config.site.output_dir / subscriber
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def slug_of(config: Config, guid: str) -> str:
    with Store(config.database_path) as store:
        for stored in store.articles():
            if stored.entry.id.endswith(f"?p={guid}"):
                assert stored.slug
                return stored.slug
    raise AssertionError(guid)


EVERY_OUTPUT = {
    "rss.xml", "atom.xml", "feed.json", "snippet.html", "embed.js", "widget.html",
    "style.css", "page/1.html",
}  # fmt: skip


GOOD_SUBSCRIBERS = {
    "good": 'name = "Good Church"\nsite_url = "https://good.example/"',
    "templated": 'name = "Templated Church"\nsite_url = "https://t.example/"',
    "typo": 'name = "Typo Church"\nsite_url = "https://typo.example/"',
}


FOUR_CHURCHES = {
    f"church{n}": f'name = "Church {n}"\nsite_url = "https://c{n}.example/"' for n in range(4)
}


def texts_of(fragments: list[str]) -> list[str]:
    """What a reader shows for each HTML fragment."""
    return [lxml.html.fragment_fromstring(f, create_parent="div").text_content() for f in fragments]
