"""Render every output of one subscriber to bytes: `Renderer` turns a `plan.Plan` into files.

`Renderer` holds what lasts between subscribers: the site's template environments, the
salt of every fingerprint, and the sharing layer (`shared.Sharing`). It renders each
subscriber with `plain.Outputs` (one template call per output) when the subscriber has
a template folder of its own or sharing is off, else with `shared.SharedOutputs`, which
gives the same bytes from fragments made once for many subscribers. It also renders the
site-wide index.html and subscribers.opml.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment

from .. import __version__
from ..config import SiteConfig, SubscriberConfig, display_path
from ..errors import RenderError, TemplateTimeout
from ..models import SITE_FILES
from .cache import Bounded
from .codes import PASTE_ADVICE, embed_codes
from .environment import (
    SITE_TEMPLATES,
    SUBSCRIBER_TEMPLATES,
    SUBSCRIBERS_FOLDER,
    describe,
    make_environment,
    overrides_fingerprint,
    template_chain,
    template_deadline,
    template_file,
)
from .plain import Outputs
from .plan import Plan, settings_digest
from .shared import SharedOutputs, Sharing
from .views import SiteView, subscriber_view

log = logging.getLogger(__name__)

RENDER_VERSION = f"{__version__}/19"  # bump when output bytes change for the same inputs
LANGUAGES_KEPT = 64  # the site's environments, one per language (`cache.Bounded`)


class Renderer:
    """Renders subscribers' outputs; keeps what they share between calls."""

    def __init__(self, config_dir: Path, site: SiteConfig, *, share: bool = True) -> None:
        self.config_dir = config_dir
        self.site = site
        self.share = share
        folders = template_chain(config_dir)
        self._folders = folders
        self._site_envs: Bounded[str, Environment] = Bounded(LANGUAGES_KEPT)  # with its words
        self._sharing = Sharing(builtin=not folders)
        self._site_salt = f"{RENDER_VERSION}\0{site.model_dump_json()}\0" + (
            overrides_fingerprint(folders, site=True) if folders else ""
        )
        # Which subscribers have a template folder of their own, read once (like the site
        # folder above) instead of looking for each subscriber's on every call.
        own = config_dir / SUBSCRIBER_TEMPLATES
        self._own_folders = frozenset(
            path.name for path in (own.iterdir() if own.is_dir() else ()) if path.is_dir()
        )
        self._runaway: dict[str, tuple[Path, str]] = {}  # site template → (file, first to hit)

    def _site_env(self, language: str) -> Environment:
        """The site's environment in `language`, made on first use."""
        return self._site_envs.get_or_make(
            language, lambda: make_environment(self._folders, language)
        )

    def salt(self, subscriber_id: str) -> str:
        """What every output of this subscriber depends on besides its options and stories."""
        own = self._own_folder(subscriber_id)
        if own is None:
            return self._site_salt
        return self._site_salt + overrides_fingerprint([own])

    def _own_folder(self, subscriber_id: str) -> Path | None:
        if subscriber_id not in self._own_folders:
            return None
        return self.config_dir / SUBSCRIBER_TEMPLATES / subscriber_id

    def render(self, plan: Plan, *, unchanged: Collection[str] = ()) -> dict[str, bytes]:
        """Every output file of the planned subscriber: relative path → bytes; but the
        article pages of the `unchanged` slugs (see `page_tokens`), left as published.

        Raises `RenderError` naming the template and line when a template fails.
        """
        subscriber = plan.subscriber
        self._refuse_runaway(subscriber.id)
        try:
            with template_deadline():
                return dict(self._outputs(subscriber).files(plan, unchanged))
        except RenderError:
            raise
        except Exception as exc:
            log.debug("render failed for %s", subscriber.id, exc_info=True)
            culprit = template_file(exc) if isinstance(exc, TemplateTimeout) else None
            site = self.config_dir / SITE_TEMPLATES
            if culprit is not None and culprit.is_relative_to(site):
                name = culprit.relative_to(site).as_posix()
                if not name.startswith(f"{SUBSCRIBERS_FOLDER}/"):
                    self._runaway.setdefault(name, (culprit, subscriber.id))
            raise RenderError(subscriber.id, describe(exc)) from exc

    def _refuse_runaway(self, subscriber_id: str) -> None:
        """Fail at once a subscriber that would render a site template that already ran
        past its time limit in this run: it would again, for every subscriber in turn."""
        own = self._own_folder(subscriber_id)
        for name, (culprit, first) in self._runaway.items():
            if own is None or not (own / name).is_file():
                raise RenderError(
                    subscriber_id,
                    f"template {display_path(culprit)}: not rendered: it ran past its time "
                    f"limit for {first} earlier in this run",
                )

    def _outputs(self, subscriber: SubscriberConfig) -> Outputs:
        """What renders the subscriber: shared unless it has templates of its own."""
        own = self._own_folder(subscriber.id)
        if own is not None:
            chain = template_chain(self.config_dir, subscriber.id)
            return Outputs(make_environment(chain, subscriber.language), self.site, subscriber)
        env = self._site_env(subscriber.language)
        if not self.share:
            return Outputs(env, self.site, subscriber)
        return SharedOutputs(env, self.site, subscriber, self._sharing)

    def sort_key(self, subscriber: SubscriberConfig) -> tuple[Any, ...]:
        """Rendering subscribers in this order keeps each shared fragment's users together."""
        return self._sharing.sort_key(subscriber)

    def index_fingerprint(
        self, subscribers: Sequence[SubscriberConfig], settings: Mapping[str, bytes] = {}
    ) -> str:
        """Everything `render_index` depends on: equal fingerprints, equal bytes.

        `settings` holds, by id, the `settings_digest` of subscribers' options already
        made (`Plan.settings`), so that a run does not make them twice."""
        digest = hashlib.sha256(self._site_salt.encode())
        for subscriber in subscribers:
            made = settings.get(subscriber.id)
            digest.update(made or settings_digest(subscriber.model_dump_json()))
        return digest.hexdigest()

    def render_index(self, subscribers: Sequence[SubscriberConfig]) -> dict[str, bytes]:
        """The top-level index.html and subscribers.opml (site templates only).

        Raises `RenderError` naming the template and line when a template fails.
        """
        entries = [self._index_entry(subscriber) for subscriber in subscribers]
        context = {
            "site": SiteView(self.site.name, self.site.base_url),
            "subscribers": entries,
            "paste_advice": PASTE_ADVICE,
        }
        try:
            with template_deadline():
                return {
                    name: self._site_env("en").get_template(name).render(context).encode()
                    for name in SITE_FILES
                }
        except Exception as exc:
            log.debug("index render failed", exc_info=True)
            raise RenderError(None, describe(exc)) from exc

    def _index_entry(self, subscriber: SubscriberConfig) -> dict[str, Any]:
        view = subscriber_view(self.site, subscriber)
        urls = view.urls
        outputs = subscriber.outputs
        links = [
            (label, url)
            for output, label, url in (
                ("rss", "RSS feed", urls.rss),
                ("atom", "Atom feed", urls.atom),
                ("json", "JSON feed", urls.json),
                ("widget", "Widget page (iframe)", urls.widget),
                ("snippet", "HTML snippet", urls.snippet),
                ("embed", "Embed script", urls.embed),
                ("pages", "Archive", urls.archive),
            )
            if output in outputs
        ]
        return {
            "view": view,
            "links": links,
            "codes": list(embed_codes(urls, subscriber).items()),
            "feed": urls.rss if "rss" in outputs else (urls.atom if "atom" in outputs else None),
        }


__all__ = ["RENDER_VERSION", "Renderer"]
