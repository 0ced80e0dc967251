"""The console's subscriber pages in Debian's headless Chromium: axe finds no violation
on the list, new and edit pages in light and dark, the add form works from the keyboard
alone, and the copy buttons copy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from syndicator.pipeline import run_once

from .conftest import NOW, Console, sign_in_page
from .test_accessibility import AXE, violations

pytestmark = pytest.mark.slow


def signed_in(browser: Browser, console: Console, colours: str) -> Iterator[Page]:
    assert AXE.exists(), f"{AXE} is missing: run `npm ci`"
    context = browser.new_context(
        bypass_csp=True,  # for axe's script alone
        base_url=console.base,
        color_scheme=colours,  # type: ignore[arg-type]
    )
    page = context.new_page()
    sign_in_page(page)
    yield page
    context.close()


@pytest.fixture
def admin_page(browser: Browser, console: Console) -> Iterator[Page]:
    """A signed-in Chromium page (light), after one cycle: categories are stored."""
    run_once(console.config, NOW)
    yield from signed_in(browser, console, "light")


@pytest.mark.parametrize("colours", ["light", "dark"])
def test_axe_finds_nothing_on_the_list_new_and_edit_pages(
    browser: Browser, console: Console, colours: str
) -> None:
    run_once(console.config, NOW)
    (console.config_path.parent / "subscribers" / "broken.toml").write_text("limit = 0\n")
    for page in signed_in(browser, console, colours):
        for path in (
            "/admin/subscribers",
            "/admin/subscribers?problem=any",
            "/admin/subscribers/+new",
            "/admin/subscribers/grace-church",
            "/admin/subscribers/broken",
            "/admin/subscribers/grace-church/remove",
        ):
            page.goto(path)
            assert violations(page) == [], (colours, path)
        page.goto("/admin/subscribers/grace-church")
        page.fill("#f-limit", "0")
        page.click("form.subscriber button[type=submit]")
        page.wait_for_selector("#f-limit-error")
        assert violations(page) == [], (colours, "a refused form")


def tab_to(page: Page, selector: str, most: int = 300) -> None:
    """Press Tab until the element `selector` has the focus (as a keyboard user would)."""
    for _ in range(most):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_the_add_form_is_used_with_the_keyboard_alone(admin_page: Page, console: Console) -> None:
    page = admin_page
    page.goto("/admin/subscribers/+new")
    tab_to(page, "#f-name")
    page.keyboard.type("Keyboard Chapel")
    assert page.get_attribute("#f-id", "placeholder") == "keyboard-chapel"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-site_url"
    page.keyboard.type("keyboard.example.org")
    tab_to(page, "#f-categories-1")
    page.keyboard.press("Space")  # tick the first stored category
    tab_to(page, "#f-limit")
    page.keyboard.type("3")
    tab_to(page, "form.subscriber button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_selector("#f-site_url-error")
    assert page.evaluate("document.activeElement.id") == "form-errors"
    error = page.inner_text("#f-site_url-error")
    assert "did you mean 'https://keyboard.example.org'?" in error
    site = page.locator("#f-site_url")
    assert site.get_attribute("aria-invalid") == "true"
    assert "f-site_url-error" in (site.get_attribute("aria-describedby") or "")
    assert page.input_value("#f-name") == "Keyboard Chapel"  # kept as typed
    assert page.input_value("#f-limit") == "3"
    assert page.is_checked("#f-categories-1")

    tab_to(page, "#f-site_url")
    page.keyboard.press("Control+A")
    page.keyboard.type("https://keyboard.example.org/")
    page.keyboard.press("Enter")  # submits the form

    page.wait_for_url("**/admin/subscribers/keyboard-chapel?done=added")
    added = next(s for s in console.config.subscribers if s.id == "keyboard-chapel")
    assert (added.site_url, added.limit, len(added.categories)) == (
        "https://keyboard.example.org/", 3, 1,
    )  # fmt: skip


def test_a_copy_button_puts_the_code_on_the_clipboard(browser: Browser, console: Console) -> None:
    context = browser.new_context(base_url=console.base)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.base)
    page = context.new_page()
    sign_in_page(page)
    page.goto("/admin/subscribers/grace-church")

    page.click("button[data-copy=code-1]")

    # Not wait_for_function: its polling evaluates a string, which the page's CSP refuses.
    expect(page.locator("#copied")).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == '<script src="http://127.0.0.1:8080/grace-church/embed.js" async></script>'
    context.close()
