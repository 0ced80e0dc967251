"""/join in Debian's headless Chromium: axe finds nothing on the builder, a private link
and the Requests page (light and dark); a church sends its request from the keyboard
alone; and the whole way from the builder to the widget on the church's own page, its
change form's live preview included."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from syndicator.pipeline import run_once

from .conftest import NOW, Console, FeedServer, respond
from .test_accessibility import AXE, violations
from .test_web_console import replace
from .test_web_subscribers_browser import signed_in, tab_to

pytestmark = pytest.mark.slow


def church_page(browser: Browser, console: Console, colours: str = "light") -> Page:
    assert AXE.exists(), f"{AXE} is missing: run `npm ci`"
    context = browser.new_context(
        bypass_csp=True,  # for axe's script alone
        base_url=console.base,
        color_scheme=colours,  # type: ignore[arg-type]
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.base)
    return context.new_page()


def type_in(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def send_from_the_keyboard(page: Page, name: str) -> str:
    """Fill /join and send it with keys alone; the private link it lands on."""
    page.goto("/join")
    page.focus("body")
    type_in(page, "#f-name", name)
    type_in(page, "#f-site_url", "https://keys.example.org/")
    type_in(page, "#f-email", "office@keys.example.org")
    type_in(page, "#f-limit", "3")
    tab_to(page, "#join-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/join/r/[^/]+$"))
    return page.url


@pytest.mark.parametrize("colours", ["light", "dark"])
def test_axe_finds_nothing_on_join_a_private_link_and_the_requests_page(
    browser: Browser, console: Console, colours: str
) -> None:
    run_once(console.config, NOW)
    page = church_page(browser, console, colours)
    page.goto("/join")
    page.fill("#f-limit", "2")  # the live preview follows, and is checked with the page
    page.wait_for_selector("[data-frames]:not([hidden])")
    assert violations(page) == [], (colours, "/join")
    page.fill("#f-limit", "0")
    page.click("#join-form button[type=submit]")
    page.wait_for_selector("#f-limit-error")
    assert violations(page) == [], (colours, "a refused /join")
    link = send_from_the_keyboard(page, "Keyboard Chapel")
    assert "Waiting for approval" in page.inner_text("main")
    assert violations(page) == [], (colours, "a waiting link")
    for admin in signed_in(browser, console, colours):
        admin.goto("/admin/requests")
        assert "Keyboard Chapel" in admin.inner_text("main")
        assert violations(admin) == [], (colours, "/admin/requests")
        admin.click("form.decide button[type=submit] >> text=Approve")
        admin.wait_for_url("**/admin/requests?done=approved")
    page.goto(link)
    page.wait_for_selector("#code-heading")
    page.wait_for_selector("[data-frames]:not([hidden])")  # its change form's live preview
    assert violations(page) == [], (colours, "an approved link")
    page.context.close()


def test_a_church_builds_asks_is_approved_pastes_its_code_and_previews_and_changes_its_limit(
    browser: Browser, console: Console, served: str, web: dict[str, FeedServer]
) -> None:
    page = church_page(browser, console)
    link = send_from_the_keyboard(page, "Pasted Chapel")
    for admin in signed_in(browser, console, "light"):
        admin.goto("/admin/requests")
        admin.click("form.decide button[type=submit] >> text=Approve")
        admin.wait_for_url("**/admin/requests?done=approved")
    added = next(s for s in console.config.subscribers if s.id == "pasted-chapel")
    assert (added.site_url, added.limit) == ("https://keys.example.org/", 3)
    file = console.config_path.parent / "subscribers" / "pasted-chapel.toml"
    replace(file, 'footer = "Shared by the admin"\n' + file.read_text())  # not on its form
    run_once(console.config, NOW)

    page.goto(link)
    page.click("button[data-copy=code-2]")  # the iframe: it lists `limit` stories
    page.wait_for_function("document.getElementById('copied').textContent !== ''")
    code = page.evaluate("navigator.clipboard.readText()")
    assert code.startswith(f'<iframe src="{served}/pasted-chapel/widget.html"')
    host = web["host"]
    church_site = host.route(
        "/pasted-chapel.html",
        respond(
            200,
            f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Pasted Chapel</title></head><body><main><h1>News</h1>{code}</main></body></html>""".encode(),
            {"Content-Type": "text/html; charset=utf-8"},
        ),
    )
    reader = page.context.new_page()
    reader.goto(church_site)
    stories = reader.frame_locator("iframe").locator(".syn-item")
    stories.first.wait_for()
    assert stories.count() == 3

    # The change form's live preview: its file as it is, with the form's change, unsaved.
    preview = page.frame_locator("#preview iframe[data-frame=iframe]")
    expect(preview.locator(".syn-item")).to_have_count(3)
    expect(preview.locator("body")).to_contain_text("Shared by the admin")
    page.fill("#f-limit", "2")
    expect(preview.locator(".syn-item")).to_have_count(2)
    expect(preview.locator("body")).to_contain_text("Shared by the admin")
    assert "limit = 3" in file.read_text()
    page.click("#join-form button[type=submit]")
    page.wait_for_selector("text=Saved. The next cycle publishes the change.")
    assert next(s for s in console.config.subscribers if s.id == "pasted-chapel").limit == 2
    run_once(console.config, NOW)
    visitor = browser.new_context().new_page()  # a new reader: widget.html is cached 5 min
    visitor.goto(church_site)
    stories = visitor.frame_locator("iframe").locator(".syn-item")
    stories.first.wait_for()
    assert stories.count() == 2
    visitor.context.close()
    page.context.close()
