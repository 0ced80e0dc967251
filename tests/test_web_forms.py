"""The console's subscriber form on real files: one control per option named as its TOML
key, changes through the CLI's own code, and errors per field in the CLI's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicator.admin import Change, edit_subscriber, read_subscriber
from syndicator.config import ScriptureSettings, SubscriberConfig, Theme, load_config
from syndicator.errors import ConfigErrors
from syndicator.scripture.providers import PROVIDERS
from syndicator.web.forms import (
    FIELD_KEYS,
    FIELDS,
    FORM,
    Refusal,
    Saved,
    create_from_form,
    default_text,
    from_site_defaults,
    language_choices,
    save_form,
    shown_from_file,
    suggested_id,
    values_from_form,
)

from .test_admin import COMMENTED, GRACE, make

Form = dict[str, list[str]]


def test_every_subscriber_option_has_one_control_named_as_its_toml_key() -> None:
    tables = {"theme": Theme, "scripture": ScriptureSettings}
    options = {key for key in SubscriberConfig.model_fields if key not in {"id", *tables}}
    inside = {f"{name}.{key}" for name, model in tables.items() for key in model.model_fields}
    assert options | inside == FIELD_KEYS
    assert len(FIELDS) == len(FIELD_KEYS)


def test_controls_fit_their_options() -> None:
    kinds = {f.key: f.kind for f in FIELDS}
    assert kinds["categories"] == "categories"
    assert kinds["theme.accent"] == "colour"
    assert kinds["language"] == "language"
    assert kinds["keywords"] == "lines"
    assert kinds["utm"] == "yesno"
    selects = {key for key, kind in kinds.items() if kind == "select"}
    assert {"content", "image", "image_position", "theme.layout", "theme.mode"} <= selects
    limit = next(f for f in FIELDS if f.key == "limit")
    assert (limit.kind, limit.low, limit.high) == ("number", 1, 100)
    outputs = next(f for f in FIELDS if f.key == "outputs")
    assert outputs.kind == "choices" and "rss" in outputs.choices
    assert [f.key for f in FIELDS if f.required] == ["name", "site_url"]


def test_the_form_shows_what_the_file_sets_and_what_is_in_effect_where_it_cannot_be_empty(
    tmp_path: Path,
) -> None:
    config = make(tmp_path, {"grace": GRACE}, defaults="\n[defaults]\nlimit = 3\n")
    shown = shown_from_file(read_subscriber(config, "grace").values, config.defaults)

    assert shown["name"] == ["Grace"]
    assert "limit" not in shown  # empty: the default applies
    assert shown["theme.accent"] == ["#1a5fb4"]  # a colour input cannot be empty
    assert shown["outputs"] == list(SubscriberConfig.model_fields["outputs"].default)
    limit = next(f for f in FIELDS if f.key == "limit")
    assert default_text(limit, config.defaults) == "3"
    assert from_site_defaults(limit, config.defaults)
    content = next(f for f in FIELDS if f.key == "content")
    assert not from_site_defaults(content, config.defaults)
    categories = next(f for f in FIELDS if f.key == "categories")
    assert default_text(categories, config.defaults) == "every category"


def test_saving_changes_only_what_was_changed_and_keeps_every_comment(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": COMMENTED})
    opened = read_subscriber(config, "grace")
    form = shown_from_file(opened.values, config.defaults)
    form["limit"] = ["5"]
    form["content"] = [""]  # emptied: the file's "excerpt" goes, the default applies

    result = save_form(config, "grace", form, opened.values, opened.version)

    assert result == Saved("grace", (Change("limit", 10, 5), Change("content", "excerpt", None)))
    text = (config.subscribers_dir / "grace.toml").read_text(encoding="utf-8")
    assert text == COMMENTED.replace("limit = 10", "limit = 5").replace('content = "excerpt"\n', "")


def test_an_unchanged_form_writes_nothing(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": GRACE})
    opened = read_subscriber(config, "grace")
    form = shown_from_file(opened.values, config.defaults)
    form.update({"limit": [""], "utm": [""], "keywords": ["\r\n"]})  # as a browser sends them

    assert values_from_form(form, opened.values, config.defaults) == {}
    assert save_form(config, "grace", form, opened.values, opened.version) == Saved("grace", ())


@pytest.mark.parametrize(
    ("key", "typed", "assignment"),
    [
        ("limit", "abc", "limit=abc"),
        ("limit", "0", "limit=0"),
        ("limit", "2.5", "limit=2.5"),
        ("theme.accent", "red", "theme.accent=red"),
        ("site_url", "grace.example.org", "site_url=grace.example.org"),
        ("language", "xx", "language=xx"),
        ("timezone", "Mars/Base", "timezone=Mars/Base"),
        ("keywords", "ok\nbad\x07", 'keywords=["ok", "bad\\u0007"]'),
    ],
)
def test_a_bad_value_is_refused_next_to_its_field_in_the_words_the_cli_uses(
    tmp_path: Path, key: str, typed: str, assignment: str
) -> None:
    config = make(tmp_path, {"grace": GRACE})
    with pytest.raises(ConfigErrors) as caught:
        edit_subscriber(config, "grace", [assignment])
    cli_words = [error.message for error in caught.value.errors]
    opened = read_subscriber(config, "grace")
    form = shown_from_file(opened.values, config.defaults) | {key: [typed]}

    result = save_form(config, "grace", form, opened.values, opened.version)

    assert result == Refusal({key: cli_words})
    assert (config.subscribers_dir / "grace.toml").read_text(encoding="utf-8") == GRACE


def test_a_rule_across_fields_is_said_for_the_form(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": GRACE})
    opened = read_subscriber(config, "grace")
    form = shown_from_file(opened.values, config.defaults)
    form.update({"link_to": ["hosted"], "outputs": ["rss"]})

    result = save_form(config, "grace", form, opened.values, opened.version)

    assert result == Refusal(
        {FORM: ['link_to = "hosted" links to our article pages: add "articles" to outputs']}
    )


def test_a_save_over_someone_elses_is_refused_and_keeps_their_file(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": GRACE})
    opened = read_subscriber(config, "grace")
    first = shown_from_file(opened.values, config.defaults) | {"limit": ["4"]}
    second = shown_from_file(opened.values, config.defaults) | {"name": ["Hope"]}
    assert isinstance(save_form(config, "grace", first, opened.values, opened.version), Saved)
    saved = (config.subscribers_dir / "grace.toml").read_bytes()

    result = save_form(config, "grace", second, opened.values, opened.version)

    assert isinstance(result, Refusal) and result.stale
    assert "nothing was saved" in result.errors[FORM][0]
    assert (config.subscribers_dir / "grace.toml").read_bytes() == saved


def test_a_new_subscriber_is_written_with_what_was_set_and_nothing_in_effect_anyway(
    tmp_path: Path,
) -> None:
    config = make(tmp_path)
    form: Form = {
        "id": [suggested_id("Église Grâce Church")],
        "name": ["Église Grâce Church"],
        "site_url": ["https://grace.example.org/"],
        "categories": ["Israel", "World News"],
        "limit": ["5"],
        "theme.accent": ["#1a5fb4"],  # the colour input's default, sent as it always is
        "outputs": list(SubscriberConfig.model_fields["outputs"].default),
        "content": [""],
    }

    result = create_from_form(config, form)

    assert isinstance(result, Saved) and result.subscriber_id == "eglise-grace-church"
    created = load_config(config.path).subscribers[0]
    assert (created.id, created.limit, created.categories) == (
        "eglise-grace-church", 5, ("Israel", "World News"),
    )  # fmt: skip
    written = read_subscriber(config, "eglise-grace-church").values
    assert set(written) == {"name", "site_url", "categories", "limit"}


def test_a_new_subscribers_id_and_required_fields_are_checked_each_at_its_field(
    tmp_path: Path,
) -> None:
    config = make(tmp_path, {"grace": GRACE})
    taken = create_from_form(config, {"id": ["grace"], "name": ["G"]})
    assert isinstance(taken, Refusal) and list(taken.errors) == ["id", "site_url"]
    assert "already exists" in taken.errors["id"][0]
    bad = create_from_form(config, {"id": ["../grace"], "name": ["Hope"], "limit": ["0"]})
    assert isinstance(bad, Refusal) and "is not valid" in bad.errors["id"][0]
    assert bad.errors["limit"] == ["must be 1–100, got 0"]  # said with the id's, at once
    assert bad.errors["site_url"] == ["must be an absolute http(s) URL, got ''"]
    assert "name" not in bad.errors

    empty = create_from_form(config, {"id": ["hope"], "name": [""], "site_url": [" "]})

    assert empty == Refusal(
        {"name": ["must not be empty"], "site_url": ["must be an absolute http(s) URL, got ''"]}
    )
    assert not (config.subscribers_dir / "hope.toml").exists()


def test_languages_with_translated_words_come_first_then_every_cldr_language() -> None:
    choices = language_choices()
    assert choices[0] == ("en", "English (en)", True)
    translated = [tag for tag, _, words in choices if words]
    assert translated == [tag for tag, _, _ in choices[: len(translated)]]
    assert "pt-BR" in translated
    assert ("ko", "Korean (ko)", False) in choices


def test_boxes_in_the_pages_order_and_a_colour_as_the_input_holds_it_change_nothing(
    tmp_path: Path,
) -> None:
    config = make(
        tmp_path,
        {"grace": GRACE + 'categories = ["World News", "Israel"]\n'
                          'outputs = ["widget", "rss"]\n[theme]\naccent = "#A0C"\n'},
    )  # fmt: skip
    opened = read_subscriber(config, "grace")
    shown = shown_from_file(opened.values, config.defaults)
    assert shown["theme.accent"] == ["#aa00cc"]
    form = shown | {"categories": ["Israel", "World News"], "outputs": ["rss", "widget"]}

    assert values_from_form(form, opened.values, config.defaults) == {}
    changed = form | {"categories": ["Israel"]}
    assert values_from_form(changed, opened.values, config.defaults) == {"categories": ["Israel"]}


def test_the_scripture_controls_offer_every_providers_translations_and_the_language_default(
    tmp_path: Path,
) -> None:
    by_key = {f.key: f for f in FIELDS}
    link, version = by_key["scripture.link"], by_key["scripture.version"]
    assert (link.kind, link.choices) == ("select", ("none", "biblegateway", "youversion"))
    assert version.kind == "select"
    assert {"NIV", "ESV", "KJV", "RVR1960", "NVI", "ARC", "NVI-PT"} <= set(version.choices)
    assert len(set(version.choices)) == len(version.choices)
    config = make(tmp_path, {"grace": GRACE})
    assert default_text(version, config.defaults) == "by language"
    assert "NIV in English, RVR1960 in Spanish, ARC in Portuguese, NIV in any other" in version.help
    chosen = make(tmp_path / "chosen", defaults='\n[defaults.scripture]\nversion = "esv"\n')
    assert default_text(version, chosen.defaults) == "ESV"
    assert from_site_defaults(version, chosen.defaults)


def test_every_provider_defaults_to_the_same_translation_per_language() -> None:
    # The form says one default per language for both providers.
    sites = list(PROVIDERS.values())
    assert all(
        (s.by_language, s.fallback) == (sites[0].by_language, sites[0].fallback) for s in sites
    )


def test_a_scripture_choice_is_saved_as_a_scripture_table_and_a_hand_written_case_stays(
    tmp_path: Path,
) -> None:
    config = make(tmp_path, {"grace": GRACE + '[scripture]\nversion = "esv"\n'})
    opened = read_subscriber(config, "grace")
    form = shown_from_file(opened.values, config.defaults)
    assert form["scripture.version"] == ["esv"]
    assert save_form(config, "grace", form, opened.values, opened.version) == Saved("grace", ())

    form["scripture.link"] = ["youversion"]
    result = save_form(config, "grace", form, opened.values, opened.version)

    assert result == Saved("grace", (Change("scripture.link", None, "youversion"),))
    grace = load_config(config.path).subscribers[0].scripture
    assert (grace.link, grace.version) == ("youversion", "ESV")


def test_a_translation_the_chosen_site_lacks_is_refused_next_to_its_control(
    tmp_path: Path,
) -> None:
    config = make(tmp_path, {"grace": GRACE})
    opened = read_subscriber(config, "grace")
    form = shown_from_file(opened.values, config.defaults)
    form.update({"scripture.link": ["biblegateway"], "scripture.version": ["NIV84"]})

    result = save_form(config, "grace", form, opened.values, opened.version)

    assert isinstance(result, Refusal)
    (message,) = result.errors["scripture.version"]
    assert message.startswith("'NIV84' is not a version Bible Gateway has; allowed: AMP, ARC,")
