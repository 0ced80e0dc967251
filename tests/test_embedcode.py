"""What a church is given to paste: codes, addresses and advice, for the CLI and console."""

from __future__ import annotations

from pathlib import Path

from syndicator.embedcode import embed_code

from .test_admin import GRACE, make


def test_the_codes_and_addresses_follow_the_subscribers_outputs(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": GRACE, "feeds": GRACE + 'outputs = ["rss", "widget"]\n'})
    grace, feeds_only = config.subscribers[1], config.subscribers[0]

    full = embed_code(config, grace)
    assert list(full.codes) == [
        "Script (recommended)",
        "Iframe",
        "Iframe, auto-height (one script)",
    ]
    assert full.codes["Script (recommended)"] == (
        '<script src="http://127.0.0.1:9/grace/embed.js" async></script>'
    )
    assert full.feeds == {
        "rss": "http://127.0.0.1:9/grace/rss.xml",
        "atom": "http://127.0.0.1:9/grace/atom.xml",
        "json": "http://127.0.0.1:9/grace/feed.json",
        "snippet": "http://127.0.0.1:9/grace/snippet.html",
    }
    assert full.detail_page is None
    assert len(full.warnings) == 2  # plain http, and a loopback address

    partial = embed_code(config, feeds_only)
    assert list(partial.codes) == ["Iframe", "Iframe, auto-height (one script)"]
    assert partial.feeds == {"rss": "http://127.0.0.1:9/feeds/rss.xml"}


def test_the_advice_names_each_kind_of_site_and_what_a_detail_page_needs(
    tmp_path: Path,
) -> None:
    detail = GRACE + 'link_to = "detail_page"\ndetail_page_url = "https://grace.example.org/news"\n'
    config = make(tmp_path, {"grace": detail})

    given = embed_code(config, config.subscribers[0])

    advice = " ".join(given.advice)
    for platform in ("WordPress", "Wix", "Squarespace", "Planning Center", "iframe", "RSS"):
        assert platform in advice
    assert given.detail_page is not None
    assert given.detail_page.startswith("Stories open on https://grace.example.org/news")
