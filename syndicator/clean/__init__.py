"""The clean stage: each new or changed entry becomes a safe, tidy `Article` — once.

`clean_entry` does the structural work (BeautifulSoup) and ends in `sanitize`, the one
security boundary (nh3), which lives in `clean.sanitize`.
"""

from .normalise import (
    clean_entry,
    dump_article,
    fingerprint,
    load_article,
    make_excerpt,
    plain_line,
    plain_text,
    policy_for,
)
from .sanitize import Policy, sanitize

__all__ = [
    "Policy",
    "clean_entry",
    "dump_article",
    "fingerprint",
    "load_article",
    "make_excerpt",
    "plain_line",
    "plain_text",
    "policy_for",
    "sanitize",
]
