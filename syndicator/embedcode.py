"""What a church is given to put the news on its site: the embed codes, the feed URLs
and how to paste them. `syndicator embed-code` prints it; the console shows it with copy
buttons. Nothing here prints."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config, SubscriberConfig, base_url_warnings
from .render import PASTE_ADVICE, embed_codes, urls_for

FEED_OUTPUTS = ("rss", "atom", "json", "snippet")  # the outputs given as an address


@dataclass(frozen=True, slots=True)
class EmbedCode:
    """One subscriber's codes, addresses and advice."""

    codes: dict[str, str]  # label ("Script (recommended)", "Iframe", ...) → HTML to paste
    feeds: dict[str, str]  # output (rss, atom, json, snippet) → its address
    advice: tuple[str, ...]  # how to paste, per kind of site
    detail_page: str | None  # with link_to = "detail_page": what that page needs
    warnings: tuple[str, ...]  # why the site's base_url would not work on churches' sites


def embed_code(config: Config, subscriber: SubscriberConfig) -> EmbedCode:
    """What `subscriber` is given, made with the site's `base_url`."""
    urls = urls_for(config.site.base_url, subscriber.id)
    everything = {"rss": urls.rss, "atom": urls.atom, "json": urls.json, "snippet": urls.snippet}
    feeds: dict[str, str] = {
        name: everything[name] for name in FEED_OUTPUTS if name in subscriber.outputs
    }
    detail = None
    if subscriber.link_to == "detail_page" and "embed" in subscriber.outputs:
        detail = (
            f"Stories open on {subscriber.detail_page_url} (?story=…): the script must be "
            "on that page too, since it shows the full story there; the iframe, the snippet "
            "and the feeds link to it."
        )
    return EmbedCode(
        codes=embed_codes(urls, subscriber),
        feeds=feeds,
        advice=PASTE_ADVICE,
        detail_page=detail,
        warnings=tuple(base_url_warnings(config.site.base_url)),
    )
