#!/usr/bin/env python3
"""Pictures of /join, in Debian's headless Chromium at 1280 and 375 px, light and dark:
the builder with its live preview (a church's name typed, a few options chosen), a
waiting private link, the console's Requests page, and the approved link's change form
with its live preview; over a copy of the demo config after one cycle.

    python3 scripts/dev.py test -q tests/test_web_app.py -k nothing   # (bootstrap once), then:
    .venv/bin/python scripts/join_screenshots.py

Writes every picture to artifacts/join/ (git-ignored) for a person to look at, and the
builder's four to docs/ for the README's "For churches". Look at them before committing.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from syndicator.config import load_config  # noqa: E402
from syndicator.pipeline import run_once  # noqa: E402
from syndicator.web.auth import add_admin  # noqa: E402
from tests.conftest import ADMIN, ADMIN_PASSWORD, Clock, running_console, sign_in_page  # noqa: E402
from tests.embed_site import CHROMIUM, LAUNCH_ARGS, pictured_pages  # noqa: E402

ARTIFACTS = ROOT / "artifacts" / "join"
DOCS = ROOT / "docs"
SIZES = {1280: 1000, 375: 1400}  # width → height of the picture (the top of the page)


def shoot(page: Page, name: str, scheme: str, width: int, full: bool = False) -> None:
    page.wait_for_load_state("networkidle")
    path = ARTIFACTS / f"{name}-{scheme}-{width}.png"
    page.screenshot(path=path, full_page=full)
    print(f"wrote {path.relative_to(ROOT)}")
    if name == "builder":
        shutil.copyfile(path, DOCS / f"join-{scheme}-{width}.png")
        print(f"wrote docs/join-{scheme}-{width}.png")


def build(page: Page) -> None:
    """A church filling the builder, the preview following it."""
    page.goto("/join")
    page.fill("#f-name", "Hope Valley Fellowship")
    page.fill("#f-site_url", "https://hopevalley.example.org/")
    page.fill("#f-email", "office@hopevalley.example.org")
    page.fill("#f-limit", "3")
    page.select_option("#f-theme-layout", "cards")
    page.select_option("#f-scripture-link", "youversion")
    page.wait_for_selector("[data-frames]:not([hidden])")
    page.wait_for_timeout(800)  # the frames' own load
    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")


def main() -> int:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        shutil.copytree(ROOT / "config", Path(work) / "config")
        config_path = Path(work) / "config" / "syndicator.toml"
        run_once(load_config(config_path), datetime.now(UTC))
        clock = Clock()
        add_admin(load_config(config_path), ADMIN, ADMIN_PASSWORD, clock())
        with running_console(config_path, clock) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            for page, width, scheme in pictured_pages(browser, base, SIZES):
                build(page)
                shoot(page, "builder", scheme, width)
                page.locator("#f-scripture-link").scroll_into_view_if_needed()
                shoot(page, "builder-scripture", scheme, width)
                frame = page.locator('iframe[data-frame="article"]')
                frame.scroll_into_view_if_needed()
                linked = frame.content_frame.locator('a[href^="https://www.bible.com/"]')
                linked.first.scroll_into_view_if_needed()
                shoot(page, "builder-scripture-preview", scheme, width)
                if width == 1280 and scheme == "light":
                    page.click("#join-form button[type=submit]")
                    page.wait_for_url("**/join/r/*")
                    link = page.url
                    shoot(page, "waiting", scheme, width)
                    sign_in_page(page)
                    page.goto("/admin/requests")
                    shoot(page, "requests", scheme, width, full=True)
                    page.click("form.decide button[type=submit] >> text=Approve")
                    page.wait_for_url("**/admin/requests?done=approved")
            for page, width, scheme in pictured_pages(browser, base, SIZES):
                page.goto(link)
                page.fill("#f-limit", "2")  # a change, previewed before it is saved
                page.wait_for_selector("[data-frames]:not([hidden])")
                page.wait_for_timeout(800)  # the frames' own load
                page.evaluate(
                    "document.activeElement.blur();"
                    "document.getElementById('change-heading').scrollIntoView()"
                )
                shoot(page, "approved-change", scheme, width)
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
