"""Making found references into links: escaped, checked against the body, sanitized."""

from __future__ import annotations

import itertools
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicator.clean.sanitize import Policy, sanitize
from syndicator.scripture import Passage, Reference, find_references, link_references


def url(passage: Passage) -> str:
    return f"https://bible.test/?search={passage.osis}&version=NIV"


def test_each_reference_becomes_a_link_with_an_escaped_href_and_noopener() -> None:
    body = sanitize("<p>Read John 3:16 today.</p>")
    linked = link_references(body, find_references(body), url, Policy())
    assert linked == (
        '<p>Read <a href="https://bible.test/?search=John.3.16&amp;version=NIV" '
        'rel="noopener">John 3:16</a> today.</p>'
    )
    assert sanitize(linked) == linked


def test_links_open_in_a_new_tab_when_the_policy_says_so() -> None:
    policy = Policy(new_tab=True)
    body = sanitize("<p>Read John 3:16 today.</p>", policy)
    linked = link_references(body, find_references(body), url, policy)
    assert 'target="_blank" rel="noopener">John 3:16</a>' in linked
    assert sanitize(linked, policy) == linked


def test_a_reference_that_no_longer_matches_the_body_is_skipped() -> None:
    body = sanitize("<p>Read John 3:16 today.</p>")
    stale = [
        Reference(8, 17, Passage("John", 3, 17)),  # another passage
        Reference(5, 12, Passage("John", 3, 16)),  # another place
        Reference(500, 600, Passage("John", 3, 16)),  # out of bounds
    ]
    assert link_references(body, stale, url, Policy()) == body


def test_a_reference_now_inside_a_link_or_a_heading_is_never_linked() -> None:
    for body in (
        sanitize('<p>Read <a href="https://x.test/">John 3:16</a> today.</p>'),
        sanitize("<h2>Read John 3:16 today.</h2>"),
        sanitize("<pre>Read John 3:16 today.</pre>"),
    ):
        at = body.index("John 3:16")
        ref = Reference(at, at + len("John 3:16"), Passage("John", 3, 16))
        assert link_references(body, [ref], url, Policy()) == body


def test_a_url_that_could_break_its_attribute_is_escaped_or_dropped() -> None:
    body = sanitize("<p>Read John 3:16 today.</p>")
    refs = find_references(body)
    quoted = link_references(body, refs, lambda p: 'https://x.test/?a="><script>', Policy())
    assert "<script" not in quoted and 'href="https://x.test/?a=%22%3E%3Cscript%3E"' in quoted
    hostile = link_references(body, refs, lambda p: "javascript:alert(1)", Policy())
    assert "javascript" not in hostile and ">John 3:16</a>" in hostile


def test_every_reference_of_a_list_gets_its_own_link() -> None:
    body = sanitize("<p>Romans 8:28, 31 and John 3:16; 4:2.</p>")
    linked = link_references(body, find_references(body), url, Policy())
    assert [a.split('"')[1] for a in linked.split("<a href=")[1:]] == [
        url(Passage("Rom", 8, 28)).replace("&", "&amp;"),
        url(Passage("Rom", 8, 31)).replace("&", "&amp;"),
        url(Passage("John", 3, 16)).replace("&", "&amp;"),
        url(Passage("John", 4, 2)).replace("&", "&amp;"),
    ]


def test_no_reference_leaves_the_body_as_it_is() -> None:
    body = sanitize("<p>No verse here, 3:16.</p>")
    assert link_references(body, (), url, Policy()) is body
    assert link_references(body, find_references(body), url, Policy()) is body


# Pieces of hostile-ish article HTML: references, traps, glue, entities and tags.
REFERENCES = [
    "John 3:16", "1 Cor. 13:4–7", "1 Cor. 13:4&ndash;7", "Psalm 23", "Isaiah 53-55", "Jude 3",
    "Romans 8:28, 31 and 39", "John 3:16; 4:2", "III John 4", "John 3:16–4:2", "Isa. 53",
    "Song of Solomon 2:4", "2&nbsp;Cor 5:17", "Psalm&nbsp;23", "JOHN 3:16", "Philemon 6",
]  # fmt: skip
TRAPS = [
    "Mark 5", "Acts 29 Network", "Revelation 2:1 Gallery", "at 3:30", "Numbers 3:2 million",
    "Isaiah 53-year-old", "1 John Street", "Chapter 11", "John 3:99", "Mark 12:30 pm", "John.",
]  # fmt: skip
GLUE = [
    " ", ", ", "; ", "-", "–", "—", "1", "2 ", ",", ".", ":", "/", "&amp;", "&nbsp;", "&lt;",
    "&gt;", "&quot;", " and ", "I ", "(", ")", "\n", "\u202f", "a", "’s ", "%", "4 ",
]  # fmt: skip
WRAPPERS = [
    ("<em>", "</em>"), ("<strong>", "</strong>"), ('<a href="https://x.test/">', "</a>"),
    ("<code>", "</code>"), ("<h2>", "</h2>"), ("<p>", "</p>"), ("<blockquote><p>", "</p></blockquote>"),
    ("<li>", "</li>"), ("", "<br>"), ('<img src="https://x.test/i.jpg" alt="', '">'),
]  # fmt: skip
text_piece = st.sampled_from(REFERENCES + TRAPS + GLUE)
wrapped = st.tuples(st.sampled_from(WRAPPERS), st.lists(text_piece, max_size=6)).map(
    lambda pair: pair[0][0] + "".join(pair[1]) + pair[0][1]
)
bodies = st.lists(st.one_of(text_piece, wrapped), max_size=25).map(
    lambda pieces: "<p>" + "".join(pieces) + "</p>"
)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []

    def handle_data(self, data: str) -> None:
        self.pieces.append(data)


def visible_text(html: str) -> str:
    """The text a browser shows, exactly (bs4 would fold whitespace between tags)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.pieces)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=bodies, new_tab=st.booleans())
def test_linking_never_changes_the_visible_text_and_linking_again_changes_nothing(
    raw: str, new_tab: bool
) -> None:
    policy = Policy(new_tab=new_tab)
    body = sanitize(raw, policy)
    refs = find_references(body)
    assert list(refs) == sorted(refs, key=lambda ref: ref.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(refs))
    assert all("<" not in body[ref.start : ref.end] for ref in refs)
    linked = link_references(body, refs, url, policy)
    assert visible_text(linked) == visible_text(body)
    assert linked.count("<a ") == body.count("<a ") + len(refs)
    assert sanitize(linked, policy) == linked
    assert find_references(linked) == ()
    assert link_references(linked, refs, url, policy) == linked
    assert link_references(linked, find_references(linked), url, policy) == linked
