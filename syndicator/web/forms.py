"""The console's subscriber form: one control per subscriber option, named as its TOML key.

`FIELDS` is read off the config models, so a new option gets its control (and a test
fails until it has words). What a form shows is `Shown`: every field's values as
strings, from a file (`shown_from_file`) or as typed (`shown_from_form`, so a refused
form keeps them). A submitted form becomes changes through `syndicator.admin`, the code
the CLI uses: the same validation, the same words, comments kept; its errors come back
per field (`Refusal`). An empty control means "not set here": `[defaults]` applies.
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from babel import Locale
from babel.localedata import locale_identifiers

from ..admin import (
    Change,
    add_subscriber,
    check_new_id,
    parse_value,
    update_subscriber,
)
from ..config import (
    Config,
    ScriptureSettings,
    SubscriberConfig,
    SubscriberOptions,
    Theme,
    bounds_of,
    subscriber_from,
)
from ..errors import ConfigError, ConfigErrors, StaleEdit
from ..locales import word_languages
from ..models import slugify
from ..scripture.providers import PROVIDERS

Kind = Literal[
    "text", "url", "number", "select", "yesno", "categories", "choices", "lines", "colour",
    "language",
]  # fmt: skip
Shown = dict[str, list[str]]  # field key → its values as the form holds them
FORM = ""  # the key of errors about the form as a whole (no one field)

# The translation a church gets by its language when it names none ("by language: NIV in
# English, …"); every provider defaults alike (a test holds them to it).
_SITE = next(iter(PROVIDERS.values()))
_BY_LANGUAGE = "by language: " + ", ".join(
    [f"{version} in {Locale.parse(tag).english_name}" for tag, version in _SITE.by_language.items()]
    + [f"{_SITE.fallback} in any other"]
)

# What each option is called on the form, and the one line under it. The keys are
# exactly the options (a test holds them to the models).
WORDS: dict[str, tuple[str, str]] = {
    "id": ("Id", "Lower-case letters, digits and inner hyphens. It is in the church's "
           "feed and widget addresses, which never change once given out."),
    "name": ("Name", "The church's or ministry's name, as readers see it."),
    "site_url": ("Website", "Its address, starting with https://"),
    "categories": ("Categories", "Only stories in these; none ticked: every category."),
    "exclude_categories": ("Leave out categories", "Stories in these are never shown."),
    "keywords": ("Keywords", "One per line: keep only stories whose title or text has one."),
    "exclude_keywords": ("Leave out keywords", "One per line: stories with one are never shown."),
    "max_age_days": ("Newest days only", "Leave out stories older than this many days."),
    "limit": ("Stories listed", "In the feeds and the widget."),
    "per_page": ("Stories per page", "On the widget's and the archive's pages."),
    "pages": ("Archive pages", "How many pages of older stories are kept."),
    "content": ("Story text", "The full story, an excerpt, or the title alone."),
    "excerpt_words": ("Excerpt length", "Words in an excerpt."),
    "image": ("Image", "None, a thumbnail, or the full-width picture."),
    "image_position": ("Image position", "Beside or above the text."),
    "link_to": ("Story links go to", "The outlet's page, our hosted page, or a page on the "
                "church's own site (detail page)."),
    "detail_page_url": ("Detail page", "The church's page where the script shows whole "
                        "stories; needed when links go to the detail page."),
    "utm": ("Tag links to the outlet", "Adds utm_* to links, so the outlet sees readers "
            "came from syndication."),
    "footer": ("Footer", "Plain text under the stories; empty: the standard credit line."),
    "keep_pages_days": ("Keep story pages (days)", "Hosted pages of stories no longer "
                        "listed stay this long; 0: removed at once."),
    "theme.accent": ("Accent colour", "Links and highlights."),
    "theme.mode": ("Colours", "inherit: the church page's own; light, dark, or auto (the "
                   "reader's setting)."),
    "theme.layout": ("Layout", "A list, cards, or a compact list of titles."),
    "theme.font": ("Font", "inherit: the church page's own."),
    "language": ("Language", "Of the widget's words and dates."),
    "date_format": ("Date format", "short, medium, long or full, or a pattern such as "
                    "'d MMMM y' or '%d %B %Y'."),
    "timezone": ("Time zone", "Dates are shown in it, e.g. America/Chicago."),
    "outputs": ("Outputs", "What is published for it; none ticked: all of them."),
    "scripture.link": ("Link Bible references to", "none, Bible Gateway (biblegateway) or "
                       "YouVersion's bible.com (youversion): “John 3:16” in a story's text "
                       "opens the passage there. No script, no tracking."),
    "scripture.version": ("Bible translation", f"The translation the links open; {_BY_LANGUAGE}."),
}  # fmt: skip

_KINDS: dict[str, Kind] = {  # where the type alone does not say which control fits
    "id": "text",
    "site_url": "url",
    "detail_page_url": "url",
    "categories": "categories",
    "exclude_categories": "categories",
    "theme.accent": "colour",
    "language": "language",
    "scripture.version": "select",
}
# Controls that cannot be left empty (a colour input, ticked boxes showing the value in
# effect): submitting what is in effect anyway leaves the key unset.
_ALWAYS_FILLED: frozenset[Kind] = frozenset({"colour", "choices", "categories"})
# What an optional colour's "Use the default" box sends, under the colour's own key and
# beside the picker's value (a colour input always sends one): the key is then unset.
USE_DEFAULT = "default"
_INDEX = re.compile(r"\[\d+\]$")
DRAFT_ID = "new-subscriber"  # stands in for a refused id while the other fields are checked


@dataclass(frozen=True, slots=True)
class FormField:
    """One control of the subscriber form."""

    key: str  # the TOML key, dotted inside tables; the control's name
    label: str
    help: str
    kind: Kind
    choices: tuple[str, ...] = ()  # a select's or boxes' values (categories: the stored ones)
    low: int | None = None  # a number's bounds
    high: int | None = None
    required: bool = False  # name and site_url: never inherited

    @property
    def many(self) -> bool:
        """Whether the key holds a list (several boxes, or one line each)."""
        return self.kind in {"categories", "choices", "lines"}


def _fields() -> tuple[FormField, ...]:
    models: list[tuple[str, Any]] = [
        ("", SubscriberConfig),
        ("theme.", Theme),
        ("scripture.", ScriptureSettings),
    ]
    found = []
    for prefix, model in models:
        for name, info in model.model_fields.items():
            key = prefix + name
            if key in {"id", "theme", "scripture"}:
                continue
            found.append(_field(key, info.annotation, bounds_of(info), info.is_required()))
    order = list(WORDS)
    return tuple(sorted(found, key=lambda f: order.index(f.key) if f.key in order else -1))


def _field(key: str, annotation: Any, bounds: Any, required: bool) -> FormField:
    label, help_text = WORDS[key]
    kind = _KINDS.get(key)
    choices: tuple[str, ...] = ()
    inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    literal = annotation if typing.get_origin(annotation) is Literal else None
    if typing.get_origin(annotation) is tuple:
        literal = inner[0] if typing.get_origin(inner[0]) is Literal else None
        kind = kind or ("choices" if literal else "lines")
    if literal is not None:
        choices = typing.get_args(literal)
        kind = kind or "select"
    elif key == "scripture.version":  # any provider's, in their order (validated per provider)
        choices = tuple(dict.fromkeys(v for site in PROVIDERS.values() for v in site.versions))
    elif bounds is not None:
        kind = kind or "number"
    elif annotation is bool:
        kind = kind or "yesno"
    return FormField(
        key=key,
        label=label,
        help=help_text,
        kind=kind or "text",
        choices=choices,
        low=bounds.lo if bounds else None,
        high=bounds.hi if bounds else None,
        required=required,
    )


FIELDS = _fields()
FIELD_KEYS = frozenset(f.key for f in FIELDS)
ID_FIELD = FormField("id", *WORDS["id"], kind="text", required=True)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a form was not saved: messages by field key (`FORM`: the form as a whole), in
    the words the CLI prints; `stale` when someone saved the file meanwhile."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    stale: bool = False


@dataclass(frozen=True, slots=True)
class Saved:
    """A saved form: the subscriber's id and what changed (for the audit log)."""

    subscriber_id: str
    changes: tuple[Change, ...]


def shown_from_file(values: Mapping[str, Any], defaults: SubscriberOptions) -> Shown:
    """What the form shows for a file setting `values` (dotted keys, `SubscriberFile`):
    what it sets; for controls that cannot be empty, the value in effect."""
    shown: Shown = {}
    for form_field in FIELDS:
        value = values.get(form_field.key)
        if value is None and form_field.kind in _ALWAYS_FILLED:
            value = default_of(form_field, defaults)
        if isinstance(value, str) and form_field.kind == "colour":
            value = _full_colour(value)
        if value is not None:
            shown[form_field.key] = _strings(value)
    return shown


def shown_from_form(form: Mapping[str, Sequence[str]]) -> Shown:
    """What the form shows after a refused save: what was typed, every field kept."""
    keys = FIELD_KEYS | {"id"}
    return {key: [str(value) for value in values] for key, values in form.items() if key in keys}


def default_of(form_field: FormField, defaults: SubscriberOptions) -> Any:
    """The value a subscriber gets for this field when its file does not set it."""
    node: Any = defaults
    for part in form_field.key.split("."):
        node = getattr(node, part, None)
    return list(node) if isinstance(node, tuple) else node


def default_text(form_field: FormField, defaults: SubscriberOptions) -> str:
    """The default as the form says it ("10", "every category", "yes"); "" for none."""
    value = default_of(form_field, defaults)
    if form_field.kind == "colour" and value:
        return _full_colour(value)  # as the picker holds it (the box sets it there)
    if form_field.kind == "yesno":
        return "yes" if value else "no"
    if form_field.key == "footer" and not value:
        return "the standard credit line"
    if form_field.key == "scripture.version" and not value:
        return "by language"
    if form_field.many and not value:
        return {"categories": "every category", "outputs": "all of them"}.get(
            form_field.key, "none"
        )
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


def from_site_defaults(form_field: FormField, defaults: SubscriberOptions) -> bool:
    """Whether the site's `[defaults]` sets this field (else the built-in default applies)."""
    head, _, rest = form_field.key.partition(".")
    if head not in defaults.model_fields_set:
        return False
    return not rest or rest in getattr(defaults, head).model_fields_set


def suggested_id(name: str) -> str:
    """The id a new subscriber called `name` is offered, as the CLI suggests it."""
    return slugify(name, 64)


@functools.cache
def language_choices() -> tuple[tuple[str, str, bool], ...]:
    """(tag, "Name (tag)", whether the outputs' words exist in it) for the language select:
    the translated languages first, then every other language CLDR knows (dates only)."""
    translated = word_languages()
    others = sorted(tag for tag in locale_identifiers() if "_" not in tag and tag != "root")
    return tuple(
        (tag, f"{_language_name(tag)} ({tag})", tag in translated)
        for tag in [*translated, *(tag for tag in others if tag not in translated)]
    )


def _language_name(tag: str) -> str:
    name = Locale.parse(tag, sep="-").get_display_name("en")
    return name or tag


def values_from_form(
    form: Mapping[str, Sequence[str]],
    current: Mapping[str, Any],
    defaults: SubscriberOptions,
) -> dict[str, Any]:
    """The keys a submitted form changes in a file setting `current` (dotted keys), as
    `admin.update_subscriber` takes them: None removes a key (the default applies). A
    control left empty on a key the file does not set changes nothing."""
    values: dict[str, Any] = {}
    for form_field in FIELDS:
        new = _typed(form_field, form.get(form_field.key, []))
        old = current.get(form_field.key)
        if old is None and (
            new is None
            or (
                form_field.kind in _ALWAYS_FILLED
                and _same(form_field, new, default_of(form_field, defaults))
            )
        ):
            continue
        if not _same(form_field, new, old):
            values[form_field.key] = new
    return values


def _same(form_field: FormField, new: Any, old: Any) -> bool:
    """Whether a submitted value says what the file's does. Boxes come in the page's
    order, whatever the file's; a colour input gives #rrggbb in lower case."""
    if type(new) is not type(old):
        return False
    if form_field.kind in {"categories", "choices"}:
        return sorted(new) == sorted(old)
    if form_field.kind == "colour":
        return bool(_full_colour(new) == _full_colour(old))
    return bool(new == old)


def _full_colour(value: str) -> str:
    """`#abc` as `#aabbcc`, in lower case: as a colour input holds it."""
    if re.fullmatch(r"#[0-9a-fA-F]{3}", value):
        value = "#" + "".join(2 * digit for digit in value[1:])
    return value.lower()


def _typed(form_field: FormField, raw: Sequence[str]) -> Any:
    """A control's submitted strings as the TOML value they mean; None when empty. What
    is not of the field's type stays text, so the validation says what is wrong."""
    if form_field.many:  # boxes, and lines of a text area (categories have both)
        items = [line.strip() for value in raw for line in value.splitlines() if line.strip()]
        return list(dict.fromkeys(items)) or None
    if form_field.kind == "colour" and USE_DEFAULT in raw and not form_field.required:
        return None
    text = raw[0].strip() if raw else ""
    if not text:
        return None
    if form_field.kind == "number":
        return parse_value(form_field.key, text)  # as the CLI reads `limit=5`
    if form_field.kind == "yesno":
        return {"true": True, "false": False}.get(text, text)
    return text


def save_form(
    config: Config,
    subscriber_id: str,
    form: Mapping[str, Sequence[str]],
    current: Mapping[str, Any],
    version: str,
) -> Saved | Refusal:
    """Save a submitted edit form over the file at `version` (`SubscriberFile`)."""
    try:
        values = values_from_form(form, current, config.defaults)
        changes = update_subscriber(config, subscriber_id, values, version)
    except StaleEdit as exc:
        return Refusal({FORM: [error.message for error in exc.errors]}, stale=True)
    except ConfigErrors as exc:
        return Refusal(field_errors(exc.errors))
    return Saved(subscriber_id, tuple(changes))


def create_from_form(config: Config, form: Mapping[str, Sequence[str]]) -> Saved | Refusal:
    """Write a new subscriber's file from a submitted new-subscriber form; an `id` left
    empty is the one suggested from the name."""
    name_typed = (form.get("name") or [""])[0]
    subscriber_id = (form.get("id") or [""])[0].strip() or suggested_id(name_typed)
    values = values_from_form(form, {}, config.defaults)
    # Left empty, they are written empty, for the loader to say so in its own words.
    name, site_url = values.pop("name", None) or "", values.pop("site_url", None) or ""
    try:
        check_new_id(config, subscriber_id)
    except ConfigErrors as exc:  # the other fields' problems are said too, all at once
        data = nested({**values, "name": name, "site_url": site_url})
        defaults = config.defaults.model_dump(exclude_unset=True)
        try:
            subscriber_from(data, DRAFT_ID, defaults, "form")
            others: dict[str, list[str]] = {}
        except ConfigErrors as problems:
            others = field_errors(problems.errors)
        return Refusal({"id": [error.message for error in exc.errors], **others})
    try:
        add_subscriber(config, subscriber_id, name, site_url, values)
    except ConfigErrors as exc:
        return Refusal(field_errors(exc.errors))
    changes = [Change("name", None, name), Change("site_url", None, site_url)]
    changes += [Change(key, None, value) for key, value in values.items()]
    return Saved(subscriber_id, tuple(changes))


def nested(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys' values (None: unset) as a file's tables hold them."""
    data: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        *tables, name = key.split(".")
        table = data
        for part in tables:
            table = table.setdefault(part, {})
        table[name] = value
    return data


def field_errors(errors: Iterable[ConfigError]) -> dict[str, list[str]]:
    """Config errors by the field they are about (`categories[1]` → `categories`); one
    about no field, or one the form has no control for, goes to `FORM` with its key."""
    found: dict[str, list[str]] = {}
    for error in errors:
        key = _INDEX.sub("", error.key or "")
        if key in FIELD_KEYS:
            found.setdefault(key, []).append(error.message)
        else:
            message = f"{error.key}: {error.message}" if error.key else error.message
            found.setdefault(FORM, []).append(message)
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]
