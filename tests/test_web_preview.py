"""The console's live preview: a form's draft rendered, served under a token, never written."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from syndicator.config import load_config
from syndicator.pipeline import run_once
from syndicator.web.preview import Previews, draft_of

from .conftest import Console, csrf_token_in, sign_in

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
GRACE = {
    "preview_of": "grace-church",
    "name": "Grace Community Church",
    "site_url": "https://grace-church.example.org/",
    "content": "excerpt",
}


@pytest.fixture
def ran(console: Console) -> Iterator[Console]:
    """The console after one cycle: stories in the store, outputs published."""
    run_once(console.config, NOW)
    yield console


def post(console: Console, **fields: Any) -> Any:
    return console.post(
        "/admin/preview", {**GRACE, **fields}, headers={"Accept": "application/json"}
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _articles(database: Path) -> list[Any]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT * FROM articles ORDER BY source_id, id").fetchall()


def test_a_preview_is_served_under_its_token_with_every_url_pointing_there(ran: Console) -> None:
    answer = post(ran, limit="3")
    assert answer.status_code == 200, answer.text
    token, frames = answer.json()["token"], answer.json()["frames"]
    base = f"/admin/preview/{token}/"
    assert frames["light"] == base + "preview.html"
    assert frames["iframe"] == base + "grace-church/widget.html"

    page = ran.get(frames["light"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<script src="{base}grace-church/embed.js" async></script>' in page.text
    assert "grace-church.example.org" not in page.headers.get("location", "")
    csp = page.headers["content-security-policy"]
    assert csp.startswith("sandbox allow-scripts;") and "allow-same-origin" not in csp
    # The church page, sandboxed, frames the iframe page: no frame-ancestors admits it.
    assert "frame-ancestors" not in csp and "x-frame-options" not in page.headers

    widget = ran.get(frames["iframe"]).text
    assert widget.count('<li class="syn-item">') == 3
    assert ran.config.site.base_url not in widget
    assert ran.get(base + "grace-church/embed.js").status_code == 200
    assert ran.get(frames["article"]).status_code == 200


def test_a_changed_option_shows_in_the_next_preview(ran: Console) -> None:
    before = post(ran).json()["frames"]["iframe"]
    after = post(ran, **{"theme.accent": "#c01c28", "limit": "2"}).json()["frames"]["iframe"]
    assert before != after
    style = after.rsplit("/", 1)[0] + "/style.css"
    assert "#c01c28" in ran.get(style).text
    assert ran.get(after).text.count('<li class="syn-item">') == 2


def test_previewing_writes_nothing(ran: Console) -> None:
    config = ran.config
    folders = [config.site.output_dir, ran.config_path.parent]
    before = [_files(folder) for folder in folders]
    rows = _articles(config.database_path)

    answer = post(ran, limit="4", name="Renamed")
    for url in answer.json()["frames"].values():
        assert ran.get(url).status_code == 200
    assert ran.client.post("/admin/preview", data={**GRACE, "csrf_token": ran.csrf_token})

    assert [_files(folder) for folder in folders] == before
    assert _articles(config.database_path) == rows


def test_hostile_draft_values_are_escaped(ran: Console) -> None:
    answer = post(ran, name=HOSTILE, footer=HOSTILE)
    frames = answer.json()["frames"]
    for url in (frames["light"], frames["dark"], frames["iframe"], frames["article"]):
        text = ran.get(url).text
        assert "<script>alert" not in text and "<img src=x" not in text, url
    assert "&lt;script&gt;alert" in ran.get(frames["light"]).text


def test_an_invalid_draft_says_which_field_in_the_forms_words(ran: Console) -> None:
    answer = post(ran, limit="0")
    assert answer.status_code == 422
    assert answer.json() == {"errors": ["Stories listed: must be 1–100, got 0"]}

    page = ran.post("/admin/preview", {**GRACE, "limit": "0", "footer": HOSTILE})
    assert page.status_code == 422 and "Stories listed: must be 1–100, got 0" in page.text


def test_without_javascript_the_preview_button_leads_to_a_page_of_frames(ran: Console) -> None:
    answer = ran.post("/admin/preview", GRACE)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/admin/preview/") and location.endswith("/")

    page = ran.get(location).text
    assert page.count('<iframe sandbox="allow-scripts"') == 4
    assert f'src="{location}preview.html"' in page
    assert 'class="frames phone"' in ran.get(location + "?width=phone").text


def test_another_session_cannot_read_a_preview(ran: Console) -> None:
    frames = post(ran).json()["frames"]
    with httpx2.Client(base_url=ran.base) as other:
        assert sign_in(other).status_code == 303
        assert csrf_token_in(other.get("/admin/").text)
        assert other.get(frames["light"]).status_code == 404
        token_page = frames["light"].removesuffix("preview.html")
        assert other.get(token_page).status_code == 404
    with httpx2.Client(base_url=ran.base, cookies={"syndicator_session": "forged"}) as forged:
        assert forged.get(frames["light"]).status_code == 404
    assert ran.get(frames["light"]).status_code == 200


def test_a_sandboxed_frames_cookieless_request_is_served_on_the_token(ran: Console) -> None:
    """Browsers send no SameSite=Strict cookie from a sandboxed frame's opaque origin."""
    frames = post(ran).json()["frames"]
    with httpx2.Client(base_url=ran.base) as frame:
        assert frame.get(frames["iframe"]).status_code == 200
        stranger = frame.get("/admin/preview/not-a-token/preview.html")
        assert stranger.status_code == 303  # no such preview: asked to sign in


def test_the_previews_kept_are_bounded_the_oldest_going_first(ran: Console) -> None:
    config = load_config(ran.config_path)
    draft = draft_of(config, {k: [v] for k, v in GRACE.items()})
    previews = Previews()
    one = previews.render(config, draft, "owner", NOW)
    size = previews.get(one.token).size  # type: ignore[union-attr]
    previews = Previews(limit=3 * size)
    tokens = [previews.render(config, draft, "owner", NOW).token for _ in range(5)]
    assert len(previews) == 3
    assert [previews.get(token) is not None for token in tokens] == [False, False, True, True, True]


def test_the_preview_links_the_sample_storys_bible_references_as_the_draft_chooses(
    ran: Console,
) -> None:
    # The newest sample story (the preview's article page) cites Matthew 25:35–36.
    plain = ran.get(post(ran).json()["frames"]["article"]).text
    assert "Matthew 25:35–36" in plain and "bible.com" not in plain
    assert "biblegateway.com" not in plain

    frames = post(ran, **{"scripture.link": "youversion", "scripture.version": "nvi-pt"})
    article = ran.get(frames.json()["frames"]["article"]).text
    assert (
        '<a href="https://www.bible.com/bible/129/MAT.25.35-36.NVI" rel="noopener">'
        "Matthew 25:35–36</a>"
    ) in article
