"""Making found references into links: escaped, checked against the body, sanitized."""

from __future__ import annotations

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
