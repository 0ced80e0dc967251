"""`run_once` end to end: a real HTTP server, a real SQLite file, real config files;
what a cycle publishes from what it polled."""

from __future__ import annotations

import re
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import feedparser
import lxml.etree
import lxml.html
import pytest

from syndicator.config import load_config
from syndicator.errors import StoreError
from syndicator.store import Store

from .conftest import (
    NOT_TEXT,
    REPO,
    FeedServer,
    item,
    rss,
)
from .cycle import (
    EVERY_OUTPUT,
    FOUR,
    GOOD_SUBSCRIBERS,
    MakeConfig,
    outputs_of,
    run,
    slug_of,
    texts_of,
)


def test_run_publishes_every_output_then_rewrites_nothing(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(
        url, subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"'}
    )
    first = run(config)
    files = outputs_of(config, "grace")
    assert set(files) >= EVERY_OUTPUT
    assert {f"articles/{slug_of(config, g)}.html" for g in "1234"} <= set(files)
    assert (config.site.output_dir / "index.html").is_file()
    assert (config.site.output_dir / "subscribers.opml").is_file()
    assert first.subscribers[0].outcome == "published" and first.ok
    assert first.publish.written == len(files) + 3  # index.html, the OPML, the root's mark

    again = run(config, timedelta(hours=2))  # polled again: same feed, later clock
    assert again.subscribers[0].outcome == "unchanged"
    assert again.publish.written == 0
    forced = run(config, timedelta(hours=3), force=True)  # re-rendered: same bytes
    assert forced.subscribers[0].outcome == "published"
    assert forced.publish.written == 0
    assert outputs_of(config, "grace") == files


SAMPLE = REPO / "config" / "samples" / "worthynews-feed.xml"


PANTRY = "78412"  # the sample's story with relative links and lazy relative images


@pytest.mark.parametrize("where", ["the bundled file: sample", "a mirror on another host"])
def test_relative_links_and_images_stay_on_the_outlet_s_host_wherever_the_feed_came_from(
    where: str, feed_server: FeedServer, tmp_path: Path, make_config: MakeConfig
) -> None:
    """The pantry story's `/wp-content/...` images and `/78344-...` link resolve against
    the story's own link, not the URL the feed was read from (a file, a mirror)."""
    if where == "a mirror on another host":
        url = feed_server.serve("/mirror/worthynews.xml", body=SAMPLE.read_bytes())
    else:
        shutil.copy(SAMPLE, tmp_path / "feed.xml")
        url = "file:feed.xml"
    config = make_config(
        url,
        subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"\ncontent = "full"'},
    )
    assert run(config).ok
    page = outputs_of(config, "grace")[f"articles/{slug_of(config, PANTRY)}.html"]
    story = lxml.html.fromstring(page).xpath("//article")[0]
    sources = [img.get("src") for img in story.iter("img")]
    uploads = "https://www.worthynews.com/wp-content/uploads/2026/11/"
    assert uploads + "ohio-pantry-shelves.jpg" in sources
    assert uploads + "ohio-pantry-open-house.jpg" in sources
    read_also = story.xpath("//a[contains(., 'Thanksgiving Meals')]")[0]
    assert read_also.get("href") == (
        "https://www.worthynews.com/78344-churches-host-free-thanksgiving-meals-across-midwest"
    )
    links = [a.get("href") for a in story.iter("a")]
    assert all(links) and not any("127.0.0.1" in (link or "") for link in links)
    assert all(source and source.startswith("https://") for source in sources)


def test_a_correction_reaches_every_output_and_keeps_the_slug(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(
        url,
        subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"\ncontent = "full"'},
    )
    run(config)
    slug = slug_of(config, "2")
    corrected = [
        *FOUR[:1],
        item("2", 21, title="Story 2 corrected", body="<p>Fixed body.</p>"),
        *FOUR[2:],
    ]
    feed_server.serve("/feed", body=rss(*corrected))
    report = run(config, timedelta(hours=1))
    assert report.sources[0].changes.changed == ("https://www.worthynews.com/?p=2",)
    assert slug_of(config, "2") == slug
    files = outputs_of(config, "grace")
    showing = {"rss.xml", "atom.xml", "feed.json", "snippet.html", "widget.html", "embed.js",
               "page/1.html", f"articles/{slug}.html"}  # fmt: skip
    for name in showing:
        assert b"Story 2 corrected" in files[name], name
    assert b"Fixed body." in files[f"articles/{slug}.html"]
    assert not any(b"Story 2<" in data for data in files.values())


def test_cleaning_under_new_settings_reaches_every_output_at_once(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """An admin changes how articles are cleaned (here: links open a new tab). The stored
    articles are cleaned again, and every output showing them follows in the same run,
    not only once upstream happens to correct each story."""
    linked = [
        item(guid, day, body='<p>Read <a href="https://example.org/more">more</a>.</p>')
        for guid, day in (("1", 20), ("2", 21))
    ]
    config = make_config(
        feed_server.serve("/feed", body=rss(*linked)),
        subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"\ncontent = "full"'},
    )
    run(config)
    showing = ["rss.xml", "atom.xml", "feed.json", "embed.js"]
    showing += [f"articles/{slug_of(config, guid)}.html" for guid in "12"]
    assert not any(b"_blank" in outputs_of(config, "grace")[name] for name in showing)
    with config.path.open("a", encoding="utf-8") as main:
        main.write('\n[sources.clean]\nexternal_links = "new_tab"\n')

    report = run(load_config(config.path), timedelta(hours=1))

    assert report.cleaning[0].cleaned == 2
    assert [s.outcome for s in report.subscribers] == ["published"]
    files = outputs_of(config, "grace")
    for name in showing:  # a page shows its own story, a feed both
        assert files[name].count(b"_blank") == (1 if "/" in name else 2), name


def test_a_removed_article_leaves_every_list_and_its_page_says_so(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(
        url,
        subscribers={
            "grace": 'name = "Grace"\nsite_url = "https://g.example/"\nkeep_pages_days = 30'
        },
    )
    run(config)
    slug = slug_of(config, "3")
    feed_server.serve("/feed", body=rss(FOUR[0], FOUR[1], FOUR[3]))  # 3 withdrawn, older stay
    report = run(config, timedelta(hours=1))
    assert report.sources[0].changes.removed == ("https://www.worthynews.com/?p=3",)
    files = outputs_of(config, "grace")
    for name in (
        "rss.xml",
        "atom.xml",
        "feed.json",
        "snippet.html",
        "widget.html",
        "embed.js",
        "page/1.html",
    ):
        assert b"Story 3" not in files[name], name
    page = files[f"articles/{slug}.html"].decode()
    assert "no longer available" in page
    assert "Story 3" not in page  # a withdrawn story's text is not repeated
    assert 'href="https://www.worthynews.com/"' in page

    run(config, timedelta(days=31))  # past keep_pages_days: the page goes
    assert f"articles/{slug}.html" not in outputs_of(config, "grace")


def test_hostile_ids_categories_and_excerpts_neither_break_nor_script_the_feeds(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """Upstream text that reads like markup stays text in the RSS description (readers
    take it for HTML); a NUL in a category or a noncharacter in a guid (the renderer's
    placeholder characters) neither fails the render nor reaches an output."""
    body = (
        "<p>Text &lt;img src=x onerror=alert(1)&gt; and &lt;script&gt;alert(3)&lt;/script&gt;.</p>"
    )
    feed = rss(item("1", 20, body=body), item("2&#xfdd0;", 21), item("3", 22))
    cdata = b"<category><![CDATA[World News]]></category>"
    feed = feed.replace(cdata, b"<category>A&#0;l&#0;B</category>", 1)
    url = feed_server.serve("/feed", body=feed)
    config = make_config(
        url,
        subscribers={
            "grace": 'name = "Grace"\nsite_url = "https://g.example/"',
            "hope": 'name = "Hope"\nsite_url = "https://h.example/"\nlanguage = "es"',
        },
    )
    report = run(config)
    assert report.ok, report
    for name in ("grace", "hope"):
        files = outputs_of(config, name)
        for feed_name in ("rss.xml", "atom.xml"):
            lxml.etree.fromstring(files[feed_name])  # well-formed
            parsed = feedparser.parse(files[feed_name], sanitize_html=False)
            assert not parsed.bozo, (name, feed_name, parsed.bozo_exception)
            assert len(parsed.entries) == 3
            for entry in parsed.entries:
                summary = lxml.html.fragment_fromstring(entry.summary, create_parent="div")
                assert not list(summary.iter("img", "script")), (feed_name, entry.summary)
            texts = [e.summary for e in parsed.entries]
            assert any("<img src=x onerror=alert(1)>" in t for t in texts_of(texts)), texts
        for file, data in files.items():
            assert b"\x00" not in data and "\ufdd0".encode() not in data, file
        assert b"AlB" in files["rss.xml"]


def test_progress_is_reported_per_subscriber(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    calls: list[tuple[int, int]] = []
    run(config, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_a_database_that_fails_mid_cycle_stops_the_run_with_one_error_naming_it(
    feed_server: FeedServer, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storing a poll's outcome fails (a corrupt or full database): the cycle stops with
    a StoreError naming the database file, and nothing of it is published."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)

    def corrupt(*args: object) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Store, "save_source_state", corrupt)
    with pytest.raises(StoreError) as raised:
        run(config)
    assert str(raised.value).startswith(f"{config.database_path}: the state database cannot")
    assert "malformed" in str(raised.value)
    assert not config.site.output_dir.exists() or not any(config.site.output_dir.iterdir())


_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|(\d+));")


_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})(?:\\u(d[c-f][0-9a-f]{2}))?", re.I)


def _not_text_in(data: bytes) -> list[str]:
    """The characters of NOT_TEXT a file carries, raw, as a character reference (HTML,
    XML) or as a JSON/JavaScript escape."""
    text = data.decode("utf-8")
    found = NOT_TEXT.findall(text)
    for match in _REFERENCE.finditer(text):
        code = int(match[1], 16) if match[1] else int(match[2])
        found += NOT_TEXT.findall(chr(min(code, 0x10FFFF)))
    for match in _ESCAPE.finditer(text):
        high, low = int(match[1], 16), int(match[2], 16) if match[2] else None
        if low is not None and 0xD800 <= high < 0xDC00:
            found += NOT_TEXT.findall(chr(0x10000 + (high - 0xD800) * 0x400 + low - 0xDC00))
        else:
            found += NOT_TEXT.findall(chr(high))
    return found


def test_no_control_or_noncharacter_reaches_any_output_even_after_mojibake_repair(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """Controls and noncharacters come in raw, as references, and as the mojibake of
    their UTF-8 (which the repair turns back into them): none reaches a page, the widget,
    a feed or feed.json, in the body, title, author, categories or excerpt."""
    mojibake = "â€œQuotedâ€ ï¿¿ ï¿¾ ð¯¿¿ ï·\x90 "  # “Quoted” U+FFFF U+FFFE U+2FFFF U+FDD0
    references = "&#xFFFF;&#x1;&#x85;&#x7f;&#xFDD0;&#x1FFFE;&#x10FFFF;&#0;&#xD800;"
    body = (
        f"<p>{mojibake}body</p><p>{references} \x85\x9f\x7f raw</p>"
        f'<p><img src="https://img.example/a.jpg" alt="{mojibake}{references}"></p>'
        f'<p><a href="https://a.example/" title="{mojibake}{references}">link</a></p>'
    )
    story = item(
        "1",
        20,
        title=f"{mojibake}Title \x85\x9f",
        author=f"{mojibake}Jane \x9f Doe",
        categories=[f"{mojibake}World \x9f News"],
        summary=f"{mojibake}{references} excerpt",
        body=body,
    )
    byline = item("2", 21, body=f"<p>By {mojibake}Ann\x9f Lee, {mojibake}Editor</p>" + body)
    url = feed_server.serve("/feed", body=rss(story, byline))
    config = make_config(
        url, subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"'}
    )
    report = run(config)
    assert report.ok, report
    files = outputs_of(config, "grace")
    assert len([name for name in files if name.startswith("articles/")]) == 2
    assert "Quoted" in files["feed.json"].decode() and "Ann" in files["rss.xml"].decode()
    for name, data in files.items():
        assert not _not_text_in(data), (name, _not_text_in(data))
