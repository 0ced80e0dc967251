"""`syndicator preview ID`: one subscriber rendered from the current store into a
temporary folder, with a sample church page showing every embed form.

The live output folder and the publish ledger are not touched.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from markupsafe import Markup

from .config import Config, SubscriberConfig
from .errors import SyndicatorError
from .ingest import load_stories
from .publish import publish
from .render import Renderer, embed_codes, plan, urls_for
from .render.environment import make_environment
from .render.views import subscriber_view
from .store import Store

PREVIEW_PAGE = "preview.html"


def build_preview(
    config: Config, subscriber: SubscriberConfig, folder: Path, base_url: str, now: datetime
) -> Path:
    """Render `subscriber` as if `folder` were served at `base_url`; return the page path.

    With `link_to = "detail_page"`, the preview page itself is the detail page.
    """
    if not config.database_path.exists():
        raise SyndicatorError(
            f"{config.database_path}: no articles yet; run `syndicator run` first"
        )
    site = config.site.model_copy(update={"base_url": base_url, "output_dir": folder})
    if subscriber.link_to == "detail_page":
        subscriber = subscriber.model_copy(update={"detail_page_url": base_url + PREVIEW_PAGE})
    with Store(config.database_path) as store:
        stories = load_stories(config, store)
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
    publish(folder, files, managed=[subscriber.id])
    urls = urls_for(base_url, subscriber.id)
    feed = files.get(f"{subscriber.id}/feed.json")
    snippet = files.get(f"{subscriber.id}/snippet.html")
    page = make_environment().get_template(PREVIEW_PAGE).render(
        sub=subscriber_view(site, subscriber),
        outputs=subscriber.outputs,
        snippet=Markup(snippet.decode()) if snippet else None,  # noqa: S704 - our own render
        iframe=Markup(embed_codes(urls, subscriber).get("Iframe", "")),  # noqa: S704
        feed_items=json.loads(feed)["items"] if feed else [],
        feeds=[
            (label, url)
            for output, label, url in (("rss", "RSS", urls.rss), ("atom", "Atom", urls.atom),
                                       ("json", "JSON", urls.json))
            if output in subscriber.outputs
        ],
    )  # fmt: skip
    path = folder / PREVIEW_PAGE
    path.write_text(page, encoding="utf-8")
    return path
