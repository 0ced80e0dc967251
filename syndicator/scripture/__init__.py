"""Bible references in article bodies: found once when an article is cleaned, made into
links to each subscriber's chosen translation when it is rendered.

`find_references` reads sanitized HTML and returns where each reference is written;
`link_references` wraps them in links and hands the result back to `sanitize`, the one
maker of `SafeHtml`. The book table (`books`) is the data both rely on.
"""

from .books import BOOKS, BY_OSIS, Book
from .detect import Passage, Reference, find_references
from .link import link_references

# Bump on any change to what `find_references` returns: it is part of the clean
# fingerprint, so every stored article is cleaned (and searched) again.
DETECTOR_VERSION = 10

__all__ = [
    "BOOKS",
    "BY_OSIS",
    "DETECTOR_VERSION",
    "Book",
    "Passage",
    "Reference",
    "find_references",
    "link_references",
]
