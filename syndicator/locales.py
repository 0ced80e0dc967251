"""What a subscriber's `language` and `date_format` mean: CLDR's data, through Babel.

`language` is any locale CLDR knows, written as a language tag (`es`, `ko`, `pt-BR`).
`date_format` is one of CLDR's date styles of that language (`short`, `medium`, `long`,
`full`), or an explicit pattern: CLDR's syntax (`d MMMM y`, words in single quotes), or
the strftime syntax of earlier versions (`%B %-d, %Y`), read as the CLDR pattern it
spells, so older configs keep working. Month and day names always come from CLDR in the
subscriber's language, never from the machine's locale.

The outputs' own words ("Read more", the pager, the footer…) come from our gettext
catalogs in `locale/` (`scripts/i18n.py` extracts, updates and compiles them): the
subscriber's language, else the same language without its region or script (`pt-AO` →
`pt`), else English, the language the messages are written in.
"""

from __future__ import annotations

import difflib
import functools
import gettext
import re
import typing
import zoneinfo
from datetime import datetime
from pathlib import Path
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.dates import PATTERN_CHARS, format_datetime, get_date_format
from babel.languages import get_official_languages
from babel.localedata import locale_identifiers
from babel.support import Translations

from .errors import UnknownLanguage

DateStyle = Literal["short", "medium", "long", "full"]
DATE_STYLES: tuple[DateStyle, ...] = typing.get_args(DateStyle)
_STYLES = ", ".join(DATE_STYLES)
DEFAULT_DATE_FORMAT = "long"  # "January 14, 2025", "14 de enero de 2025", "2025년 1월 14일"

# strftime's directives and the CLDR fields they spell; "-" (unpadded) with any of them.
# %e pads with a space in strftime, which CLDR cannot: it is the day unpadded.
_PADDED = {"d": "dd", "H": "HH", "I": "hh", "j": "DDD", "m": "MM", "M": "mm", "S": "ss"}
_UNPADDED = {
    "a": "EEE", "A": "EEEE", "b": "MMM", "B": "MMMM", "e": "d", "p": "a", "y": "yy",
    "Y": "y", "Z": "z", "%": "%",
}  # fmt: skip
STRFTIME_FIELDS = {
    **_PADDED,
    **_UNPADDED,
    **{f"-{d}": field[0] for d, field in _PADDED.items()},
    **{f"-{d}": field for d, field in _UNPADDED.items()},
}
_DIRECTIVE = re.compile(r"%(-?.?)", re.S)  # a lone % at the end: the empty directive
_QUOTED = re.compile(r"'[^']*'")  # '' (a quote itself) is an empty quoted text
_FORMAT_CACHE = 65536  # dates kept formatted: stories × date options in one run


@functools.lru_cache(maxsize=256)
def locale_of(language: str) -> Locale:
    """The CLDR locale of a language tag (`pt-BR` → pt_BR). Raises `UnknownLanguage` for
    one CLDR does not know, and for an old or three-letter code of a language it knows by
    another (`iw`, `spa`): the tag goes into pages and feeds as `lang`, where readers,
    browsers and the W3C validator expect the language's own code (`he`, `es`)."""
    try:
        locale = Locale.parse(language, sep="-")
    except (UnknownLocaleError, ValueError):
        raise UnknownLanguage(language, _close_languages(language)) from None
    primary, *rest = language.split("-")
    if locale.language != primary:
        raise UnknownLanguage(language, ["-".join([locale.language, *rest])])
    return locale


def language_tag(value: str) -> str | None:
    """A language as a feed writes it (`en-us`, `EN_US`, `pt-br`) as the tag pages and feeds
    use (`en-US`, `pt-BR`); None for one CLDR does not know."""
    primary, dash, rest = value.strip().replace("_", "-").partition("-")
    try:
        locale = locale_of(primary.lower() + dash + rest)
    except UnknownLanguage:
        return None
    return "-".join(part for part in (locale.language, locale.script, locale.territory) if part)


def same_language(first: str, second: str) -> bool:
    """Whether two tags name one language (`en-US` and `en`), however its regions differ:
    a text in it needs no `lang` of its own on a page in the other."""
    return first.split("-", 1)[0].lower() == second.split("-", 1)[0].lower()


def _close_languages(language: str) -> list[str]:
    """Known tags close to `language`: its own language without the region, the languages
    of a country written instead (`kr` → `ko`), then those spelled alike."""
    known = sorted(tag.replace("_", "-") for tag in locale_identifiers())
    primary = language.split("-", 1)[0]
    found = [primary] if primary != language and primary in known else []
    if len(language) == 2:
        found += get_official_languages(language.upper())
    found += difflib.get_close_matches(language, known, n=3)
    return list(dict.fromkeys(found))[:3]


def check_date_format(date_format: str) -> None:
    """Raise ValueError saying what is wrong with `date_format`, if anything."""
    if date_format in DATE_STYLES:
        return
    if "%" in date_format:
        unknown = sorted({d for d in _DIRECTIVE.findall(date_format) if d not in STRFTIME_FIELDS})
        if unknown:
            raise ValueError(
                f"unknown strftime directive(s) {', '.join('%' + d for d in unknown)}; "
                f"allowed: {' '.join('%' + d for d in {**_PADDED, **_UNPADDED})} (with - to "
                f'unpad), or a CLDR pattern such as "d MMMM y", or one of {_STYLES}'
            )
        return
    bare = _QUOTED.sub("", date_format)
    if "'" in bare:
        raise ValueError("a quote (') opens a text it never closes; write '' for a quote itself")
    letters = sorted({c for c in bare if c.isascii() and c.isalpha()} - set(PATTERN_CHARS))
    if letters:
        raise ValueError(
            f"{', '.join(letters)}: no CLDR date field; put words in single quotes, as in "
            f"\"d 'de' MMMM y\", or use one of {_STYLES}"
        )
    if not any(c in PATTERN_CHARS for c in bare):
        raise ValueError(f'shows no date: use CLDR fields, as in "d MMMM y", or one of {_STYLES}')


@functools.lru_cache(maxsize=1024)
def date_pattern(date_format: str, language: str) -> str:
    """The CLDR pattern `date_format` (valid: `check_date_format`) stands for in
    `language`."""
    style = next((style for style in DATE_STYLES if style == date_format), None)
    if style is not None:
        return str(get_date_format(style, locale=locale_of(language)).pattern)
    if "%" not in date_format:
        return date_format
    pieces = _DIRECTIVE.split(date_format)  # text, directive, …, text
    pieces[1::2] = [STRFTIME_FIELDS[directive] for directive in pieces[1::2]]
    pieces[::2] = [_literal(text) for text in pieces[::2]]
    return "".join(pieces)


def _literal(text: str) -> str:
    """`text` as literal text of a CLDR pattern."""
    if not re.search(r"[A-Za-z']", text):
        return text
    return "'" + text.replace("'", "''") + "'"


@functools.lru_cache(maxsize=_FORMAT_CACHE)
def format_date(moment: datetime, date_format: str, timezone: str, language: str) -> str:
    """`moment` in `timezone` as `date_format` shows it in `language` (CLDR's names and
    formats; never the process locale, so outputs do not depend on the machine)."""
    zone = zoneinfo.ZoneInfo(timezone)
    pattern = date_pattern(date_format, language)
    return format_datetime(
        moment.astimezone(zone), pattern, tzinfo=zone, locale=locale_of(language)
    )


CATALOGS = Path(__file__).resolve().parent / "locale"  # <ll[_TT]>/LC_MESSAGES/<DOMAIN>.mo
DOMAIN = "syndicator"
SOURCE_LANGUAGE = "en"  # the messages are written in English: it needs no catalog


@functools.lru_cache(maxsize=256)
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of the outputs' words for `language` (valid: `locale_of`): its own, else
    that of the same language without its script or region, else none (English)."""
    for name in _catalog_names(locale_of(language)):
        path = CATALOGS / name / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if path.is_file():
            with path.open("rb") as file:
                return Translations(file, domain=DOMAIN)
    return gettext.NullTranslations()


def _catalog_names(locale: Locale) -> list[str]:
    """Catalog folder names for `locale`, most specific first (zh_Hant_TW … zh)."""
    parts = (
        (locale.script, locale.territory),
        (None, locale.territory),
        (locale.script, None),
        (None, None),
    )
    names = ("_".join(p for p in (locale.language, *more) if p) for more in parts)
    return list(dict.fromkeys(names))


def has_words(language: str) -> bool:
    """Whether the outputs' words exist in `language` (else they fall back to English)."""
    primary = language.split("-", 1)[0]
    return primary == SOURCE_LANGUAGE or isinstance(translations(language), Translations)


def word_languages() -> list[str]:
    """The languages the outputs' words exist in, as tags (`pt-BR`), English first."""
    found = sorted(
        path.parent.parent.name.replace("_", "-")
        for path in CATALOGS.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
    )
    return [SOURCE_LANGUAGE, *found]


class Words:
    """The outputs' own words in one language: `words("News for %(name)s", name=...)` is the
    message translated, then filled in (always: a literal % is written %%, as in templates)."""

    __slots__ = ("_gettext",)

    def __init__(self, language: str) -> None:
        self._gettext = translations(language).gettext

    def __call__(self, message: str, **values: object) -> str:
        return self._gettext(message) % values


@functools.lru_cache(maxsize=256)
def words_for(language: str) -> Words:
    """`Words` of `language` (valid: `locale_of`)."""
    return Words(language)
