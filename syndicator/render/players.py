"""Video players as feeds carry them: a link to the video, with its thumbnail when the host
has one at a known address.

Feed readers drop `<iframe>`s (the W3C feed validator warns on every one), so a full-text
feed item would lose its video without a trace. Pages, the widget and the embed keep the
player; only feed content goes through `without_players`.
"""

from __future__ import annotations

import functools
import html
import re
from urllib.parse import parse_qs, urlsplit

from ..clean.sanitize import Policy, sanitize
from ..models import SafeHtml

# What `sanitize` leaves of a player: an empty iframe whose src is a double-quoted,
# escaped https URL of an allowed host.
_PLAYER = re.compile(r'<iframe\b[^>]*?\ssrc="([^"]*)"[^>]*></iframe>')
_YOUTUBE_ID = re.compile(r"/embed/(?!videoseries)([A-Za-z0-9_-]{11})/?")  # not a playlist
_VIMEO_ID = re.compile(r"/video/(\d+)/?")
_DIGITS = re.compile(r"\d+")
_YOUTUBE_HOSTS = frozenset({"www.youtube.com", "youtube.com", "www.youtube-nocookie.com"})
# Every YouTube video has this thumbnail, 480×360 (sized, so readers keep its place).
_YOUTUBE_THUMBNAIL = "https://i.ytimg.com/vi/{id}/hqdefault.jpg"
_THUMBNAIL_SIZE = 'width="480" height="360"'
# Sanitizing again keeps what the article's own policy let through: `target="_blank"`
# is allowed, never added, and no iframe is left to allow.
_FEED_POLICY = Policy(video_hosts=(), new_tab=True)


@functools.lru_cache(maxsize=1024)
def without_players(body: SafeHtml, watch: str) -> SafeHtml:
    """`body` with each video player replaced by a link to the video reading `watch`
    (the subscriber's words for "Watch the video"), its thumbnail above the words when
    the host has one. The result is sanitized like every other HTML we publish."""
    if "<iframe" not in body:
        return body
    replaced = _PLAYER.sub(lambda match: _link(html.unescape(match[1]), watch), body)
    return sanitize(replaced, _FEED_POLICY)


def _link(src: str, watch: str) -> str:
    """A player's replacement: inline markup, since the player may stand in a paragraph."""
    page, thumbnail = _watch_page(src)
    href = html.escape(page)
    if thumbnail is None:
        return f'<a href="{href}">{html.escape(watch)}</a>'
    # The words name the link; the picture beside them is decoration (empty alt).
    picture = f'<img src="{html.escape(thumbnail)}" alt="" {_THUMBNAIL_SIZE}>'
    return f'<a href="{href}">{picture}<br>{html.escape(watch)}</a>'


def _watch_page(src: str) -> tuple[str, str | None]:
    """The page where a browser plays the video of player `src`, and its thumbnail's
    address when known; for an unknown host, the player itself."""
    parts = urlsplit(src)
    host = (parts.hostname or "").lower()
    query = parse_qs(parts.query)
    youtube = _YOUTUBE_ID.fullmatch(parts.path) if host in _YOUTUBE_HOSTS else None
    if youtube is not None:
        video = youtube[1]
        start = query.get("start", [""])[0]
        at = f"&t={start}s" if _DIGITS.fullmatch(start) else ""
        page = f"https://www.youtube.com/watch?v={video}{at}"
        return page, _YOUTUBE_THUMBNAIL.format(id=video)
    vimeo = _VIMEO_ID.fullmatch(parts.path) if host == "player.vimeo.com" else None
    if vimeo is not None:
        # An unlisted video's player carries its key as h=…; its page is /<id>/<key>.
        key = query.get("h", [""])[0]
        return f"https://vimeo.com/{vimeo[1]}" + (f"/{key}" if key.isalnum() else ""), None
    return src, None
