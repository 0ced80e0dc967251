"""axe-core, the accessibility engine browsers' dev tools use, over our pages and a church
page with the script embed, in Debian's headless Chromium: no violation of any impact.

axe-core comes pinned from `package-lock.json` (`python3 scripts/dev.py test` runs `npm
ci` when `node_modules/` is missing) and is injected into each page by Playwright; the
pages' own Content-Security-Policy is bypassed for it alone (`bypass_csp`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from .conftest import REPO
from .embed_site import STORIES, EmbedSite, Visit, visiting

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
SUBSCRIBER_IDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")
# Every rule axe runs by default (WCAG 2.x A and AA, and its best practices).
RUN_AXE = """async () => {
  const found = await axe.run(document, {resultTypes: ['violations']});
  return found.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => [n.target.join(' '), n.failureSummary])}));
}"""


@pytest.fixture
def visit(browser: Browser, embed_site: EmbedSite) -> Iterator[Visit]:
    if not AXE.exists():
        pytest.fail(
            f"{AXE} is missing: run `npm ci` (python3 scripts/dev.py test does it)",
            pytrace=False,
        )
    with visiting(browser, embed_site, bypass_csp=True) as seen:
        yield seen
        seen.assert_quiet()


def violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return found


CHURCH_COLOURS = {
    "light": "",
    "dark": "<style>body{background:#15181e;color:#e4e1da} a{color:#9cc4ff}</style>",
}


def church_page(site: EmbedSite, subscriber_id: str, colours: str = "light") -> str:
    """A church's page that passes axe itself: a title, a language, landmarks, one h1,
    and the script embed pasted under it, as a church's editor would; light or dark."""
    path = f"/a11y/{subscriber_id}-{colours}.html"
    if path not in site.host.routes:
        html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Grace Church — news</title>{CHURCH_COLOURS[colours]}</head>
<body><header><p><a href="/">Grace Church</a></p></header>
<main><h1>Our news</h1>
<p>Stories from around the world, chosen for our congregation.</p>
{site.codes(subscriber_id)["embed"]}
</main><footer><p>Grace Church, 1 Main Street</p></footer></body></html>"""
        site.host.serve(path, 200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})
    return site.host.url(path)


@pytest.mark.parametrize("subscriber_id", SUBSCRIBER_IDS)
def test_axe_finds_nothing_on_the_widget_an_article_and_the_archive(
    visit: Visit, subscriber_id: str
) -> None:
    site = visit.site
    found = {
        name: violations(visit.open(site.url(subscriber_id, name)))
        for name in (
            "widget.html",
            f"articles/{site.slugs[STORIES[0].title]}.html",
            "page/1.html",
        )
    }
    assert found == {name: [] for name in found}


@pytest.mark.parametrize("colours", ["light", "dark"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("subscriber_id", SUBSCRIBER_IDS)
def test_axe_finds_nothing_on_a_church_page_with_the_script_embed(
    visit: Visit, subscriber_id: str, scheme: str, colours: str
) -> None:
    """The widget's headings follow the page's h1; its colours hold in either scheme, on
    a light and on a dark church page."""
    page = visit.open(church_page(visit.site, subscriber_id, colours))
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    page.locator("main div").first.locator(".syn-item").first.wait_for()
    assert violations(page) == []


STOPS_JS = """root => [...root.querySelectorAll('.syn-item')].map(li =>
  [...li.querySelectorAll('a[href], button, summary')]
    .filter(e => e.tabIndex >= 0 && e.checkVisibility()).map(e => e.href || e.tagName))"""


@pytest.mark.parametrize("subscriber_id", ["alpha", "foxtrot"])
def test_one_tab_stop_per_story_where_the_title_links_to_the_original(
    visit: Visit, subscriber_id: str
) -> None:
    """The credit ("— Worthy News") is text where the title leads to the same address."""
    page = visit.open(church_page(visit.site, subscriber_id))
    host = page.locator("main div").first
    host.locator(".syn-item").first.wait_for()
    stops = host.evaluate(f"e => ({STOPS_JS})(e.shadowRoot)")
    assert stops and all(len(story) == 1 for story in stops), stops
