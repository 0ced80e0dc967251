"""The console's preview and templates pages in Debian's headless Chromium: axe finds no
violation, and the editor's frames follow the form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from syndicator.pipeline import run_once

from .conftest import Console, sign_in_page
from .test_accessibility import AXE, violations

pytestmark = pytest.mark.slow
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def admin_page(browser: Browser, console: Console) -> Iterator[Page]:
    """A Chromium page signed in to the console, after one cycle (stories stored)."""
    assert AXE.exists(), f"{AXE} is missing: run `npm ci`"
    run_once(console.config, NOW)
    context = browser.new_context(bypass_csp=True, base_url=console.base)  # for axe alone
    page = context.new_page()
    sign_in_page(page)
    yield page
    context.close()


def _axe(page: Page) -> list[dict[str, Any]]:
    return violations(page)


def test_axe_finds_nothing_on_the_templates_page_with_a_broken_override(
    admin_page: Page, console: Console
) -> None:
    folder = console.config_path.parent / "templates"
    folder.mkdir()
    (folder / "widget.html").write_text("<p>\n{% for %}\n", encoding="utf-8")
    (folder / "_item.html").write_text("<li>{{ item.title }}</li>\n", encoding="utf-8")
    admin_page.goto("/admin/templates")
    assert admin_page.locator("tr.problem").count() == 1
    assert _axe(admin_page) == []


def test_axe_finds_nothing_on_the_preview_page_at_either_width(admin_page: Page) -> None:
    for width in ("desktop", "phone"):
        admin_page.goto("/admin/")
        # What the form's "Preview in a new tab" button sends, from this signed-in page.
        admin_page.evaluate(
            """async (width) => {
              const form = new FormData();
              form.set("csrf_token", document.querySelector("[name=csrf_token]").value);
              form.set("preview_of", "grace-church");
              form.set("name", "Grace");
              form.set("site_url", "https://g.example/");
              const answer = await fetch("/admin/preview", {method: "POST", body: form});
              location.href = answer.url + "?width=" + width;
            }""",
            width,
        )
        admin_page.wait_for_url(f"**/admin/preview/*/?width={width}")
        widget = admin_page.frame_locator("iframe[data-frame=iframe]")
        widget.locator(".syn-item").first.wait_for()
        assert _axe(admin_page) == [], width


def test_the_editors_frames_follow_a_changed_accent_its_default_and_limit_unsaved(
    admin_page: Page, console: Console
) -> None:
    saved = (console.config_path.parent / "subscribers" / "grace-church.toml").read_bytes()
    admin_page.goto("/admin/subscribers/grace-church")
    widget = admin_page.frame_locator("#preview iframe[data-frame=iframe]")
    widget.locator(".syn-item").first.wait_for()
    assert widget.locator(".syn-item").count() > 2
    assert _axe(admin_page) == []

    admin_page.fill("#f-theme-accent", "#c01c28")
    expect(widget.locator(".syn-title a").first).to_have_css("color", "rgb(192, 28, 40)")
    admin_page.get_by_label("Use the default").check()  # back to the default, in the picker too
    expect(widget.locator(".syn-title a").first).to_have_css("color", "rgb(26, 95, 180)")
    assert admin_page.input_value("#f-theme-accent") == "#1a5fb4"
    admin_page.fill("#f-theme-accent", "#c01c28")  # a colour picked unticks the box
    expect(admin_page.get_by_label("Use the default")).not_to_be_checked()
    expect(widget.locator(".syn-title a").first).to_have_css("color", "rgb(192, 28, 40)")
    admin_page.fill("#f-limit", "2")
    expect(widget.locator(".syn-item")).to_have_count(2)
    light = admin_page.frame_locator("#preview iframe[data-frame=light]")
    expect(light.locator("#feed li")).to_have_count(2)

    admin_page.click("#preview [data-width=phone]")
    assert admin_page.locator("#preview iframe[data-frame=iframe]").bounding_box()["width"] <= 375
    assert (console.config_path.parent / "subscribers" / "grace-church.toml").read_bytes() == saved


def test_a_changed_colour_shows_at_once_in_the_same_frames_while_typing_waits(
    admin_page: Page,
) -> None:
    admin_page.clock.install()
    admin_page.goto("/admin/subscribers/grace-church")
    light = admin_page.frame_locator("#preview iframe[data-frame=light]")
    widget = admin_page.frame_locator("#preview iframe[data-frame=iframe]")
    widget.locator(".syn-item").first.wait_for()
    admin_page.clock.pause_at(datetime(2030, 1, 1, tzinfo=UTC))  # no timer fires by itself
    shown = admin_page.query_selector("#preview iframe[data-frame=iframe]")
    assert shown is not None
    history = admin_page.evaluate("history.length")

    admin_page.fill("#f-theme-accent", "#c01c28")
    expect(widget.locator(".syn-title a").first).to_have_css("color", "rgb(192, 28, 40)")
    # Navigated in place (the last render stays until the new one is there), no history.
    assert shown.evaluate("frame => frame.isConnected")
    assert admin_page.evaluate("history.length") == history

    admin_page.fill("#f-name", "Grace Typed")
    admin_page.clock.run_for(1000)  # the pause after the last keystroke
    expect(light.locator("header h1")).to_contain_text("Grace Typed")


def test_a_colour_dragged_through_many_steps_asks_for_few_renders_and_shows_the_last(
    admin_page: Page,
) -> None:
    admin_page.goto("/admin/subscribers/grace-church")
    widget = admin_page.frame_locator("#preview iframe[data-frame=iframe]")
    widget.locator(".syn-item").first.wait_for()
    posts: list[str] = []
    admin_page.on(
        "request",
        lambda request: posts.append(request.url) if request.method == "POST" else None,
    )
    admin_page.evaluate(
        """() => {
          const input = document.querySelector("#f-theme-accent");
          for (let step = 1; step <= 20; step++) {
            input.value = "#" + (step * 10).toString(16).padStart(2, "0") + "1c28";
            input.dispatchEvent(new Event("input", {bubbles: true}));
          }
        }"""
    )
    expect(widget.locator(".syn-title a").first).to_have_css("color", "rgb(200, 28, 40)")
    assert 1 <= len(posts) <= 2, posts  # the first step, then where it stopped
