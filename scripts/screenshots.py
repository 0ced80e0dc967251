#!/usr/bin/env python3
"""The README's pictures of the default look: the script embed of a subscriber with every
option at its default, pasted into a light and a dark church page, in Debian's headless
Chromium at 1280 and 375 px.

    python3 scripts/dev.py test -q tests/test_embed.py -k nothing   # (bootstrap once), then:
    .venv/bin/python scripts/screenshots.py [scripture]

Writes docs/church-{light,dark}-{1280,375}.png from the browser tests' site
(`tests/embed_site.py`: synthetic stories, placeholder images from a local server): the
real pipeline publishes, `syndicator serve` serves, nothing reaches the internet. Look at
the pictures before committing them.

`scripture`: instead, a story citing scripture on its article page, light (Bible Gateway)
and dark (bible.com), at the same sizes, in artifacts/screenshots/scripture-*.png (to
check that the references read as links and nothing else moved).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import item, rss, running_server  # noqa: E402
from tests.embed_site import (  # noqa: E402
    CHROMIUM,
    LAUNCH_ARGS,
    SCREENSHOTS,
    SUBSCRIBERS,
    feed,
    published,
    start_image_server,
)

DOCS = ROOT / "docs"
SIZES = {1280: 900, 375: 740}  # width → height of the picture (the top of the page)
CHURCHES = {
    "light": "body{background:#fff;color:#222}header{background:#4a3b2a;color:#fff}",
    "dark": "body{background:#15181e;color:#e4e1da}header{background:#000;color:#e4e1da}",
}
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Grace Church — News</title><style>
body{{margin:0;font:17px/1.6 Georgia,serif}} {colours}
header{{padding:1em 1.5em}} header p{{margin:0;font-weight:700;font-size:1.3em}}
main{{max-width:44em;margin:0 auto;padding:1em 1.5em}} h1{{margin:.5em 0}}
</style></head><body><header><p>Grace Church</p></header>
<main><h1>News from around the world</h1>
<p>Stories shared with our congregation by Worthy News.</p>
{code}
</main></body></html>"""


# A story citing scripture the ways the detector links (and one it must not: in a heading).
CITING_TITLE = "Kyiv churches open their doors as winter nears"
CITING = """<p>By Jane Doe, Chief International Correspondent Worthy News</p>
<p>KYIV (Worthy News) – Congregations across the capital opened their halls this week,
quoting Matthew 25:35–36 as volunteers carried in blankets and stoves.</p>
<figure class="wp-caption"><img src="{images}/img/story-01.png" alt="Volunteers unload
blankets" width="1024" height="683"><figcaption class="wp-caption-text">Volunteers unload
blankets in Kyiv.</figcaption></figure>
<p>“We read Psalm 46 together every night,” said one pastor, pointing to 2 Cor. 1:3–4 and
Isaiah 41:10 on a handwritten sign by the door.</p>
<p><strong>A VERSE FOR THE NIGHT SHIFT</strong></p>
<p>Volunteers on the night shift said John 3:16 and Romans 8:28 were the verses children
asked for most.</p>"""
SCRIPTURE_SUBSCRIBERS = {
    "light": """name = "Grace Church"
site_url = "https://grace.example.org/"
[theme]
mode = "light"
[scripture]
link = "biblegateway"
version = "NIV"
""",
    "dark": """name = "Grace Church"
site_url = "https://grace.example.org/"
[theme]
mode = "dark"
accent = "#8a1c1c"
[scripture]
link = "youversion"
version = "ESV"
""",
}


def scripture_pages() -> int:
    """The article page of a story citing scripture, light and dark, at both widths."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as work,
        running_server() as host,
        running_server() as images,
    ):
        start_image_server(images)
        story = rss(item("1", 23, title=CITING_TITLE, body=CITING.format(images=images.base)))
        with published(Path(work), story, SCRIPTURE_SUBSCRIBERS, host, images) as site:
            slug = site.slugs[CITING_TITLE]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=LAUNCH_ARGS
                )
                for width, height in SIZES.items():
                    for scheme in SCRIPTURE_SUBSCRIBERS:
                        page = browser.new_page(viewport={"width": width, "height": height})
                        page.goto(f"{site.outputs}/{scheme}/articles/{slug}.html")
                        page.wait_for_load_state("networkidle")
                        path = SCREENSHOTS / f"scripture-{scheme}-{width}.png"
                        page.screenshot(path=path, full_page=True)
                        print(f"wrote {path.relative_to(ROOT)}")
                        page.close()
                browser.close()
    return 0


def main() -> int:
    if sys.argv[1:] == ["scripture"]:
        return scripture_pages()
    with (
        tempfile.TemporaryDirectory() as work,
        running_server() as host,
        running_server() as images,
    ):
        start_image_server(images)
        default = {"foxtrot": SUBSCRIBERS["foxtrot"]}
        with published(Path(work), feed(images.base), default, host, images) as site:
            code = site.codes("foxtrot")["embed"]
            for scheme, colours in CHURCHES.items():
                html = PAGE.format(colours=colours, code=code).encode()
                host.serve(f"/{scheme}.html", 200, html, {"Content-Type": "text/html"})
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=LAUNCH_ARGS
                )
                for width, height in SIZES.items():
                    for scheme in CHURCHES:
                        page = browser.new_page(viewport={"width": width, "height": height})
                        page.goto(host.url(f"/{scheme}.html"))
                        page.locator("main div").first.locator(".syn-item").first.wait_for()
                        page.wait_for_load_state("networkidle")
                        path = DOCS / f"church-{scheme}-{width}.png"
                        page.screenshot(path=path)
                        print(f"wrote {path.relative_to(ROOT)}")
                        page.close()
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
