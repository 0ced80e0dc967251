"""Config loading: typed models, messages that name file, key, problem and what is allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicator.config import (
    ScriptureSettings,
    load_config,
    load_subscriber,
    resolved_version,
    subscriber_from,
    validate_subscriber_id,
)
from syndicator.errors import ConfigError, ConfigErrors

from .conftest import REPO, write_config


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_config(path)
    return [str(e) for e in caught.value.errors]


def subscriber_error(tmp_path: Path, text: str, name: str = "grace") -> list[str]:
    file = tmp_path / f"{name}.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigErrors) as caught:
        load_subscriber(file)
    return [str(e) for e in caught.value.errors]


def test_bundled_default_config_is_valid() -> None:
    config = load_config(REPO / "config" / "syndicator.toml")
    assert not config.problems
    assert [s.id for s in config.sources] == ["worthynews"]
    source = config.sources[0]
    assert source.url == (REPO / "config" / "samples" / "worthynews-feed.xml").resolve().as_uri()
    assert Path(source.url.removeprefix("file://")).exists()
    assert len(config.subscribers) == 3
    assert config.site.base_url.endswith("/")
    assert config.site.state_dir == REPO / "state"


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "file:feeds/a.xml"))
    assert config.sources[0].url == (tmp_path / "feeds" / "a.xml").as_uri()
    assert config.site.output_dir == tmp_path / "output"
    assert config.database_path.parent == tmp_path / "state"


def test_defaults_fill_in(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "https://example.org/feed"))
    assert config.fetch.max_bytes == 10 * 1024 * 1024
    assert config.fetch.max_redirects == 5
    assert config.interval_minutes(config.sources[0]) == 30


def test_subscriber_range_message_names_file_key_and_allowed(tmp_path: Path) -> None:
    messages = subscriber_error(
        tmp_path, 'name = "Grace"\nsite_url = "https://g.example/"\nlimit = 0\n'
    )
    assert messages == [f"{tmp_path / 'grace.toml'}: limit: must be 1–100, got 0"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'name = "G"\nsite_url = "https://g.example/"\nlimt = 5\n',
            "limt: unknown key; did you mean 'limit'? allowed keys: name, site_url,",
        ),
        (
            'name = "G"\nsite_url = "https://g.example/"\ncontent = "ful"\n',
            "content: must be one of 'full', 'excerpt' or 'title', got 'ful'",
        ),
        (
            'name = "G"\nsite_url = "https://g.example/"\n[theme]\nmode = "host"\n',
            "theme.mode: must be one of 'inherit', 'light', 'dark' or 'auto', got 'host'",
        ),
        (
            'name = "G"\nsite_url = "ftp://g.example/"\n',
            "site_url: must be an absolute http(s) URL, got 'ftp://g.example/'",
        ),
        (
            'name = "G"\nsite_url = "https://grace church.org/"\n',
            "site_url: must not contain spaces (encode them, e.g. a space as %20), got "
            "'https://grace church.org/'",
        ),
        (
            'name = "G"\nsite_url = "grace.example/news"\n',
            "site_url: must be an absolute http(s) URL, got 'grace.example/news' "
            "(did you mean 'https://grace.example/news'?)",
        ),
        (
            'name = "G"\nsite_url = "https://g.example:80x/"\n',
            "site_url: must name a host (and a port 1–65535, if any), got 'https://g.example:80x/'",
        ),
        (
            'name = "G"\nsite_url = "https://g.example/<news>"\n',
            "site_url: must not contain '<', '>' (encode them",
        ),
        (
            'name = Grace Church\nsite_url = "https://g.example/"\n',
            "invalid TOML: Invalid value (at line 1, column 8); text goes in double quotes",
        ),
        (
            'name = "G"\nsite_url = "https://g.example/"\nlimit = 5\nlimit = 6\n',
            "Cannot overwrite a value (at line 4, column 10); a key is set twice",
        ),
        (
            'name = "G"\nsite_url = "https://g.example/"\n[theme]\nmode = "dark"\nlimit = 5\n',
            "theme.limit: unknown key in [theme]; 'limit' is a top-level key: move its line "
            "above the [theme] heading",
        ),
        (
            'name = "G"\nsite_url = "https://g.example/"\nlanguage = "english"\n',
            "language: must be a language code such as 'en', 'es', 'pt' or 'pt-BR', got 'english'",
        ),
        ('site_url = "https://g.example/"\n', "name: required key is missing"),
        (
            'name = "G"\nsite_url = "https://g.example/"\nlimit = "5"\n',
            "limit: must be a whole number, got '5'",
        ),
        (
            'name = "G"\nsite_url = "https://g.example/"\ncategories = "Israel"\n',
            'categories: must be a list like ["a", "b"]',
        ),
        (
            'name = "G"\nsite_url = "https://g.example/"\nid = "other"\n',
            "id: remove this key: a subscriber's id is its file name",
        ),
        ('name = "G\nsite_url = 1\n', "invalid TOML: "),
        (
            'name = "G\\uFFFF"\nsite_url = "https://g.example/"\n',
            "name: must not contain control characters or noncharacters, got 'G\\uffff'",
        ),
        (
            'name = "G"\nsite_url = "https://g.example/"\nfooter = "F\\uFDD0n\\uFDD0"\n',
            "footer: must not contain control characters or noncharacters",
        ),
    ],
    ids=[
        "unknown-key",
        "literal",
        "theme-mode",
        "url",
        "url-space",
        "url-scheme",
        "url-port",
        "url-unsafe",
        "toml-quotes",
        "toml-twice",
        "below-a-table",
        "language",
        "missing",
        "type",
        "list",
        "id",
        "syntax",
        "noncharacter",
        "placeholder",
    ],
)
def test_subscriber_messages(tmp_path: Path, text: str, expected: str) -> None:
    (message,) = subscriber_error(tmp_path, text)
    assert message.startswith(str(tmp_path / "grace.toml") + ": ")
    assert expected in message


@pytest.mark.parametrize("name", ["Grace Church", ".hidden", "x_y", "-a", "UPPER", "a."])
def test_subscriber_file_names_must_be_slugs(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "subscribers"
    folder.mkdir()
    file = folder / f"{name}.toml"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text('name = "G"\nsite_url = "https://g.example/"\n')
    with pytest.raises(ConfigErrors, match="not a valid subscriber id"):
        load_subscriber(file)


@pytest.mark.parametrize("bad", ["../etc", "a/b", "", "a" * 65, ".hidden", "A"])
def test_validate_subscriber_id_blocks_traversal(bad: str) -> None:
    with pytest.raises(ConfigError):
        validate_subscriber_id(bad)
    assert validate_subscriber_id("grace-church-2") == "grace-church-2"


def test_one_broken_subscriber_is_skipped_and_reported(tmp_path: Path) -> None:
    main = write_config(
        tmp_path,
        "https://example.org/feed",
        subscribers={
            "good": 'name = "Good"\nsite_url = "https://good.example/"\n',
            "bad": 'name = "Bad"\nsite_url = "https://bad.example/"\nlimit = 500\n',
        },
    )
    config = load_config(main)
    assert [s.id for s in config.subscribers] == ["good"]
    (problem,) = config.problems
    assert problem.file.endswith("subscribers/bad.toml") and problem.key == "limit"


def test_main_file_problems_are_all_reported(tmp_path: Path) -> None:
    main = tmp_path / "syndicator.toml"
    main.write_text(
        """[site]
name = ""
base_url = "not a url"
colour = "red"

[fetch]
max_bytes = 10

[[sources]]
id = "Bad Id"
url = "gopher://x"

[[sources]]
id = "ok"
url = "https://example.org/feed"
interval_minutes = 0
"""
    )
    messages = errors_of(main)
    assert any("site.name: must not be empty" in m for m in messages)
    assert any("site.base_url: must be an absolute http(s) URL" in m for m in messages)
    assert any("site.colour: unknown key; allowed keys: name, base_url," in m for m in messages)
    assert any("fetch.max_bytes: must be 1024–1073741824, got 10" in m for m in messages)
    assert any("sources[0].id: 'Bad Id' is not a valid id" in m for m in messages)
    assert any("sources[0].url: must be an absolute http(s) URL" in m for m in messages)
    assert any("sources[1].interval_minutes: must be 1–1440, got 0" in m for m in messages)
    assert all(m.startswith(f"{main}: ") for m in messages)


@pytest.mark.parametrize(
    ("folders", "expected"),
    [
        (
            'output_dir = "."',
            "site.output_dir: must not be the config folder or a folder holding it",
        ),
        (
            'output_dir = ".."',
            "site.output_dir: must not be the config folder or a folder holding it",
        ),
        (
            'output_dir = "/"',
            "site.output_dir: must not be the config folder or a folder holding it",
        ),
        (
            'output_dir = "out"\nstate_dir = "out/state"',
            "site.state_dir: must be apart from output_dir",
        ),
        (
            'output_dir = "state/out"\nstate_dir = "state"',
            "site.state_dir: must be apart from output_dir",
        ),
        (
            'output_dir = "same"\nstate_dir = "same"',
            "site.state_dir: must be apart from output_dir",
        ),
    ],
    ids=["config-folder", "parent", "root", "state-inside", "output-inside", "same"],
)
def test_output_folder_must_not_overlap_the_config_or_the_state(
    tmp_path: Path, folders: str, expected: str
) -> None:
    """Publishing prunes folders named like subscribers and a web server serves all of the
    output folder: the config and the database must not be in it."""
    main = tmp_path / "conf" / "syndicator.toml"
    main.parent.mkdir()
    main.write_text(
        f'[site]\nname = "S"\nbase_url = "https://s.example/"\n{folders}\n\n'
        '[[sources]]\nid = "w"\nurl = "https://example.org/feed"\n'
    )
    messages = errors_of(main)
    assert any(expected in m for m in messages), messages


def test_a_linked_output_folder_leading_to_the_config_folder_is_refused(tmp_path: Path) -> None:
    main = tmp_path / "conf" / "syndicator.toml"
    main.parent.mkdir()
    (tmp_path / "www").symlink_to(main.parent, target_is_directory=True)
    main.write_text(
        '[site]\nname = "S"\nbase_url = "https://s.example/"\noutput_dir = "../www"\n\n'
        '[[sources]]\nid = "w"\nurl = "https://example.org/feed"\n'
    )
    assert any("site.output_dir: must not be the config folder" in m for m in errors_of(main))


def test_file_url_with_escapes_and_strict_booleans(tmp_path: Path) -> None:
    main = write_config(tmp_path, "file:my%20feeds/a.xml")
    assert load_config(main).sources[0].url == (tmp_path / "my feeds" / "a.xml").as_uri()
    main.write_text(main.read_text() + '[sources.clean]\nkeep_byline = "yes"\n')
    (message,) = errors_of(main)
    assert "sources[0].clean.keep_byline: must be true or false (no quotes), got 'yes'" in message


def test_all_sources_invalid_does_not_claim_the_list_is_empty(tmp_path: Path) -> None:
    main = tmp_path / "syndicator.toml"
    main.write_text('[site]\nname = "S"\nbase_url = "https://s.example/"\n[[sources]]\nid = "a"\n')
    assert errors_of(main) == [f"{main}: sources[0].url: required key is missing"]


def test_site_defaults_apply_and_subscribers_override_key_by_key(tmp_path: Path) -> None:
    main = write_config(
        tmp_path,
        "https://example.org/feed",
        subscribers={
            "plain": 'name = "P"\nsite_url = "https://p.example/"\n',
            "own": 'name = "O"\nsite_url = "https://o.example/"\nlimit = 3\n[theme]\nmode = "dark"\n',
        },
    )
    main.write_text(
        main.read_text()
        + '\n[defaults]\nlimit = 7\ncontent = "full"\n[defaults.theme]\naccent = "#AA0000"\n'
    )
    config = load_config(main)
    plain, own = sorted(config.subscribers, key=lambda s: s.id, reverse=True)
    assert (plain.limit, plain.content, plain.theme.accent, plain.theme.mode) == (
        7,
        "full",
        "#aa0000",
        "inherit",  # the default: the host page's colours
    )
    assert (own.limit, own.content, own.theme.accent, own.theme.mode) == (
        3,
        "full",
        "#aa0000",
        "dark",
    )
    assert config.defaults.limit == 7


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('link_to = "detail_page"', 'link_to = "detail_page" needs detail_page_url'),
        (
            'detail_page_url = "https://g.example/news/?a=1#latest"',
            "detail_page_url: must not have a #fragment: story links add ?story=",
        ),
        ('timezone = "Mars/Olympus"', "timezone: unknown time zone 'Mars/Olympus'"),
        ('date_format = "%B %Q"', "date_format: unknown strftime directive(s) %Q"),
        ('outputs = ["rss", "pdf"]', "outputs[1]: must be one of"),
        ('theme = { accent = "red;} body{display:none" }', "theme.accent: must be a hex colour"),
        ('language = "en_US<"', "language: "),
    ],
)
def test_subscriber_option_messages(tmp_path: Path, line: str, expected: str) -> None:
    (message,) = subscriber_error(
        tmp_path, f'name = "G"\nsite_url = "https://g.example/"\n{line}\n'
    )
    assert expected in message


def test_duplicate_source_ids_and_missing_sources(tmp_path: Path) -> None:
    main = tmp_path / "syndicator.toml"
    base = '[site]\nname = "S"\nbase_url = "https://s.example/"\n'
    main.write_text(base)
    assert any("sources: required key is missing" in m for m in errors_of(main))
    main.write_text(base + '[[sources]]\nid = "a"\nurl = "https://x/"\n' * 2)
    assert any("source id 'a' is used twice" in m for m in errors_of(main))


def test_missing_main_file(tmp_path: Path) -> None:
    assert errors_of(tmp_path / "nope.toml") == [f"{tmp_path / 'nope.toml'}: file not found"]


def test_models_are_frozen(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "https://example.org/feed"))
    with pytest.raises(Exception, match="frozen"):
        config.site.name = "x"


def test_hosted_links_need_article_pages_and_names_must_not_be_blank(tmp_path: Path) -> None:
    from syndicator.config import load_subscriber

    bad = tmp_path / "grace.toml"
    bad.write_text(
        'name = "G"\nsite_url = "https://g.example/"\nlink_to = "hosted"\noutputs = ["rss"]\n'
    )
    with pytest.raises(ConfigErrors, match='add "articles" to outputs'):
        load_subscriber(bad)
    bad.write_text('name = "   "\nsite_url = "https://g.example/"\n')
    with pytest.raises(ConfigErrors, match="name: must not be blank"):
        load_subscriber(bad)


def test_a_subscriber_file_that_is_not_utf8_is_reported_not_a_crash(tmp_path: Path) -> None:
    main = write_config(
        tmp_path,
        "https://example.org/feed",
        subscribers={"ok": 'name = "Ok"\nsite_url = "https://ok.example/"'},
    )
    (tmp_path / "subscribers" / "latin.toml").write_bytes('name = "Église"\n'.encode("latin-1"))
    config = load_config(main)
    assert [s.id for s in config.subscribers] == ["ok"]
    (problem,) = config.problems
    assert "latin.toml" in str(problem) and "not UTF-8" in str(problem)


DEEP_ARRAY = "categories = " + "[" * 500 + "]" * 500 + "\n"  # 1 KB
DEEP_INLINE_TABLE = "x = " + "{a = " * 50_000 + "1" + "}" * 50_000 + "\n"
DEEP_DOTTED_KEY = "a" + ".a" * 50_000 + " = 1\n"  # tomllib alone: a minute, quadratic


@pytest.mark.parametrize("deep", [DEEP_ARRAY, DEEP_INLINE_TABLE, DEEP_DOTTED_KEY])
def test_a_subscriber_file_nested_too_deep_is_its_problem_and_the_others_load(
    tmp_path: Path, deep: str
) -> None:
    main = write_config(
        tmp_path,
        "https://example.org/feed",
        subscribers={"ok": 'name = "Ok"\nsite_url = "https://ok.example/"\n'},
    )
    (tmp_path / "subscribers" / "deep.toml").write_text('name = "Deep"\n' + deep)
    config = load_config(main)
    assert [s.id for s in config.subscribers] == ["ok"]
    (problem,) = config.problems
    assert problem.file.endswith("subscribers/deep.toml")
    assert "nested more than 20 deep" in problem.message and "line 2" in problem.message
    assert "\n" not in str(problem)


@pytest.mark.parametrize("deep", [DEEP_ARRAY, DEEP_INLINE_TABLE, DEEP_DOTTED_KEY])
def test_a_main_file_nested_too_deep_is_a_config_error_naming_it(tmp_path: Path, deep: str) -> None:
    main = write_config(tmp_path, "https://example.org/feed")
    main.write_text(deep + main.read_text())
    (message,) = errors_of(main)
    assert message.startswith(f"{main}: ") and "nested more than 20 deep at line 1" in message


def test_brackets_and_dots_in_strings_and_comments_are_text_not_nesting(tmp_path: Path) -> None:
    main = write_config(tmp_path, "https://example.org/feed")
    many = "[{" * 30 + "a." * 30
    text = (
        f"# {many}\n"
        f'name = "{many} \\" {many}"\n'
        "site_url = 'https://ok.example/'\n"
        f'footer = """{many}" "{many}"" """""\n'
        f"categories = [\n  '''{many}''', # {many}\n  '{many}',\n]\n"
        f"theme.accent = '#aabbcc' # {many}\n"
    )
    (tmp_path / "subscribers" / "strings.toml").write_text(text)
    config = load_config(main)
    assert not config.problems
    (subscriber,) = config.subscribers
    assert subscriber.name == f'{many} " {many}'
    assert subscriber.footer == f'{many}" "{many}"" ""'
    assert subscriber.categories == (many, many)


TOML_PIECES = st.sampled_from(
    ['"', "'", '"""', "'''", "[", "]", "[[", "]]", "{", "}", ".", "=", ",", "\n", "#", "\\",
     "a", "1", "1.5", " ", "true", "1979-05-27", "name", "limit", "theme", "\x00", "\udcff",
     "é", "2021-02-31", "99:99:99", "+inf", "0x", "1e999", "site", "sources"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(TOML_PIECES, max_size=60),
    raw=st.binary(max_size=40),
    depth=st.integers(0, 2000),
)
def test_any_bytes_in_a_config_file_are_a_config_error_naming_it(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[str], raw: bytes, depth: int
) -> None:
    """Whatever a file holds, loading it gives a config or a ConfigError naming the file:
    never another exception."""
    folder = tmp_path_factory.mktemp("fuzz")
    text = "".join(pieces).encode("utf-8", "surrogateescape")
    data = b"x = " + b"[" * depth + text + raw + b"]" * depth
    file = folder / "church.toml"
    file.write_bytes(data)
    try:
        load_subscriber(file)
    except ConfigErrors as exc:
        assert exc.errors and all(error.file == str(file) for error in exc.errors)
    main = folder / "syndicator.toml"
    main.write_bytes(data)
    try:
        load_config(main)
    except ConfigErrors as exc:
        assert exc.errors and all(error.file == str(main) for error in exc.errors)


@pytest.mark.parametrize("which", ["subscriber", "main"])
def test_an_integer_longer_than_python_reads_is_a_config_error_naming_the_file(
    tmp_path: Path, which: str
) -> None:
    main = write_config(
        tmp_path,
        "https://example.org/feed",
        subscribers={"ok": 'name = "Ok"\nsite_url = "https://ok.example/"\n'},
    )
    huge = "limit = 1" + "0" * 4400 + "\n"  # past Python's 4,300-digit int() limit
    if which == "main":
        main.write_text(main.read_text().replace("[fetch]\n", f"[fetch]\nmax_{huge}"))
        (message,) = errors_of(main)
        assert message.startswith(f"{main}: ") and "4300 digits" in message
        return
    (tmp_path / "subscribers" / "huge.toml").write_text('name = "Huge"\n' + huge)
    config = load_config(main)
    assert [s.id for s in config.subscribers] == ["ok"]
    (problem,) = config.problems
    assert problem.file.endswith("subscribers/huge.toml") and "4300 digits" in problem.message
    assert "\n" not in str(problem)


@pytest.mark.parametrize("what", ["a file", "a link loop", "a FIFO"])
def test_a_subscribers_folder_that_cannot_be_listed_is_an_error_not_zero_subscribers(
    tmp_path: Path, what: str
) -> None:
    """Read as "no subscribers", it would retire every church's outputs."""
    main = write_config(tmp_path, "https://example.org/feed")
    folder = tmp_path / "subscribers"
    folder.rmdir()
    if what == "a file":
        folder.write_text('name = "x"\n')
    elif what == "a link loop":
        folder.symlink_to(folder)
    else:
        os.mkfifo(folder)
    (message,) = errors_of(main)
    assert message.startswith(f"{folder}: ") and "cannot list subscriber files" in message


def test_no_subscribers_folder_at_all_is_zero_subscribers(tmp_path: Path) -> None:
    main = write_config(tmp_path, "https://example.org/feed")
    (tmp_path / "subscribers").rmdir()
    config = load_config(main)
    assert config.subscribers == () and config.problems == ()


def test_a_subscriber_file_whose_name_is_not_utf8_is_skipped_with_no_id_to_keep(
    tmp_path: Path,
) -> None:
    main = write_config(
        tmp_path,
        "https://example.org/feed",
        subscribers={"ok": 'name = "Ok"\nsite_url = "https://ok.example/"\n'},
    )
    (tmp_path / "subscribers" / os.fsdecode(b"\xff.toml")).write_text('name = "x"\n')
    config = load_config(main)
    assert [s.id for s in config.subscribers] == ["ok"]
    (problem,) = config.problems
    assert "not a valid subscriber id" in problem.message
    assert config.broken_subscriber_ids == frozenset()  # no such id was ever published


def test_a_file_of_thousands_of_mistakes_says_the_first_twenty_and_how_many_more(
    tmp_path: Path,
) -> None:
    """60,000 unknown keys printed 60,000 lines (22 MB) and took 17 s to explain."""
    keys = "".join(f"key{n} = 1\n" for n in range(5000))
    main = write_config(
        tmp_path,
        "https://example.org/feed",
        subscribers={"noisy": f'name = "Noisy"\nsite_url = "https://noisy.example/"\n{keys}'},
    )
    problems = [p for p in load_config(main).problems if p.file.endswith("noisy.toml")]
    assert len(problems) == 21
    assert [p.key for p in problems[:2]] == ["key0", "key1"]
    assert problems[-1].key is None
    assert "and 4,980 more problem(s) not shown" in problems[-1].message


def test_loading_a_config_needs_no_stage_of_the_pipeline() -> None:
    """Config is validated before any stage runs: importing it loads no cleaning,
    rendering or publishing code (their shared defaults live in `models`)."""
    program = (
        "import sys, syndicator.config\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('syndicator'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "syndicator.config" in loaded
    assert not [m for m in loaded if m.split(".")[1:2] in (["clean"], ["render"], ["publish"])]


def test_a_drafts_data_is_validated_over_the_defaults_like_a_file() -> None:
    defaults = {"limit": 7, "theme": {"layout": "cards"}}
    data = {"name": "G", "site_url": "https://g.example/", "theme": {"accent": "#aa0000"}}
    draft = subscriber_from(data, "g", defaults)
    assert (draft.id, draft.limit, draft.theme.layout, draft.theme.accent) == (
        "g",
        7,
        "cards",
        "#aa0000",
    )
    with pytest.raises(ConfigErrors) as caught:
        subscriber_from({**data, "limit": 0}, "g", defaults, "form")
    assert [(e.file, e.key) for e in caught.value.errors] == [("form", "limit")]


def with_publish(tmp_path: Path, lines: str) -> Path:
    main = write_config(tmp_path, "https://example.org/feed")
    main.write_text(main.read_text(encoding="utf-8") + f"\n[publish]\n{lines}", encoding="utf-8")
    return main


def test_a_bucket_target_gives_bucket_prefix_and_public_url_replaces_base_url(
    tmp_path: Path,
) -> None:
    config = load_config(
        with_publish(
            tmp_path,
            'target = "s3://news-out/syndication/v1"\nendpoint_url = "http://127.0.0.1:9000"\n'
            'region = "auto"\npublic_url = "https://cdn.example.org/syndication/v1"\n',
        )
    )
    assert (config.publish.bucket, config.publish.prefix) == ("news-out", "syndication/v1/")
    assert config.publish.endpoint_url == "http://127.0.0.1:9000"
    assert config.site.base_url == "https://cdn.example.org/syndication/v1/"
    assert config.as_dict()["publish"]["target"] == "s3://news-out/syndication/v1"


def test_without_a_publish_table_outputs_go_to_output_dir(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "https://example.org/feed"))
    assert config.publish.bucket is None
    assert config.site.base_url == "http://127.0.0.1:9/"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'aws_secret_access_key = "abc"',
            "publish.aws_secret_access_key: a secret in the config; credentials are never read",
        ),
        ('purge_token = "abc"', "publish.purge_token: a secret in the config;"),
        ('bucket = "news"', "publish.bucket: unknown key; allowed keys: target, endpoint_url,"),
        ('target = "s3://Bad_Bucket/x"', "publish.target: must be s3://BUCKET or s3://BUCKET/"),
        ('target = "s3://news/a/../b"', "publish.target: must be s3://BUCKET or s3://BUCKET/"),
        ('target = "https://news/"', "publish.target: must be s3://BUCKET or s3://BUCKET/"),
        ('purge_token_env = "my token"', "publish.purge_token_env: must be the name of an env"),
    ],
)
def test_publish_messages_name_file_and_key(tmp_path: Path, line: str, expected: str) -> None:
    messages = errors_of(with_publish(tmp_path, line + "\n"))
    assert len(messages) == 1
    assert messages[0].startswith(f"{tmp_path / 'syndicator.toml'}: {expected}"), messages


def test_scripture_under_defaults_merges_with_each_subscribers_key_by_key(tmp_path: Path) -> None:
    main = write_config(
        tmp_path,
        "https://example.org/feed",
        subscribers={
            "plain": 'name = "P"\nsite_url = "https://p.example/"\n',
            "own": 'name = "O"\nsite_url = "https://o.example/"\n[scripture]\nversion = "esv"\n',
        },
    )
    main.write_text(main.read_text() + '\n[defaults.scripture]\nlink = "youversion"\n')
    config = load_config(main)
    found = {s.id: (s.scripture.link, s.scripture.version) for s in config.subscribers}
    assert found == {"plain": ("youversion", None), "own": ("youversion", "ESV")}
    assert config.defaults.scripture.link == "youversion"


def test_scripture_links_nothing_unless_a_provider_is_chosen(tmp_path: Path) -> None:
    file = tmp_path / "grace.toml"
    file.write_text('name = "G"\nsite_url = "https://g.example/"\n', encoding="utf-8")
    assert load_subscriber(file).scripture == ScriptureSettings(link="none", version=None)
    assert resolved_version(ScriptureSettings(), "en") is None
    assert resolved_version(ScriptureSettings(version="ESV"), "en") is None


@pytest.mark.parametrize(
    ("language", "version"), [("en", "NIV"), ("es", "RVR1960"), ("pt-BR", "ARC"), ("de", "NIV")]
)
def test_an_unset_scripture_version_is_the_providers_default_for_the_language(
    language: str, version: str
) -> None:
    for link in ("biblegateway", "youversion"):
        settings = ScriptureSettings.model_validate({"link": link})
        assert resolved_version(settings, language) == version
        chosen = ScriptureSettings.model_validate({"link": link, "version": "nkjv"})
        assert resolved_version(chosen, language) == "NKJV"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            'link = "bible gateway"',
            "scripture.link: must be one of 'none', 'biblegateway' or 'youversion', "
            "got 'bible gateway'",
        ),
        (
            'link = "youversion"\nversion = "NIV84"',
            "scripture.version: 'NIV84' is not a version YouVersion (bible.com) has; allowed: "
            "AMP, ARC, CSB, ESV, KJV, MSG, NASB, NASB1995, NIV, NKJV, NLT, NRSV, NTV, NVI, "
            "NVI-PT, RVR1960",
        ),
        ('version = "LUTHER"', "scripture.version: 'LUTHER' is not a known version; allowed: AMP,"),
        ("version = 1984", "scripture.version: must be a text in quotes, got 1984"),
        ('verson = "NIV"', "scripture.verson: unknown key; did you mean 'version'?"),
    ],
)
def test_a_wrong_scripture_setting_names_the_file_the_key_and_what_is_allowed(
    tmp_path: Path, lines: str, expected: str
) -> None:
    (message,) = subscriber_error(
        tmp_path, f'name = "G"\nsite_url = "https://g.example/"\n[scripture]\n{lines}\n'
    )
    assert message.startswith(f"{tmp_path / 'grace.toml'}: {expected}")


def test_a_wrong_scripture_version_under_defaults_stops_the_config(tmp_path: Path) -> None:
    main = write_config(tmp_path, "https://example.org/feed")
    main.write_text(main.read_text() + '\n[defaults.scripture]\nversion = "XYZ"\n')
    (message,) = errors_of(main)
    assert message.startswith(f"{main}: defaults.scripture.version: 'XYZ' is not a known version")
