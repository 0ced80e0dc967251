"""Render every output of one subscriber to bytes: `plan` decides, `Renderer` renders.

`plan` is pure: from the stories, the subscriber's options, its page ledger and `now` it
works out what the subscriber shows and a fingerprint of everything its outputs depend
on. An unchanged fingerprint means unchanged outputs, so the subscriber is skipped.

`Renderer` shares work across subscribers: a story's list item, feed content and article
page are rendered once per combination of the options their template reads
(`views.fragment_key`; with site templates, `views.variant`) with holes where subscribers
differ (id, name, footer, site, detail page, the story's date), kept cut at the holes
(`views.Pieces`) and filled per subscriber. So are a story's RSS/Atom/JSON Feed entries
(`feeds.shared_entries`), the feeds' channels (`feeds.Channels`) and, with the built-in
templates, the list pages and the embed around their items (`_shell`). Subscribers with
their own template folder, and any fragment whose holes a template mangled, are
rendered on their own instead.
"""

from __future__ import annotations

import functools
import hashlib
import html
import logging
import math
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment
from markupsafe import Markup

from .. import __version__
from ..config import SiteConfig, SubscriberConfig, SubscriberOptions, display_path
from ..errors import RenderError, TemplateTimeout
from ..locales import words_for
from ..models import SITE_FILES, SUBSCRIBER_FILES, Story
from ..select import capacity, select
from .cache import Bounded
from .environment import (
    SITE_TEMPLATES,
    SUBSCRIBER_TEMPLATES,
    SUBSCRIBERS_FOLDER,
    ScriptData,
    describe,
    js_data,
    js_string_body,
    make_environment,
    overrides_fingerprint,
    template_chain,
    template_deadline,
    template_file,
)
from .feeds import (
    Channels,
    FeedItem,
    SharedEntry,
    feed_date,
    has_mark,
    json_feed,
    json_feed_shared,
    rss_and_atom,
    rss_and_atom_shared,
    shared_entries,
)
from .views import (
    DATE,
    EncodedPieces,
    Pieces,
    SiteView,
    SubscriberView,
    Urls,
    date_value,
    fragment_key,
    hole,
    hole_values,
    hole_view,
    item_view,
    raw_hole_values,
    subscriber_view,
    urls_for,
    variant,
    variant_key,
)

log = logging.getLogger(__name__)

RENDER_VERSION = f"{__version__}/18"  # bump when output bytes change for the same inputs
# What the sharing layer keeps between subscribers (`cache.Bounded`, least recently used
# dropped past these).
FRAGMENT_CHARS = 36_000_000  # stories' shared fragments with holes, in characters
FILE_BYTES = 24_000_000  # shared article pages with holes, in bytes
ENTRY_CHARS = 12_000_000  # stories' shared RSS/Atom/JSON entries, in characters
SHELLS_KEPT = 4096  # built-in list pages and embeds with holes
STYLES_KEPT = 4096  # style sheets
DATE_OPTIONS_KEPT = 4096  # distinct date options whose stories' dates are kept
LANGUAGES_KEPT = 64  # the site's environments, one per language
ENTRIES = "entries"  # the shared RSS/Atom entries' key, kept with the templates' keys
ITEMS, CSS = "l", "c"  # the holes of a list page's items and style sheet (`_shell`)
DATA = "j"  # the hole of the embed's data literal
OWN_PAGES = ".syn"  # the style sheet root of our own pages (`_style`)
SANS_SERIF = "system-ui,-apple-system,Segoe UI,Roboto,Helvetica Neue,Arial,sans-serif"


@dataclass(frozen=True, slots=True)
class Plan:
    """What one subscriber's outputs show, and the fingerprint of all their inputs."""

    subscriber: SubscriberConfig
    listed: tuple[Story, ...]  # newest first; feeds and widget take the first `limit`
    pages: tuple[Story, ...]  # stories with an articles/<slug>.html (listed + kept + gone)
    ledger: Mapping[str, datetime | None]  # slug → when it left the lists (None: listed)
    fingerprint: str
    settings: str  # the subscriber's options as JSON (part of the fingerprint)
    salt: str  # what its outputs depend on besides options and stories (templates, site)
    empty_date: datetime  # the date of its feeds when they list nothing (`Selections`)
    # Pages on disk of stories no longer stored (a database lost and started afresh, a
    # source removed): kept as they are, never rendered, until `keep_pages_days` passes.
    found: tuple[str, ...] = ()


class Selections:
    """`select` for many subscribers over the same stories at the same `now`: each
    distinct selection is worked out once, with the fingerprint bytes of what it shows."""

    def __init__(self, stories: Sequence[Story], now: datetime) -> None:
        self.stories = stories
        self.now = now
        self._memo: dict[tuple[Any, ...], tuple[tuple[Story, ...], bytes]] = {}

    @functools.cached_property
    def empty_date(self) -> datetime:
        """The date of a feed that lists nothing: the newest story's, as of which nothing
        was for it; `now` while there is no story at all. (The epoch, its date before,
        is one the W3C feed validator calls implausible.)"""
        return max((story.date for story in self.stories), default=self.now)

    def select(self, options: SubscriberOptions) -> tuple[tuple[Story, ...], bytes]:
        """The stories `options` selects, and their fingerprint bytes."""
        key = (
            options.categories,
            options.exclude_categories,
            options.keywords,
            options.exclude_keywords,
            options.max_age_days,
            capacity(options),
        )
        found = self._memo.get(key)
        if found is None:
            listed = select(self.stories, options, self.now)
            found = self._memo[key] = (listed, b"".join(_token(story) for story in listed))
        return found


def _token(story: Story) -> bytes:
    """What a story contributes to a fingerprint."""
    return (
        f"{story.slug}\0{story.version}\0{story.presence}\0{story.outlet}\0{story.language}\0"
    ).encode()


def plan(
    subscriber: SubscriberConfig,
    stories: Sequence[Story],
    by_slug: Mapping[str, Story],
    previous: Mapping[str, datetime | None],
    now: datetime,
    salt: str,
    *,
    selections: Selections | None = None,
) -> Plan:
    """Decide what `subscriber` shows now. Pure.

    `previous` is its page ledger. A story that leaves its lists keeps its page for
    `keep_pages_days` (links given out keep working); a story removed upstream keeps a
    "no longer available" page for as long. `selections` shares the selecting among
    many subscribers planned over the same `stories` and `now`.
    """
    if selections is None:
        selections = Selections(stories, now)
    listed, listed_bytes = selections.select(subscriber)
    ledger: dict[str, datetime | None] = {}
    pages: list[Story] = []
    found: list[str] = []
    if "articles" in subscriber.outputs:
        ledger = {story.slug: None for story in listed}
        pages = list(listed)
        keep = timedelta(days=subscriber.keep_pages_days)
        for slug, unlisted in sorted(previous.items()):
            if slug in ledger:
                continue
            since = unlisted or now
            if now - since < keep:
                ledger[slug] = since
                story = by_slug.get(slug)
                if story is None:
                    found.append(slug)
                else:
                    pages.append(story)
    digest = hashlib.sha256(salt.encode())
    settings = subscriber.model_dump_json()
    digest.update(settings.encode())
    digest.update(b"|" + listed_bytes + b"|")
    for story in pages[len(listed) :]:
        digest.update(_token(story))
    for slug in found:
        digest.update(f"found\0{slug}\0{ledger[slug]}\0".encode())
    return Plan(
        subscriber,
        listed,
        tuple(pages),
        ledger,
        digest.hexdigest(),
        settings,
        salt,
        selections.empty_date,
        tuple(found),
    )


def article_path(subscriber_id: str, slug: str) -> str:
    """Where a subscriber's article page of a story is published, under the output root."""
    return f"{subscriber_id}/" + SUBSCRIBER_FILES["articles"].format(slug=slug)


def page_tokens(plan: Plan) -> dict[str, str]:
    """Slug → what the subscriber's article page of that story is rendered from: its
    story, the subscriber's options and the templates. Pure.

    A page whose token is the one it was last published with has the same bytes, so a
    subscriber re-rendered for another reason (a new story, say) leaves it alone.
    """
    basis = hashlib.sha256(f"{plan.salt}\0{plan.settings}\0".encode())
    tokens = {}
    for story in plan.pages:
        digest = basis.copy()
        digest.update(_token(story))
        tokens[story.slug] = digest.hexdigest()[:32]
    return tokens


@dataclass
class _Target:
    """One subscriber being rendered: its environment and its two views."""

    subscriber: SubscriberConfig
    env: Environment
    shared: bool
    real: SubscriberView
    holes: SubscriberView
    values: dict[str, str]
    raw: dict[str, str]
    keys: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # template → sharing key
    encoded: dict[str, bytes] = field(default_factory=dict)  # `values` as UTF-8
    scripted: dict[str, str] = field(default_factory=dict)  # `values` in JavaScript strings
    # Each story's date as `_date` gives it, shared by subscribers with the same date options.
    dates: dict[datetime, tuple[str, str, bytes]] = field(default_factory=dict)

    def values_for(self, story: Story) -> dict[str, str]:
        """What fills the holes of `story`'s shared fragments for this subscriber (the
        same dict each time, with this story's date: used before the next call)."""
        self.values[DATE] = self._date(story)[0]
        return self.values

    def script_values_for(self, story: Story) -> dict[str, str]:
        """`values_for`, as the insides of JavaScript strings (`js_string_body`)."""
        scripted = self.scripted
        if not scripted:
            scripted.update((key, js_string_body(value)) for key, value in self.values.items())
        scripted[DATE] = self._date(story)[1]
        return scripted

    def encoded_for(self, story: Story) -> dict[str, bytes]:
        """`values_for`, encoded as UTF-8."""
        encoded = self.encoded
        if not encoded:
            encoded.update((key, value.encode()) for key, value in self.values.items())
        encoded[DATE] = self._date(story)[2]
        return encoded

    def _date(self, story: Story) -> tuple[str, str, bytes]:
        """The story's date hole value for HTML, inside JavaScript strings, and as UTF-8.
        `dates` is shared by subscribers with the same date options."""
        found = self.dates.get(story.date)
        if found is None:
            text = date_value(story, self.subscriber)
            found = self.dates[story.date] = (text, js_string_body(text), text.encode())
        return found


class Renderer:
    """Renders subscribers' outputs; keeps the fragments they share between calls."""

    def __init__(self, config_dir: Path, site: SiteConfig, *, share: bool = True) -> None:
        self.config_dir = config_dir
        self.site = site
        self.share = share
        folders = template_chain(config_dir)
        self._folders = folders
        self._site_envs: Bounded[str, Environment] = Bounded(LANGUAGES_KEPT)  # with its words
        # Built-in templates read known options (`fragment_key`); site templates anything.
        self._key = variant_key if folders else fragment_key
        self._site_salt = f"{RENDER_VERSION}\0{site.model_dump_json()}\0" + (
            overrides_fingerprint(folders, site=True) if folders else ""
        )
        # Which subscribers have a template folder of their own, read once (like the site
        # folder above) instead of looking for each subscriber's on every call.
        own = config_dir / SUBSCRIBER_TEMPLATES
        self._own_folders = frozenset(
            path.name for path in (own.iterdir() if own.is_dir() else ()) if path.is_dir()
        )
        self._fragments: Bounded[tuple[Any, ...], Pieces] = Bounded(FRAGMENT_CHARS, len)
        self._files: Bounded[tuple[Any, ...], EncodedPieces] = Bounded(FILE_BYTES, len)
        # By date options: each story's date as `_Target._date` gives it.
        self._dates: Bounded[tuple[str, str, str], dict[datetime, tuple[str, str, bytes]]]
        self._dates = Bounded(DATE_OPTIONS_KEPT)
        self._entries: Bounded[tuple[Any, ...], SharedEntry] = Bounded(ENTRY_CHARS, len)
        self._channels = Channels()
        self._shells: Bounded[tuple[Any, ...], Pieces] = Bounded(SHELLS_KEPT)
        self._runaway: dict[str, tuple[Path, str]] = {}  # site template → (file, first to hit)
        self._builtin = not folders  # the site has no template folder of its own
        self._css: Bounded[tuple[Any, ...], str] = Bounded(STYLES_KEPT)

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
                return dict(self._render(plan, unchanged))
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

    def _target(self, subscriber: SubscriberConfig) -> _Target:
        own = self._own_folder(subscriber.id)
        language = subscriber.language
        if own is None:
            env = self._site_env(language)
        else:
            env = make_environment(template_chain(self.config_dir, subscriber.id), language)
        real = subscriber_view(self.site, subscriber)
        dates = self._dates.get_or_make(
            (subscriber.date_format, subscriber.timezone, subscriber.language), dict
        )
        return _Target(
            dates=dates,
            subscriber=subscriber,
            env=env,
            shared=self.share and own is None,
            real=real,
            holes=hole_view(self.site, subscriber) if self.share and own is None else real,
            values=hole_values(subscriber),
            raw=raw_hole_values(subscriber),
        )

    def sort_key(self, subscriber: SubscriberConfig) -> tuple[Any, ...]:
        """Rendering subscribers in this order keeps each shared fragment's users together."""
        return (
            *(self._key(name, subscriber) for name in ("article.html", "_feed_item.html")),
            self._key("_item.html", subscriber),
            variant(subscriber),
            subscriber.id,
        )

    def _render(self, plan: Plan, unchanged: Collection[str]) -> Iterator[tuple[str, bytes]]:
        subscriber = plan.subscriber
        target = self._target(subscriber)
        real = target.real
        outputs = set(subscriber.outputs)
        prefix = f"{subscriber.id}/"
        listed = plan.listed
        front = listed[: subscriber.limit]  # feeds, snippet and widget
        paged = min(len(listed), subscriber.per_page * subscriber.pages)  # archive and pager
        context = {"sub": real}

        if outputs & {"widget", "pages", "articles"}:
            yield prefix + SUBSCRIBER_FILES["style"], self._style(target, OWN_PAGES).encode()

        needs_items = outputs & {"snippet", "widget", "pages", "embed"}
        shared_items: list[Pieces | None] = [None] * len(listed)
        if needs_items and target.shared:
            shared_items = [self._shared(target, "_item.html", story) for story in listed]
        items = [
            self._fragment(target, "_item.html", story, pieces)
            for story, pieces in zip(listed, shared_items, strict=True)
            if needs_items
        ]

        if "snippet" in outputs:
            css = Markup(self._style(target, f".syn--{subscriber.id}"))  # noqa: S704 - our CSS
            html = self._page(target, "snippet.html", context, items=items[: len(front)], css=css)
            yield prefix + SUBSCRIBER_FILES["snippet"], html

        archive = real.urls.archive if "pages" in outputs else None
        if "widget" in outputs:
            html = self._page(
                target, "widget.html", context, items=items[: len(front)], archive=archive
            )
            yield prefix + SUBSCRIBER_FILES["widget"], html

        if "pages" in outputs:
            per_page = subscriber.per_page
            count = max(1, -(-paged // per_page))
            for number in range(1, count + 1):
                chunk = items[(number - 1) * per_page : number * per_page]
                html = self._page(
                    target, "page.html", context, items=chunk, number=number, count=count
                )
                yield prefix + SUBSCRIBER_FILES["pages"].format(number=number), html

        if outputs & {"rss", "atom", "json"}:
            feed_items = [
                FeedItem(
                    story, item_view(story, real), self._fragment(target, "_feed_item.html", story)
                )
                for story in front
            ]
            wanted = {"rss": "rss" in outputs, "atom": "atom" in outputs}
            entries = self._shared_entries(target, feed_items)
            date = feed_date(feed_items, plan.empty_date)
            if not any(wanted.values()):
                rss = atom = None
            elif entries is None:
                rss, atom = rss_and_atom(real, feed_items, date, **wanted)
            else:
                rss, atom = rss_and_atom_shared(
                    real,
                    feed_items,
                    date,
                    entries,
                    target.raw,
                    channels=self._channels,
                    holes=target.holes,
                    **wanted,
                )
            if rss is not None:
                yield prefix + SUBSCRIBER_FILES["rss"], rss
            if atom is not None:
                yield prefix + SUBSCRIBER_FILES["atom"], atom
            if "json" in outputs:
                json = (
                    json_feed(real, feed_items)
                    if entries is None
                    else json_feed_shared(real, feed_items, entries, target.raw)
                )
                yield prefix + SUBSCRIBER_FILES["json"], json

        if "embed" in outputs:
            # Its pager shows the archive's stories; with detail_page, every listed story
            # can be opened (the feeds link to them too).
            yield (
                prefix + SUBSCRIBER_FILES["embed"],
                self._embed(target, items[:paged], listed, shared_items[:paged]),
            )

        for story in plan.pages:
            if story.slug in unchanged:
                continue
            name = "gone.html" if story.presence == "removed" else "article.html"
            yield article_path(subscriber.id, story.slug), self._file(target, name, story)

    def _page(self, target: _Target, name: str, context: dict[str, Any], **extra: Any) -> bytes:
        """A list page (snippet, widget, archive page) of the subscriber's `items`."""
        if target.shared and self._builtin:
            shell = self._shell(target, name, extra)
            if shell is not None:
                values = {**target.values, ITEMS: "".join(extra["items"])}
                if "css" in extra:
                    values[CSS] = str(extra["css"])
                return shell.fill(values).encode()
        template = target.env.get_template(name)
        return template.render(**context, **extra).encode()

    def _shell(self, target: _Target, name: str, extra: Mapping[str, Any]) -> Pieces | None:
        """The built-in list page `name` for every subscriber with the same language,
        layout and page numbers, with holes for its values, its items and its style sheet;
        None when it cannot be cut at them. (Built-in only: the key holds what these
        templates read; a site's may read anything.)"""
        subscriber = target.subscriber
        archive = extra.get("archive")
        key = (
            name,
            subscriber.language,
            subscriber.theme.layout,
            bool(extra["items"]),
            extra.get("number"),
            extra.get("count"),
            archive is not None,
        )

        def render() -> str:
            holes = target.holes
            placeholder = Markup(hole(ITEMS))  # noqa: S704 - a hole: NUL, a letter, NUL
            values: dict[str, Any] = {**extra, "items": [placeholder] if extra["items"] else []}
            if "css" in extra:
                values["css"] = Markup(hole(CSS))  # noqa: S704 - a hole
            if archive is not None:
                values["archive"] = holes.urls.archive
            template = target.env.get_template(name)
            return template.render(sub=holes, **values)

        return self._shell_of(key, render)

    def _shell_of(self, key: tuple[Any, ...], render: Callable[[], str]) -> Pieces | None:
        """The built-in template output `render` makes with holes, kept under `key`, cut at
        its holes; None when it cannot be cut (see `Pieces.split`)."""
        shell = self._shells.get_or_make(key, lambda: Pieces.split(render()) or _MANGLED)
        return None if shell is _MANGLED else shell

    def _style(self, target: _Target, root: str) -> str:
        """The style sheet under `root`: `OWN_PAGES` for our own pages (the iframe page, the
        archive and articles), else the scope of the snippet or the embed on a host page."""
        theme = target.subscriber.theme
        key = (id(target.env), root, theme)
        css = self._css.get(key)
        if css is None:
            if root == OWN_PAGES:
                # Our own pages have no host page to take colours or a font from.
                theme = theme.model_copy(
                    update={"mode": "light"} if theme.mode == "inherit" else {}
                )
            font = {
                "inherit": "inherit" if root != OWN_PAGES else SANS_SERIF,
                "system": SANS_SERIF,
                "serif": "Georgia,Times New Roman,serif",
            }[theme.font]
            css = target.env.get_template("style.css").render(root=root, theme=theme, font=font)
            if target.shared:
                self._css.put(key, css)
        return css

    def _fragment(
        self, target: _Target, name: str, story: Story, pieces: Pieces | None = None
    ) -> Markup:
        """A story's fragment for this subscriber: shared when possible, else its own.
        `pieces`: its shared pieces when they were looked up already."""
        if target.shared:
            if pieces is None:
                pieces = self._shared(target, name, story)
            if pieces is not None:
                # Rendered by our autoescaping templates; the values are escaped.
                return Markup(pieces.fill(target.values_for(story)))  # noqa: S704
            # A template transformed a hole (e.g. `sub.name|upper`): render this one unshared.
        return Markup(self._render_fragment(target, name, story, target.real))  # noqa: S704

    def _file(self, target: _Target, name: str, story: Story) -> bytes:
        """A story's fragment that is a whole file (its article page), as bytes."""
        if target.shared:
            key = (*self._story_key(story), self._shared_key(target, name))
            pieces = self._files.get(key)
            if pieces is None:
                shared = self._shared(target, name, story, keep=False)
                pieces = self._files.put(key, _MANGLED_FILE if shared is None else shared.encoded())
            if pieces is not _MANGLED_FILE:
                return pieces.fill(target.encoded_for(story))
        return self._render_fragment(target, name, story, target.real).encode()

    def _shared(
        self, target: _Target, name: str, story: Story, *, keep: bool = True
    ) -> Pieces | None:
        """The story's fragment with holes, as every subscriber sharing it gets it (kept
        for the next one unless `keep` is false); None when a template mangled a hole."""
        key = (*self._story_key(story), self._shared_key(target, name))
        pieces = self._fragments.get(key)
        if pieces is None:
            text = self._render_fragment(target, name, story, target.holes)
            pieces = Pieces.split(text) or _MANGLED
            if keep:
                self._fragments.put(key, pieces)
        return None if pieces is _MANGLED else pieces

    @staticmethod
    def _story_key(story: Story) -> tuple[str, str, str, str | None]:
        return (story.slug, story.article.content_hash, story.presence, story.language)

    def _shared_key(self, target: _Target, name: str) -> tuple[Any, ...]:
        """The sharing key of template `name` for this subscriber (worked out once)."""
        key = target.keys.get(name)
        if key is None:
            key = target.keys[name] = self._key(name, target.subscriber)
        return key

    def _shared_entries(
        self, target: _Target, items: Sequence[FeedItem]
    ) -> list[SharedEntry] | None:
        """The items' RSS/Atom entries shared by the subscribers of one `_entries_key`, or None
        when this subscriber's feeds must be made on their own."""
        if not target.shared:
            return None
        if any(has_mark(item) for item in items):
            return None
        shared = self._entries_key(target)
        keys = [(*self._story_key(item.story), shared) for item in items]
        found = {key: self._entries.get(key) for key in keys}
        missing = [
            (key, item.story) for key, item in zip(keys, items, strict=True) if found[key] is None
        ]
        if missing:
            made = []
            for _, story in missing:
                pieces = self._shared(target, "_feed_item.html", story)
                if pieces is None or DATE in pieces.layout[1::2]:
                    # A template transformed a hole (see `_fragment`), or shows the date,
                    # which entries shared by subscribers of other date options cannot hold.
                    return None
                made.append((story, item_view(story, target.holes), pieces.text))
            for (key, _), entry in zip(missing, shared_entries(target.holes, made), strict=True):
                self._entries.put(key, entry)
                found[key] = entry
        return [entry for entry in (found[key] for key in keys) if entry is not None]

    def _entries_key(self, target: _Target) -> tuple[Any, ...]:
        """What a story's shared RSS/Atom entries depend on: its content fragment, and what
        `feeds._add_entry` reads besides (summary length, pictures, the link's form)."""
        key = target.keys.get(ENTRIES)
        if key is None:
            o = target.subscriber
            summary = o.excerpt_words if o.content != "title" else None
            pictured = o.content != "title" and o.image != "none"
            key = target.keys[ENTRIES] = (
                self._shared_key(target, "_feed_item.html"),
                summary,
                pictured,
                o.link_to,
                o.utm,
            )
        return key

    def _render_fragment(
        self, target: _Target, name: str, story: Story, sub: SubscriberView
    ) -> str:
        template = target.env.get_template(name)
        return template.render(sub=sub, item=item_view(story, sub))

    def _embed(
        self,
        target: _Target,
        items: Sequence[Markup],
        listed: Sequence[Story],
        shared_items: Sequence[Pieces | None],  # the shared pieces of `items`
    ) -> bytes:
        subscriber = target.subscriber
        _ = words_for(subscriber.language)
        env = target.env
        footer = self._footer(target)
        stories = None
        shown = {
            "previous": _("Previous"),
            "next": _("Next"),
            "pages": _("Pages"),
            "page_of": _("Page %(n)s of %(count)s", n="{n}", count="{count}"),
        }
        if subscriber.link_to == "detail_page":
            stories = {
                story.slug: str(self._fragment(target, "_story.html", story)) for story in listed
            }
            # Only a detail page shows a story, or says that `?story=` is no longer listed.
            shown["back"] = _("Back to the news")
            shown["gone"] = _("This article is no longer available") + "."
        data = {
            "lang": subscriber.language,
            "layout": subscriber.theme.layout,
            "per": subscriber.per_page,
            "css": self._style(target, ":host .syn"),
            "items": [str(item) for item in items],
            "empty": f"<p>{Markup.escape(_('No news at the moment.'))}</p>",
            "footer": footer.strip(),
            "stories": stories,
            "w": shown,
        }
        if target.shared:
            literals = self._script_literals(target, data, listed, shared_items)
            if literals is not None:
                script = ScriptData.of(data, literals)
                if self._builtin:  # the template around the data is the same for many
                    stand_in = ScriptData(data, Markup(hole(DATA)))  # noqa: S704 - a hole
                    shell = self._shell_of(
                        ("embed.js", stories is None),
                        lambda: env.get_template("embed.js").render(data=stand_in),
                    )
                    if shell is not None:
                        return shell.fill({DATA: str(script.literal)}).encode()
                data = script
        return env.get_template("embed.js").render(data=data).encode()

    def _footer(self, target: _Target) -> str:
        """The subscriber's footer paragraph (for the embed's data)."""
        real = target.real
        if target.shared and self._builtin:
            holes = target.holes
            shell = self._shell_of(
                ("_footer.html", real.language),
                lambda: target.env.get_template("_footer.html").render(sub=holes),
            )
            if shell is not None:
                return shell.fill(target.values)
        return target.env.get_template("_footer.html").render(sub=real)

    def _script_literals(
        self,
        target: _Target,
        data: Mapping[str, Any],
        listed: Sequence[Story],
        shared_items: Sequence[Pieces | None],
    ) -> dict[str, str] | None:
        """The JavaScript literal of each member of the embed's `data`, its items and
        stories filled in from shared pieces; None when one of those cannot be shared."""
        literals = {
            key: str(js_data(value))
            for key, value in data.items()
            if key not in ("items", "stories")
        }
        items = []
        for story, pieces in zip(listed, shared_items, strict=False):  # items: the first stories
            literal = self._script(target, pieces, story)
            if literal is None:
                return None
            items.append(literal)
        literals["items"] = f"[{','.join(items)}]"
        literals["stories"] = "null"
        if data["stories"] is not None:
            stories = [
                (
                    story.slug,
                    self._script(target, self._shared(target, "_story.html", story), story),
                )
                for story in listed
            ]
            if any(literal is None for _, literal in stories):
                return None
            members = dict(stories)
            literals["stories"] = (
                "{" + ",".join(f"{js_data(slug)}:{members[slug]}" for slug in sorted(members)) + "}"
            )
        return literals

    def _script(self, target: _Target, pieces: Pieces | None, story: Story) -> str | None:
        """The story's fragment for this subscriber as a JavaScript string literal, from
        its shared `pieces`; None when they cannot be used."""
        if pieces is None:
            return None
        script = pieces.forms.get("js", _MANGLED)
        if script is _MANGLED:
            script = pieces.forms["js"] = pieces.mapped(js_string_body)
            if any(text.endswith("<") for text in script.layout[:-1:2]):
                script = pieces.forms["js"] = None  # `</` or `<!` would be made across a hole
        if script is None:
            return None
        return f'"{script.fill(target.script_values_for(story))}"'

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


_MANGLED = Pieces(("mangled",))  # cached for a fragment whose holes a template transformed
_MANGLED_FILE = _MANGLED.encoded()


def settings_digest(settings: str) -> bytes:
    """A subscriber's options JSON, as the index fingerprint takes it (32 bytes kept per
    subscriber during a run, not the JSON)."""
    return hashlib.sha256(settings.encode()).digest()


PASTE_ADVICE = (
    "Paste a code as HTML where the news should appear, never into a text paragraph.",
    'WordPress: a "Custom HTML" block. Wix: Add Elements > Embed Code > Embed HTML. '
    "Squarespace: a Code block. Plain HTML: anywhere in <body>.",
    "If the site allows no script (Planning Center, some hosted plans and editors), paste "
    "the iframe instead, or give the RSS address to the site's own RSS or news-feed block.",
)  # shown with the codes: by `embed-code` and in index.html


def frame_height(options: SubscriberOptions) -> int:
    """The iframe code's height in CSS pixels: enough for the widget's `limit` stories at
    phone width (375 px, where they are tallest), so that no inner scroll bar shows.

    Per story at 375 px, measured in Chromium on the embed tests' stories: about 145 px of
    title, date and credit, 4.6 px per excerpt word (55: 400 px a story), some 1,000 px of
    a full-text lead, 250 px of an image above the text; 120 px of footer; 10 % spare."""
    story = 145.0
    if options.content == "excerpt":
        story += 4.6 * options.excerpt_words
    elif options.content == "full":
        story += 1000
    pictured = options.content != "title" and options.image != "none"
    if pictured and (options.image == "full" or options.image_position == "top"):
        story += 250
    if pictured and options.theme.layout == "cards":
        story += 250
    return math.ceil(1.1 * (120 + options.limit * story) / 10) * 10


def embed_codes(urls: Urls, subscriber: SubscriberConfig) -> dict[str, str]:
    """The copy-paste HTML a church puts on its site, per embed form it receives."""
    codes: dict[str, str] = {}
    _ = words_for(subscriber.language)
    title = html.escape(_("News for %(name)s", name=subscriber.name))  # as the widget's own
    if "embed" in subscriber.outputs:
        codes["Script (recommended)"] = f'<script src="{urls.embed}" async></script>'
    if "widget" in subscriber.outputs:
        codes["Iframe"] = (
            # Sized by attributes, not a style attribute: it works under a strict CSP.
            f'<iframe src="{urls.widget}" title="{title}" loading="lazy" '
            f'width="100%" height="{frame_height(subscriber)}" frameborder="0" '
            # A page the reader opens from it in a new tab is an ordinary page, not one
            # still sandboxed (no script, no cookies: the outlet's site would break).
            # Scripts: the page's CSP allows its own one alone (`FRAME_SCRIPT`).
            'sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox '
            'allow-top-navigation-by-user-activation"></iframe>'
        )
        # For a site that allows one script: the frame's script posts its height (see
        # `FRAME_SCRIPT`), and this one takes it only from that frame and our origin.
        # allow-same-origin gives the frame our origin, not an opaque one, to check.
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(urls.widget))
        codes["Iframe, auto-height (one script)"] = (
            codes["Iframe"].replace("allow-scripts ", "allow-scripts allow-same-origin ")
            + '<script>(function(f){addEventListener("message",function(e){var m=e.data;'
            f'if(e.origin==="{origin}"&&e.source===f.contentWindow&&m&&m.syndicator==="height"'
            "&&m.height>0)f.height=Math.ceil(m.height)})})"
            "(document.currentScript.previousElementSibling)</script>"
        )
    return codes


__all__ = [
    "PASTE_ADVICE",
    "Plan",
    "Renderer",
    "Selections",
    "embed_codes",
    "plan",
    "urls_for",
]
