"""The preview library: a draft subscriber rendered by the real renderer, nothing written."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicator.config import Config, SubscriberConfig, load_config
from syndicator.pipeline import run_once
from syndicator.preview import DARK_PAGE, PREVIEW_PAGE, render_preview

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
BASE = "/admin/preview/TOKEN/"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The bundled config after one cycle: a store with articles and published outputs."""
    folder = tmp_path_factory.mktemp("preview") / "config"
    shutil.copytree(REPO / "config", folder)
    run_once(load_config(folder / "syndicator.toml"), NOW)
    return load_config(folder / "syndicator.toml")


def draft(config: Config, **changes: object) -> SubscriberConfig:
    """A subscriber as a form would send it: validated, not saved."""
    data = config.subscribers[0].model_dump() | changes
    return SubscriberConfig.model_validate(data)


def _tree(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(path.relative_to(folder)): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _dump(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return list(db.iterdump())


def test_a_preview_writes_nothing_to_the_outputs_or_the_store(config: Config) -> None:
    outputs, state = _tree(config.site.output_dir), _tree(config.site.state_dir)
    rows = _dump(config.database_path)

    preview = render_preview(config, draft(config, limit=3), BASE, NOW)

    assert preview.outputs and preview.article is not None
    assert _tree(config.site.output_dir) == outputs
    assert _dump(config.database_path) == rows
    database = config.database_path.name  # beside it, SQLite's own -wal and -shm files
    assert _tree(config.site.state_dir)[database] == state[database]


def test_the_outputs_and_sample_pages_point_at_the_preview_urls_not_the_site(
    config: Config,
) -> None:
    subscriber = draft(config)
    preview = render_preview(config, subscriber, BASE, NOW)

    light = preview.pages[PREVIEW_PAGE].decode()
    assert f'<script src="{BASE}{subscriber.id}/embed.js" async></script>' in light
    assert f'src="{BASE}{subscriber.id}/widget.html"' in light
    assert preview.pages[DARK_PAGE] != preview.pages[PREVIEW_PAGE]
    assert preview.get(f"{subscriber.id}/embed.js") is not None
    for path in (*preview.outputs, *preview.pages):
        text = (preview.get(path) or b"").decode()
        assert config.site.base_url not in text, path
    assert preview.article is not None and preview.get(preview.article) is not None


def test_a_changed_option_shows_in_the_rendered_outputs(config: Config) -> None:
    before = render_preview(config, draft(config, limit=2), BASE, NOW)
    after = render_preview(config, draft(config, limit=3, theme={"accent": "#c01c28"}), BASE, NOW)
    style, widget = "grace-church/style.css", "grace-church/widget.html"
    assert b"#c01c28" in (after.get(style) or b"")
    assert b"#c01c28" not in (before.get(style) or b"")
    assert (after.get(widget) or b"").count(b'<li class="syn-item"') == 3
    assert (before.get(widget) or b"").count(b'<li class="syn-item"') == 2


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_hostile_draft_values_are_escaped_in_every_file(config: Config) -> None:
    subscriber = draft(config, name=HOSTILE, footer=HOSTILE)
    preview = render_preview(config, subscriber, BASE, NOW)
    for path in (*preview.outputs, *preview.pages):
        if not path.endswith((".html", ".js")):
            continue  # feeds are XML or JSON: their values are text, not markup
        text = (preview.get(path) or b"").decode()
        assert "<script>alert" not in text and "<img src=x" not in text, path
    assert "&lt;script&gt;alert" in preview.pages[PREVIEW_PAGE].decode()
