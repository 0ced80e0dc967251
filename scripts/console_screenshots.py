#!/usr/bin/env python3
"""Pictures of the web console, in Debian's headless Chromium at 1280 and 375 px, light
and dark: every console page over a copy of the demo config after one cycle (with one
broken subscriber file and one church whose categories select nothing, so the dashboard
shows its problems).

    python3 scripts/dev.py test -q tests/test_web_app.py -k nothing   # (bootstrap once), then:
    .venv/bin/python scripts/console_screenshots.py

Writes every picture to artifacts/console/ (git-ignored) for a person to look at, and the
README's three (the dashboard, the editor with its preview, and that preview's story page
with its linked Bible references; 1280 px, light) to docs/.
Look at them before committing.
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

ARTIFACTS = ROOT / "artifacts" / "console"
DOCS = ROOT / "docs"
SIZES = {1280: 900, 375: 800}  # width → height of the picture (the top of the page)
PAGES = {
    "login": "/admin/login",
    "dashboard": "/admin/",
    "audit": "/admin/audit",
    "subscribers": "/admin/subscribers",
    "editor": "/admin/subscribers/grace-church",
    "templates": "/admin/templates",
    "password": "/admin/password",
}
README_PICTURES = {
    ("dashboard", "light", 1280),
    ("editor", "light", 1280),
    ("editor-scripture-preview", "light", 1280),
}


def demo(work: Path) -> Path:
    """The demo config after one cycle, with a broken file and an empty selection."""
    shutil.copytree(ROOT / "config", work / "config")
    config_path = work / "config" / "syndicator.toml"
    subscribers = config_path.parent / "subscribers"
    (subscribers / "bethel-fellowship.toml").write_text(
        'name = "Bethel Fellowship"\nsite_url = "https://bethel.example.org/"\n'
        'categories = ["Asia News"]\n',
        encoding="utf-8",
    )
    run_once(load_config(config_path), datetime.now(UTC))
    (subscribers / "hope-chapel.toml").write_text(
        'name = "Hope Chapel"\nlimit = 500\n', encoding="utf-8"
    )
    return config_path


def shoot(page: Page, name: str, scheme: str, width: int) -> None:
    page.wait_for_load_state("networkidle")
    path = ARTIFACTS / f"{name}-{scheme}-{width}.png"
    page.screenshot(path=path)
    print(f"wrote {path.relative_to(ROOT)}")
    if (name, scheme, width) in README_PICTURES:
        shutil.copyfile(path, DOCS / f"console-{name}.png")
        print(f"wrote docs/console-{name}.png")


def scripture(page: Page) -> None:
    """The editor's Bible references section, a provider chosen, the preview following
    it (its story page opens on the newest story, which cites scripture)."""
    page.goto(PAGES["editor"])
    page.select_option("#f-scripture-link", "biblegateway")
    page.wait_for_selector("[data-frames]:not([hidden])")
    page.wait_for_timeout(800)  # the frames' own load
    page.evaluate("document.activeElement.blur()")
    page.locator("#f-scripture-link").scroll_into_view_if_needed()


def linked_reference(page: Page) -> None:
    """The preview's article page scrolled to its first linked Bible reference."""
    frame = page.locator('iframe[data-frame="article"]')
    frame.scroll_into_view_if_needed()
    link = frame.content_frame.locator('a[href*="biblegateway.com"]').first
    link.evaluate("link => link.scrollIntoView({block: 'center'})")


def main() -> int:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        config_path = demo(Path(work))
        clock = Clock()
        add_admin(load_config(config_path), ADMIN, ADMIN_PASSWORD, clock())
        with running_console(config_path, clock) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            for page, width, scheme in pictured_pages(browser, base, SIZES):
                page.goto(PAGES["login"])
                shoot(page, "login", scheme, width)
                sign_in_page(page)
                for name, path in PAGES.items():
                    if name != "login":
                        page.goto(path)
                        shoot(page, name, scheme, width)
                scripture(page)
                shoot(page, "editor-scripture", scheme, width)
                linked_reference(page)
                shoot(page, "editor-scripture-preview", scheme, width)
                page.goto(PAGES["dashboard"])
                page.get_by_role("button", name="Publish now").click()
                page.wait_for_url("**/admin/publish")
                shoot(page, "publish", scheme, width)
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
