"""Scripture links: a story's body with its Bible references linked the way a subscriber
chose (`[scripture] link` and `version`).

The references were found once, when the article was cleaned (`Article.references`);
here each subscriber's provider and translation fill in the URLs. A story's linked body
is made once per (story, provider, version, source policy) and kept, so subscribers with
the same choice share it, and the sharing layer's keys (`views.fragment_key`) hold the
choice, so subscribers with different ones never do.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

from ..clean.sanitize import DEFAULT_POLICY, Policy
from ..config import SubscriberOptions, resolved_version
from ..models import SafeHtml, Story
from ..scripture import link_references
from ..scripture.providers import passage_url
from .cache import Bounded

LINKED_CHARS = 8_000_000  # linked bodies kept (`cache.Bounded`), in characters


@dataclass(frozen=True, slots=True)
class ScriptureChoice:
    """Where a subscriber's scripture references lead."""

    provider: str  # a `scripture.providers.PROVIDERS` key: "biblegateway", "youversion"
    version: str  # the translation's abbreviation on it, resolved ("NIV")

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.version)


def scripture_choice(options: SubscriberOptions) -> ScriptureChoice | None:
    """The subscriber's choice; None when its references stay plain text."""
    settings = options.scripture
    version = resolved_version(settings, options.language)
    return ScriptureChoice(settings.link, version) if version else None


def scripture_key(options: SubscriberOptions) -> tuple[str, ...]:
    """The choice as part of a sharing key (sortable: () for no links)."""
    choice = scripture_choice(options)
    return choice.key if choice else ()


class _Linked:
    """Linked bodies by (story version, choice, policy), in one `cache.Bounded`; the web
    console renders previews in threads, so it is used under a lock."""

    def __init__(self, limit: int) -> None:
        self.bodies: Bounded[tuple[str, ScriptureChoice, Policy], SafeHtml] = Bounded(limit, len)
        self.lock = threading.Lock()

    def body(self, story: Story, choice: ScriptureChoice) -> SafeHtml:
        policy = story.policy or DEFAULT_POLICY
        key = (story.version, choice, policy)
        with self.lock:
            found = self.bodies.get(key)
        if found is not None:
            return found
        article = story.article
        url_for = functools.partial(passage_url, choice.provider, choice.version)
        made = link_references(article.body_html, article.references, url_for, policy)
        with self.lock:
            return self.bodies.put(key, made)


_linked = _Linked(LINKED_CHARS)


def linked_body(story: Story, choice: ScriptureChoice | None) -> SafeHtml:
    """The story's body with its references linked for `choice` (as it is without one,
    or when it cites nothing). Links open as the story's source says (`external_links`)
    and carry rel="noopener"; the result has passed `sanitize` with the source's policy."""
    if choice is None or not story.article.references:
        return story.article.body_html
    return _linked.body(story, choice)
