"""Dates in any language CLDR knows (through Babel), what `date_format` may say, and the
clear config errors for a language or a format that cannot be read; the outputs' own words
from our gettext catalogs, English for a language they lack, with a warning."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from lxml import etree

from syndicator.config import load_config, load_subscriber
from syndicator.errors import ConfigErrors
from syndicator.ingest import load_stories
from syndicator.locales import (
    CATALOGS,
    DOMAIN,
    check_date_format,
    date_pattern,
    format_date,
    word_languages,
)
from syndicator.pipeline import run_once
from syndicator.render import Renderer, embed_codes, plan, urls_for
from syndicator.store import Store

from .conftest import NOW, REPO, item, rss, write_config

# 2025-01-14 15:30 UTC: a Tuesday everywhere from UTC−9 to UTC+8.
MOMENT = datetime(2025, 1, 14, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "January 14, 2025"),  # what the old default, "%B %-d, %Y", gave
        ("es", "14 de enero de 2025"),
        ("ko", "2025년 1월 14일"),
        ("sw", "14 Januari 2025"),
        ("nl", "14 januari 2025"),
        ("pt-BR", "14 de janeiro de 2025"),
        ("de", "14. Januar 2025"),
        ("fr", "14 janvier 2025"),
    ],
)
def test_dates_are_written_as_cldr_writes_them_in_the_subscribers_language(
    language: str, expected: str
) -> None:
    assert format_date(MOMENT, "long", "UTC", language) == expected


def test_the_date_is_the_one_in_the_subscribers_time_zone() -> None:
    late = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)  # still the 14th in Chicago
    assert format_date(late, "long", "America/Chicago", "es") == "14 de enero de 2025"
    assert format_date(late, "long", "Asia/Seoul", "ko") == "2025년 1월 15일"


@pytest.mark.parametrize(
    ("date_format", "language", "expected"),
    [
        ("full", "de", "Dienstag, 14. Januar 2025"),
        ("medium", "fr", "14 janv. 2025"),
        ("short", "en", "1/14/25"),
        ("EEEE d MMMM", "de", "Dienstag 14 Januar"),  # a CLDR pattern
        ("d 'de' MMMM, HH:mm", "es", "14 de enero, 09:30"),
        ("y. MMMM d. EEEE", "ko", "2025. 1월 14. 화요일"),
        # The strftime syntax of older configs still works, with CLDR's names.
        ("%A %-d de %B de %Y", "es", "martes 14 de enero de 2025"),
        ("%B %-d, %Y", "sw", "Januari 14, 2025"),
        ("%d/%m/%Y %H:%M", "nl", "14/01/2025 09:30"),
        ("%a %-d %b", "fr", "mar. 14 janv."),
        ("it's %-I:%M %p, 100%%", "en", "it's 9:30 AM, 100%"),
    ],
)
def test_an_explicit_pattern_still_decides_the_form(
    date_format: str, language: str, expected: str
) -> None:
    check_date_format(date_format)
    assert format_date(MOMENT, date_format, "America/Chicago", language) == expected


def test_old_strftime_formats_read_as_the_cldr_patterns_they_spell() -> None:
    assert date_pattern("%B %-d, %Y", "en") == "MMMM d, y"
    assert date_pattern("%A %-d de %B de %Y", "es") == "EEEE d' de 'MMMM' de 'y"
    assert date_pattern("long", "es") == "d 'de' MMMM 'de' y"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'language = "kr"',
            "language: unknown language 'kr' (did you mean 'ko'",  # a country, not a language
        ),
        ('language = "jp"', "(did you mean 'ja'?)"),
        ('language = "iw"', "unknown language 'iw' (did you mean 'he'?)"),  # Hebrew's old code
        ('language = "spa-MX"', "(did you mean 'es-MX'?)"),
        ('language = "en-XX"', "unknown language 'en-XX' (did you mean 'en'"),
        ('language = "qq"', "unknown language 'qq'; any language CLDR knows works"),
        ('date_format = "Monday"', "date_format: n, o: no CLDR date field; put words in"),
        ('date_format = "d \'de MMMM"', "date_format: a quote (') opens a text it never"),
        ('date_format = "---"', "date_format: shows no date"),
        ('date_format = "%B %Q"', "date_format: unknown strftime directive(s) %Q; allowed: "),
    ],
)
def test_a_language_or_date_format_that_cannot_be_read_is_a_config_error(
    tmp_path: Path, line: str, expected: str
) -> None:
    file = tmp_path / "grace.toml"
    file.write_text(f'name = "G"\nsite_url = "https://g.example/"\n{line}\n', encoding="utf-8")
    with pytest.raises(ConfigErrors) as caught:
        load_subscriber(file)
    (message,) = [str(e) for e in caught.value.errors]
    assert str(file) in message and expected in message


@pytest.mark.parametrize(
    "language", ["ko", "sw", "nl", "pt-BR", "zh-Hant-TW", "zh-TW", "en-GB", "es-419", "fil"]
)
def test_any_language_cldr_knows_is_accepted(tmp_path: Path, language: str) -> None:
    file = tmp_path / "grace.toml"
    file.write_text(
        f'name = "G"\nsite_url = "https://g.example/"\nlanguage = "{language}"\n', encoding="utf-8"
    )
    assert load_subscriber(file).language == language


def test_a_subscribers_pages_show_dates_in_its_language(tmp_path: Path) -> None:
    """Through the renderer, shared fragments and all: Korean and Swahili subscribers of the
    same story get its date in their language and time zone; English keeps its old form."""
    subscribers = {
        name: f'name = "{name}"\nsite_url = "https://{name}.example/"\n{extra}'
        for name, extra in {
            "ko": 'language = "ko"\ntimezone = "Asia/Seoul"\n',
            "sw": 'language = "sw"\n',
            "en": "",
            "old": 'language = "es"\ndate_format = "%A %-d de %B"\n',
        }.items()
    }
    outputs = _render_all(tmp_path, subscribers, item("1", 14))
    texts = {name: outputs[f"{name}/widget.html"] for name in subscribers}
    # Published 2026-11-14 09:00 UTC: 18:00 in Seoul.
    assert ">2026년 11월 14일</time>" in texts["ko"]
    assert ">14 Novemba 2026</time>" in texts["sw"]
    assert ">November 14, 2026</time>" in texts["en"]
    assert ">sábado 14 de noviembre</time>" in texts["old"]


def test_defaults_in_the_main_file_are_checked_the_same_way(tmp_path: Path) -> None:
    main = write_config(tmp_path, "https://a.example/feed")
    main.write_text(
        main.read_text() + '\n[defaults]\nlanguage = "kr"\ndate_format = "long"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigErrors) as caught:
        load_config(main)
    (message,) = [str(e) for e in caught.value.errors]
    assert str(main) in message and "defaults.language: unknown language 'kr'" in message


# The outputs' own words: gettext catalogs (syndicator/locale), English as the source.

PO_FILES = sorted(CATALOGS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
SHIPPED = {"es", "pt", "pt_BR", "fr", "de"}  # at least; English is the messages themselves


def _catalog(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def _template_ids() -> set[str]:
    return {message.id for message in _catalog(CATALOGS / f"{DOMAIN}.pot") if message.id}


def test_the_catalogs_shipped_are_at_least_es_pt_pt_br_fr_and_de() -> None:
    assert {path.parent.parent.name for path in PO_FILES} >= SHIPPED
    assert word_languages()[0] == "en" and "pt-BR" in word_languages()


def test_the_template_holds_every_message_the_code_and_templates_use() -> None:
    """A word added to a template or the code (with `_`) and not extracted fails here:
    `python3 scripts/dev.py i18n all`, then translate it."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as file:
        method_map, options_map = parse_mapping_cfg(file)
    used = {
        message
        for folder in (REPO / "syndicator", REPO / "templates")
        for _, _, message, *_ in extract_from_dir(folder, method_map, options_map)
    }
    assert used == _template_ids()


@pytest.mark.parametrize("path", PO_FILES, ids=lambda path: path.parent.parent.name)
def test_every_message_is_translated_in_each_shipped_catalog(path: Path) -> None:
    catalog = _catalog(path)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    assert set(translated) == _template_ids(), "untranslated or fuzzy: run i18n update"
    # Python-format placeholders agree (Babel's own checks), and the words are plain text:
    # templates mark a translation safe as it is (its values are escaped).
    assert [(m.id, errors) for m, errors in catalog.check()] == []
    for message, text in translated.items():
        assert not set(text) & set('<>&"'), (message, text)


@pytest.mark.parametrize("path", PO_FILES, ids=lambda path: path.parent.parent.name)
def test_each_committed_mo_is_its_po_compiled(path: Path) -> None:
    """The .mo files are committed (a clean clone runs offline with no build step), so
    they must be what `i18n compile` makes of the .po beside them."""
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(path))
    assert path.with_suffix(".mo").read_bytes() == compiled.getvalue(), "run i18n compile"


def _render_all(
    tmp_path: Path, subscribers: dict[str, str], *items: dict[str, Any]
) -> dict[str, str]:
    """Every output file of every subscriber (one renderer, fragments shared), as `_text`."""
    (tmp_path / "feed.xml").write_bytes(rss(*items))
    config = load_config(
        write_config(tmp_path, (tmp_path / "feed.xml").as_uri(), subscribers=subscribers)
    )
    assert run_once(config, NOW).ok
    with Store(config.database_path) as store:
        stories = load_stories(config, store)
    renderer = Renderer(config.path.parent, config.site)
    texts = {}
    for subscriber in sorted(config.subscribers, key=renderer.sort_key):
        files = renderer.render(plan(subscriber, stories, {}, {}, NOW, "salt"))
        texts.update((name, _text(name, data)) for name, data in files.items())
    return texts


def _text(name: str, data: bytes) -> str:
    """A file's text; a script's with its strings' \\u escapes read (it is pure ASCII)."""
    text = data.decode()
    if name.endswith(".js"):
        text = re.sub(r"\\u([0-9a-f]{4})", lambda match: chr(int(match[1], 16)), text)
    return text


def _english_words() -> set[str]:
    """The English messages' words, cut at their placeholders (pieces of four letters on)."""
    pieces = set()
    for message in _template_ids():
        pieces.update(p.strip(" .") for p in re.split(r"%\(\w+\)s", message))
    return {piece for piece in pieces if len(piece) >= 4}


SPANISH = """name = "Iglesia"
site_url = "https://iglesia.example/"
language = "es"
content = "{content}"
link_to = "{link_to}"
detail_page_url = "https://iglesia.example/noticias/"
per_page = 2
"""


def test_a_spanish_subscribers_outputs_carry_spanish_words_and_no_english_ones(
    tmp_path: Path,
) -> None:
    """Every output of Spanish subscribers (excerpts and pages; full text with a video and
    the embed's detail view), rendered after an English one with the same options, which
    must not share its words with them."""
    player = '<p><iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe></p>'
    stories = [item(str(n), 10 + n, body=f"<p>Body {n}.</p>{player}") for n in range(5)]
    subscribers = {
        "a-en": SPANISH.replace('language = "es"', 'language = "en"').format(
            content="excerpt", link_to="hosted"
        ),
        "es-excerpt": SPANISH.format(content="excerpt", link_to="hosted"),
        "es-full": SPANISH.format(content="full", link_to="detail_page"),
    }
    texts = _render_all(tmp_path, subscribers, *stories)
    spanish = {name: text for name, text in texts.items() if name.startswith("es-")}
    assert len(spanish) > 20
    found = "\n".join(spanish.values())
    for words in (
        "Por Jane Doe",
        "Leer más",
        "Lea la noticia completa en",
        "Noticias para Iglesia",
        "Página {n} de {count}",  # the embed's pager
        "Página 2",
        "Anterior",
        "Siguiente",
        "Noticias compartidas con Iglesia.",
        "Noticias de Worthy News seleccionadas para Iglesia",  # the feeds' description
        "Ver el vídeo",  # the feeds' link to the video
        "Volver a las noticias",  # the embed's way back from a story
        "Este artículo ya no está disponible.",
    ):
        assert words in found, words
    for name, text in spanish.items():
        english = [words for words in _english_words() if words in text]
        assert not english, (name, english)
    assert "News shared with Iglesia." in texts["a-en/widget.html"]
    config = load_config(tmp_path / "syndicator.toml")
    (church,) = [s for s in config.subscribers if s.id == "es-full"]
    iframe = embed_codes(urls_for(config.site.base_url, church.id), church)["Iframe"]
    assert 'title="Noticias para Iglesia"' in iframe  # the code pasted on the church's page


def test_brazilian_and_european_portuguese_have_their_own_words(tmp_path: Path) -> None:
    subscribers = {
        tag.lower(): f'name = "Igreja"\nsite_url = "https://igreja.example/"\nlanguage = "{tag}"\n'
        for tag in ("pt-BR", "pt", "pt-AO")
    }
    texts = _render_all(tmp_path, subscribers, item("1", 14))
    assert "Notícias compartilhadas com Igreja." in texts["pt-br/widget.html"]
    assert "Leia mais" in texts["pt-br/rss.xml"]
    for european in ("pt", "pt-ao"):  # Angola's Portuguese: Portugal's words
        assert "Notícias partilhadas com Igreja." in texts[f"{european}/widget.html"]
        assert "Ler mais" in texts[f"{european}/rss.xml"]
    assert 'lang="pt-AO"' in texts["pt-ao/widget.html"]


def test_a_language_without_words_gets_english_ones_and_check_warns(tmp_path: Path) -> None:
    subscribers = {
        "kerk": 'name = "Kerk"\nsite_url = "https://kerk.example/"\nlanguage = "nl"\n',
        "fine": 'name = "Fine"\nsite_url = "https://fine.example/"\nlanguage = "es-MX"\n',
    }
    texts = _render_all(tmp_path, subscribers, item("1", 14))
    widget = texts["kerk/widget.html"]
    assert "News shared with Kerk." in widget and "News for Kerk" in widget
    assert '<html lang="nl">' in widget and ">14 november 2026</time>" in widget
    assert "Noticias compartidas con Fine." in texts["fine/widget.html"]  # es-MX → es
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "syndicator",
            "--config",
            str(tmp_path / "syndicator.toml"),
            "check",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    (warning,) = [line for line in checked.stderr.splitlines() if "language 'nl'" in line]
    assert "es-MX" not in checked.stderr
    assert warning.startswith("warning: language 'nl' (subscriber kerk)")
    assert "in English" in warning and "pt-BR" in warning


# The story's text is marked with its source's language where the page's is another.


def _in_english(tmp_path: Path, source_language: str | None = None) -> dict[str, str]:
    """All outputs of a Spanish and an English subscriber of an en-US feed (full text:
    lists, article pages, the embed's detail view; excerpts: the feeds)."""
    body = rss(item("1", 14, body="<p>Pastors met on Sunday.</p>"))
    body = body.replace(b"<channel>", b"<channel><language>en-US</language>")
    (tmp_path / "feed.xml").write_bytes(body)
    main = write_config(
        tmp_path,
        (tmp_path / "feed.xml").as_uri(),
        subscribers={
            "iglesia": SPANISH.format(content="full", link_to="detail_page"),
            "grace": 'name = "Grace"\nsite_url = "https://grace.example/"\n',
            "feeds": SPANISH.format(content="excerpt", link_to="original"),
        },
    )
    if source_language:
        main.write_text(main.read_text() + f'language = "{source_language}"\n')
    config = load_config(main)
    assert run_once(config, NOW).ok
    out = config.site.output_dir
    return {
        str(path.relative_to(out)): _text(path.name, path.read_bytes())
        for path in out.rglob("*")
        if path.is_file()
    }


def _lang_of(html: str, xpath: str) -> list[str | None]:
    tree = lxml.html.fromstring(html)
    return [element.get("lang") for element in tree.xpath(xpath)]


def test_an_english_story_on_a_spanish_page_is_marked_as_english(tmp_path: Path) -> None:
    files = _in_english(tmp_path)
    widget = files["iglesia/widget.html"]
    assert _lang_of(widget, "//html") == ["es"]
    assert _lang_of(widget, "//*[contains(@class, 'syn-title')]") == ["en-US"]
    assert _lang_of(widget, "//div[@class='syn-body']") == ["en-US"]
    assert _lang_of(widget, "//p[@class='syn-meta'] | //p[@class='syn-footer']") == [None, None]
    (article,) = [name for name in files if name.startswith("iglesia/articles/")]
    page = files[article]
    assert _lang_of(page, "//h1 | //title | //div[@class='syn-body']") == ["en-US"] * 3
    assert '<h1 lang=\\"en-US\\">Story 1<\\/h1>' in files["iglesia/embed.js"]  # detail view
    assert _lang_of(files["feeds/snippet.html"], "//p[@class='syn-excerpt']") == ["en-US"]
    # Feeds: the item's own language, where each format has one.
    rss_item = etree.fromstring(files["feeds/rss.xml"].encode()).find("channel/item")
    assert rss_item is not None
    assert rss_item.findtext("{http://purl.org/dc/elements/1.1/}language") == "en-US"
    content = rss_item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or ""
    assert '<p lang="en-US">Pastors met on Sunday.</p>' in content
    atom = etree.fromstring(files["feeds/atom.xml"].encode())
    (entry,) = atom.findall("{http://www.w3.org/2005/Atom}entry")
    assert entry.get("{http://www.w3.org/XML/1998/namespace}lang") == "en-US"
    assert atom.get("{http://www.w3.org/XML/1998/namespace}lang") == "es"
    (json_item,) = json.loads(files["feeds/feed.json"])["items"]
    assert json_item["language"] == "en-US"
    # On an English page an English story needs no mark, in any output.
    for name, text in files.items():
        if name.startswith("grace/"):
            assert "en-US" not in text, name


def test_a_sources_language_in_the_config_wins_over_its_feeds(tmp_path: Path) -> None:
    files = _in_english(tmp_path, source_language="fr")
    for subscriber in ("iglesia", "grace"):
        widget = files[f"{subscriber}/widget.html"]
        assert _lang_of(widget, "//*[contains(@class, 'syn-title')]") == ["fr"], subscriber
        assert "en-US" not in widget


def test_a_sources_language_is_checked_like_a_subscribers(tmp_path: Path) -> None:
    main = write_config(tmp_path, "https://a.example/feed")
    main.write_text(main.read_text() + 'language = "kr"\n')
    with pytest.raises(ConfigErrors) as caught:
        load_config(main)
    (message,) = [str(e) for e in caught.value.errors]
    assert (
        "syndicator.toml: sources[0].language: unknown language 'kr' (did you mean 'ko'" in message
    )
