"""The copy-paste codes a church puts on its site to show its news, and their advice."""

from __future__ import annotations

import html
import math
from urllib.parse import urlsplit

from ..config import SubscriberConfig, SubscriberOptions
from ..locales import words_for
from .views import Urls

PASTE_ADVICE = (
    "Paste a code as HTML where the news should appear, never into a text paragraph.",
    'WordPress: a "Custom HTML" block. Wix: Add Elements > Embed Code > Embed HTML. '
    "Squarespace: a Code block. Plain HTML: anywhere in <body>.",
    "If the site allows no script (Planning Center, some hosted plans and editors), paste "
    "the iframe instead, or give the RSS address to the site's own RSS or news-feed block.",
)  # shown with the codes: by `embed-code` and in index.html


def frame_height(options: SubscriberOptions) -> int:
    """The iframe code's height in CSS pixels: enough for the widget's `limit` stories at
    phone width (375 px, where they are tallest), so that no inner scroll bar shows.

    Per story at 375 px, measured in Chromium on the embed tests' stories: about 145 px of
    title, date and credit, 4.6 px per excerpt word (55: 400 px a story), some 1,000 px of
    a full-text lead, 250 px of an image above the text; 120 px of footer; 10 % spare."""
    story = 145.0
    if options.content == "excerpt":
        story += 4.6 * options.excerpt_words
    elif options.content == "full":
        story += 1000
    pictured = options.content != "title" and options.image != "none"
    if pictured and (options.image == "full" or options.image_position == "top"):
        story += 250
    if pictured and options.theme.layout == "cards":
        story += 250
    return math.ceil(1.1 * (120 + options.limit * story) / 10) * 10


def embed_codes(urls: Urls, subscriber: SubscriberConfig) -> dict[str, str]:
    """The copy-paste HTML a church puts on its site, per embed form it receives."""
    codes: dict[str, str] = {}
    _ = words_for(subscriber.language)
    title = html.escape(_("News for %(name)s", name=subscriber.name))  # as the widget's own
    if "embed" in subscriber.outputs:
        codes["Script (recommended)"] = f'<script src="{urls.embed}" async></script>'
    if "widget" in subscriber.outputs:
        codes["Iframe"] = (
            # Sized by attributes, not a style attribute: it works under a strict CSP.
            f'<iframe src="{urls.widget}" title="{title}" loading="lazy" '
            f'width="100%" height="{frame_height(subscriber)}" frameborder="0" '
            # A page the reader opens from it in a new tab is an ordinary page, not one
            # still sandboxed (no script, no cookies: the outlet's site would break).
            # Scripts: the page's CSP allows its own one alone (`FRAME_SCRIPT`).
            'sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox '
            'allow-top-navigation-by-user-activation"></iframe>'
        )
        # For a site that allows one script: the frame's script posts its height (see
        # `FRAME_SCRIPT`), and this one takes it only from that frame and our origin.
        # allow-same-origin gives the frame our origin, not an opaque one, to check.
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(urls.widget))
        codes["Iframe, auto-height (one script)"] = (
            codes["Iframe"].replace("allow-scripts ", "allow-scripts allow-same-origin ")
            + '<script>(function(f){addEventListener("message",function(e){var m=e.data;'
            f'if(e.origin==="{origin}"&&e.source===f.contentWindow&&m&&m.syndicator==="height"'
            "&&m.height>0)f.height=Math.ceil(m.height)})})"
            "(document.currentScript.previousElementSibling)</script>"
        )
    return codes
