"""Subscriber administration on real files: validated before writing, comments kept,
atomic, and every refusal leaves the folder exactly as it was."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from syndicator.admin import (
    Change,
    add_subscriber,
    check_new_id,
    edit_subscriber,
    list_subscribers,
    parse_assignments,
    read_subscriber,
    remove_subscriber,
    show_subscriber,
    update_subscriber,
)
from syndicator.config import Config, load_config
from syndicator.errors import ConfigErrors, StaleEdit

from .conftest import write_config

FEED = "https://example.org/feed"
GRACE = 'name = "Grace"\nsite_url = "https://grace.example.org/"\n'

# A file as an admin writes it by hand: every kind of comment and blank line.
COMMENTED = """\
# Grace Community Church: world news for the Sunday bulletin.
# Ask Pastor Tim before changing the categories.

name = "Grace Community Church"   # as printed on the bulletin
site_url = "https://grace.example.org/"

# What they receive
categories = ["World News", "Israel"]  # any of these
limit = 10

# How it looks
content = "excerpt"

[theme]
# their brand colour
accent = "#1a5fb4"  # blue
"""


def make(folder: Path, subscribers: dict[str, str] | None = None, defaults: str = "") -> Config:
    folder.mkdir(exist_ok=True)
    main = write_config(folder, FEED, subscribers=subscribers)
    if defaults:
        main.write_text(main.read_text(encoding="utf-8") + defaults, encoding="utf-8")
    return load_config(main)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder`, with the bytes of each file."""
    return {
        str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
        for path in sorted(folder.rglob("*"))
    }


def messages(caught: pytest.ExceptionInfo[ConfigErrors]) -> list[str]:
    return [str(error) for error in caught.value.errors]


def subscriber(config_path: Path, subscriber_id: str) -> Any:
    config = load_config(config_path)
    assert not config.problems, config.problems
    return next(s for s in config.subscribers if s.id == subscriber_id)


# --- add ------------------------------------------------------------------------------


def test_add_writes_a_commented_file_in_order_that_load_config_reads(tmp_path: Path) -> None:
    config = make(tmp_path, defaults='\n[defaults]\nlimit = 3\n\n[defaults.theme]\nmode = "dark"\n')

    file = add_subscriber(
        config,
        "grace",
        "Grace Community Church",
        "https://grace.example.org/",
        # Given out of order, with a dotted theme key and an unset (None) option.
        {"theme.accent": "#AA0000", "content": "full", "categories": ["Israel"], "footer": None},
    )

    assert file == tmp_path / "subscribers" / "grace.toml"
    assert file.read_text(encoding="utf-8") == (
        "# Grace Community Church\n"
        "# Keys not set here come from [defaults] in syndicator.toml.\n"
        'name = "Grace Community Church"\n'
        'site_url = "https://grace.example.org/"\n'
        'categories = ["Israel"]\n'
        'content = "full"\n'
        "\n"
        "[theme]\n"
        'accent = "#AA0000"\n'
    )
    grace = subscriber(config.path, "grace")
    assert (grace.name, grace.site_url) == ("Grace Community Church", "https://grace.example.org/")
    assert (grace.categories, grace.content, grace.footer) == (("Israel",), "full", "")
    assert grace.limit == 3  # from [defaults]
    assert (grace.theme.accent, grace.theme.mode) == ("#aa0000", "dark")  # theme merged too


def test_add_validates_over_the_main_files_defaults(tmp_path: Path) -> None:
    # link_to = "detail_page" needs detail_page_url: here [defaults] provides it.
    defaults = '\n[defaults]\ndetail_page_url = "https://example.org/news/"\n'
    config = make(tmp_path / "with", defaults=defaults)
    add_subscriber(config, "grace", "G", "https://g.example/", {"link_to": "detail_page"})
    assert subscriber(config.path, "grace").detail_page_url == "https://example.org/news/"

    bare = make(tmp_path / "without")
    with pytest.raises(ConfigErrors) as caught:
        add_subscriber(bare, "grace", "G", "https://g.example/", {"link_to": "detail_page"})
    assert "needs detail_page_url" in messages(caught)[0]
    assert not (bare.subscribers_dir / "grace.toml").exists()


@pytest.mark.parametrize(
    ("subscriber_id", "name", "options", "expected"),
    [
        ("../x", "X", {}, "subscriber id: '../x' is not valid: use lower-case letters"),
        ("Grace", "X", {}, "subscriber id: 'Grace' is not valid: use lower-case letters"),
        ("grace", "X", {}, "{file}: subscriber 'grace' already exists; edit it or remove it"),
        ("new", "X", {"limit": 0}, "{file}: limit: must be 1–100, got 0"),
        ("new", "X", {"contnet": "full"}, "{file}: contnet: unknown key; did you mean 'content'?"),
        ("new", "X", {"theme.acent": "#a00"}, "{file}: theme.acent: unknown key; did you mean"),
        ("new", "X", {"utm": "no"}, "{file}: utm: must be true or false (no quotes), got 'no'"),
        ("new", "X", {"id": "other"}, "{file}: id: cannot be set: a subscriber's id is its"),
        ("new", "", {}, "{file}: name: must not be empty"),
        ("new", "\x1b[31mRed", {}, "{file}: name: must not contain control characters"),
    ],
)
def test_add_refuses_and_writes_nothing(
    tmp_path: Path, subscriber_id: str, name: str, options: dict[str, Any], expected: str
) -> None:
    config = make(tmp_path, {"grace": GRACE})
    before = snapshot(tmp_path)

    with pytest.raises(ConfigErrors) as caught:
        add_subscriber(config, subscriber_id, name, "https://x.example/", options)

    file = config.subscribers_dir / f"{subscriber_id}.toml"
    assert messages(caught)[0].startswith(expected.format(file=file))
    assert snapshot(tmp_path) == before


# --- edit -----------------------------------------------------------------------------


def test_edit_keeps_every_comment_blank_line_and_order(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": COMMENTED})
    file = config.subscribers_dir / "grace.toml"

    changes = edit_subscriber(
        config, "grace", ["limit=5", "name=Grace Church", "theme.accent=#aa0000"]
    )

    assert changes == [
        Change("limit", 10, 5),
        Change("name", "Grace Community Church", "Grace Church"),
        Change("theme.accent", "#1a5fb4", "#aa0000"),
    ]
    assert [str(change) for change in changes] == [
        "limit: 10 → 5",
        'name: "Grace Community Church" → "Grace Church"',
        'theme.accent: "#1a5fb4" → "#aa0000"',
    ]
    expected = (
        COMMENTED.replace("limit = 10", "limit = 5")
        .replace('name = "Grace Community Church"', 'name = "Grace Church"')
        .replace('accent = "#1a5fb4"', 'accent = "#aa0000"')
    )
    assert expected.count("\n") == COMMENTED.count("\n")
    assert file.read_text(encoding="utf-8") == expected
    assert subscriber(config.path, "grace").theme.accent == "#aa0000"


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("limit=0", "limit: must be 1–100, got 0"),
        ("content=ful", "content: must be one of 'full', 'excerpt' or 'title', got 'ful'"),
        ("limt=5", "limt: unknown key; did you mean 'limit'? allowed keys: name, site_url,"),
        ("theme.acent=#aa0000", "theme.acent: unknown key; did you mean 'accent'?"),
        ("theme.accent=red", "theme.accent: must be a hex colour like '#1a5fb4', got 'red'"),
        ("name=", "name: required key is missing"),
        ("categories=5", "categories: must be a list like"),
        ("id=hope", "id: cannot be set: a subscriber's id is its file name"),
        ("footer=", "footer: is not set in this file, so there is nothing to remove"),
        ("limit.max=5", "limit: is not a table, so it has no keys"),
    ],
)
def test_edit_refuses_and_leaves_the_file_byte_identical(
    tmp_path: Path, assignment: str, expected: str
) -> None:
    config = make(tmp_path, {"grace": COMMENTED})
    file = config.subscribers_dir / "grace.toml"
    before = snapshot(tmp_path)

    with pytest.raises(ConfigErrors) as caught:
        edit_subscriber(config, "grace", ["limit=5", assignment])  # the valid one is lost too

    assert messages(caught)[0].startswith(f"{file}: {expected}")
    assert snapshot(tmp_path) == before


def test_edit_dotted_theme_keys_create_and_extend_the_table(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": GRACE})
    file = config.subscribers_dir / "grace.toml"

    edit_subscriber(config, "grace", ["theme.accent=#aa0000"])
    edit_subscriber(config, "grace", ["theme.mode=dark", "utm=false"])

    # utm is a top-level key: it goes above [theme], not into it.
    assert file.read_text(encoding="utf-8") == (
        GRACE + 'utm = false\n\n[theme]\naccent = "#aa0000"\nmode = "dark"\n'
    )
    grace = subscriber(config.path, "grace")
    assert (grace.theme.accent, grace.theme.mode, grace.utm) == ("#aa0000", "dark", False)


def test_edit_writes_through_a_linked_file_and_keeps_its_permissions(tmp_path: Path) -> None:
    """An admin who keeps subscriber files elsewhere (a link in subscribers/) or made one
    private finds it edited in place: the link stays a link, the mode stays."""
    config = make(tmp_path, {})
    real = tmp_path / "elsewhere" / "grace.toml"
    real.parent.mkdir()
    real.write_text(GRACE, encoding="utf-8")
    real.chmod(0o600)
    link = config.subscribers_dir / "grace.toml"
    link.symlink_to(real)
    edit_subscriber(load_config(config.path), "grace", ["limit=7"])
    assert link.is_symlink() and link.resolve() == real
    assert real.read_text(encoding="utf-8") == GRACE + "limit = 7\n"
    assert real.stat().st_mode & 0o777 == 0o600
    assert subscriber(config.path, "grace").limit == 7


def test_edit_removing_a_key_falls_back_to_the_defaults(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": COMMENTED}, defaults="\n[defaults]\nlimit = 3\n")
    file = config.subscribers_dir / "grace.toml"

    changes = edit_subscriber(config, "grace", ["limit=", "theme="])

    assert [str(change) for change in changes] == [
        "limit: removed (was 10); the default applies",
        'theme: removed (was {accent = "#1a5fb4"}); the default applies',
    ]
    text = file.read_text(encoding="utf-8")
    assert "limit" not in text and "[theme]" not in text
    assert text.startswith(COMMENTED.split("limit = 10\n")[0])  # all above it untouched
    grace = subscriber(config.path, "grace")
    assert (grace.limit, grace.theme.accent) == (3, "#1a5fb4")


def test_edit_fixes_a_broken_file(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": GRACE + "limt = 5  # typo\n"})
    assert [problem.key for problem in config.problems] == ["limt"]

    edit_subscriber(config, "grace", ["limt=", "limit=5"])

    assert subscriber(config.path, "grace").limit == 5


def test_edit_without_a_change_does_not_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make(tmp_path, {"grace": COMMENTED})

    def no_write(*args: Any) -> None:
        raise AssertionError("nothing should be written")

    monkeypatch.setattr(os, "replace", no_write)
    assert edit_subscriber(config, "grace", ["limit=10", "content=excerpt"]) == []


def test_a_failed_write_leaves_the_file_and_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make(tmp_path, {"grace": COMMENTED})
    file = config.subscribers_dir / "grace.toml"
    before = snapshot(tmp_path)

    def disk_full(source: Any, target: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(ConfigErrors) as caught:
        edit_subscriber(config, "grace", ["limit=5"])
    assert messages(caught) == [f"{file}: cannot write: No space left on device"]
    with pytest.raises(ConfigErrors):
        add_subscriber(config, "hope", "Hope", "https://hope.example.org/")

    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("assignment", "value"),
    [
        ("limit=5", 5),
        ("utm=false", False),
        ('categories=["Israel","World News"]', ["Israel", "World News"]),
        ("name=Grace Church", "Grace Church"),
        ("name = Grace Church ", "Grace Church"),
        ('name="2024"', "2024"),
        ("theme.accent=#aa0000", "#aa0000"),
        ("date_format=%B %-d, %Y", "%B %-d, %Y"),
        ("site_url=https://grace.example.org/?a=b", "https://grace.example.org/?a=b"),
        ("footer=", None),
        # A list key given one value takes it as a one-item list, quoted or not.
        ("categories=Israel", ["Israel"]),
        ("exclude_keywords=World News", ["World News"]),
        ('keywords="2024"', ["2024"]),
    ],
)
def test_values_are_toml_when_they_parse_else_text(assignment: str, value: Any) -> None:
    key = assignment.partition("=")[0].strip()
    parsed = parse_assignments([assignment])
    assert parsed == {key: value}
    assert type(parsed[key]) is type(value)


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("limit 5", "argument: 'limit 5' is not KEY=VALUE"),
        ("=5", "argument: '=5' is not KEY=VALUE"),
        ("theme..mode=dark", "argument: 'theme..mode=dark' is not KEY=VALUE"),
        (
            'categories=["Israel"',
            "argument: categories: not a valid TOML value: [\"Israel\" (it does not end with ']')",
        ),
        (
            "categories=[Israel, Asia]",
            "argument: categories: not a valid TOML value: [Israel, Asia] (put each text in",
        ),
    ],
)
def test_malformed_assignments_are_refused(assignment: str, expected: str) -> None:
    with pytest.raises(ConfigErrors) as caught:
        parse_assignments([assignment])
    assert messages(caught)[0].startswith(expected)


def test_a_single_category_edits_in_as_a_one_item_list(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": COMMENTED})

    changes = edit_subscriber(config, "grace", ["categories=Israel"])

    assert changes == [Change("categories", ["World News", "Israel"], ["Israel"])]
    assert subscriber(config.path, "grace").categories == ("Israel",)


@pytest.mark.parametrize(
    ("assignment", "dotted"), [("mode=dark", "theme.mode"), ("accent=#aa0000", "theme.accent")]
)
def test_a_theme_key_given_without_theme_is_named_with_its_table(
    tmp_path: Path, assignment: str, dotted: str
) -> None:
    config = make(tmp_path, {"grace": GRACE})
    before = snapshot(tmp_path)

    with pytest.raises(ConfigErrors) as caught:
        edit_subscriber(config, "grace", [assignment])

    key = dotted.split(".")[1]
    assert messages(caught)[0].startswith(
        f"{config.subscribers_dir / 'grace.toml'}: {key}: unknown key; did you mean {dotted!r}?"
    )
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("given", "suggested"),
    [("New Church", "new-church"), ("St. Mark’s Chapel", "st-marks-chapel"), ("Église", "eglise")],
)
def test_a_name_given_as_the_id_is_refused_with_the_id_to_use(
    tmp_path: Path, given: str, suggested: str
) -> None:
    config = make(tmp_path)
    with pytest.raises(ConfigErrors) as caught:
        add_subscriber(config, given, given, "https://new.example.org/")
    assert messages(caught) == [
        f"subscriber id: {given!r} is not valid: use lower-case letters, digits and inner "
        f"hyphens, at most 64 characters; did you mean {suggested!r}?"
    ]
    assert not list(config.subscribers_dir.iterdir())


# --- remove, list, show ---------------------------------------------------------------


def test_remove_deletes_the_file(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": GRACE, "hope": GRACE})

    removed = remove_subscriber(config, "grace")

    assert removed == config.subscribers_dir / "grace.toml"
    assert not removed.exists()
    assert [s.id for s in load_config(config.path).subscribers] == ["hope"]
    with pytest.raises(ConfigErrors) as caught:
        remove_subscriber(config, "grace")
    assert messages(caught) == [f"{removed}: no such subscriber; the subscribers folder has: hope"]


def test_show_edit_and_remove_refuse_a_path_as_id(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": GRACE})
    (tmp_path / "syndicator.toml").rename(tmp_path / "x.toml")  # a target outside the folder
    for call in (
        lambda: show_subscriber(config, "../x"),
        lambda: edit_subscriber(config, "../x", ["limit=5"]),
        lambda: remove_subscriber(config, "../x"),
    ):
        with pytest.raises(ConfigErrors) as caught:
            call()
        assert messages(caught)[0].startswith("subscriber id: '../x' is not valid")
    assert (tmp_path / "x.toml").exists()


def test_list_shows_valid_subscribers_and_flags_broken_files(tmp_path: Path) -> None:
    broken = 'name = "Hope"\nsite_url = "https://hope.example.org/"\nlimit = 0\nlimt = 1\n'
    config = make(
        tmp_path,
        {"grace": GRACE + 'categories = ["Israel"]\noutputs = ["rss", "atom"]\n', "hope": broken},
    )

    rows = list_subscribers(config)

    assert rows[0] == {
        "id": "grace",
        "name": "Grace",
        "site_url": "https://grace.example.org/",
        "categories": ["Israel"],
        "content": "excerpt",
        "limit": 10,
        "outputs": 2,
        "file": str(tmp_path / "subscribers" / "grace.toml"),
        "error": None,
    }
    error = rows[1].pop("error")
    assert rows[1] == {
        "id": "hope",
        "name": None,
        "site_url": None,
        "categories": None,
        "content": None,
        "limit": None,
        "outputs": None,
        "file": str(tmp_path / "subscribers" / "hope.toml"),
    }
    # One row per file, however many problems it has.
    assert error.startswith("limit: must be 1–100, got 0; limt: unknown key; did you mean 'limit'?")
    assert len(rows) == 2


def test_show_gives_the_file_then_the_effective_options(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": COMMENTED}, defaults='\n[defaults]\nfooter = "Thanks!"\n')

    shown = show_subscriber(config, "grace")

    file_part, effective = shown.split("# Effective options")
    assert file_part == f"# {config.subscribers_dir / 'grace.toml'}\n{COMMENTED}\n"
    assert effective.startswith(" (this file over [defaults] in syndicator.toml")
    lines = effective.splitlines()
    assert lines[1:3] == [
        'name = "Grace Community Church"',
        'site_url = "https://grace.example.org/"',
    ]
    assert 'footer = "Thanks!"' in lines  # from [defaults]
    assert "limit = 10" in lines and 'accent = "#1a5fb4"' in lines and 'mode = "inherit"' in lines


def test_show_spells_out_the_default_footer_in_the_subscribers_language(tmp_path: Path) -> None:
    spanish = GRACE + 'language = "es"\n'
    config = make(tmp_path, {"grace": GRACE, "gracia": spanish})
    assert 'footer = "News shared with Grace."' in show_subscriber(config, "grace").splitlines()
    shown = show_subscriber(config, "gracia")
    assert 'footer = "Noticias compartidas con Grace."' in shown.splitlines()


def test_show_explains_a_broken_file(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": GRACE + "limit = 0"})  # no final newline

    shown = show_subscriber(config, "grace")

    assert shown.endswith(
        "limit = 0\n\n# Invalid, so every run skips it:\n#   limit: must be 1–100, got 0\n"
    )


# --- read and update, as the console does ----------------------------------------------


def test_read_gives_the_files_version_and_the_keys_it_sets_dotted(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": COMMENTED})

    found = read_subscriber(config, "grace")

    assert found.version == hashlib.sha256(COMMENTED.encode()).hexdigest()
    assert found.values == {
        "name": "Grace Community Church",
        "site_url": "https://grace.example.org/",
        "categories": ["World News", "Israel"],
        "limit": 10,
        "content": "excerpt",
        "theme.accent": "#1a5fb4",
    }


def test_a_save_from_an_older_version_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": COMMENTED})
    opened = read_subscriber(config, "grace")
    update_subscriber(config, "grace", {"limit": 5}, opened.version)  # the first admin saves
    saved = (config.subscribers_dir / "grace.toml").read_bytes()

    with pytest.raises(StaleEdit) as caught:  # the second, from the same version
        update_subscriber(config, "grace", {"limit": 7, "name": "Hope"}, opened.version)

    assert messages(caught) == [
        f"{config.subscribers_dir / 'grace.toml'}: changed since this form was opened (another "
        "admin saved it, or it was edited); nothing was saved: open it again to see the "
        "change, then make yours"
    ]
    assert (config.subscribers_dir / "grace.toml").read_bytes() == saved
    assert subscriber(config.path, "grace").limit == 5


def test_update_with_the_current_version_keeps_comments_like_edit(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": COMMENTED})
    opened = read_subscriber(config, "grace")

    changes = update_subscriber(config, "grace", {"theme.accent": "#aa0000"}, opened.version)

    assert changes == [Change("theme.accent", "#1a5fb4", "#aa0000")]
    text = (config.subscribers_dir / "grace.toml").read_text(encoding="utf-8")
    assert text == COMMENTED.replace('accent = "#1a5fb4"', 'accent = "#aa0000"')


def test_a_new_id_is_refused_when_taken_or_invalid(tmp_path: Path) -> None:
    config = make(tmp_path, {"grace": GRACE})
    with pytest.raises(ConfigErrors) as caught:
        check_new_id(config, "grace")
    assert messages(caught) == [
        f"{config.subscribers_dir / 'grace.toml'}: subscriber 'grace' already exists; "
        "edit it or remove it"
    ]
    with pytest.raises(ConfigErrors) as caught:
        check_new_id(config, "Grace Church")
    assert messages(caught) == [
        "subscriber id: 'Grace Church' is not valid: use lower-case letters, digits and inner "
        "hyphens, at most 64 characters; did you mean 'grace-church'?"
    ]
    assert check_new_id(config, "hope") == config.subscribers_dir / "hope.toml"
