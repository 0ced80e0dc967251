"""Dates in any language CLDR knows (through Babel), what `date_format` may say, and the
clear config errors for a language or a format that cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicator.config import load_config, load_subscriber
from syndicator.errors import ConfigErrors
from syndicator.locales import check_date_format, date_pattern, format_date
from syndicator.pipeline import load_stories, run_once
from syndicator.render import Renderer, plan
from syndicator.store import Store

from .conftest import NOW, item, rss, write_config

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
    (tmp_path / "feed.xml").write_bytes(rss(item("1", 14)))
    subscribers = {
        name: f'name = "{name}"\nsite_url = "https://{name}.example/"\n{extra}'
        for name, extra in {
            "ko": 'language = "ko"\ntimezone = "Asia/Seoul"\n',
            "sw": 'language = "sw"\n',
            "en": "",
            "old": 'language = "es"\ndate_format = "%A %-d de %B"\n',
        }.items()
    }
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
        texts[subscriber.id] = files[f"{subscriber.id}/widget.html"].decode()
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
