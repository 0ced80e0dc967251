"""The sharing layer: work done once for many subscribers, over the plain renderer.

At ten thousand subscribers, most of them agree on the options a template reads. A
story's list item, feed content and article page are rendered once per combination of
those options (`views.fragment_key`; with site templates, the whole `views.variant`)
with holes where subscribers differ (id, name, footer, site, detail page, the story's
date), kept cut at the holes (`views.Pieces`) and filled per subscriber. So are a
story's RSS/Atom/JSON Feed entries (`feeds.shared_entries`), the feeds' channels
(`feeds.Channels`) and, with the built-in templates, the list pages, the footer and the
embed around their items (`Sharing.shell`).

`SharedOutputs` is `plain.Outputs` with those steps overridden; whatever cannot be
shared (a template that mangled a hole, a story holding a feed mark) falls back to the
plain step, so the bytes are always the plain renderer's. Everything kept between
subscribers is in `Sharing`, each in one `cache.Bounded`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from ..config import ScriptureSettings, SiteConfig, SubscriberConfig
from ..models import Story
from .cache import Bounded
from .environment import ScriptData, js_data, js_string_body
from .feeds import (
    Channels,
    FeedItem,
    SharedEntry,
    has_mark,
    json_feed_shared,
    rss_and_atom_shared,
    shared_entries,
)
from .plain import Feeds, Outputs
from .views import (
    DATE,
    EncodedPieces,
    Pieces,
    date_value,
    fragment_key,
    hole,
    hole_values,
    hole_view,
    item_view,
    raw_hole_values,
    variant,
    variant_key,
)

# What is kept between subscribers (`cache.Bounded`: least recently used dropped past these).
# Fragments: at 36 M, the variants scripture choices add (2,936 in `bench render`'s 10,000
# subscribers) took the full build's peak RSS to 405 MB; at 28 M it is 386 MB, and the
# render work 34.9 → 38.8 s (one run each, idle machine).
FRAGMENT_CHARS = 28_000_000  # stories' shared fragments with holes, in characters
FILE_BYTES = 24_000_000  # shared article pages with holes, in bytes
ENTRY_CHARS = 12_000_000  # stories' shared RSS/Atom/JSON entries, in characters
SHELLS_KEPT = 4096  # built-in list pages, footers and embeds with holes
STYLES_KEPT = 4096  # style sheets
DATE_OPTIONS_KEPT = 4096  # distinct date options whose stories' dates are kept
CHANNELS_KEPT = 1024  # feed channels with holes

ENTRIES = "entries"  # the shared RSS/Atom entries' key, kept with the templates' keys
ITEMS, CSS = "l", "c"  # the holes of a list page's items and style sheet (`_shell`)
DATA = "j"  # the hole of the embed's data literal
_MANGLED = Pieces(("mangled",))  # kept for a fragment whose holes a template transformed
_MANGLED_FILE = _MANGLED.encoded()

StoryKey = tuple[str, str, str, str | None]
Dates = dict[datetime, tuple[str, str, bytes]]  # a story's date → `SharedOutputs._date`


def story_key(story: Story) -> StoryKey:
    """What a story's shared fragments depend on, besides the template's sharing key."""
    return (story.slug, story.article.content_hash, story.presence, story.language)


class Sharing:
    """What subscribers share, kept between them for one renderer."""

    def __init__(self, *, builtin: bool) -> None:
        # The site has no template folder of its own: the built-in templates read known
        # options (`fragment_key`), and the pages around the items can be shared too.
        self.builtin = builtin
        self.key = fragment_key if builtin else variant_key
        self.fragments: Bounded[tuple[Any, ...], Pieces] = Bounded(FRAGMENT_CHARS, len)
        self.files: Bounded[tuple[Any, ...], EncodedPieces] = Bounded(FILE_BYTES, len)
        self.entries: Bounded[tuple[Any, ...], SharedEntry] = Bounded(ENTRY_CHARS, len)
        self.channels = Channels(CHANNELS_KEPT)
        self.shells: Bounded[tuple[Any, ...], Pieces] = Bounded(SHELLS_KEPT)
        self.styles: Bounded[tuple[Any, ...], str] = Bounded(STYLES_KEPT)
        self.dates: Bounded[tuple[str, str, str], Dates] = Bounded(DATE_OPTIONS_KEPT)

    def sort_key(self, subscriber: SubscriberConfig) -> tuple[Any, ...]:
        """Rendering subscribers in this order keeps each shared fragment's users together."""
        return (
            *(self.key(name, subscriber) for name in ("article.html", "_feed_item.html")),
            self.key("_item.html", subscriber),
            variant(subscriber),
            subscriber.id,
        )

    def shell(self, key: tuple[Any, ...], render: Callable[[], str]) -> Pieces | None:
        """The built-in template output `render` makes with holes, kept under `key`, cut at
        its holes; None when it cannot be cut (see `Pieces.split`)."""
        shell = self.shells.get_or_make(key, lambda: Pieces.split(render()) or _MANGLED)
        return None if shell is _MANGLED else shell


class SharedOutputs(Outputs):
    """One subscriber's outputs filled in from what it shares with others."""

    def __init__(
        self, env: Environment, site: SiteConfig, subscriber: SubscriberConfig, sharing: Sharing
    ) -> None:
        super().__init__(env, site, subscriber)
        self.sharing = sharing
        self.holes = hole_view(site, subscriber)  # the view shared fragments are made with
        self.values = hole_values(subscriber)  # what fills their holes, escaped
        self.raw = raw_hole_values(subscriber)  # and unescaped
        # (template, story cites no scripture) → sharing key
        self.keys: dict[tuple[str, bool], tuple[Any, ...]] = {}
        # Built-in templates read the scripture choice only through a story's body: a story
        # citing none is shared with the subscribers of every choice (`key`).
        self.unlinked = subscriber
        if sharing.builtin and subscriber.scripture.link != "none":
            self.unlinked = subscriber.model_copy(update={"scripture": ScriptureSettings()})
        self.encoded: dict[str, bytes] = {}  # `values` as UTF-8
        self.scripted: dict[str, str] = {}  # `values` in JavaScript strings
        options = (subscriber.date_format, subscriber.timezone, subscriber.language)
        self.dates = sharing.dates.get_or_make(options, dict)
        self.item_pieces: list[Pieces | None] = []  # the shared pieces of `items`

    # What fills a story's holes for this subscriber.

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
        """The story's date hole value for HTML, inside JavaScript strings, and as UTF-8,
        shared by the subscribers with the same date options."""
        found = self.dates.get(story.date)
        if found is None:
            text = date_value(story, self.subscriber)
            found = self.dates[story.date] = (text, js_string_body(text), text.encode())
        return found

    # Shared fragments.

    def key(self, name: str, story: Story) -> tuple[Any, ...]:
        """The sharing key of template `name` for this subscriber and `story` (worked out
        once for stories that cite scripture and once for those that do not)."""
        plain = not story.article.references
        key = self.keys.get((name, plain))
        if key is None:
            options = self.unlinked if plain else self.subscriber
            key = self.keys[(name, plain)] = self.sharing.key(name, options)
        return key

    def shared(self, name: str, story: Story, *, keep: bool = True) -> Pieces | None:
        """The story's fragment with holes, as every subscriber sharing it gets it (kept
        for the next one unless `keep` is false); None when a template mangled a hole."""
        key = (*story_key(story), self.key(name, story))
        fragments = self.sharing.fragments
        pieces = fragments.get(key)
        if pieces is None:
            pieces = Pieces.split(self.render_fragment(name, story, self.holes)) or _MANGLED
            if keep:
                fragments.put(key, pieces)
        return None if pieces is _MANGLED else pieces

    def items(self, stories: Sequence[Story]) -> list[Markup]:
        # Their pieces are kept for the embed's data (`_script_literals`).
        self.item_pieces = [self.shared("_item.html", story) for story in stories]
        return [
            self._filled("_item.html", story, pieces)
            for story, pieces in zip(stories, self.item_pieces, strict=True)
        ]

    def fragment(self, name: str, story: Story) -> Markup:
        return self._filled(name, story, self.shared(name, story))

    def _filled(self, name: str, story: Story, pieces: Pieces | None) -> Markup:
        """The story's fragment `name` from its shared `pieces`, or its own without them."""
        if pieces is None:  # a template transformed a hole (`sub.name|upper`): our own
            return super().fragment(name, story)
        # Rendered by our autoescaping templates; the values are escaped.
        return Markup(pieces.fill(self.values_for(story)))  # noqa: S704

    def article(self, name: str, story: Story) -> bytes:
        key = (*story_key(story), self.key(name, story))
        pieces = self.sharing.files.get(key)
        if pieces is None:
            shared = self.shared(name, story, keep=False)  # kept as bytes instead
            pieces = _MANGLED_FILE if shared is None else shared.encoded()
            self.sharing.files.put(key, pieces)
        if pieces is _MANGLED_FILE:
            return super().article(name, story)
        return pieces.fill(self.encoded_for(story))

    def style(self, root: str) -> str:
        theme = self.subscriber.theme
        key = (self.subscriber.language, root, theme)  # the site's environment of a language
        return self.sharing.styles.get_or_make(key, lambda: Outputs.style(self, root))

    # Shared pages around the items (built-in templates only: their keys hold what these
    # templates read; a site's may read anything).

    def page(self, name: str, **extra: Any) -> bytes:
        shell = self._shell(name, extra) if self.sharing.builtin else None
        if shell is None:
            return super().page(name, **extra)
        values = {**self.values, ITEMS: "".join(extra["items"])}
        if "css" in extra:
            values[CSS] = str(extra["css"])
        return shell.fill(values).encode()

    def _shell(self, name: str, extra: Mapping[str, Any]) -> Pieces | None:
        """The built-in list page `name` for every subscriber with the same language,
        layout and page numbers, with holes for its values, its items and its style sheet."""
        subscriber = self.subscriber
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
            placeholder = Markup(hole(ITEMS))  # noqa: S704 - a hole: NUL, a letter, NUL
            values: dict[str, Any] = {**extra, "items": [placeholder] if extra["items"] else []}
            if "css" in extra:
                values["css"] = Markup(hole(CSS))  # noqa: S704 - a hole
            if archive is not None:
                values["archive"] = self.holes.urls.archive
            return self.env.get_template(name).render(sub=self.holes, **values)

        return self.sharing.shell(key, render)

    def footer(self) -> str:
        if self.sharing.builtin:
            shell = self.sharing.shell(
                ("_footer.html", self.subscriber.language),
                lambda: self.env.get_template("_footer.html").render(sub=self.holes),
            )
            if shell is not None:
                return shell.fill(self.values)
        return super().footer()

    # Shared feed entries and channels.

    def feed_documents(
        self, items: Sequence[FeedItem], date: datetime, *, rss: bool, atom: bool, json: bool
    ) -> Feeds:
        entries = self._shared_entries(items)
        if entries is None:
            return super().feed_documents(items, date, rss=rss, atom=atom, json=json)
        rss_bytes = atom_bytes = None
        if rss or atom:
            rss_bytes, atom_bytes = rss_and_atom_shared(
                self.view,
                items,
                date,
                entries,
                self.raw,
                channels=self.sharing.channels,
                holes=self.holes,
                rss=rss,
                atom=atom,
            )
        json_bytes = json_feed_shared(self.view, items, entries, self.raw) if json else None
        return rss_bytes, atom_bytes, json_bytes

    def _shared_entries(self, items: Sequence[FeedItem]) -> list[SharedEntry] | None:
        """The items' RSS/Atom entries shared by the subscribers of one `_entries_key`, or
        None when this subscriber's feeds must be made on their own."""
        if any(has_mark(item) for item in items):
            return None
        cache = self.sharing.entries
        keys = [(*story_key(item.story), self._entries_key(item.story)) for item in items]
        found = {key: cache.get(key) for key in keys}
        missing = [
            (key, item.story) for key, item in zip(keys, items, strict=True) if found[key] is None
        ]
        if missing:
            made = []
            for _, story in missing:
                pieces = self.shared("_feed_item.html", story)
                if pieces is None or DATE in pieces.layout[1::2]:
                    # A template transformed a hole (see `fragment`), or shows the date,
                    # which entries shared by subscribers of other date options cannot hold.
                    return None
                made.append((story, item_view(story, self.holes), pieces.text))
            for (key, _), entry in zip(missing, shared_entries(self.holes, made), strict=True):
                found[key] = cache.put(key, entry)
        return [entry for entry in (found[key] for key in keys) if entry is not None]

    def _entries_key(self, story: Story) -> tuple[Any, ...]:
        """What a story's shared RSS/Atom entries depend on: its content fragment, and what
        `feeds._add_entry` reads besides (summary length, pictures, the link's form)."""
        plain = not story.article.references
        key = self.keys.get((ENTRIES, plain))
        if key is None:
            o = self.subscriber
            summary = o.excerpt_words if o.content != "title" else None
            pictured = o.content != "title" and o.image != "none"
            key = self.keys[(ENTRIES, plain)] = (
                self.key("_feed_item.html", story),
                summary,
                pictured,
                o.link_to,
                o.utm,
            )
        return key

    # The embed: its data literal made of the shared fragments' JavaScript forms.

    def embed(self, items: Sequence[Markup], listed: Sequence[Story]) -> bytes:
        data = self.embed_data(items, listed)
        literals = self._script_literals(data, listed, len(items))
        if literals is None:
            return self.render_embed(data)
        script = ScriptData.of(data, literals)
        if self.sharing.builtin:  # the template around the data is the same for many
            stand_in = ScriptData(data, Markup(hole(DATA)))  # noqa: S704 - a hole
            shell = self.sharing.shell(
                ("embed.js", data["stories"] is None),
                lambda: self.env.get_template("embed.js").render(data=stand_in),
            )
            if shell is not None:
                return shell.fill({DATA: str(script.literal)}).encode()
        return self.render_embed(script)

    def _script_literals(
        self, data: Mapping[str, Any], listed: Sequence[Story], count: int
    ) -> dict[str, str] | None:
        """The JavaScript literal of each member of the embed's `data`, its items (the
        first `count` stories') and stories filled in from shared pieces; None when one of
        those cannot be shared."""
        literals = {
            key: str(js_data(value))
            for key, value in data.items()
            if key not in ("items", "stories")
        }
        pieces = self.item_pieces[:count]  # the items: the first `count` stories'
        items = [self._script(found, story) for found, story in zip(pieces, listed, strict=False)]
        if None in items:
            return None
        literals["items"] = f"[{','.join(map(str, items))}]"
        literals["stories"] = "null"
        if data["stories"] is not None:
            stories = {
                story.slug: self._script(self.shared("_story.html", story), story)
                for story in listed
            }
            if None in stories.values():
                return None
            members = ",".join(f"{js_data(slug)}:{stories[slug]}" for slug in sorted(stories))
            literals["stories"] = "{" + members + "}"
        return literals

    def _script(self, pieces: Pieces | None, story: Story) -> str | None:
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
        return f'"{script.fill(self.script_values_for(story))}"'
