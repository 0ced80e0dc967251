"""The HTTP headers each output is served with: one owner for `serve` and the bucket.

Content-Type comes from the file name (`rss.xml`, `atom.xml`, `feed.json`), then its
suffix; textual types say `charset=utf-8`, the only encoding the renderer writes.
Cache-Control is matched to how often each output changes (a run every few minutes):

    feeds, feed.json, embed.js, snippet, widget, page/N   public, max-age=300
    <id>/articles/*.html, style.css                     public, max-age=3600
    index.html, *.opml                                   private, max-age=60

Behind a CDN (a bucket's objects) the short class adds `s-maxage=60`: the CDN asks again
every minute, so a cycle's lists show within a minute even without a purge hook, while
browsers keep them for five. `feed.json` and `embed.js` are the two outputs other sites
load from scripts: they alone are served with CORS.
"""

from __future__ import annotations

from pathlib import PurePosixPath

UTF8 = "; charset=utf-8"
_TYPES_BY_NAME = {
    "rss.xml": "application/rss+xml" + UTF8,
    "atom.xml": "application/atom+xml" + UTF8,
    "feed.json": "application/feed+json" + UTF8,
}
_TYPES_BY_SUFFIX = {
    ".html": "text/html" + UTF8,
    ".css": "text/css" + UTF8,
    ".js": "text/javascript" + UTF8,
    ".json": "application/json" + UTF8,
    ".xml": "application/xml" + UTF8,
    ".opml": "text/x-opml" + UTF8,
    ".txt": "text/plain" + UTF8,
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
}
_DEFAULT_TYPE = "application/octet-stream"
CORS_NAMES = frozenset({"feed.json", "embed.js"})
CDN_SECONDS = 60  # s-maxage of the short class


def content_type(name: str) -> str:
    """The Content-Type of a file called `name`."""
    if name in _TYPES_BY_NAME:
        return _TYPES_BY_NAME[name]
    return _TYPES_BY_SUFFIX.get(PurePosixPath(name).suffix.lower(), _DEFAULT_TYPE)


def cache_control(relative: str, *, cdn: bool = False) -> str:
    """The Cache-Control of the output at `relative` (`<id>/rss.xml`); `cdn`: served
    through a shared cache that may keep the short class for `CDN_SECONDS`."""
    parts = relative.split("/")
    name = parts[-1]
    if name == "index.html" or name.endswith(".opml"):
        return "private, max-age=60"
    if name == "style.css" or (len(parts) == 3 and parts[1] == "articles"):
        return "public, max-age=3600"
    return f"public, max-age=300, s-maxage={CDN_SECONDS}" if cdn else "public, max-age=300"


def is_cors(relative: str) -> bool:
    """Whether other sites' scripts load the output at `relative` (CORS applies)."""
    return relative.rsplit("/", 1)[-1] in CORS_NAMES
