#!/usr/bin/env python3
"""Regenerate golden files from the bundled sample feed. Never edit golden files by hand.

    python3 scripts/dev.py syndicator ...   # (bootstrap once), then:
    .venv/bin/python scripts/regen_golden.py [clean]

Review the diff (`git diff tests/golden`) before committing: every change in it is a change
in what subscribers will see.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syndicator.clean import clean_entry  # noqa: E402
from syndicator.config import CleanSettings  # noqa: E402
from syndicator.models import Article  # noqa: E402
from syndicator.parse import parse_bytes  # noqa: E402

SAMPLE = ROOT / "config" / "samples" / "worthynews-feed.xml"
GOLDEN = ROOT / "tests" / "golden"


def golden_name(article_id: str) -> str:
    """`https://www.worthynews.com/?p=78415` → `78415`."""
    return article_id.rsplit("=", 1)[-1]


def article_metadata(article: Article) -> dict[str, object]:
    """Everything about a cleaned article except its body, as JSON-ready data."""
    data = asdict(article)
    del data["body_html"]
    for key in ("published", "updated"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


def cleaned_sample() -> list[Article]:
    feed = parse_bytes("worthynews", SAMPLE.read_bytes(), {"content-type": "application/xml"})
    settings = CleanSettings()
    return [clean_entry(entry, settings) for entry in feed.entries]


def regen_clean() -> int:
    folder = GOLDEN / "clean"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    articles = cleaned_sample()
    for article in articles:
        name = golden_name(article.id)
        (folder / f"{name}.html").write_text(article.body_html + "\n", encoding="utf-8")
        meta = json.dumps(article_metadata(article), indent=2, ensure_ascii=False)
        (folder / f"{name}.json").write_text(meta + "\n", encoding="utf-8")
    return len(articles)


def main(argv: list[str]) -> int:
    kinds = argv or ["clean"]
    for kind in kinds:
        if kind != "clean":
            print(f"unknown golden kind {kind!r}; known: clean", file=sys.stderr)
            return 2
        print(f"clean: {regen_clean()} articles written to {GOLDEN / 'clean'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
