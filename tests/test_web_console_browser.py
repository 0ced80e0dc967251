"""The console's own pages in Debian's headless Chromium: sign in through the form, the
dashboard, "Publish now" and its report, the audit log, changing the password; axe finds
no violation on any of them, in either colour scheme, and the strict CSP is never broken
(no console error)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from .conftest import ADMIN, ADMIN_PASSWORD, Console
from .test_accessibility import AXE, violations

pytestmark = pytest.mark.slow


@pytest.fixture(params=["light", "dark"])
def page(request: pytest.FixtureRequest, browser: Browser, console: Console) -> Iterator[Page]:
    """A fresh, signed-out Chromium page on the console; the CSP is bypassed for axe alone,
    so a second page without the bypass checks the CSP holds."""
    assert AXE.exists(), f"{AXE} is missing: run `npm ci`"
    context = browser.new_context(
        bypass_csp=True, base_url=console.base, color_scheme=request.param
    )
    shown = context.new_page()
    yield shown
    context.close()


def test_an_admin_signs_in_publishes_now_and_sees_it_in_the_audit_log(
    page: Page, console: Console
) -> None:
    page.goto("/admin/audit")
    assert page.url == f"{console.base}/admin/login?next=/admin/audit"
    assert violations(page) == []
    page.get_by_label("Name").fill(ADMIN)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "The name or password is wrong."
    assert violations(page) == []
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/audit")

    page.goto("/admin/")
    assert page.get_by_role("heading", level=1).inner_text() == "Worthy News syndication (demo)"
    assert violations(page) == []
    page.get_by_role("button", name="Publish now").click()
    page.wait_for_url("**/admin/publish")
    report = page.locator(".report").inner_text()
    assert "publish: 3 subscriber(s): 3 rendered" in report
    assert violations(page) == []

    page.goto("/admin/")
    assert page.locator("tbody tr").first.locator("td").first.inner_text() == "ok"
    page.get_by_role("link", name="Audit log").click()
    assert "publish now" in page.locator("tbody").inner_text()
    assert violations(page) == []

    page.get_by_role("link", name=re.compile(f"^{ADMIN}.*change your password$")).click()
    page.wait_for_url("**/admin/password")
    assert violations(page) == []
    page.get_by_label("Current password").fill("not the password")
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_label("New password again").fill("a brand new passphrase")
    page.get_by_role("button", name="Change password").click()
    assert page.get_by_role("alert").inner_text() == "The current password is wrong."
    assert violations(page) == []
    page.get_by_label("Current password").fill(ADMIN_PASSWORD)
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_label("New password again").fill("a brand new passphrase")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/admin/password?changed=1")
    assert "Your password is changed." in page.get_by_role("status").inner_text()
    assert violations(page) == []
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/admin/login")


def test_the_pages_break_no_csp_rule_and_need_nothing_from_elsewhere(
    browser: Browser, console: Console
) -> None:
    context = browser.new_context(base_url=console.base)  # the CSP enforced
    page = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(console.base) else elsewhere.append(request.url)
        ),
    )
    page.goto("/admin/login")
    page.get_by_label("Name").fill(ADMIN)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    page.get_by_role("button", name="Publish now").click()
    page.wait_for_url("**/admin/publish")
    page.goto("/admin/audit")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    context.close()
    assert errors == [] and elsewhere == []
    assert background == "rgb(255, 255, 255)"  # the stylesheet applied under the CSP
