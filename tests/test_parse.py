"""The parse stage: feed formats, encodings, hostile documents, normalised entries."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime

import pytest

from syndicator.config import FetchSettings
from syndicator.errors import ParseError
from syndicator.fetch import Fetcher
from syndicator.parse import declares_entities, parse_bytes

from .conftest import FEEDS, NOW, REPO, FeedServer, item, rss

XML = {"content-type": "application/xml"}
SAMPLE = REPO / "config" / "samples" / "worthynews-feed.xml"


def parse_fixture(name: str, headers: dict[str, str] | None = None) -> object:
    return parse_bytes("t", (FEEDS / name).read_bytes(), headers or XML, "https://feed.example/")


CAFE = "Café “Open Doors” Night – Volunteers’ Stories"
FETE = "Fête de la communauté : « Nous sommes reconnaissants »"


@pytest.mark.parametrize(
    ("name", "content_type", "title"),
    [
        ("cp1252-declared.xml", "application/rss+xml", CAFE),
        ("cp1252-undeclared.xml", "application/rss+xml; charset=windows-1252", CAFE),
        ("latin1-declared.xml", "application/rss+xml", FETE),
        ("latin1-undeclared.xml", "text/xml; charset=ISO-8859-1", FETE),
    ],
)
def test_legacy_encodings_over_http(
    feed_server: FeedServer, name: str, content_type: str, title: str
) -> None:
    url = feed_server.serve(
        "/feed", body=(FEEDS / name).read_bytes(), headers={"Content-Type": content_type}
    )
    with Fetcher(FetchSettings(), contact_url="https://example.org/") as fetcher:
        fetched = fetcher.fetch("t", url, now=NOW)
    parsed = parse_bytes("t", fetched.body or b"", fetched.headers, url)
    assert title in [e.title for e in parsed.entries]
    assert not parsed.warnings


@pytest.mark.parametrize(
    ("name", "title"), [("cp1252-undeclared.xml", CAFE), ("latin1-undeclared.xml", FETE)]
)
def test_undeclared_legacy_encoding_without_a_charset_still_decodes_with_a_warning(
    name: str, title: str
) -> None:
    parsed = parse_fixture(name, {"content-type": "application/xml"})
    assert title in [e.title for e in parsed.entries]  # type: ignore[attr-defined]
    assert parsed.warnings  # type: ignore[attr-defined]


UTF8_HTTP = {"content-type": "application/rss+xml; charset=UTF-8"}
GUID = "https://www.worthynews.com/?p="


def test_a_stray_byte_costs_its_own_character_not_the_documents_encoding() -> None:
    """One 0xFF in a UTF-8 feed made feedparser read the whole document as ISO-8859-2:
    every story came out as mojibake (KrakĂłw). Now the bad byte alone becomes U+FFFD,
    and the warning says where it was and which items show it."""
    clean = parse_bytes("wn", (FEEDS / "utf8-clean.xml").read_bytes(), UTF8_HTTP)
    stray = parse_bytes("wn", (FEEDS / "utf8-stray-byte.xml").read_bytes(), UTF8_HTTP)
    titles = {e.id: e.title for e in stray.entries}
    assert titles[GUID + "91006"] == "Gda\ufffdsk Seminary Welcomes New Students"
    assert titles[GUID + "91004"] == "Kraków\ufffd Volunteers Rebuild a Chapel Roof"
    for entry in clean.entries:
        if entry.id != GUID + "91004":
            assert titles[entry.id] == entry.title  # Łódź, São, Zürich, Malmö as they are
            assert entry in stray.entries
    assert stray.damaged == (GUID + "91006", GUID + "91004")
    (warning,) = stray.warnings
    assert warning.startswith("2 byte sequence(s) not valid utf-8, each read as U+FFFD")
    assert "line 11 (byte 381), line 39 (byte 2,503)" in warning
    assert f"item(s) {GUID}91006, {GUID}91004" in warning
    assert not clean.warnings and not clean.damaged


def _document(title: str, encoding: str, declared: str | None) -> bytes:
    """A one-item feed titled `title`, in `encoding`, its XML declaration saying
    `declared` (no encoding pseudo-attribute when None)."""
    text = rss(item("1", title=title)).decode()
    prolog = f' encoding="{declared}"' if declared else ""
    return text.replace(' encoding="UTF-8"', prolog, 1).encode(encoding)


POLISH = "Kraków “Łódź” – €5 café"
LATIN = "Café “Open Doors” – €5"


@pytest.mark.parametrize(
    ("body", "charset", "title", "note"),
    [
        # A byte order mark decides, whatever the server says.
        (codecs.BOM_UTF16_LE + _document(POLISH, "utf-16-le", "UTF-16"), "utf-8", POLISH,
         "the HTTP charset says utf-8, the byte order mark utf-16-le: read as utf-16-le"),
        (codecs.BOM_UTF16_BE + _document(POLISH, "utf-16-be", "UTF-16"), None, POLISH, None),
        (codecs.BOM_UTF8 + _document(POLISH, "utf-8", None), None, POLISH, None),
        # UTF-16 without a byte order mark: its first bytes tell.
        (_document(POLISH, "utf-16-le", "UTF-16"), None, POLISH, None),
        (_document(POLISH, "utf-16-be", None), "utf-16", POLISH, None),
        # The header says ISO-8859-1 (a server default), the document is UTF-8.
        (_document(POLISH, "utf-8", "UTF-8"), "iso-8859-1", POLISH,
         "the HTTP charset says iso-8859-1, but the document is UTF-8: read as UTF-8"),
        # The header says UTF-8, the document is what its prolog says.
        (_document(LATIN, "cp1252", "windows-1252"), "utf-8", LATIN,
         "the HTTP charset says utf-8 and the XML declaration says windows-1252 disagree: "
         "read as the XML declaration says windows-1252"),
        # Both are valid single-byte readings: the one without C1 controls (“ as U+0093).
        (_document(LATIN, "cp1252", "windows-1252"), "iso-8859-2", LATIN,
         "the HTTP charset says iso-8859-2 and the XML declaration says windows-1252 "
         "disagree: read as the XML declaration says windows-1252"),
        # windows-1252 bytes (“ ” – €) labelled ISO-8859-1: the web reads them as one.
        (_document(LATIN, "cp1252", "ISO-8859-1"), None, LATIN, None),
        (_document(LATIN, "cp1252", None), "iso-8859-1", LATIN, None),
        # Labels Python does not know, or that are no document encoding, are skipped.
        (_document(POLISH, "utf-8", "x-klingon"), None, POLISH,
         "the XML declaration says x-klingon, not an encoding Syndicator knows: ignored"),
        (_document(POLISH, "utf-8", None), "utf-7", POLISH,
         "the HTTP charset says utf-7, not an encoding Syndicator knows: ignored"),
        (_document(POLISH, "utf-8", None), "base64", POLISH,
         "the HTTP charset says base64, not an encoding Syndicator knows: ignored"),
        # A prolog claiming UTF-16 on a document that is not.
        (_document(POLISH, "utf-8", "UTF-16"), None, POLISH,
         "the XML declaration says UTF-16, but the document is not utf-16: ignored"),
    ],
)  # fmt: skip
def test_the_encoding_is_the_declared_one_in_the_order_xml_and_http_give(
    body: bytes, charset: str | None, title: str, note: str | None
) -> None:
    content_type = "application/rss+xml" + (f"; charset={charset}" if charset else "")
    parsed = parse_bytes("t", body, {"content-type": content_type})
    assert [e.title for e in parsed.entries] == [title]
    assert parsed.warnings == ((note,) if note else ())
    assert not parsed.damaged


def test_a_multibyte_character_cut_short_costs_that_character_alone() -> None:
    """WordPress cuts excerpts by bytes; a proxy may append a cut character after the
    document: one U+FFFD each, the rest as declared."""
    body = _document("Kraków Choir", "utf-8", "UTF-8").replace(
        "Kraków".encode(), b"Krak" + "ó".encode()[:1], 1
    )
    body += "ó".encode()[:1]  # after the end tag: in no item's text
    parsed = parse_bytes("t", body, XML)
    assert [e.title for e in parsed.entries] == ["Krak\ufffd Choir"]
    bad_bytes, not_xml = parsed.warnings  # a character after the end tag is no XML
    assert bad_bytes.startswith("2 byte sequence(s) not valid utf-8")
    assert bad_bytes.endswith(f"in item(s) {GUID}1") and "not well-formed" in not_xml


def test_rss_091() -> None:
    parsed = parse_fixture("rss091.xml")
    entries = parsed.entries  # type: ignore[attr-defined]
    assert [e.title for e in entries] == [
        "Choir Rehearsal Moves to Thursday",
        "Coat Drive Collects 212 Coats",
        "Advent Candle Volunteers Needed",
    ]
    # No guids: the link is the stable id.
    assert [e.id for e in entries] == [e.link for e in entries]
    assert entries[2].published is None


def test_rss_10_rdf() -> None:
    entries = parse_fixture("rss10.xml").entries  # type: ignore[attr-defined]
    assert len(entries) >= 3
    assert all(e.id.startswith("http") for e in entries)
    assert all(e.published and e.published.tzinfo == UTC for e in entries)
    assert all(e.author for e in entries)
    assert all(e.categories for e in entries)
    assert any("<" in e.content_html for e in entries)  # content:encoded kept as HTML


def test_rss_20_ids_fall_back_from_guid_to_link_to_a_hash() -> None:
    entries = parse_fixture("rss20.xml").entries  # type: ignore[attr-defined]
    first, second, third = entries
    assert first.id == "https://rss20.example.org/?p=501"
    assert second.id == second.link == "https://rss20.example.org/2026/11/lake-baptism/"
    assert third.link is None and third.id.startswith("sha256:")
    again = parse_fixture("rss20.xml").entries[2]  # type: ignore[attr-defined]
    assert again.id == third.id  # stable across parses
    assert first.author and first.categories and first.published


def test_atom_10_with_xml_base() -> None:
    entries = parse_fixture("atom10.xml").entries  # type: ignore[attr-defined]
    assert len(entries) == 3
    first = entries[0]
    assert first.id == "tag:atom.example.org,2026:blog/advent-wreath-workshop"
    assert first.link == "https://atom.example.org/blog/2026/11/advent-wreath-workshop"
    assert first.published == datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    assert first.updated == datetime(2026, 11, 21, 9, 0, tzinfo=UTC)  # +01:00 made UTC
    assert first.categories == ("Events", "Advent")
    assert first.author == "Lydia Brenner"
    assert first.base_url and first.base_url.startswith("https://atom.example.org/blog/")
    assert "<script>" in first.content_html  # raw: the sanitizer is the clean stage's job
    assert "<" in entries[1].content_html  # xhtml content kept as markup
    assert entries[2].published == entries[2].updated  # no <published>: falls back


def test_wordpress_sample_feed_entries() -> None:
    body = (REPO / "config" / "samples" / "worthynews-feed.xml").read_bytes()
    parsed = parse_bytes("worthynews", body, XML)
    assert len(parsed.entries) == 15
    assert not parsed.warnings
    for entry in parsed.entries:
        assert entry.id.startswith("https://www.worthynews.com/?p=")
        assert entry.link and entry.link.startswith("https://www.worthynews.com/")
        assert entry.author and entry.categories and entry.published
        assert entry.published.tzinfo == UTC
        assert "appeared first on" in entry.content_html  # raw upstream footer, not yet cleaned
    assert any(entry.images for entry in parsed.entries)
    assert len({c for e in parsed.entries for c in e.categories}) >= 6


@pytest.mark.parametrize("name", ["sample", "atom10.xml"])
def test_a_document_cut_off_anywhere_is_a_failed_poll(name: str) -> None:
    """A feed that arrives cut off (a dropped connection, a proxy's size limit) must not
    be stored: the item it ends inside may lack its guid (it would be stored again under
    its link, a duplicate), its date or its body, and a cut multi-byte character makes
    feedparser decode the whole document as another encoding (every story garbled)."""
    body = SAMPLE.read_bytes() if name == "sample" else (FEEDS / name).read_bytes()
    assert parse_bytes("t", body, XML, "https://feed.example/").entries  # whole, it parses
    for end in range(len(body) // 3, len(body) - 10, max(1, len(body) // 150)):
        with pytest.raises(
            ParseError, match=r"the document ends early \([\d,]+ bytes, no closing </"
        ):
            parse_bytes("t", body[:end], XML, "https://feed.example/")
    spaced = body.rstrip() + b"\n<!-- served by a cache -->\n"  # whole, whatever follows
    assert parse_bytes("t", spaced, XML, "https://feed.example/").entries


def test_content_encoded_wins_over_description() -> None:
    body = rss(item("1", body="<p>Full body</p>", summary="Short [&#8230;]"))
    (entry,) = parse_bytes("t", body, XML).entries
    assert entry.content_html == "<p>Full body</p>"
    assert entry.summary_html.startswith("Short")


@pytest.mark.parametrize("url", [None, "http://127.0.0.1:8/mirror/feed.xml"])
def test_enclosure_and_media_images_are_absolute_http_against_the_item_s_link(
    url: str | None,
) -> None:
    body = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>
<link>https://site.example/</link><description>d</description>
<item><title>A</title><link>https://site.example/a</link><guid>a</guid><description>x</description>
<enclosure url="/img/a.jpg" type="image/jpeg" length="10"/>
<enclosure url="https://site.example/a.mp3" type="audio/mpeg" length="10"/>
<media:content url="https://cdn.example/b.png" medium="image" width="640" height="480"/>
<media:thumbnail url="javascript:alert(1)"/>
</item></channel></rss>"""
    (entry,) = parse_bytes("t", body, XML, url).entries
    assert [(i.url, i.width) for i in entry.images] == [
        ("https://site.example/img/a.jpg", None),
        ("https://cdn.example/b.png", 640),
    ]


def test_dates_with_offsets_become_utc() -> None:
    body = rss(item("1")).replace(b"+0000", b"-0500")
    (entry,) = parse_bytes("t", body, XML).entries
    assert entry.published == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def test_a_surrogate_character_reference_costs_one_character_not_the_feed() -> None:
    body = rss(item("1", title="Bad X here", body="<p>x &#xD800; &#55296; y &#233;</p>"))
    body = body.replace(b"Bad X here", b"Bad &#xD800; here")
    (entry,) = parse_bytes("t", body, XML).entries
    assert entry.title.startswith("Bad") and entry.title.endswith("here")
    assert "\ud800" not in entry.title
    assert "\ud800" not in entry.content_html and "&#233;" in entry.content_html


def test_feed_without_full_text_keeps_content_empty_and_summary_as_body() -> None:
    (entry,) = parse_fixture("rss091.xml").entries[:1]  # type: ignore[attr-defined]
    assert entry.content_html == "" and entry.summary_html
    assert entry.body_source == entry.summary_html


def test_an_item_with_no_title_and_no_text_is_skipped_and_said() -> None:
    """feedparser makes a guid a link: such an item would be stored as an empty story."""
    empty = b"<item><guid>https://www.worthynews.com/?p=3</guid></item>"
    body = rss(item("1"), item("2")).replace(b"</channel>", empty + b"</channel>")
    parsed = parse_bytes("t", body, XML)
    assert [e.title for e in parsed.entries] == ["Story 1", "Story 2"]
    assert parsed.warnings == ("1 item(s) with no title and no text: skipped",)
    with pytest.raises(ParseError, match="none of its 2 item.s. has a title or any text"):
        parse_bytes("t", rss().replace(b"</channel>", empty * 2 + b"</channel>"), XML)


def test_duplicate_ids_keep_the_first() -> None:
    body = rss(item("1", title="First"), item("1", title="Second"))
    (entry,) = parse_bytes("t", body, XML).entries
    assert entry.title == "First"


@pytest.mark.parametrize("name", ["entity-expansion.xml", "external-entity.xml"])
def test_documents_declaring_entities_are_refused_before_parsing(name: str) -> None:
    with pytest.raises(ParseError, match="declares entities"):
        parse_fixture(name)


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!-- x --><!DOCTYPE r [<!ENTITY a "b">]><r/>',
        b'<!-- <notroot> --><!DOCTYPE r [ <!entity a "b"> ]><r/>',
        '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "b">]><r/>'.encode(
            "utf-16"
        ),
    ],
    ids=["after-comment", "comment-hides-root", "utf-16"],
)
def test_entity_declarations_are_found_wherever_the_prolog_hides_them(document: bytes) -> None:
    assert declares_entities(document)


def test_entity_like_text_in_the_body_is_not_refused() -> None:
    body = rss(
        item("1", body="<p>Write &lt;!ENTITY x&gt; in XML.</p><pre><![CDATA[<!ENTITY>]]></pre>")
    )
    assert not declares_entities(body)
    body_with_plain_doctype = body.replace(
        b"<rss",
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "x.dtd">\n<rss',
        1,
    )
    assert len(parse_bytes("t", body_with_plain_doctype, XML).entries) == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [("empty.xml", "no usable items"), ("not-a-feed.html", "not a")],
)
def test_documents_without_entries_are_parse_failures(name: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_fixture(name, {"content-type": "text/html"})


def test_garbage_is_a_parse_failure_naming_the_content_type() -> None:
    with pytest.raises(ParseError, match="content-type text/plain"):
        parse_bytes("t", b"\x00\x01garbage<<<", {"content-type": "text/plain"})


@pytest.mark.parametrize(
    ("written", "tag"),
    [("en-us", "en-US"), ("EN_US", "en-US"), ("pt-br", "pt-BR"), ("es", "es"), (None, None)],
)
def test_the_feeds_language_is_read_as_a_tag(written: str | None, tag: str | None) -> None:
    body = rss(item("1"))
    if written is not None:
        body = body.replace(b"<channel>", f"<channel><language>{written}</language>".encode())
    parsed = parse_bytes("s", body, {})
    assert parsed.language == tag
    assert not parsed.warnings


def test_a_feed_language_cldr_does_not_know_is_left_out_with_a_warning() -> None:
    body = rss(item("1")).replace(b"<channel>", b"<channel><language>klingon</language>")
    parsed = parse_bytes("s", body, {})
    assert parsed.language is None
    (warning,) = parsed.warnings
    assert warning.startswith("<language> 'klingon' is no language CLDR knows")
    assert "set language in its [[sources]] entry" in warning
