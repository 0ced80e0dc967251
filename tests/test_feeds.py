"""Every kind of feed we publish against what the W3C feed validator checks.

The validator itself is no package on a registry, so the checks of it that our feeds can
meet are written here (`validator_findings`), and every feed kind is put through them:
RSS and Atom; full, excerpt and title content; with and without pictures, players,
categories and authors; non-ASCII text and addresses; links to the outlet, to our pages
and to a detail page. The JSON Feeds of the same subscribers go through the JSON Feed 1.1
schema.
"""

from __future__ import annotations

import email.utils
import itertools
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import lxml.etree
import lxml.html
import pytest

from syndicator.clean.sanitize import ALLOWED_TAGS, Policy, sanitize
from syndicator.config import SubscriberConfig, load_config
from syndicator.pipeline import run_once
from syndicator.render import Renderer, plan
from syndicator.render.players import without_players

from .conftest import NOW, item, rss, write_config
from .test_render import ATOM, json_feed_errors, read_tree

MEDIA = "{http://search.yahoo.com/mrss/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
# What feed HTML may hold: what the sanitizer lets through, but players, which feed readers
# drop (the validator warns on each <iframe>).
FEED_TAGS = ALLOWED_TAGS - {"iframe"}
# Elements of RSS that are plain text, which the validator reads as the RSS Profile says.
RSS_TEXT = ("title", "category", DC_CREATOR, "author")
# What makes the validator ask for hexadecimal references in plain text: a tag or a
# numeric reference, once decoded.
LOOKS_LIKE_MARKUP = re.compile(r"<[a-zA-Z/]|&#[x0-9]")

YOUTUBE = "https://www.youtube-nocookie.com/embed/AbCdEfGhIjK?start=5"
VIMEO = "https://player.vimeo.com/video/123456?h=a1b2c3"
STORIES = rss(
    item(
        "90001",
        22,
        title="Fish & Chips for 2 < 3 churches — “Ünïcödé” 한국어",
        author="José Núñez & Co",
        categories=["World News", "Ünïcode & Friends"],
        body=(
            "<p>KYIV (Worthy News) – Text with ünïcode, 🙏 and “quotes”.</p>"
            f'<p><iframe width="560" height="315" src="{YOUTUBE}" title="Player"></iframe></p>'
            f'<iframe src="{VIMEO}" width="640" height="360"></iframe>'
            '<figure class="wp-caption"><img src="https://www.worthynews.com/wp-content/'
            'uploads/a.jpg" width="800" height="600" alt="Pic"><figcaption>Ü</figcaption>'
            "</figure>"
        ),
    ),
    item(
        "90002",
        21,
        title="No author, no category, an address outside ASCII",
        author="",
        categories=[],
        link="https://www.worthynews.com/ünï-story/",
        body=(
            "<p>Plain.</p><p><img src="
            '"https://www.worthynews.com/wp-content/uploads/bild-ü.jpg" alt="x"></p>'
        ),
    ),
    item("90003", 20, title="Only a player", body=f'<iframe src="{YOUTUBE}"></iframe>'),
)
LANGUAGES = ("en", "ko", "es", "pt-BR", "sw", "de", "fr", "nl", "en")


def _subscriber(number: int, content: str, image: str, link_to: str) -> str:
    lines = [
        f'name = "Église {number} “Ünï” & <Co>"',
        'site_url = "https://église.example.org/ünï/?a=1&b=2"',
        f'content = "{content}"',
        f'image = "{image}"',
        f'link_to = "{link_to}"',
        f'language = "{LANGUAGES[number]}"',
        f"utm = {'true' if number % 2 else 'false'}",
        'footer = "Geteilt mit ❤ & <Freunden>"',
    ]
    if link_to == "detail_page":
        lines.append('detail_page_url = "https://église.example.org/nächste/?lang=x&y=1"')
    return "\n".join(lines) + "\n"


# Each content mode with each picture option and each kind of link (a Latin square).
LINKS = ("original", "hosted", "detail_page")
KINDS = [
    (content, image, LINKS[(number // 3 + number) % 3])
    for number, (content, image) in enumerate(
        itertools.product(("full", "excerpt", "title"), ("none", "thumbnail", "full"))
    )
]


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Every output of one subscriber per feed kind, by path."""
    folder = tmp_path_factory.mktemp("kinds")
    (folder / "stories.xml").write_bytes(STORIES)
    subscribers = {
        f"k{number}-{'-'.join(kind)}".replace("_", "-"): _subscriber(number, *kind)
        for number, kind in enumerate(KINDS)
    }
    subscribers["nothing"] = 'name = "N"\nsite_url = "https://n.example/"\ncategories = ["None"]\n'
    config = load_config(
        write_config(folder, (folder / "stories.xml").as_uri(), subscribers=subscribers)
    )
    report = run_once(config, NOW)
    assert report.ok and all(s.outcome == "published" for s in report.subscribers), report
    return read_tree(config.site.output_dir)


def validator_findings(document: bytes) -> list[str]:
    """What the W3C feed validator would report on an RSS or Atom `document`, of its
    checks that our feeds can meet (its messages in short)."""
    root = lxml.etree.fromstring(document)
    lines = document.decode().splitlines()
    found = []
    for group in root.iter(f"{MEDIA}group"):
        if len(group.findall(f"{MEDIA}content")) < 2:
            found.append(f"line {group.sourceline}: media:group must have multiple media:content")
    for element in _html_elements(root):
        tree = lxml.html.fragment_fromstring(element.text or "", create_parent="div")
        for tag in sorted({child.tag for child in tree.iter() if child is not tree} - FEED_TAGS):
            found.append(f"line {element.sourceline}: {element.tag} should not contain {tag}")
    if root.tag == "rss":
        channel = root.find("channel")
        assert channel is not None
        texts = [*(root.iter(*RSS_TEXT)), *channel.findall("description")]
        for element in texts:
            raw = "\n".join(lines[element.sourceline - 1 : _last_line(element)])
            if LOOKS_LIKE_MARKUP.search(element.text or "") and "&#x" not in raw:
                found.append(
                    f"line {element.sourceline}: encode & and < in {element.tag} as &#x26;, &#x3C;"
                )
    for address in _addresses(root):
        if not address.isascii():
            found.append(f"IRI found where URL expected: {address}")
    for element in root.iter("lastBuildDate", "pubDate", f"{ATOM}updated", f"{ATOM}published"):
        if _date(element.text or "") < PLAUSIBLE:
            found.append(f"line {element.sourceline}: implausible date {element.text}")
    return found


PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)  # the validator's earliest plausible date


def _date(text: str) -> datetime:
    return email.utils.parsedate_to_datetime(text) if "," in text else datetime.fromisoformat(text)


def _html_elements(root: lxml.etree._Element) -> list[lxml.etree._Element]:
    if root.tag == "rss":
        return [
            *root.iter(CONTENT),
            *(d for i in root.iter("item") for d in i.findall("description")),
        ]
    return [e for e in root.iter(f"{ATOM}content", f"{ATOM}summary") if e.get("type") == "html"]


def _last_line(element: lxml.etree._Element) -> int:
    first: int = element.sourceline
    return first + (element.text or "").count("\n")


def _addresses(root: lxml.etree._Element) -> list[str]:
    texts = [e.text or "" for e in root.iter("link", "url", "docs", "comments")]
    attributes = [
        value
        for element in root.iter()
        for name, value in element.attrib.items()
        if name in {"href", "url", "src"}
    ]
    return [*texts, *attributes]


def test_the_checks_find_what_the_validator_reported_before() -> None:
    """The findings the validator gave our feeds before they were fixed, made by hand."""
    rss_document = """<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"
xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>News for Iglesia &lt;Esperanza&gt; &amp; Co</title><link>https://église.example.org/</link>
<description>d</description>
<item><title>t</title><media:group><media:content url="https://a.example/p.jpg"/></media:group>
<content:encoded>&lt;p&gt;&lt;iframe src="https://www.youtube.com/embed/x"&gt;&lt;/iframe&gt;&lt;/p&gt;</content:encoded>
</item></channel></rss>""".encode()
    found = validator_findings(rss_document)
    assert [re.sub(r"^line \d+: ", "", finding) for finding in found] == [
        "media:group must have multiple media:content",
        f"{CONTENT} should not contain iframe",
        "encode & and < in title as &#x26;, &#x3C;",
        "IRI found where URL expected: https://église.example.org/",
    ]
    fixed = rss_document.replace(b"&lt;Esperanza", b"&#x3C;Esperanza")
    assert len(validator_findings(fixed)) == len(found) - 1


@pytest.mark.parametrize("kind", KINDS, ids=["-".join(kind) for kind in KINDS])
def test_every_kind_of_feed_passes_the_validators_checks(
    feeds: dict[str, bytes], kind: tuple[str, str, str]
) -> None:
    number = KINDS.index(kind)
    folder = f"k{number}-{'-'.join(kind)}".replace("_", "-")
    for name in ("rss.xml", "atom.xml"):
        document = feeds[f"{folder}/{name}"]
        assert validator_findings(document) == [], name
        assert feedparser.parse(document).bozo == 0, name
    assert json_feed_errors(json.loads(feeds[f"{folder}/feed.json"])) == []


def test_the_kinds_cover_pictures_players_and_addresses_outside_ascii(
    feeds: dict[str, bytes],
) -> None:
    """The feeds under test do hold what the checks look at."""
    everything = b"".join(data for name, data in feeds.items() if name.endswith((".xml", ".json")))
    for needle in (
        "<media:content",
        "youtube.com/watch",
        "vimeo.com/123456",
        "xn--glise-",
        "%C3%BCn%C3%AF-story",
        "bild-%C3%BC.jpg",
        "&#x3C;Co&gt;",
        "한국어",
    ):
        assert needle.encode() in everything, needle


def test_a_picture_is_the_items_media_content_not_a_group_of_one(feeds: dict[str, bytes]) -> None:
    root = lxml.etree.fromstring(feeds["k4-excerpt-thumbnail-detail-page/rss.xml"])
    items = root.findall("channel/item")
    pictured = [i for i in items if i.find(f"{MEDIA}content") is not None]
    assert pictured and not list(root.iter(f"{MEDIA}group"))
    for element in pictured:
        (media,) = element.findall(f"{MEDIA}content")
        enclosure = element.find("enclosure")
        assert enclosure is not None and media.get("url") == enclosure.get("url")
        assert media.get("medium") == "image"


def test_in_full_text_feeds_a_player_becomes_a_link_to_its_video(feeds: dict[str, bytes]) -> None:
    """YouTube's with its thumbnail (and the time it starts at), others as words; in the
    subscriber's language. The hosted article page keeps the player."""
    folder = "k1-full-thumbnail-hosted"  # in Korean: English words (no translation yet)
    content = json.loads(feeds[f"{folder}/feed.json"])["items"][0]["content_html"]
    assert "<iframe" not in content
    assert (
        '<a href="https://www.youtube.com/watch?v=AbCdEfGhIjK&amp;t=5s" rel="noopener">'
        '<img src="https://i.ytimg.com/vi/AbCdEfGhIjK/hqdefault.jpg" alt="" width="480" '
        'height="360"><br>Watch the video</a>'
    ) in content
    assert '<a href="https://vimeo.com/123456/a1b2c3" rel="noopener">Watch the video</a>' in content
    page = next(d for n, d in feeds.items() if n.startswith(f"{folder}/articles/") and b"Fish" in d)
    assert re.search(rb'<iframe [^>]*src="https://www.youtube-nocookie.com/embed/AbCdEfGhIjK', page)
    spanish = json.loads(feeds["k2-full-full-detail-page/feed.json"])["items"][0]
    assert spanish["content_html"].count(">Ver el vídeo</a>") == 2
    excerpt = json.loads(feeds["k5-excerpt-full-original/feed.json"])["items"][0]
    assert "youtube" not in excerpt["content_html"]  # an excerpt has no player to replace


@pytest.mark.parametrize(
    ("player", "link"),
    [
        (
            "https://www.youtube.com/embed/AbCdEfGhIjK",
            "https://www.youtube.com/watch?v=AbCdEfGhIjK",
        ),
        (
            "https://youtube.com/embed/AbCdEfGhIjK?start=x",
            "https://www.youtube.com/watch?v=AbCdEfGhIjK",
        ),
        (
            "https://www.youtube.com/embed/videoseries?list=PL1",
            "https://www.youtube.com/embed/videoseries?list=PL1",
        ),
        ("https://player.vimeo.com/video/42", "https://vimeo.com/42"),
        ("https://videos.example.org/embed/7", "https://videos.example.org/embed/7"),
    ],
)
def test_each_player_links_to_where_its_video_plays(player: str, link: str) -> None:
    hosts = ("www.youtube.com", "youtube.com", "player.vimeo.com", "videos.example.org")
    body = sanitize(f'<p>Before <iframe src="{player}"></iframe> after.</p>', Policy(hosts))
    assert "<iframe" in body
    feed = without_players(body, "Ver el vídeo")
    assert "<iframe" not in feed
    hrefs = lxml.html.fragment_fromstring(feed, create_parent="div").xpath("//a/@href")
    assert hrefs == [link]
    assert feed.startswith("<p>Before <a ") and feed.endswith("Ver el vídeo</a> after.</p>")
    assert ("i.ytimg.com" in feed) == link.startswith("https://www.youtube.com/watch")
    assert sanitize(feed) == feed  # nothing but sanitized HTML


def test_a_body_without_players_is_carried_as_it_is() -> None:
    body = sanitize('<p><a href="https://a.example/" target="_blank">x</a></p>')
    assert without_players(body, "Watch the video") is body


def test_links_opening_in_a_new_tab_keep_doing_so_beside_a_replaced_player() -> None:
    policy = Policy(new_tab=True)
    body = sanitize(
        '<p><a href="https://a.example/" target="_blank">x</a>'
        '<iframe src="https://www.youtube.com/embed/AbCdEfGhIjK"></iframe></p>',
        policy,
    )
    feed = without_players(body, "Watch the video")
    assert 'target="_blank"' in feed and "<iframe" not in feed


def test_rss_plain_text_carries_ampersand_and_less_than_as_hex_references(
    feeds: dict[str, bytes],
) -> None:
    """As the RSS Profile asks; the text reads the same to any XML parser, and an item's
    HTML (description, content:encoded) keeps its entities."""
    document = feeds["k0-full-none-original/rss.xml"]
    text = document.decode()
    assert "<title>News for Église 0 “Ünï” &#x26; &#x3C;Co&gt;</title>" in text
    assert "<category>Ünïcode &#x26; Friends</category>" in text
    assert "<dc:creator>José Núñez &#x26; Co</dc:creator>" in text
    assert "<title>Fish &#x26; Chips for 2 &#x3C; 3 churches" in text
    parsed = feedparser.parse(document)
    assert parsed.feed.title == "News for Église 0 “Ünï” & <Co>"
    assert parsed.entries[0].title.startswith("Fish & Chips for 2 < 3 churches")
    assert "Geteilt mit ❤ &amp; &lt;Freunden&gt;" in parsed.entries[0].content[0].value
    atom = feeds["k0-full-none-original/atom.xml"].decode()
    assert "<title>News for Église 0 “Ünï” &amp; &lt;Co&gt;</title>" in atom  # Atom: as before


def test_feeds_give_addresses_outside_ascii_as_uris(feeds: dict[str, bytes]) -> None:
    """An IRI (a church's site, a detail page, an outlet's link or picture) goes into the
    feeds as the URI browsers make of it; the same address, in a form RSS allows."""
    site = "https://xn--glise-9ra.example.org/%C3%BCn%C3%AF/?a=1&b=2"
    rss_root = lxml.etree.fromstring(feeds["k2-full-full-detail-page/rss.xml"])
    assert rss_root.findtext("channel/link") == site
    links = [i.findtext("link") for i in rss_root.iter("item")]
    assert links[0].startswith("https://xn--glise-9ra.example.org/n%C3%A4chste/?lang=x&y=1&story=")
    original = lxml.etree.fromstring(feeds["k5-excerpt-full-original/rss.xml"])
    assert "https://www.worthynews.com/%C3%BCn%C3%AF-story/?utm_source=" in [
        (i.findtext("link") or "").split("utm_source=")[0] + "utm_source="
        for i in original.iter("item")
    ]
    pictures = [e.get("url") for e in original.iter("enclosure")]
    assert "https://www.worthynews.com/wp-content/uploads/bild-%C3%BC.jpg" in pictures
    document = json.loads(feeds["k5-excerpt-full-original/feed.json"])
    assert document["home_page_url"] == site


def test_a_feed_without_stories_is_dated_by_the_newest_story_not_the_epoch(
    feeds: dict[str, bytes],
) -> None:
    """The epoch, its date before, is one the validator calls implausible; the newest
    stored story's date is when nothing was for it yet, and stays put run after run."""
    for name in ("nothing/rss.xml", "nothing/atom.xml"):
        assert validator_findings(feeds[name]) == [], name
        assert feedparser.parse(feeds[name]).entries == []
    assert (
        b"<lastBuildDate>Sun, 22 Nov 2026 09:00:00 +0000</lastBuildDate>"
        in feeds["nothing/rss.xml"]
    )
    assert b"<updated>2026-11-22T09:00:00+00:00</updated>" in feeds["nothing/atom.xml"]


def test_with_no_story_stored_at_all_an_empty_feed_is_dated_now(tmp_path: Path) -> None:
    subscriber = SubscriberConfig(id="new", name="New", site_url="https://new.example/")
    files = Renderer(
        tmp_path, load_config(write_config(tmp_path, "https://a.example/")).site
    ).render(plan(subscriber, [], {}, {}, NOW, "salt"))
    assert validator_findings(files["new/atom.xml"]) == []
    assert f"<updated>{NOW.isoformat()}</updated>".encode() in files["new/atom.xml"]
