"""Issue 21's journey in Debian's headless Chromium, from the sign-in form to the audit
log: an admin adds a church, watches the preview, copies its code, publishes it, sees it
on the church's own page, edits it and removes it, all from the console."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import ADMIN, ADMIN_PASSWORD, Console, FeedServer, respond

pytestmark = pytest.mark.slow

CHURCH = "journey-chapel"
ACCENT = "rgb(192, 28, 40)"  # #c01c28
# The bundled sample's stories in "Israel" or "US News", newest first.
CHOSEN = [
    "Ohio Congregations Pool Resources To Reopen Rural Food Pantry",
    "Jerusalem Choir Festival Draws Singers From Twenty Countries",
    "Texas Students Lead Campus Prayer Week Despite Rainy Weather",
    "Archaeologists Present Findings From Galilee Excavation At Jerusalem Conference",
]


def publish_now(page: Page) -> None:
    """Press the dashboard's Publish now and check the cycle ran without a problem."""
    page.goto("/admin/")
    page.click("button[type=submit] >> text=Publish now")
    page.wait_for_url("**/admin/publish")
    assert page.inner_text("main h1 + p") == "Published.", page.inner_text("main")


def widget_titles(browser: Browser, url: str) -> tuple[list[str], str]:
    """What a new visitor (nothing cached) sees in the widget: its titles and link colour."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    links = page.locator(".syn-title a")
    links.first.wait_for()
    seen = links.all_inner_texts(), links.first.evaluate("a => getComputedStyle(a).color")
    context.close()
    return seen


def test_an_admin_adds_previews_copies_publishes_edits_and_removes_a_church(
    browser: Browser,
    console: Console,
    served: str,
    web: dict[str, FeedServer],
) -> None:
    context = browser.new_context(base_url=console.base)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.base)
    page = context.new_page()
    output = console.config.site.output_dir / CHURCH
    saved = console.config_path.parent / "subscribers" / f"{CHURCH}.toml"

    # Sign in through the form.
    page.goto("/admin/subscribers/+new")
    assert page.url == f"{console.base}/admin/login?next=/admin/subscribers/%2Bnew"
    page.fill("input[name=name]", ADMIN)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/subscribers/+new")

    # Add a church with two categories and an accent; the preview follows, unsaved.
    page.fill("#f-name", "Journey Chapel")
    page.fill("#f-site_url", "https://journey.example.org/")
    widget = page.frame_locator("#preview iframe[data-frame=iframe]")
    # More items than the chosen categories give; retried, as the frame may reload in place.
    expect(widget.locator(".syn-item").nth(len(CHOSEN))).to_be_attached()
    page.check("input[name=categories][value='Israel']")
    page.check("input[name='categories'][value='US News']")
    expect(widget.locator(".syn-title a")).to_have_text(CHOSEN)
    assert widget.locator(".syn-title a").first.evaluate("a => getComputedStyle(a).color") != ACCENT
    page.fill("#f-theme-accent", "#c01c28")
    expect(widget.locator(".syn-title a").first).to_have_css("color", ACCENT)
    assert not saved.exists()
    page.click("form.subscriber button[type=submit]")
    page.wait_for_url(f"**/admin/subscribers/{CHURCH}?done=added")
    added = next(s for s in console.config.subscribers if s.id == CHURCH)
    assert (added.categories, added.theme.accent) == (("Israel", "US News"), "#c01c28")

    # Copy the script code with its button: the clipboard holds the code shown.
    page.click("button[data-copy=code-1]")
    page.wait_for_function("document.getElementById('copied').textContent !== ''")
    code = page.evaluate("navigator.clipboard.readText()")
    assert code == page.inner_text("#code-1")
    assert code == f'<script src="{served}/{CHURCH}/embed.js" async></script>'

    # The next cycle publishes it: its files, its widget, and the code on the church's page.
    assert not output.exists()
    publish_now(page)
    for name in ("rss.xml", "atom.xml", "feed.json", "snippet.html", "embed.js", "widget.html"):
        assert (output / name).is_file(), name
    assert widget_titles(browser, f"{served}/{CHURCH}/widget.html") == (CHOSEN, ACCENT)
    church_page = web["host"].route(
        f"/{CHURCH}.html",
        respond(
            200,
            f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Journey Chapel</title></head><body><main><h1>News</h1>{code}</main></body></html>""".encode(),
            {"Content-Type": "text/html; charset=utf-8"},
        ),
    )
    assert widget_titles(browser, church_page)[0] == CHOSEN

    # Edit it: a smaller limit, saved; the next cycle's widget lists that many.
    page.goto(f"/admin/subscribers/{CHURCH}")
    page.fill("#f-limit", "2")
    page.click("form.subscriber button[type=submit]")
    page.wait_for_url(f"**/admin/subscribers/{CHURCH}?done=saved")
    publish_now(page)
    assert widget_titles(browser, f"{served}/{CHURCH}/widget.html") == (CHOSEN[:2], ACCENT)

    # Remove it through its confirm page: the next cycle deletes its folder.
    page.goto(f"/admin/subscribers/{CHURCH}")
    page.click("text=Remove this subscriber…")
    page.wait_for_url(f"**/admin/subscribers/{CHURCH}/remove")
    page.click(f"button.danger >> text=Remove {CHURCH}")
    page.wait_for_url(f"**/admin/subscribers?removed={CHURCH}")
    assert not saved.exists()
    assert output.exists()  # until the cycle
    publish_now(page)
    assert not output.exists()

    # The audit log lists the add, the edit and the removal, by the admin, newest first.
    page.goto("/admin/audit")
    rows = page.locator("tbody tr", has_text=CHURCH)
    what = [
        (
            row.locator("[data-label=Who]").inner_text(),
            row.locator("[data-label=What]").inner_text(),
        )
        for row in rows.all()
    ]
    assert what == [
        (ADMIN, "remove subscriber"),
        (ADMIN, "edit subscriber"),
        (ADMIN, "add subscriber"),
    ]
    assert "limit" in rows.nth(1).locator("[data-label=Details]").inner_text()
    context.close()
