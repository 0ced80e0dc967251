"""The embed in a real browser: the script embed, the pasted snippet and the iframe (and the
article pages) as a church's visitors see them, in Debian's headless Chromium.

Outputs are published by the real pipeline and served by `syndicator serve`; church pages
come from another origin, images from a third (tests/embed_site.py). Every test runs in a
fresh browser context that records all requests, console errors, page errors and dialogs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from playwright.sync_api import Browser, Frame, Page

from syndicator.ingest import load_stories
from syndicator.render import Renderer, plan
from syndicator.store import Store

from .conftest import NOW
from .embed_site import (
    DESKTOP,
    FORMS,
    MOBILE,
    OUTLET,
    SCREENSHOTS,
    STORIES,
    EmbedSite,
    FeedStory,
    Visit,
    items,
    respond,
    scope,
    visiting,
)

SUBSCRIBER_IDS = ("alpha", "bravo", "charlie", "delta", "echo")
UTM = "utm_source={id}&utm_medium=syndication&utm_campaign=syndicator"
FOOTERS = {
    "alpha": "News shared with Alpha Church.",
    "bravo": "Bravo shares Worthy News with its members.",
    "charlie": "News shared with Charlie Chapel.",
    "delta": "News shared with Delta Ministries.",
    "echo": "News shared with Echo Church.",
}


@pytest.fixture
def visit(browser: Browser, embed_site: EmbedSite) -> Iterator[Visit]:
    """A fresh context; whatever the test does, it must stay quiet and local."""
    with visiting(browser, embed_site) as seen:
        yield seen
        seen.assert_quiet()


def open_form(visit: Visit, kind: str, subscriber_id: str, form: str | list[str]) -> Page:
    return visit.open(visit.site.page(kind, subscriber_id, form))


def original(story: FeedStory, subscriber_id: str) -> str:
    return f"{story.link}?{UTM.format(id=subscriber_id)}"


def expected_link(site: EmbedSite, subscriber_id: str, story: FeedStory) -> str:
    subscriber = site.subscriber(subscriber_id)
    slug = site.slugs[story.title]
    if subscriber.link_to == "original":
        return original(story, subscriber_id)
    if subscriber.link_to == "hosted":
        return site.url(subscriber_id, f"articles/{slug}.html")
    return f"{subscriber.detail_page_url}?story={slug}"


def shown_count(site: EmbedSite, subscriber_id: str, form: str) -> int:
    """The embed's first pager page; the snippet and the widget show `limit`."""
    subscriber = site.subscriber(subscriber_id)
    return min(subscriber.per_page if form == "embed" else subscriber.limit, len(STORIES))


def close(a: float, b: float, within: float = 1.5) -> bool:
    return abs(a - b) <= within


# -- what each form shows ------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("subscriber_id", SUBSCRIBER_IDS)
def test_items_in_order_with_titles_links_dates_images_and_text(
    visit: Visit, subscriber_id: str, form: str
) -> None:
    site = visit.site
    subscriber = site.subscriber(subscriber_id)
    page = open_form(visit, "plain", subscriber_id, form)
    shown = items(page, form)
    expected = STORIES[: shown_count(site, subscriber_id, form)]
    assert [item["title"] for item in shown] == [story.title for story in expected]

    for item, story in zip(shown, expected, strict=True):
        assert item["href"] == expected_link(site, subscriber_id, story)
        assert (item["date"], item["dateText"]) == (story.date_iso, story.date_text)
        # Attribution: "By AUTHOR — Worthy News", the outlet's name linking to the original
        # unless the title does already (one tab stop per story).
        by = f"By {story.author} — " if story.author else ""
        assert item["meta"] == f"{story.date_text} · {by}{OUTLET}"
        credit = original(story, subscriber_id)
        assert item["attribution"] == ([] if item["href"] == credit else [[OUTLET, credit]])
        assert item["attributionShown"] or not item["attribution"]
        assert item["metaBox"]["h"] > 0  # visibly, not just there
        assert item["visible"] and item["box"]["w"] > 0 and item["box"]["h"] > 0
        assert item["titleBox"]["h"] > 0

        # Text per `content`.
        if subscriber.content == "excerpt":
            assert item["excerpt"].startswith(story.lead)
            assert story.closing not in item["excerpt"]
            assert item["body"] is None
        elif subscriber.content == "full":  # the lead, then "Continue reading"
            assert story.lead in item["body"] and story.closing not in item["body"]
            assert story.closing in item["more"]
            assert item["excerpt"] is None
        else:
            assert item["excerpt"] is None and item["body"] is None

        # The lead image per `image` and `image_position`, decorative beside its title link.
        image = item["img"]
        if subscriber.content == "full" and story.has_image:  # shown once, in the text
            assert image is None
            assert item["bodyImages"] == [story.image(site.images.base)]
            continue
        if subscriber.image == "none" or subscriber.content == "title" or not story.has_image:
            assert image is None
            continue
        assert image["src"] == story.image(site.images.base)
        assert image["alt"] == ""
        assert f"syn-img--{subscriber.image}" in image["cls"].split()
        box, li = image["box"], item["box"]
        inner = li["w"] - 2 * item["padding"]
        if subscriber.image_position == "left":
            assert image["float"] == "left" and close(box["x"], li["x"] + item["padding"])
        elif subscriber.image_position == "right":
            assert image["float"] == "right" and close(box["right"], li["right"] - item["padding"])
        if subscriber.image_position == "top" or subscriber.theme.layout == "cards":
            assert image["float"] == "none"
            assert box["bottom"] <= item["titleBox"]["y"]
            assert close(box["w"], inner, 3)
        elif subscriber.image == "thumbnail":
            assert box["w"] <= min(0.3 * inner, 10 * 16) + 1
        else:  # a full-size image beside the text takes half the width
            assert close(box["w"], 0.5 * inner, 2)

    footer = scope(page, form).locator(".syn-footer")
    assert footer.inner_text() == FOOTERS[subscriber_id]
    assert footer.is_visible()
    assert (footer.bounding_box() or {"height": 0})["height"] > 0


@pytest.mark.parametrize("subscriber_id", SUBSCRIBER_IDS)
def test_article_pages_show_the_full_story_with_attribution_and_footer(
    visit: Visit, subscriber_id: str
) -> None:
    site = visit.site
    page = visit.context.new_page()
    for story in (STORIES[0], STORIES[2]):
        page.goto(site.url(subscriber_id, f"articles/{site.slugs[story.title]}.html"))
        assert page.locator("h1").inner_text() == story.title
        body = page.locator(".syn-story .syn-body")
        assert story.lead in body.inner_text() and story.closing in body.inner_text()
        assert page.locator("link[rel=canonical]").get_attribute("href") == story.link
        outlet = page.locator(".syn-meta a")
        assert outlet.inner_text() == OUTLET
        assert outlet.get_attribute("href") == original(story, subscriber_id)
        footer = page.locator(".syn-footer")
        assert footer.is_visible() and footer.inner_text() == FOOTERS[subscriber_id]
        if story.has_image:
            image = page.locator(".syn-body img").first
            assert image.get_attribute("src") == story.image(site.images.base)
            assert image.get_attribute("alt") == f"Volunteers at story {story.number}"


# -- detail pages and the pager ------------------------------------------------------------


def shadow_titles(page: Page) -> list[str]:
    return page.locator("section.embed-embed .syn-title a").all_inner_texts()


@pytest.mark.parametrize("subscriber_id", ["charlie", "delta"])
def test_pager_and_detail_page_on_the_host_page(visit: Visit, subscriber_id: str) -> None:
    site = visit.site
    subscriber = site.subscriber(subscriber_id)
    per = subscriber.per_page
    listed = min(len(STORIES), per * subscriber.pages)
    pages = -(-listed // per)
    page = open_form(visit, "plain", subscriber_id, "embed")
    assert page.url == subscriber.detail_page_url  # the host page is the detail page
    page.locator("section.embed-embed .syn-item").first.wait_for()
    status = page.locator("section.embed-embed .syn-pager [role=status]")
    previous = page.get_by_role("button", name="Previous")
    following = page.get_by_role("button", name="Next")

    # The pager moves through every page and back; focus follows to the new list.
    for number in range(1, pages + 1):
        shown = STORIES[(number - 1) * per : min(number * per, listed)]
        assert shadow_titles(page) == [s.title for s in shown]
        assert status.inner_text() == f"Page {number} of {pages}"
        assert previous.is_disabled() == (number == 1)
        assert following.is_disabled() == (number == pages)
        if number < pages:
            following.click()
            assert page.evaluate(
                "document.querySelector('section.embed-embed div').shadowRoot.activeElement.className"
            ).startswith("syn-list")
    previous.click()
    assert status.inner_text() == f"Page {pages - 1} of {pages}"

    # Following a story link shows the full story on the host page itself.
    story = STORIES[(pages - 2) * per + 1]
    page.locator("section.embed-embed .syn-title a", has_text=story.title).click()
    page.wait_for_url(re.compile(r"\?story="))
    assert page.url == expected_link(site, subscriber_id, story)
    article = page.locator("section.embed-embed .syn-story")
    assert article.locator("h1").inner_text() == story.title
    assert story.closing in article.locator(".syn-body").inner_text()
    assert article.locator(".syn-meta a").get_attribute("href") == original(story, subscriber_id)
    footer = page.locator("section.embed-embed .syn-footer")
    assert footer.is_visible() and footer.inner_text() == FOOTERS[subscriber_id]
    assert page.locator("section.embed-embed .syn-item").count() == 0

    # And back to the list.
    page.get_by_role("link", name="Back to the news").click()
    page.wait_for_url(subscriber.detail_page_url or "")
    assert shadow_titles(page) == [s.title for s in STORIES[:per]]


@pytest.mark.parametrize("subscriber_id", ["charlie", "delta"])
@pytest.mark.parametrize("slug", ["no-such-story", "typo", "__proto__", "hasOwnProperty"])
def test_a_story_no_longer_listed_shows_a_notice_above_the_list(
    visit: Visit, subscriber_id: str, slug: str
) -> None:
    """`?story=` naming a story the subscriber no longer lists (aged out, withdrawn, a
    typo): a short notice, announced as a status, above the list's first page."""
    site = visit.site
    subscriber = site.subscriber(subscriber_id)
    detail = subscriber.detail_page_url or ""
    if slug == "typo":
        slug = site.slugs[STORIES[0].title][:-1]
    page = visit.open(f"{detail}?story={slug}")
    page.locator("section.embed-embed .syn-item").first.wait_for()
    notice = page.locator("section.embed-embed .syn > [role=status]")
    assert notice.inner_text() == "This article is no longer available."
    assert notice.is_visible()
    assert shadow_titles(page) == [s.title for s in STORIES[: subscriber.per_page]]
    first = page.locator("section.embed-embed .syn-item").first.bounding_box()
    box = notice.bounding_box()
    assert box is not None and first is not None and box["y"] + box["height"] <= first["y"]
    # The notice belongs to the first page: paging on leaves it behind.
    page.get_by_role("button", name="Next").click()
    assert notice.count() == 0
    assert page.locator("section.embed-embed .syn-pager [role=status]").count() == 1

    # A story that is listed still shows in full, without the notice.
    story = STORIES[1]
    page.goto(expected_link(site, subscriber_id, story))
    article = page.locator("section.embed-embed .syn-story")
    assert article.locator("h1").inner_text() == story.title
    assert story.closing in article.locator(".syn-body").inner_text()
    assert page.locator("section.embed-embed [role=status]").count() == 0


def test_only_detail_page_embeds_carry_the_notice(visit: Visit) -> None:
    """The notice's words and code ride in a detail-page subscriber's embed.js only; on
    other subscribers' pages `?story=` means nothing."""
    site = visit.site
    for subscriber_id in SUBSCRIBER_IDS:
        script = site.output(subscriber_id, "embed.js")
        detail = site.subscriber(subscriber_id).link_to == "detail_page"
        assert ("This article is no longer available." in script) == detail, subscriber_id
        code = re.sub(r"var D = \{.*?\};\n", "", script, count=1)
        assert ("story" in code and "w.gone" in code) == detail, subscriber_id
    page = visit.open(site.page("plain", "alpha", "embed") + "?story=no-such-story")
    page.locator("section.embed-embed .syn-item").first.wait_for()
    assert page.locator("section.embed-embed .syn > [role=status]").count() == 0
    assert len(shadow_titles(page)) == site.subscriber("alpha").per_page


# The notice in each language we have words for; others fall back to English.
GONE = {
    "en": "This article is no longer available.",
    "es": "Este artículo ya no está disponible.",
    "pt-BR": "Este artigo não está mais disponível.",
    "fr": "Cet article n’est plus disponible.",
    "de": "Dieser Artikel ist nicht mehr verfügbar.",
    "nl": "This article is no longer available.",
}


def test_the_notice_is_in_the_subscribers_language(embed_site: EmbedSite) -> None:
    config = embed_site.config
    with Store(config.database_path) as store:
        stories = load_stories(config, store)
    by_slug = {story.slug: story for story in stories}
    renderer = Renderer(config.path.parent, config.site)
    for language, notice in GONE.items():
        subscriber = embed_site.subscriber("charlie").model_copy(
            update={"id": f"charlie-{language.lower()}", "language": language}
        )
        files = renderer.render(plan(subscriber, stories, by_slug, {}, NOW, "salt"))
        script = files[f"{subscriber.id}/embed.js"].decode()
        found = re.search(r"var D = (\{.*?\});\n", script)
        assert found, "embed.js has no data object"
        assert json.loads(found[1])["w"]["gone"] == notice, language


# -- where the script embed renders: data-target -------------------------------------------

# Every element of the page with a shadow root: where it is and what it shows.
HOSTS_JS = """() => [...document.querySelectorAll('*')].filter(e => e.shadowRoot).map(e => {
  const name = n => n ? n.tagName + (n.id ? '#' + n.id : '') : null;
  const items = [...e.shadowRoot.querySelectorAll('.syn-item')];
  return {host: name(e), parent: name(e.parentElement), previous: name(e.previousElementSibling),
          items: items.length, visible: items.length > 0 && items.every(li => li.checkVisibility()),
          inBody: document.body.contains(e)};
})"""
# Records each look-up of the target: when (document.readyState) and whether <body> existed.
LOOKUPS_JS = """window.__lookups = [];
const byId = Document.prototype.getElementById;
Document.prototype.getElementById = function (id) {
  if (id === 'news') window.__lookups.push([document.readyState, !!document.body]);
  return byId.call(this, id);
};"""
NEWS = '<div id="news"></div>'
# Words before the container, so it is parsed well after the script could have run.
FILLER = "".join(f"<p>Parish notice {n}: choir practice moved to Thursday.</p>" for n in range(40))


def shadow_hosts(page: Page) -> list[dict[str, Any]]:
    page.locator(".syn-item").first.wait_for()
    return page.evaluate(HOSTS_JS)  # type: ignore[no-any-return]


def hold_parser(site: EmbedSite, seconds: float) -> str:
    """A parser-blocking script that takes `seconds` to arrive: while the parser waits for
    it in <head>, an async script that is already downloaded runs, before <body> exists."""
    path = "/slow.js"

    def slow(request: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        respond(200, b"", {"Content-Type": "text/javascript", "Cache-Control": "no-store"})(request)

    return site.host.route(path, slow)


@pytest.mark.parametrize(
    "where",
    ["head", "head-async-parser-held", "head-defer", "head-async", "body-above"],
)
def test_data_target_after_the_script_is_found(visit: Visit, where: str) -> None:
    """The container named by data-target may come after the script tag (the tag in
    <head>, or above the div): the widget waits for the document and renders inside it."""
    site = visit.site
    visit.context.add_init_script(LOOKUPS_JS)
    src = site.url("alpha", "embed.js")
    attrs = {"head-async-parser-held": " async", "head-defer": " defer", "head-async": " async"}
    tag = f'<script src="{src}" data-target="news"{attrs.get(where, "")}></script>'
    if where == "head-async-parser-held":
        tag += f'<script src="{hold_parser(site, 0.8)}"></script>'
    head, body = ("", tag) if where == "body-above" else (tag, "")
    page = visit.open(site.custom_page(f"target-{where}", head, f"{body}{FILLER}{NEWS}"))
    hosts = shadow_hosts(page)
    assert hosts == [
        {"host": "DIV#news", "parent": "BODY", "previous": "P", "items": 4, "visible": True,
         "inBody": True}
    ]  # fmt: skip
    titles = page.locator("#news .syn-title a").all_inner_texts()
    assert titles == [s.title for s in STORIES[:4]]
    assert page.locator("head div").count() == 0
    lookups = page.evaluate("window.__lookups")
    if where in ("head", "head-async-parser-held"):  # it did run before the body was parsed
        assert lookups[0] == ["loading", False]
    if where == "body-above":
        assert lookups[0] == ["loading", True]


@pytest.mark.parametrize("where", ["head", "body"])
def test_data_target_missing_falls_back_to_the_body(visit: Visit, where: str) -> None:
    """No element has the data-target id, even once the page is parsed: from <head> the
    widget goes at the end of <body>; from <body>, right after its script."""
    site = visit.site
    tag = f'<script src="{site.url("alpha", "embed.js")}" data-target="no-such-id"></script>'
    head, body = (tag, "") if where == "head" else ("", tag)
    page = visit.open(site.custom_page(f"missing-{where}", head, f"{body}{FILLER}"))
    hosts = shadow_hosts(page)
    previous = "P#host-last" if where == "head" else "SCRIPT"
    assert hosts == [
        {"host": "DIV", "parent": "BODY", "previous": previous, "items": 4, "visible": True,
         "inBody": True}
    ]  # fmt: skip


# The target, the page around it, and where the widget must be: in the target itself when it
# can host a shadow root, else in a div inside it where a div is valid, else just after it.
TARGETS: dict[str, tuple[str, dict[str, Any]]] = {
    "ul": ('<ul id="news"></ul>', {"host": "DIV", "parent": "BODY", "previous": "UL#news"}),
    "ol": ('<ol id="news"></ol>', {"host": "DIV", "parent": "BODY", "previous": "OL#news"}),
    "p": ('<p id="news"></p>', {"host": "P#news", "parent": "BODY"}),
    "li": (
        '<ul><li>Sunday service at 10</li><li id="news"></li></ul>',
        {"host": "DIV", "parent": "LI#news", "previous": None},
    ),
    "td": (
        '<table><tr><td>Notices</td><td id="news"></td></tr></table>',
        {"host": "DIV", "parent": "TD#news", "previous": None},
    ),
    "table": (
        '<table id="news"></table>',
        {"host": "DIV", "parent": "BODY", "previous": "TABLE#news"},
    ),
    "tr": (
        '<table id="t"><tr id="news"><td>Notices</td></tr></table>',
        {"host": "DIV", "parent": "BODY", "previous": "TABLE#t"},
    ),
}


@pytest.mark.parametrize("tag", list(TARGETS))
@pytest.mark.parametrize("placement", ["before", "after"])
def test_data_target_that_cannot_host_a_shadow_root(visit: Visit, tag: str, placement: str) -> None:
    """A data-target that cannot take a shadow root (a list, a list item, a table cell…)
    still gets the news, where the page stays valid, with nothing logged."""
    site = visit.site
    target, expected = TARGETS[tag]
    script = f'<script src="{site.url("alpha", "embed.js")}" data-target="news"></script>'
    body = f"{target}{script}" if placement == "after" else f"{script}{target}"
    page = visit.open(site.custom_page(f"cannot-{tag}-{placement}", "", body))
    if "previous" not in expected:  # the target itself hosts it, where the page put it
        expected = {**expected, "previous": "SCRIPT" if placement == "before" else "H1#host-h1"}
    hosts = shadow_hosts(page)
    assert hosts == [{**expected, "items": 4, "visible": True, "inBody": True}]
    assert page.locator(".syn-title a").all_inner_texts() == [s.title for s in STORIES[:4]]
    if tag in ("ul", "ol"):  # the list keeps list items only
        assert page.locator("#news > :not(li)").count() == 0


@pytest.mark.parametrize("tag", ["div", *TARGETS])
def test_the_same_code_pasted_twice_shows_one_widget(visit: Visit, tag: str) -> None:
    """A volunteer who pastes the embed code twice (or a page builder that repeats it)
    gets one widget in the target, whatever the target's kind, and nothing logged."""
    site = visit.site
    target, expected = TARGETS.get(tag, ('<div id="news"></div>', {"host": "DIV#news"}))
    script = f'<script src="{site.url("alpha", "embed.js")}" data-target="news"></script>'
    page = visit.open(site.custom_page(f"twice-{tag}", "", f"{target}{script}{script}"))
    assert len(shadow_hosts(page)) == 1
    assert shadow_hosts(page)[0]["host"] == expected["host"]
    assert page.locator(".syn-title a").all_inner_texts() == [s.title for s in STORIES[:4]]


def test_two_embeds_in_two_rows_of_one_table_both_show(visit: Visit) -> None:
    """Two different subscribers' codes aimed at two rows of one table: both widgets, after
    the table (a row cannot hold a div), in the order of their scripts."""
    site = visit.site
    table = '<table id="t"><tr id="one"><td>A</td></tr><tr id="two"><td>B</td></tr></table>'
    scripts = "".join(
        f'<script src="{site.url(name, "embed.js")}" data-target="{row}"></script>'
        for name, row in (("alpha", "one"), ("bravo", "two"))
    )
    page = visit.open(site.custom_page("two-rows", "", table + scripts))
    hosts = shadow_hosts(page)
    assert len(hosts) == 2
    assert all(host["parent"] == "BODY" for host in hosts)


def test_iframe_links_open_in_the_top_window(visit: Visit) -> None:
    """The widget's links leave the sandboxed iframe for the page around it."""
    site = visit.site
    page = open_form(visit, "plain", "bravo", "iframe")
    frame = scope(page, "iframe")
    frame.locator(".syn-title a").first.click()
    story = STORIES[0]
    page.wait_for_url(expected_link(site, "bravo", story))
    assert page.locator("h1").inner_text() == story.title


def test_pages_opened_from_the_iframe_are_not_sandboxed(visit: Visit) -> None:
    """ "More news" replaces the church's page, and a link that opens a new window (a site
    template may have one) opens an ordinary page: one still sandboxed would run no
    script and keep no cookies."""
    site = visit.site
    page = open_form(visit, "plain", "bravo", "iframe")
    frame = scope(page, "iframe")
    story = STORIES[0]
    frame.evaluate(
        """() => {
            const link = document.querySelector('.syn-title a').cloneNode(true);
            link.target = '_blank';
            link.id = 'new-window';
            document.body.prepend(link);
        }"""
    )
    with page.context.expect_page() as opened:
        frame.locator("#new-window").click()
    tab = opened.value
    tab.wait_for_url(expected_link(site, "bravo", story))
    assert tab.evaluate("self.origin") != "null"  # sandboxed pages have an opaque origin

    frame.get_by_role("link", name="More news").click()
    page.wait_for_url(site.url("bravo", "page/1.html"))
    assert page.evaluate("self.origin") != "null"


# -- quiet, local, and leaving nothing behind ----------------------------------------------


STORAGE_JS = """async () => ({
  cookie: document.cookie,
  local: localStorage.length,
  session: sessionStorage.length,
  idb: (await indexedDB.databases()).map(d => d.name),
  caches: window.caches ? await caches.keys() : [],
})"""
SANDBOXED_JS = "() => { try { localStorage; return 'open'; } catch (e) { return e.name; } }"
EMPTY_STORAGE = {"cookie": "", "local": 0, "session": 0, "idb": [], "caches": []}


@pytest.mark.parametrize("subscriber_id", SUBSCRIBER_IDS)
def test_no_console_errors_no_foreign_requests_no_cookies_or_storage(
    visit: Visit, subscriber_id: str
) -> None:
    site = visit.site
    responses: list[dict[str, str]] = []
    visit.context.on("response", lambda response: responses.append(response.all_headers()))
    page = open_form(visit, "plain", subscriber_id, list(FORMS))
    items(page, "embed")
    frame = scope(page, "iframe")
    frame.locator(".syn-item").first.wait_for()
    # The iframe is sandboxed without allow-same-origin: it cannot store anything at all.
    assert frame.evaluate(SANDBOXED_JS) == "SecurityError"
    following = page.get_by_role("button", name="Next")
    if following.count():
        following.click()
    if site.subscriber(subscriber_id).link_to == "detail_page":  # a story on its host page
        page.locator("section.embed-embed .syn-title a").first.click()
        page.locator("section.embed-embed .syn-story").wait_for()
    widget = visit.open(site.url(subscriber_id, "widget.html"))  # the outputs origin, on top
    article = visit.open(site.url(subscriber_id, f"articles/{site.slugs[STORIES[0].title]}.html"))

    # Every request went to the outputs, the church's page or the image host; the embed
    # script itself came cross-origin (CORS-enabled) from the outputs.
    assert visit.foreign() == [] and visit.blocked == []
    assert any(seen.url == site.url(subscriber_id, "embed.js") for seen in visit.requests)
    assert visit.errors == []
    # Nothing was stored, on either origin.
    assert visit.context.cookies() == []
    assert not [headers for headers in responses if "set-cookie" in headers]
    for where in (page, widget, article):
        assert where.evaluate(STORAGE_JS) == EMPTY_STORAGE, where.url


# -- isolation: the host's CSS and the widget's CSS stay on their own side ------------------

HOST_ELEMENTS = ["html", "body", "host-h1", "host-p", "host-a", "host-img", "host-button",
                 "host-ul", "host-li", "host-first", "host-after", "host-last"]  # fmt: skip
# Used sizes follow the page's height (a scrollbar), not any rule; everything else must match.
LAYOUT = {"width", "height", "inline-size", "block-size", "perspective-origin", "transform-origin"}

HOST_STYLES_JS = """([ids, skip]) => Object.fromEntries(ids.map(id => {
  const e = id === 'html' ? document.documentElement : id === 'body' ? document.body
          : document.getElementById(id);
  const cs = getComputedStyle(e);
  return [id, Object.fromEntries([...cs].filter(p => !skip.includes(p))
                                        .map(p => [p, cs.getPropertyValue(p)]))];
}))"""
PAGE_STATE_JS = """() => ({
  globals: Object.keys(window).filter(k => !/^(__pw|\\d)/.test(k)).sort(),  // frames are window[0]…
  title: document.title, htmlAttrs: [...document.documentElement.attributes].map(a => a.name),
  bodyAttrs: [...document.body.attributes].map(a => a.name),
  adopted: document.adoptedStyleSheets.length,
  head: document.head.innerHTML,
})"""


def host_state(page: Page) -> tuple[Any, Any]:
    return (
        page.evaluate(HOST_STYLES_JS, [HOST_ELEMENTS, sorted(LAYOUT)]),
        page.evaluate(PAGE_STATE_JS),
    )


@pytest.mark.parametrize("kind", ["plain", "aggressive"])
@pytest.mark.parametrize("form", FORMS)
def test_the_widget_does_not_change_the_host_page(visit: Visit, form: str, kind: str) -> None:
    bare = open_form(visit, kind, "delta", "none")
    before = host_state(bare)
    page = open_form(visit, kind, "delta", form)
    items(page, form)
    after = host_state(page)
    assert after[0] == before[0]  # every computed style of every host element
    assert after[1] == before[1]  # no globals, no attributes, nothing in <head>


def text_styles(root: Any) -> dict[str, Any]:
    title = root.locator(".syn-title a").first
    styles: dict[str, Any] = title.evaluate(
        """a => { const cs = getComputedStyle(a);
                  const li = a.closest('.syn-item'), list = li.parentElement;
                  const lis = [...list.children].map(e => e.getBoundingClientRect());
                  const img = li.querySelector('img');
                  return {size: parseFloat(cs.fontSize), transform: cs.textTransform,
                          spacing: cs.letterSpacing, indent: cs.textIndent, shadow: cs.textShadow,
                          style: cs.fontStyle, align: getComputedStyle(li).textAlign,
                          space: getComputedStyle(li).whiteSpace,
                          meta: parseFloat(getComputedStyle(li.querySelector('.syn-meta')).fontSize),
                          stacked: lis.every((r, i) => i === 0 || r.top >= lis[i - 1].bottom - 1),
                          img: img && img.getBoundingClientRect().width,
                          listWidth: list.getBoundingClientRect().width,
                          listStyle: getComputedStyle(li).listStyleType}; }"""
    )
    return styles


@pytest.mark.parametrize("form", FORMS)
def test_host_css_does_not_break_the_widget(visit: Visit, form: str) -> None:
    """Under a stylesheet that resets everything, sets 40 px type, uppercase, spacing and
    stretched images, the widget looks as it does on a plain page."""
    plain = text_styles(scope(open_form(visit, "plain", "alpha", form), form))
    page = open_form(visit, "aggressive", "alpha", form)
    items(page, form)
    hostile = text_styles(scope(page, form))
    assert 14 <= hostile["size"] <= 24 and hostile["size"] == plain["size"]
    assert hostile["meta"] == plain["meta"]
    for key in ("transform", "spacing", "indent", "shadow", "style", "align", "space", "listStyle"):
        assert hostile[key] == plain[key], key
    assert hostile["stacked"]
    assert hostile["img"] is not None and hostile["img"] <= 10 * 16 + 1  # a thumbnail still
    assert hostile["img"] < hostile["listWidth"] / 2


MORE_JS = """li => { const d = li.querySelector('details.syn-more');
  return {open: d.open, height: li.getBoundingClientRect().height,
          rest: d.querySelector('.syn-body').checkVisibility()}; }"""


@pytest.mark.parametrize("javascript", [True, False])
def test_a_full_text_list_shows_each_storys_lead_and_continue_reading_opens_the_rest(
    browser: Browser, embed_site: EmbedSite, javascript: bool
) -> None:
    """No wall of text: a full-text story shows its first blocks and a "Continue reading"
    control (<details>: no script needed in the snippet and the iframe)."""
    forms = list(FORMS) if javascript else ["snippet", "iframe"]
    with visiting(browser, embed_site, java_script_enabled=javascript) as visit:
        page = open_form(visit, "plain", "echo", forms)
        for form in forms:
            items(page, form)
            story = scope(page, form).locator(".syn-item").first
            closed = story.evaluate(MORE_JS)
            assert not closed["open"] and not closed["rest"]
            story.locator("summary").click()
            opened = story.evaluate(MORE_JS)
            assert opened["open"] and opened["rest"], form
            assert opened["height"] > closed["height"] + 100, form
            assert story.locator("summary").inner_text() == "Continue reading"
        visit.assert_quiet()


# -- strict CSP, and no JavaScript ---------------------------------------------------------

VIOLATIONS_JS = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI), true);"""


@pytest.mark.parametrize("subscriber_id", SUBSCRIBER_IDS)
def test_works_under_a_strict_content_security_policy(visit: Visit, subscriber_id: str) -> None:
    """script-src: only the outputs origin; style-src 'none'; no inline anything. The
    embed's shadow-root styles (a constructed stylesheet) still apply."""
    visit.context.add_init_script(VIOLATIONS_JS)
    plain = open_form(visit, "plain", subscriber_id, ["embed", "iframe"])
    page = open_form(visit, "csp", subscriber_id, ["embed", "iframe"])
    assert page.evaluate("1") == 1
    for form in ("embed", "iframe"):
        assert [i["title"] for i in items(page, form)] == [i["title"] for i in items(plain, form)]
        styled, unstyled = text_styles(scope(page, form)), text_styles(scope(plain, form))
        for key in ("listWidth", "img"):  # the host page's own margins differ
            del styled[key], unstyled[key]
        assert styled == unstyled
    assert page.evaluate("window.__violations") == []
    assert scope(page, "iframe").evaluate("window.__violations") == []


def content(shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What `items` found, without where it was laid out (images may still be loading)."""
    return [
        {
            key: {k: v for k, v in value.items() if k != "box"} if key == "img" and value else value
            for key, value in item.items()
            if key not in {"box", "titleBox", "metaBox"}
        }
        for item in shown
    ]


@pytest.mark.parametrize("subscriber_id", SUBSCRIBER_IDS)
def test_the_snippet_under_a_strict_content_security_policy(
    visit: Visit, subscriber_id: str
) -> None:
    """The snippet has no script, so a policy allowing scripts only from our origin leaves
    it whole. Pasted HTML brings its CSS inline, so one that also says style-src 'none'
    costs it its looks (the policy's own choice) but never its news: every item, the
    attribution and the footer still show, and nothing but that style is refused."""
    visit.context.add_init_script(VIOLATIONS_JS)
    plain = open_form(visit, "plain", subscriber_id, "snippet")
    expected = items(plain, "snippet")
    scripts_only = open_form(visit, "csp-scripts", subscriber_id, "snippet")
    assert content(items(scripts_only, "snippet")) == content(expected)
    assert text_styles(scope(scripts_only, "snippet")) == text_styles(scope(plain, "snippet"))
    assert scripts_only.evaluate("window.__violations") == []

    strict = open_form(visit, "csp", subscriber_id, "snippet")
    shown = items(strict, "snippet")
    assert [(i["title"], i["href"]) for i in shown] == [(i["title"], i["href"]) for i in expected]
    assert [i["attribution"] for i in shown] == [i["attribution"] for i in expected]
    assert all(item["visible"] for item in shown)
    assert scope(strict, "snippet").locator(".syn-footer").is_visible()
    refused = strict.evaluate("window.__violations")
    assert refused and all(v.startswith("style-src") for v in refused), refused
    # Chromium logs each refusal as a console error: those, and only those, are expected.
    expected_errors = [e for e in visit.errors if "violates" in e and "'style-src 'none''" in e]
    assert len(expected_errors) == len(refused)
    visit.errors[:] = [e for e in visit.errors if e not in expected_errors]


def test_snippet_and_iframe_work_without_javascript(
    browser: Browser, embed_site: EmbedSite
) -> None:
    with visiting(browser, embed_site, java_script_enabled=False) as visit:
        for subscriber_id in SUBSCRIBER_IDS:
            page = open_form(visit, "nojs", subscriber_id, list(FORMS))
            for form in ("snippet", "iframe"):
                shown = items(page, form)
                count = shown_count(embed_site, subscriber_id, form)
                assert [i["title"] for i in shown] == [s.title for s in STORIES[:count]]
                assert all(item["visible"] for item in shown)
                assert scope(page, form).locator(".syn-footer").is_visible()
            # The script does not run: nothing rendered, nothing broken.
            assert page.locator("section.embed-embed .syn-item").count() == 0
        visit.assert_quiet()


# -- small screens, accessibility, keyboard, colour scheme ---------------------------------

NO_SCROLL_JS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


@pytest.mark.parametrize("subscriber_id", SUBSCRIBER_IDS)
def test_no_horizontal_scroll_at_375_px(
    browser: Browser, embed_site: EmbedSite, subscriber_id: str
) -> None:
    site = embed_site
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with visiting(browser, site, viewport=MOBILE) as visit:
        for form in FORMS:
            page = open_form(visit, "plain", subscriber_id, form)
            items(page, form)
            wide, viewport = page.evaluate(NO_SCROLL_JS)
            assert wide <= viewport, form
            page.screenshot(path=SCREENSHOTS / f"{subscriber_id}-{form}-375.png", full_page=True)
        frame = scope(page, "iframe")
        wide, viewport = frame.evaluate(NO_SCROLL_JS)
        assert wide <= viewport, "inside the iframe"
        for name in ("widget.html", f"articles/{site.slugs[STORIES[2].title]}.html"):
            page = visit.open(site.url(subscriber_id, name))
            wide, viewport = page.evaluate(NO_SCROLL_JS)
            assert wide <= viewport, name
            shot = "article" if "articles" in name else "widget"
            page.screenshot(path=SCREENSHOTS / f"{subscriber_id}-{shot}-375.png", full_page=True)
        visit.assert_quiet()


@pytest.mark.parametrize("subscriber_id", SUBSCRIBER_IDS)
def test_desktop_screenshots(visit: Visit, subscriber_id: str) -> None:
    """For a person to look at: every form at 1280 px, in artifacts/screenshots/."""
    site = visit.site
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for form in FORMS:
        page = open_form(visit, "plain", subscriber_id, form)
        items(page, form)
        page.screenshot(path=SCREENSHOTS / f"{subscriber_id}-{form}-1280.png", full_page=True)
    for name in ("widget.html", f"articles/{site.slugs[STORIES[0].title]}.html"):
        page = visit.open(site.url(subscriber_id, name))
        shot = "article" if "articles" in name else "widget"
        page.screenshot(path=SCREENSHOTS / f"{subscriber_id}-{shot}-1280.png", full_page=True)
    assert DESKTOP["width"] == page.viewport_size["width"]  # type: ignore[index]


A11Y_JS = """root => {
  const name = a => (a.getAttribute('aria-label') || a.textContent || '').trim()
                 || [...a.querySelectorAll('img')].map(i => i.alt).join('').trim();
  const hidden = e => e.closest('[aria-hidden=true]') !== null;
  return {
    unnamed: [...root.querySelectorAll('a[href], button')]
      .filter(a => !hidden(a) && !name(a)).map(a => a.outerHTML),
    hiddenButFocusable: [...root.querySelectorAll('[aria-hidden=true] a[href], a[aria-hidden=true][href]')]
      .filter(a => a.tabIndex >= 0).map(a => a.outerHTML),
    noAlt: [...root.querySelectorAll('img')].filter(i => !i.hasAttribute('alt')).map(i => i.outerHTML),
    decorativeShown: [...root.querySelectorAll('img[alt=""]')]
      .filter(i => !hidden(i) && i.getAttribute('role') !== 'presentation'
                   && i.closest('figure') === null).map(i => i.outerHTML),
    links: root.querySelectorAll('a[href]').length,
  };
}"""


@pytest.mark.parametrize("subscriber_id", SUBSCRIBER_IDS)
def test_links_have_names_and_images_alt_text(visit: Visit, subscriber_id: str) -> None:
    site = visit.site
    page = open_form(visit, "plain", subscriber_id, list(FORMS))
    roots: list[Any] = [
        page.locator("section.embed-embed div").first.evaluate_handle("e => e.shadowRoot"),
        page.locator("section.embed-snippet").element_handle(),
    ]
    items(page, "embed")
    frame = scope(page, "iframe")
    frame.locator(".syn-item").first.wait_for()
    roots.append(frame.evaluate_handle("document"))
    article = visit.open(site.url(subscriber_id, f"articles/{site.slugs[STORIES[0].title]}.html"))
    roots.append(article.evaluate_handle("document"))
    for root in roots:
        found = root.evaluate(A11Y_JS)
        assert found["links"] > 0
        assert found["unnamed"] == [] and found["noAlt"] == []
        assert found["hiddenButFocusable"] == []
        assert found["decorativeShown"] == []


FOCUSABLE_JS = """root => [...root.querySelectorAll('a[href], button')]
  .filter(e => e.tabIndex >= 0 && !e.disabled && e.checkVisibility())
  .map(e => e.tagName + ':' + e.textContent.trim())"""
DEEP_ACTIVE = """let e = document.activeElement;
  while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;"""
ACTIVE_JS = f"() => {{ {DEEP_ACTIVE} return [e.tagName, e.id, e.textContent.trim()]; }}"
OUTLINE_JS = f"() => {{ {DEEP_ACTIVE} return getComputedStyle(e).outlineStyle; }}"
SETTLED_JS = "() => document.activeElement && document.activeElement !== document.body"


def tab_through(page: Page, frame: Frame | None) -> list[str]:
    """Press Tab from the host's button to its last link; what got focus on the way."""
    page.locator("#host-button").focus()
    reached: list[str] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        # Focus crosses into and out of an iframe asynchronously: until it lands, the
        # document that is losing it reports its body as the active element.
        page.wait_for_function(SETTLED_JS)
        tag, element_id, text = page.evaluate(ACTIVE_JS)
        if element_id == "host-after":
            return reached
        where: Page | Frame = page
        if tag == "IFRAME" and frame is not None:
            where = frame
            frame.wait_for_function(SETTLED_JS)
            tag, element_id, text = frame.evaluate(ACTIVE_JS)
        if tag != "IFRAME":  # the focused element shows it
            assert where.evaluate(OUTLINE_JS) != "none", f"no focus outline on {tag} {text}"
        reached.append(f"{tag}:{text}")
    raise AssertionError(f"Tab never left the widget: {reached[-5:]}")


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("subscriber_id", ["alpha", "charlie"])
def test_keyboard_reaches_every_link_and_button(
    visit: Visit, subscriber_id: str, form: str
) -> None:
    page = open_form(visit, "plain", subscriber_id, form)
    items(page, form)
    frame = scope(page, "iframe") if form == "iframe" else None
    if frame is not None:
        expected = frame.locator("body").evaluate(FOCUSABLE_JS)
    elif form == "embed":
        expected = page.locator("section.embed-embed div").first.evaluate(
            f"e => ({FOCUSABLE_JS})(e.shadowRoot)"
        )
    else:
        expected = page.locator("section.embed-snippet").evaluate(FOCUSABLE_JS)
    reached = tab_through(page, frame)
    assert [r for r in reached if not r.startswith("IFRAME")] == expected
    # The title, and the credit where it leads elsewhere than the title (link_to).
    per_story = 1 if visit.site.subscriber(subscriber_id).link_to == "original" else 2
    assert len(expected) >= per_story * shown_count(visit.site, subscriber_id, form)


COLOURS_JS = """e => { const cs = getComputedStyle(e); return [cs.backgroundColor, cs.color]; }"""


def colours(page: Page, form: str) -> list[str]:
    root = scope(page, form)
    target = root.locator("body") if form == "iframe" else root.locator(".syn").first
    return target.evaluate(COLOURS_JS)  # type: ignore[no-any-return]


def luminance(colour: str) -> float:
    red, green, blue = (int(v) / 255 for v in re.findall(r"\d+", colour)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


@pytest.mark.parametrize("form", FORMS)
def test_theme_auto_follows_the_colour_scheme_and_fixed_themes_do_not(
    visit: Visit, form: str
) -> None:
    seen: dict[tuple[str, str], list[str]] = {}
    for scheme in ("light", "dark"):
        for subscriber_id in ("alpha", "bravo", "charlie"):
            page = open_form(visit, "plain", subscriber_id, form)
            page.emulate_media(color_scheme=scheme)
            items(page, form)
            seen[subscriber_id, scheme] = colours(page, form)
    auto_light, auto_dark = seen["charlie", "light"], seen["charlie", "dark"]
    assert auto_light != auto_dark
    assert luminance(auto_dark[0]) < luminance(auto_light[0])
    assert luminance(auto_dark[1]) > luminance(auto_light[1])
    assert seen["alpha", "light"] == seen["alpha", "dark"] == auto_light  # mode = "light"
    assert seen["bravo", "light"] == seen["bravo", "dark"] == auto_dark  # mode = "dark"


def rgb(colour: str) -> list[int]:
    """A computed colour's red, green and blue, 0–255: `rgb(…)`, or `color(srgb …)`
    (what Chromium gives for a color-mix())."""
    if colour.startswith("color(srgb"):
        return [round(255 * float(v)) for v in colour[len("color(srgb ") :].strip(")").split()[:3]]
    return [int(v) for v in re.findall(r"\d+", colour)[:3]]


DARK_CHURCH = "<style>body{background:#10141c;color:#e8e6e3}</style>"
LIGHT_CHURCH = "<style>body{background:#fffdf5;color:#3b2f2f}</style>"
LOOK_JS = """e => { const cs = getComputedStyle(e), a = e.querySelector('.syn-title a');
  return {color: cs.color, background: cs.backgroundColor, font: cs.fontFamily,
          link: getComputedStyle(a).color}; }"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_by_default_embed_and_snippet_wear_the_host_pages_colours_and_our_pages_are_light(
    visit: Visit, scheme: str
) -> None:
    """theme.mode = "inherit" (echo sets no mode): the script embed and the snippet take
    the church page's text colour on its background, links in the accent, whatever the
    reader's colour scheme; the iframe page and the article pages are light, in a
    sans-serif system font."""
    site = visit.site
    codes, snippet = site.codes("echo"), site.output("echo", "snippet.html")
    body = f"<section class='embed-embed'>{codes['embed']}</section>"
    body += f"<section class='embed-snippet'>{snippet}</section>"
    body += f"<section class='embed-iframe'>{codes['iframe']}</section>"
    accent = "rgb(26, 95, 180)"  # the default #1a5fb4
    for name, head, text in (
        ("dark", DARK_CHURCH, "rgb(232, 230, 227)"),
        ("light", LIGHT_CHURCH, "rgb(59, 47, 47)"),
    ):
        # Links: the accent mixed 60:40 with the page's text colour (readable on either).
        link = [round(0.6 * a + 0.4 * t) for a, t in zip((26, 95, 180), rgb(text), strict=True)]
        page = visit.open(site.custom_page(f"inherit-{name}", head, body))
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        for form in ("embed", "snippet"):
            items(page, form)
            look = scope(page, form).locator(".syn").first.evaluate(LOOK_JS)
            assert look["color"] == text, (name, form)
            assert look["background"] == "rgba(0, 0, 0, 0)", (name, form)
            assert all(abs(a - b) <= 1 for a, b in zip(rgb(look["link"]), link, strict=True))
        items(page, "iframe")
        look = scope(page, "iframe").locator("body").evaluate(LOOK_JS)
        assert (look["color"], look["background"]) == ("rgb(29, 29, 31)", "rgb(255, 255, 255)")
        assert look["font"].startswith("system-ui") and look["link"] == accent
    article = visit.open(site.url("echo", f"articles/{site.slugs[STORIES[0].title]}.html"))
    article.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    shown = article.locator("body").evaluate(
        "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).fontFamily]"
    )
    assert shown[0] == "rgb(255, 255, 255)" and shown[1].startswith("system-ui")


# The background behind the widget: its own, else (transparent, the inherit mode) the
# nearest one of an element around it, across the shadow boundary.
CONTRAST_JS = """root => {
  let e = root.querySelector('.syn') || root.querySelector('body'), bg = 'rgba(0, 0, 0, 0)';
  while (e && (bg = getComputedStyle(e).backgroundColor) === 'rgba(0, 0, 0, 0)')
    e = e.parentElement || (e.getRootNode().host ?? null);
  return [...root.querySelectorAll('.syn-title a, .syn-meta, .syn-meta a, .syn-excerpt, .syn-footer, .syn-pager button:not(:disabled)')]
    .map(e => [e.className || e.tagName, getComputedStyle(e).color, bg]);
}"""


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa(visit: Visit, scheme: str) -> None:
    for subscriber_id in SUBSCRIBER_IDS:
        page = open_form(visit, "plain", subscriber_id, "embed")
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        items(page, "embed")
        pairs = page.locator("section.embed-embed div").first.evaluate(
            f"e => ({CONTRAST_JS})(e.shadowRoot)"
        )
        for name, foreground, background in pairs:
            ratio = contrast(foreground, background)
            assert ratio >= 4.5, (
                f"{subscriber_id} {scheme}: {name} {foreground} on {background}: {ratio:.2f}"
            )


@pytest.mark.parametrize("subscriber_id", ["charlie", "delta"])
def test_the_full_story_view_fits_375_px_and_is_reachable_and_named(
    browser: Browser, embed_site: EmbedSite, subscriber_id: str
) -> None:
    """The `?story=` view on the church's page (its own CSS, `:host .syn`) at phone width:
    no horizontal scroll, links named, images with alt text, Tab reaches every link."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with visiting(browser, embed_site, viewport=MOBILE) as visit:
        page = visit.open(expected_link(embed_site, subscriber_id, STORIES[0]))
        page.locator("section.embed-embed .syn-story").wait_for()
        wide, viewport = page.evaluate(NO_SCROLL_JS)
        assert wide <= viewport
        host = page.locator("section.embed-embed div").first
        found = host.evaluate(f"e => ({A11Y_JS})(e.shadowRoot)")
        assert found["links"] > 0
        assert found["unnamed"] == [] and found["noAlt"] == []
        assert found["hiddenButFocusable"] == [] and found["decorativeShown"] == []
        expected = host.evaluate(f"e => ({FOCUSABLE_JS})(e.shadowRoot)")
        assert "A:Back to the news" in expected
        assert tab_through(page, None) == expected
        page.screenshot(path=SCREENSHOTS / f"{subscriber_id}-story-375.png", full_page=True)
        visit.assert_quiet()


FRAME_FIT_JS = (
    """() => [document.documentElement.scrollHeight, document.documentElement.clientHeight]"""
)


@pytest.mark.parametrize("viewport", [MOBILE, DESKTOP], ids=["375", "1280"])
def test_the_iframe_code_shows_the_whole_first_page_without_an_inner_scroll_bar(
    browser: Browser, embed_site: EmbedSite, viewport: dict[str, int]
) -> None:
    """Every option at its default (foxtrot): the iframe's height attribute fits all its
    stories at phone and desktop widths, and the frame fills the column it is pasted in."""
    with visiting(browser, embed_site, viewport=viewport) as visit:
        page = open_form(visit, "plain", "foxtrot", "iframe")
        items(page, "iframe")
        frame = scope(page, "iframe")
        tall, shown = frame.evaluate(FRAME_FIT_JS)
        assert tall <= shown
        column = page.locator("section.embed-iframe").evaluate("e => e.clientWidth")
        width = page.locator("section.embed-iframe iframe").evaluate("e => e.offsetWidth")
        assert width == column
        visit.assert_quiet()


HEIGHT_JS = "() => document.querySelector('iframe').height"
FITS_JS = "want => Number(document.querySelector('iframe').height) === want"


def test_the_auto_height_iframe_code_fits_the_frame_to_the_widget_and_hears_it_alone(
    browser: Browser, embed_site: EmbedSite
) -> None:
    """The frame's one script posts its height; the code's script next to the iframe
    takes it from that frame of our origin only, at any width, and nothing else's."""
    site = embed_site
    code = site.codes("foxtrot")["iframe-auto"]
    with visiting(browser, site, viewport=DESKTOP) as visit:
        page = visit.open(site.custom_page("auto-height", "", f"<main>{code}</main>"))
        frame = page.locator("iframe").element_handle().content_frame()
        assert frame is not None
        frame.locator(".syn-item").first.wait_for()
        for viewport in (DESKTOP, MOBILE):
            page.set_viewport_size(viewport)
            frame.wait_for_function("() => document.readyState === 'complete'")
            content = frame.evaluate(
                "Math.ceil(document.documentElement.getBoundingClientRect().height)"
            )
            page.wait_for_function(FITS_JS, arg=content)
            tall, shown = frame.evaluate(FRAME_FIT_JS)
            assert tall <= shown, viewport
        assert int(page.evaluate(HEIGHT_JS)) < 4510  # narrower than the attribute's guess
        # A message of the right shape from the host page itself is not the frame's.
        before = page.evaluate(HEIGHT_JS)
        page.evaluate("postMessage({syndicator: 'height', height: 50}, '*')")
        page.wait_for_timeout(300)
        assert page.evaluate(HEIGHT_JS) == before
        visit.assert_quiet()
