"""One subscriber's outputs, each rendered by one template call: the plain renderer.

`Outputs.files` is everything a subscriber gets from a `Plan`: its style sheet, the
snippet, the widget and archive pages around its stories' list items, its feeds, the
embed script and an article page per story. Each is one template rendered with the
subscriber's own view (`views.subscriber_view`). To add an output, add it here.

The sharing layer (`shared.SharedOutputs`) is a subclass that overrides the steps a
template call makes (`fragment`, `page`, `feed_documents`, `embed`, `article`, `style`,
`footer`) to fill in work done once for many subscribers instead, with the same bytes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from ..config import SiteConfig, SubscriberConfig
from ..locales import words_for
from ..models import SUBSCRIBER_FILES, Story
from .feeds import FeedItem, feed_date, json_feed, rss_and_atom
from .plan import Plan, article_path
from .views import SubscriberView, item_view, subscriber_view

OWN_PAGES = ".syn"  # the style sheet root of our own pages (`style`)
SANS_SERIF = "system-ui,-apple-system,Segoe UI,Roboto,Helvetica Neue,Arial,sans-serif"
LISTS = frozenset({"snippet", "widget", "pages", "embed"})  # the outputs that list items
FEEDS = frozenset({"rss", "atom", "json"})

# The three feed documents (None for one not asked for).
Feeds = tuple[bytes | None, bytes | None, bytes | None]


class Outputs:
    """Renders one subscriber's output files with its environment, one template call each."""

    def __init__(self, env: Environment, site: SiteConfig, subscriber: SubscriberConfig) -> None:
        self.env = env
        self.subscriber = subscriber
        self.view = subscriber_view(site, subscriber)

    def files(self, plan: Plan, unchanged: Collection[str]) -> Iterator[tuple[str, bytes]]:
        """Every output file of the planned subscriber (relative path, bytes); but the
        article pages of the `unchanged` slugs, left as published."""
        outputs = self.subscriber.outputs
        prefix = f"{self.subscriber.id}/"
        if {"widget", "pages", "articles"}.intersection(outputs):
            yield prefix + SUBSCRIBER_FILES["style"], self.style(OWN_PAGES).encode()
        listed = plan.listed
        items = self.items(listed) if LISTS.intersection(outputs) else []
        # The archive and the embed's pager show `paged` stories; the rest, `limit`.
        paged = min(len(listed), self.subscriber.per_page * self.subscriber.pages)
        yield from self._lists(items, paged)
        if FEEDS.intersection(outputs):
            yield from self._feeds(plan)
        if "embed" in outputs:
            # Its pager shows the archive's stories; with detail_page, every listed story
            # can be opened (the feeds link to them too).
            yield prefix + SUBSCRIBER_FILES["embed"], self.embed(items[:paged], listed)
        for story in plan.pages:
            if story.slug not in unchanged:
                name = "gone.html" if story.presence == "removed" else "article.html"
                yield article_path(self.subscriber.id, story.slug), self.article(name, story)

    def _lists(self, items: Sequence[Markup], paged: int) -> Iterator[tuple[str, bytes]]:
        """The snippet, the widget and the archive pages (of the first `paged`) of the list
        `items`."""
        subscriber = self.subscriber
        outputs = subscriber.outputs
        prefix = f"{subscriber.id}/"
        front = items[: subscriber.limit]
        if "snippet" in outputs:
            css = Markup(self.style(f".syn--{subscriber.id}"))  # noqa: S704 - our CSS
            yield (
                prefix + SUBSCRIBER_FILES["snippet"],
                self.page("snippet.html", items=front, css=css),
            )
        archive = self.view.urls.archive if "pages" in outputs else None
        if "widget" in outputs:
            html = self.page("widget.html", items=front, archive=archive)
            yield prefix + SUBSCRIBER_FILES["widget"], html
        if "pages" in outputs:
            per_page = subscriber.per_page
            count = max(1, -(-paged // per_page))
            for number in range(1, count + 1):
                chunk = items[(number - 1) * per_page : number * per_page]
                html = self.page("page.html", items=chunk, number=number, count=count)
                yield prefix + SUBSCRIBER_FILES["pages"].format(number=number), html

    def _feeds(self, plan: Plan) -> Iterator[tuple[str, bytes]]:
        """The RSS, Atom and JSON feeds asked for, of the first `limit` stories."""
        outputs = self.subscriber.outputs
        items = [
            FeedItem(story, item_view(story, self.view), self.fragment("_feed_item.html", story))
            for story in plan.listed[: self.subscriber.limit]
        ]
        date = feed_date(items, plan.empty_date)
        wanted = {kind: kind in outputs for kind in ("rss", "atom", "json")}
        for kind, data in zip(wanted, self.feed_documents(items, date, **wanted), strict=True):
            if data is not None:
                yield f"{self.subscriber.id}/" + SUBSCRIBER_FILES[kind], data

    def feed_documents(
        self, items: Sequence[FeedItem], date: datetime, *, rss: bool, atom: bool, json: bool
    ) -> Feeds:
        """The RSS, Atom and JSON Feed documents of `items` (None for one not asked for)."""
        rss_bytes, atom_bytes = (
            rss_and_atom(self.view, items, date, rss=rss, atom=atom)
            if rss or atom
            else (None, None)
        )
        return rss_bytes, atom_bytes, json_feed(self.view, items) if json else None

    def items(self, stories: Sequence[Story]) -> list[Markup]:
        """The stories' list items (`_item.html`)."""
        return [self.fragment("_item.html", story) for story in stories]

    def fragment(self, name: str, story: Story) -> Markup:
        """The story's fragment `name` (its list item, feed content, embed story)."""
        return Markup(self.render_fragment(name, story, self.view))  # noqa: S704 - autoescaped

    def render_fragment(self, name: str, story: Story, sub: SubscriberView) -> str:
        """The template `name` of `story` rendered for the view `sub`."""
        return self.env.get_template(name).render(sub=sub, item=item_view(story, sub))

    def article(self, name: str, story: Story) -> bytes:
        """A story's page (`article.html`, or `gone.html` for a story removed upstream)."""
        return self.render_fragment(name, story, self.view).encode()

    def page(self, name: str, **extra: Any) -> bytes:
        """A list page (snippet, widget, archive page) of the subscriber's `items`."""
        return self.env.get_template(name).render(sub=self.view, **extra).encode()

    def footer(self) -> str:
        """The subscriber's footer paragraph (for the embed's data)."""
        return self.env.get_template("_footer.html").render(sub=self.view)

    def style(self, root: str) -> str:
        """The style sheet under `root`: `OWN_PAGES` for our own pages (the iframe page, the
        archive and articles), else the scope of the snippet or the embed on a host page."""
        theme = self.subscriber.theme
        if root == OWN_PAGES:
            # Our own pages have no host page to take colours or a font from.
            theme = theme.model_copy(update={"mode": "light"} if theme.mode == "inherit" else {})
        font = {
            "inherit": "inherit" if root != OWN_PAGES else SANS_SERIF,
            "system": SANS_SERIF,
            "serif": "Georgia,Times New Roman,serif",
        }[theme.font]
        return self.env.get_template("style.css").render(root=root, theme=theme, font=font)

    def embed(self, items: Sequence[Markup], listed: Sequence[Story]) -> bytes:
        """The embed script: its data (`embed_data`) in the `embed.js` template."""
        return self.render_embed(self.embed_data(items, listed))

    def render_embed(self, data: Mapping[str, Any]) -> bytes:
        """`embed.js` around `data` (a `ScriptData` when its literal is made already)."""
        return self.env.get_template("embed.js").render(data=data).encode()

    def embed_data(self, items: Sequence[Markup], listed: Sequence[Story]) -> dict[str, Any]:
        """What the embed script shows: its list `items`, with detail_page every listed
        story, the footer, the style sheet and the words of its pager."""
        subscriber = self.subscriber
        _ = words_for(subscriber.language)
        stories = None
        shown = {
            "previous": _("Previous"),
            "next": _("Next"),
            "pages": _("Pages"),
            "page_of": _("Page %(n)s of %(count)s", n="{n}", count="{count}"),
        }
        if subscriber.link_to == "detail_page":
            stories = {story.slug: str(self.fragment("_story.html", story)) for story in listed}
            # Only a detail page shows a story, or says that `?story=` is no longer listed.
            shown["back"] = _("Back to the news")
            shown["gone"] = _("This article is no longer available") + "."
        return {
            "lang": subscriber.language,
            "layout": subscriber.theme.layout,
            "per": subscriber.per_page,
            "css": self.style(":host .syn"),
            "items": [str(item) for item in items],
            "empty": f"<p>{Markup.escape(_('No news at the moment.'))}</p>",
            "footer": self.footer().strip(),
            "stories": stories,
            "w": shown,
        }
