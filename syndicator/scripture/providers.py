"""Where a Bible reference links to: the reading sites a church can choose, as data.

Each provider lists the translations it offers (our abbreviation → the site's own id and
the abbreviation its URLs carry) and the translation a church gets when it names none,
by its language. `passage_url` builds the link for one passage; the subscriber's choice
is validated against these tables when the config is loaded (`config.ScriptureSettings`).

The ids were taken from the sites' own URLs as published (Bible Gateway's `version=`
codes; bible.com's `/bible/<number>/` ids). This machine cannot reach either site, so
they were not re-checked live: verify a new row in a browser before adding it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import quote, urlencode

from .books import BY_OSIS, Book
from .detect import Passage


@dataclass(frozen=True, slots=True)
class SiteVersion:
    """A translation as one site names it."""

    id: str  # Bible Gateway: its `version=` code; bible.com: its number
    code: str  # the abbreviation the site's URLs end in (bible.com: "NVI" for NVI-PT)


@dataclass(frozen=True, slots=True)
class Provider:
    """A Bible reading site: its name, its translations and how it links a passage."""

    name: str  # as readers know it
    versions: Mapping[str, SiteVersion]  # our abbreviation (upper case) → the site's
    by_language: Mapping[str, str]  # primary language subtag → the abbreviation it gets
    fallback: str  # the abbreviation for any other language
    url: Callable[[SiteVersion, Book, Passage], str]

    def default_version(self, language: str) -> str:
        """The translation a church writing in `language` ("pt-BR") gets by default."""
        return self.by_language.get(language.split("-")[0].lower(), self.fallback)


def _bible_gateway(version: SiteVersion, book: Book, passage: Passage) -> str:
    # Bible Gateway reads a reference as people write it: "1 Corinthians 13:4-7",
    # "John 3:16-4:2", "Psalm 23", "Isaiah 53-55"; "Jude 1:3", never "Jude 3".
    text = f"{book.name} {passage.chapter}"
    end_chapter = passage.end_chapter if passage.end_chapter is not None else passage.chapter
    if passage.verse is not None:
        text += f":{passage.verse}"
        if passage.end_verse is not None and end_chapter != passage.chapter:
            text += f"-{end_chapter}:{passage.end_verse}"
        elif passage.end_verse is not None and passage.end_verse != passage.verse:
            text += f"-{passage.end_verse}"
    elif end_chapter != passage.chapter:
        text += f"-{end_chapter}"
    query = urlencode({"search": text, "version": version.id}, quote_via=quote)
    return f"https://www.biblegateway.com/passage/?{query}"


def _bible_com(version: SiteVersion, book: Book, passage: Passage) -> str:
    # bible.com takes USFM: JHN.3.16, JHN.3.16-18, PSA.23. A range must stay within one
    # chapter (no form for JHN.3.16-4.2 is documented), so a cross-chapter range links
    # from its first verse to the end of that chapter, and a range of whole chapters
    # ("Isaiah 53-55") links its first chapter.
    ref = f"{book.usfm}.{passage.chapter}"
    if passage.verse is not None:
        ref += f".{passage.verse}"
        if passage.end_verse is not None:
            same = passage.end_chapter in (None, passage.chapter)
            last = passage.end_verse if same else book.verses[passage.chapter - 1]
            if last > passage.verse:
                ref += f"-{last}"
    return f"https://www.bible.com/bible/{quote(version.id)}/{quote(ref)}.{quote(version.code)}"


def _same_codes(*codes: str) -> Mapping[str, SiteVersion]:
    return MappingProxyType({code: SiteVersion(code, code) for code in codes})


_BIBLE_GATEWAY_CODES = (
    "NIV", "ESV", "KJV", "NKJV", "NLT", "CSB", "NASB", "NASB1995", "NRSV", "MSG", "AMP",
    "RVR1960", "NVI", "NTV", "ARC", "NVI-PT",
)  # fmt: skip

PROVIDERS: Mapping[str, Provider] = MappingProxyType(
    {
        "biblegateway": Provider(
            name="Bible Gateway",
            # Its `version=` codes are the abbreviations themselves. NASB is the 2020
            # edition there; NVI is the Spanish Nueva Versión Internacional.
            versions=_same_codes(*_BIBLE_GATEWAY_CODES),
            by_language=MappingProxyType({"en": "NIV", "es": "RVR1960", "pt": "ARC"}),
            fallback="NIV",
            url=_bible_gateway,
        ),
        "youversion": Provider(
            name="YouVersion (bible.com)",
            versions=MappingProxyType(
                {
                    "NIV": SiteVersion("111", "NIV"),
                    "ESV": SiteVersion("59", "ESV"),
                    "KJV": SiteVersion("1", "KJV"),
                    "NKJV": SiteVersion("114", "NKJV"),
                    "NLT": SiteVersion("116", "NLT"),
                    "CSB": SiteVersion("1713", "CSB"),
                    "NASB": SiteVersion("2692", "NASB2020"),
                    "NASB1995": SiteVersion("100", "NASB1995"),
                    "NRSV": SiteVersion("2016", "NRSV"),
                    "MSG": SiteVersion("97", "MSG"),
                    "AMP": SiteVersion("1588", "AMP"),
                    "RVR1960": SiteVersion("149", "RVR1960"),
                    "NVI": SiteVersion("128", "NVI"),  # Spanish
                    "NTV": SiteVersion("127", "NTV"),
                    "ARC": SiteVersion("212", "ARC"),
                    "NVI-PT": SiteVersion("129", "NVI"),  # Portuguese: bible.com calls it NVI
                }
            ),
            by_language=MappingProxyType({"en": "NIV", "es": "RVR1960", "pt": "ARC"}),
            fallback="NIV",
            url=_bible_com,
        ),
    }
)


def passage_url(provider: str, version: str, passage: Passage) -> str:
    """The link to `passage` in translation `version` (an abbreviation the provider has,
    as `config` validated it) on `provider` ("biblegateway" or "youversion")."""
    site = PROVIDERS[provider]
    return site.url(site.versions[version], BY_OSIS[passage.book], passage)
