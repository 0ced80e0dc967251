"""Previews: one subscriber, saved or a draft, rendered from the current store by the real
renderer, with sample church pages showing every embed form. Nothing is written by
`render_preview`; `syndicator preview ID` writes its result into a temporary folder.

The live output folder, the publish ledger and the store are not touched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from markupsafe import Markup

from .config import Config, SubscriberConfig
from .errors import SyndicatorError
from .ingest import load_stories
from .models import Story
from .publish import publish
from .render import Renderer, article_path, embed_codes, plan, urls_for
from .render.environment import make_environment
from .render.views import subscriber_view
from .store import Store

PREVIEW_PAGE = "preview.html"  # the sample church page, light (the template's name too)
DARK_PAGE = "preview-dark.html"  # the same church page on a dark background


@dataclass(frozen=True, slots=True)
class Preview:
    """A rendered preview, every path relative to the base URL it was rendered for."""

    outputs: Mapping[str, bytes]  # the subscriber's own files: `<id>/embed.js`, …
    pages: Mapping[str, bytes]  # the sample church pages: PREVIEW_PAGE and DARK_PAGE
    article: str | None  # the first listed story's page, when the subscriber has pages

    def get(self, path: str) -> bytes | None:
        """The file at `path`, or None."""
        return self.pages.get(path, self.outputs.get(path))


def current_stories(config: Config) -> list[Story]:
    """The stories a preview shows: the store's, as the next cycle would render them."""
    if not config.database_path.exists():
        raise SyndicatorError(
            f"{config.database_path}: no articles yet; run `syndicator run` first"
        )
    with Store(config.database_path) as store:
        return load_stories(config, store)


def render_preview(
    config: Config,
    subscriber: SubscriberConfig,
    base_url: str,
    now: datetime,
    stories: Sequence[Story] | None = None,
) -> Preview:
    """Render `subscriber` as if its outputs were served at `base_url`; write nothing.

    With `link_to = "detail_page"`, the light sample page is the detail page. `stories`
    defaults to `current_stories(config)`.
    """
    if stories is None:
        stories = current_stories(config)
    site = config.site.model_copy(update={"base_url": base_url})
    if subscriber.link_to == "detail_page":
        subscriber = subscriber.model_copy(update={"detail_page_url": base_url + PREVIEW_PAGE})
    renderer = Renderer(config.path.parent, site)
    decided = plan(
        subscriber,
        stories,
        {s.slug: s for s in stories},
        {},
        now,
        renderer.salt(subscriber.id),
    )
    files = renderer.render(decided)
    article = (
        article_path(subscriber.id, decided.listed[0].slug)
        if "articles" in subscriber.outputs and decided.listed
        else None
    )
    return Preview(
        outputs=files,
        pages={
            PREVIEW_PAGE: _sample_page(config, subscriber, base_url, files, dark=False),
            DARK_PAGE: _sample_page(config, subscriber, base_url, files, dark=True),
        },
        article=article,
    )


def _sample_page(
    config: Config,
    subscriber: SubscriberConfig,
    base_url: str,
    files: Mapping[str, bytes],
    *,
    dark: bool,
) -> bytes:
    """A church's page holding every embed form of `subscriber`'s `files`."""
    site = config.site.model_copy(update={"base_url": base_url})
    urls = urls_for(base_url, subscriber.id)
    feed = files.get(f"{subscriber.id}/feed.json")
    snippet = files.get(f"{subscriber.id}/snippet.html")
    return make_environment().get_template(PREVIEW_PAGE).render(
        sub=subscriber_view(site, subscriber),
        outputs=subscriber.outputs,
        dark=dark,
        snippet=Markup(snippet.decode()) if snippet else None,  # noqa: S704 - our own render
        iframe=Markup(embed_codes(urls, subscriber).get("Iframe", "")),  # noqa: S704
        feed_items=json.loads(feed)["items"] if feed else [],
        feeds=[
            (label, url)
            for output, label, url in (("rss", "RSS", urls.rss), ("atom", "Atom", urls.atom),
                                       ("json", "JSON", urls.json))
            if output in subscriber.outputs
        ],
    ).encode()  # fmt: skip


def build_preview(
    config: Config, subscriber: SubscriberConfig, folder: Path, base_url: str, now: datetime
) -> Path:
    """Write the preview of `subscriber` into `folder`, served at `base_url`; return the
    light sample page's path."""
    preview = render_preview(config, subscriber, base_url, now)
    publish(folder, dict(preview.outputs), managed=[subscriber.id])
    for name, page in preview.pages.items():
        (folder / name).write_bytes(page)
    return folder / PREVIEW_PAGE
