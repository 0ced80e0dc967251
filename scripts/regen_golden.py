#!/usr/bin/env python3
"""Regenerate golden files from the bundled sample feed. Never edit golden files by hand.

    python3 scripts/dev.py syndicator ...   # (bootstrap once), then:
    .venv/bin/python scripts/regen_golden.py [clean] [render]

`clean`: every sample article's cleaned body and metadata (tests/golden/clean/).
`render`: the whole output tree of the bundled config (its example subscribers, index.html
and subscribers.opml), rendered at the tests' pinned clock (tests/golden/render/).

Review the diff (`git diff tests/golden`) before committing: every change in it is a change
in what subscribers will see.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syndicator.clean import clean_entry  # noqa: E402
from syndicator.config import CleanSettings, load_config  # noqa: E402
from syndicator.models import Article  # noqa: E402
from syndicator.parse import parse_bytes  # noqa: E402
from syndicator.pipeline import run_once  # noqa: E402

SAMPLE = ROOT / "config" / "samples" / "worthynews-feed.xml"
CONFIG = ROOT / "config" / "syndicator.toml"
GOLDEN = ROOT / "tests" / "golden"
# The tests' pinned clock (tests/conftest.py NOW): the golden render test runs at it too.
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
KINDS = ("clean", "render")


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


def render_sample(work: Path, now: datetime = NOW) -> Path:
    """Run the bundled config once at `now`, its state and output under `work` (so the
    repository's own `state/` and `output/` stay untouched); return the output folder."""
    config = load_config(CONFIG)
    site = config.site.model_copy(
        update={"output_dir": work / "output", "state_dir": work / "state"}
    )
    config = dataclasses.replace(config, site=site)
    report = run_once(config, now, force=True)
    if not report.ok:  # a golden tree of a half-failed run would enshrine the failure
        raise RuntimeError(f"the bundled config did not run cleanly: {report}")
    return site.output_dir


def regen_render() -> int:
    folder = GOLDEN / "render"
    with tempfile.TemporaryDirectory() as work:
        output = render_sample(Path(work))
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(output, folder)
    return sum(1 for path in folder.rglob("*") if path.is_file())


def main(argv: list[str]) -> int:
    kinds = argv or list(KINDS)
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        print(f"unknown golden kind {unknown[0]!r}; known: {', '.join(KINDS)}", file=sys.stderr)
        return 2
    for kind in kinds:
        if kind == "clean":
            print(f"clean: {regen_clean()} articles written to {GOLDEN / 'clean'}")
        else:
            print(f"render: {regen_render()} files written to {GOLDEN / 'render'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
