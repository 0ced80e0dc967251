"""The console's subscriber pages on a real server over real files: the list, the add and
edit forms, removal, the embed code; attacked with path tricks, hostile values and two
admins saving at once."""

from __future__ import annotations

import re
from urllib.parse import unquote

import httpx2
import pytest
from markupsafe import escape
from starlette.exceptions import HTTPException

from syndicator.config import load_config
from syndicator.pipeline import run_once
from syndicator.store import Store
from syndicator.web.forms import FIELDS
from syndicator.web.subscribers import GROUPS, checked_id

from .conftest import NOW, Console
from .test_web_console import replace

NEW_CHURCH = {
    "id": "",
    "name": "New Hope Church",
    "site_url": "https://newhope.example.org/",
    "categories": ["Israel"],
    "limit": "4",
    "theme.accent": "#aa0000",
}


def escape_(text: str) -> str:
    """`text` as the console's templates escape it."""
    return str(escape(text))


def fields_in(page: str) -> set[str]:
    return set(re.findall(r'<(?:input|select|textarea)[^>]* name="([^"]+)"', page))


def field_block(page: str, key: str) -> str:
    """The HTML of one field's block on a form page (its control, hint and error)."""
    fid = "f-" + key.replace(".", "-")
    start = page.index(f'id="{fid}"')
    start = page.rindex('<div class="field', 0, start) if "<div" in page[:start] else start
    return page[start : page.index(f'id="{fid}-help"', start) + 2000]


def audit_entries(console: Console) -> list[tuple[str, str, str, str]]:
    with Store(console.config.database_path) as store:
        rows = store._db.execute("SELECT admin, action, target, detail FROM audit ORDER BY id")
        return [tuple(row) for row in rows]


def test_the_form_sections_hold_every_field_once() -> None:
    keys = [key for _, group in GROUPS for key in group]
    assert sorted(keys) == sorted(f.key for f in FIELDS)


def test_the_list_shows_each_subscriber_with_its_state_and_finds_by_search(
    console: Console,
) -> None:
    page = console.get("/admin/subscribers")
    assert page.status_code == 200
    for name in ("Grace Community Church", "Hope Ministries", "St Mark Chapel"):
        assert name in page.text
    assert page.text.count("never published") == 3  # no cycle has run
    assert '<a href="/admin/subscribers/grace-church">Grace Community Church</a>' in page.text

    found = console.get("/admin/subscribers", params={"q": "HOPE-MINISTRIES.example"})
    assert "Hope Ministries" in found.text and "Grace Community" not in found.text
    never = console.get("/admin/subscribers", params={"problem": "never", "q": "mark"})
    assert "St Mark Chapel" in never.text and "Hope Ministries" not in never.text
    failing = console.get("/admin/subscribers", params={"problem": "failing"})
    assert "No subscriber matches" in failing.text


def test_the_list_comes_in_pages_of_fifty(console: Console) -> None:
    folder = console.config_path.parent / "subscribers"
    for n in range(60):
        (folder / f"church-{n:02}.toml").write_text(
            f'name = "Church {n}"\nsite_url = "https://c{n}.example.org/"\n'
        )
    first = console.get("/admin/subscribers")
    assert first.text.count('<tr class="problem">') == 50  # all never published
    assert "page 1 of 2" in first.text
    assert '<a href="/admin/subscribers?page=2" rel="next">' in first.text
    second = console.get("/admin/subscribers", params={"page": "2"})
    assert second.text.count('<tr class="problem">') == 13
    assert "St Mark Chapel" in second.text


def test_a_new_subscriber_is_added_with_the_id_made_from_its_name(console: Console) -> None:
    form = console.get("/admin/subscribers/+new")
    assert form.status_code == 200
    assert fields_in(form.text) == {"csrf_token", "id"} | {f.key for f in FIELDS}

    added = console.post("/admin/subscribers/+new", NEW_CHURCH)

    assert added.status_code == 303
    assert added.headers["location"] == "/admin/subscribers/new-hope-church?done=added"
    created = next(s for s in console.config.subscribers if s.id == "new-hope-church")
    assert (created.limit, created.categories, created.theme.accent) == (4, ("Israel",), "#aa0000")
    page = console.get(added.headers["location"])
    assert "Added. The next cycle publishes it" in page.text
    assert escape_("http://127.0.0.1:8080/new-hope-church/embed.js") in page.text
    assert audit_entries(console)[-1][:3] == ("admin", "add subscriber", "new-hope-church")
    assert "limit: set to 4" in audit_entries(console)[-1][3]


def test_a_refused_form_shows_each_error_next_to_its_field_and_keeps_what_was_typed(
    console: Console,
) -> None:
    typed = NEW_CHURCH | {"id": "hope", "limit": "500", "site_url": "newhope.example.org"}

    refused = console.post("/admin/subscribers/+new", typed)

    assert refused.status_code == 400
    limit = field_block(refused.text, "limit")
    assert 'aria-describedby="f-limit-help f-limit-error"' in limit
    assert 'aria-invalid="true"' in limit and 'value="500"' in limit
    assert '<p class="error" id="f-limit-error">must be 1–100, got 500</p>' in limit
    site = field_block(refused.text, "site_url")
    assert "did you mean &#39;https://newhope.example.org&#39;?" in site
    assert 'value="newhope.example.org"' in site
    assert 'value="New Hope Church"' in refused.text
    assert not (console.config_path.parent / "subscribers" / "hope.toml").exists()
    assert not [entry for entry in audit_entries(console) if entry[1] == "add subscriber"]


def test_an_edit_saves_only_what_changed_and_keeps_the_files_comments(console: Console) -> None:
    file = console.config_path.parent / "subscribers" / "grace-church.toml"
    before = file.read_text()
    form = console.get("/admin/subscribers/grace-church").text
    version = re.search(r'name="version" value="([0-9a-f]{64})"', form)
    assert version

    saved = console.post(
        "/admin/subscribers/grace-church",
        {
            "version": version.group(1),
            "name": "Grace Community Church",
            "site_url": "https://grace-church.example.org/",
            "categories": ["Christian News", "World News"],  # the page's order, not the file's
            "limit": "6",
            "content": "excerpt",
            "theme.accent": "#1a5fb4",  # the default, as the colour input always sends it
        },
    )

    assert saved.status_code == 303
    assert saved.headers["location"] == "/admin/subscribers/grace-church?done=saved"
    assert file.read_text() == before.replace("limit = 10", "limit = 6")
    assert audit_entries(console)[-1] == (
        "admin",
        "edit subscriber",
        "grace-church",
        "limit: 10 → 6",
    )


def test_a_second_admins_save_from_the_same_version_is_refused_and_overwrites_nothing(
    console: Console,
) -> None:
    file = console.config_path.parent / "subscribers" / "hope-ministries.toml"
    form = console.get("/admin/subscribers/hope-ministries").text
    version = re.search(r'name="version" value="([0-9a-f]{64})"', form)
    assert version
    base = {"version": version.group(1), "name": "Hope Ministries",
            "site_url": "https://hope-ministries.example.net/",
            "categories": ["Israel", "Middle East"], "content": "full"}  # fmt: skip
    first = console.post("/admin/subscribers/hope-ministries", base | {"limit": "3"})
    assert first.status_code == 303
    after_first = file.read_bytes()

    second = console.post(
        "/admin/subscribers/hope-ministries", base | {"limit": "5", "name": "Hope Ministry"}
    )

    assert second.status_code == 409
    assert "changed since this form was opened" in second.text
    assert "nothing was saved" in second.text
    assert 'value="Hope Ministry"' in second.text  # what they typed is still there
    assert file.read_bytes() == after_first
    assert load_config(console.config_path).subscribers[1].limit == 3


def test_remove_asks_first_then_deletes_the_file_and_records_it(console: Console) -> None:
    file = console.config_path.parent / "subscribers" / "st-mark-chapel.toml"
    asked = console.get("/admin/subscribers/st-mark-chapel/remove")
    assert asked.status_code == 200
    assert "stop working" in asked.text and file.exists()

    removed = console.post("/admin/subscribers/st-mark-chapel/remove")

    assert removed.status_code == 303
    assert removed.headers["location"] == "/admin/subscribers?removed=st-mark-chapel"
    assert not file.exists()
    assert "Removed <code>st-mark-chapel</code>" in console.get(removed.headers["location"]).text
    assert audit_entries(console)[-1][1:3] == ("remove subscriber", "st-mark-chapel")
    assert console.get("/admin/subscribers/st-mark-chapel").status_code == 404


@pytest.mark.parametrize(
    "trick",
    ["..%2f..%2fsyndicator", "%2e%2e", "...", "a%00b", "x" * 300, "Grace-Church",
     "grace-church.toml", "-grace", "%252e%252e"],
)  # fmt: skip
def test_an_id_that_is_no_slug_is_not_found_and_touches_no_file(
    console: Console, trick: str
) -> None:
    folder = console.config_path.parent
    (folder.parent / "outside.toml").write_text('name = "x"\n')
    before = {p: p.read_bytes() for p in folder.parent.rglob("*") if p.is_file()}
    client, token = console.client, console.csrf_token
    answers = []
    for path in (f"/admin/subscribers/{trick}", f"/admin/subscribers/{trick}/remove"):
        url = httpx2.URL(console.base).copy_with(raw_path=path.encode())  # sent as typed
        answers.append(client.get(url).status_code)
        answers.append(client.post(url, data={"csrf_token": token, "name": "x"}).status_code)
    assert answers == [404] * 4
    assert {p: p.read_bytes() for p in folder.parent.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("dots", [".", "..", "./grace-church", "%2e"])
def test_dot_segments_never_reach_a_subscriber_as_its_id(dots: str) -> None:
    # A client or the server resolves /admin/subscribers/.. before routing; should one
    # reach the handler anyway, it is no id.
    with pytest.raises(HTTPException) as caught:
        checked_id(unquote(dots))
    assert caught.value.status_code == 404


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def test_every_stored_field_is_shown_escaped(console: Console) -> None:
    file = console.config_path.parent / "subscribers" / "grace-church.toml"
    replace(
        file,
        f"name = '{HOSTILE}'\n"
        f"site_url = 'https://grace.example.org/?q=\"><script>alert(3)</script>'\n"
        f"footer = '{HOSTILE}'\n"
        f"categories = ['{HOSTILE}']\n"
        f"exclude_categories = ['{HOSTILE}x']\n"
        f"keywords = ['{HOSTILE}']\n"
        f"exclude_keywords = ['</textarea>{HOSTILE}']\n"
        f"date_format = '{HOSTILE}'\n"
        f"timezone = '{HOSTILE}'\n"
        f"language = '{HOSTILE}'\n",
    )
    valid = console.config_path.parent / "subscribers" / "hope-ministries.toml"
    replace(
        valid,
        f"name = '{HOSTILE}'\nsite_url = 'https://hope.example.org/'\nfooter = '{HOSTILE}'\n"
        f"categories = ['{HOSTILE}']\nexclude_keywords = ['</textarea>{HOSTILE}']\n",
    )
    assert [s.id for s in console.config.subscribers] == ["hope-ministries", "st-mark-chapel"]
    pages = [
        console.get("/admin/subscribers").text,
        console.get("/admin/subscribers/grace-church").text,
        console.get("/admin/subscribers/hope-ministries").text,
        console.get("/admin/subscribers/grace-church/remove").text,
        console.post("/admin/subscribers/grace-church", {"name": HOSTILE, "footer": HOSTILE}).text,
        console.post("/admin/subscribers/+new", {"id": HOSTILE, "name": HOSTILE}).text,
    ]
    for page in pages:
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "</textarea><script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1]
    assert escape_(HOSTILE) in pages[0]  # the valid one's name, in the list
    assert "Embed code" in pages[2]


def test_a_valid_subscribers_page_gives_its_codes_feeds_and_how_to_paste_them(
    console: Console,
) -> None:
    page = console.get("/admin/subscribers/grace-church").text
    assert "Embed code" in page
    assert escape_('<script src="http://127.0.0.1:8080/grace-church/embed.js" async>') in page
    assert escape_('<iframe src="http://127.0.0.1:8080/grace-church/widget.html"') in page
    assert "http://127.0.0.1:8080/grace-church/rss.xml" in page
    for platform in ("WordPress", "Wix", "Squarespace", "Planning Center"):
        assert platform in page
    assert page.count('class="copy"') >= 4
    assert "subscribers.js" in page


def test_categories_are_boxes_of_the_stored_ones_with_their_counts(console: Console) -> None:
    config = load_config(console.config_path)
    run_once(config, NOW)
    with Store(config.database_path) as store:
        counts = store.category_counts()
    assert counts

    page = console.get("/admin/subscribers/grace-church").text

    block = page[page.index('id="f-categories"') : page.index('id="f-exclude_categories"')]
    for name, count in counts.items():
        assert f"{escape_(name)} ({count})" in block
    assert re.search(r'value="World News" checked', block)
    assert "never published" not in console.get("/admin/subscribers?q=grace").text


def test_a_broken_files_form_says_what_is_wrong_and_saving_the_fix_mends_it(
    console: Console,
) -> None:
    file = console.config_path.parent / "subscribers" / "st-mark-chapel.toml"
    replace(file, file.read_text().replace("limit = 20", "limit = 0"))
    listed = console.get("/admin/subscribers", params={"problem": "any"}).text
    assert "St Mark Chapel" not in listed and "st-mark-chapel" in listed  # no name: broken
    assert "must be 1–100, got 0" in listed

    form = console.get("/admin/subscribers/st-mark-chapel").text
    assert "every cycle skips it" in form and "limit: must be 1–100, got 0" in form
    version = re.search(r'name="version" value="([0-9a-f]{64})"', form)
    assert version and 'name="limit"' in form and 'value="0"' in field_block(form, "limit")

    fixed = console.post(
        "/admin/subscribers/st-mark-chapel",
        {"version": version.group(1), "name": "St Mark Chapel", "limit": "20",
         "site_url": "https://stmark.example.com/", "content": "title"},
    )  # fmt: skip

    assert fixed.status_code == 303
    assert not console.config.problems


def test_a_file_that_is_not_toml_is_named_with_its_error_and_offers_no_form(
    console: Console,
) -> None:
    file = console.config_path.parent / "subscribers" / "hope-ministries.toml"
    replace(file, 'name = "Hope\n')
    before = file.read_bytes()

    shown = console.get("/admin/subscribers/hope-ministries")
    posted = console.post("/admin/subscribers/hope-ministries", {"name": "Hope"})

    assert shown.status_code == posted.status_code == 409
    assert "fix it in an editor first" in shown.text
    assert 'name="name"' not in shown.text
    assert file.read_bytes() == before


def test_use_the_default_removes_a_set_colour_so_the_defaults_apply_again(
    console: Console,
) -> None:
    main = console.config_path
    main.write_text(main.read_text() + '\n[defaults.theme]\naccent = "#336699"\n')
    file = console.config_path.parent / "subscribers" / "grace-church.toml"
    before = file.read_text()
    base = {"name": "Grace Community Church", "site_url": "https://grace-church.example.org/",
            "categories": ["Christian News", "World News"], "limit": "10",
            "content": "excerpt"}  # fmt: skip

    def save(accent: list[str]) -> None:
        form = console.get("/admin/subscribers/grace-church").text
        version = re.search(r'name="version" value="([0-9a-f]{64})"', form)
        assert version
        fields = base | {"version": version.group(1), "theme.accent": accent}
        assert console.post("/admin/subscribers/grace-church", fields).status_code == 303

    save(["#aa0000"])
    assert 'accent = "#aa0000"' in file.read_text()
    block = field_block(console.get("/admin/subscribers/grace-church").text, "theme.accent")
    assert re.search(
        r'<input type="checkbox"[^>]* name="theme.accent" value="default"(?! checked)', block
    )

    save(["#aa0000", "default"])  # the picker still sends its colour; the box wins

    after = file.read_text()
    assert "accent" not in after
    assert after.startswith(before.splitlines()[0] + "\n")  # the file's comment is kept
    reloaded = load_config(console.config_path)
    grace = next(s for s in reloaded.subscribers if s.id == "grace-church")
    assert grace.theme.accent == "#336699"  # [defaults] applies again
    assert audit_entries(console)[-1][3].startswith("theme.accent: removed")


def test_use_the_default_on_a_colour_the_file_does_not_set_changes_nothing(
    console: Console,
) -> None:
    file = console.config_path.parent / "subscribers" / "grace-church.toml"
    before = file.read_bytes()
    form = console.get("/admin/subscribers/grace-church").text
    version = re.search(r'name="version" value="([0-9a-f]{64})"', form)
    assert version
    fields = {"version": version.group(1), "name": "Grace Community Church",
              "site_url": "https://grace-church.example.org/",
              "categories": ["Christian News", "World News"], "limit": "10",
              "content": "excerpt", "theme.accent": ["#00aa00", "default"]}  # fmt: skip
    assert console.post("/admin/subscribers/grace-church", fields).status_code == 303
    assert file.read_bytes() == before


def test_a_subscriber_whose_id_is_new_is_added_opened_and_saved_like_any_other(
    console: Console,
) -> None:
    file = console.config_path.parent / "subscribers" / "new.toml"
    added = console.post("/admin/subscribers/+new", NEW_CHURCH | {"id": "new", "name": "New"})
    assert added.status_code == 303, added.text
    assert added.headers["location"] == "/admin/subscribers/new?done=added"
    assert file.is_file()  # as `syndicator subscribers add new` would make it

    opened = console.get("/admin/subscribers/new")
    assert opened.status_code == 200
    assert 'action="/admin/subscribers/new"' in opened.text  # its own form, not the add form
    assert 'name="version"' in opened.text and 'value="New"' in opened.text
    version = re.search(r'name="version" value="([0-9a-f]{64})"', opened.text)
    assert version
    fields = {"version": version.group(1), "name": "New", "site_url": NEW_CHURCH["site_url"],
              "categories": ["Israel"], "limit": "7", "theme.accent": "#aa0000"}  # fmt: skip
    saved = console.post("/admin/subscribers/new", fields)
    assert saved.headers["location"] == "/admin/subscribers/new?done=saved"
    assert "limit = 7" in file.read_text()
    assert console.get("/admin/subscribers/new/remove").status_code == 200
    listed = console.get("/admin/subscribers").text
    assert 'href="/admin/subscribers/new"' in listed and 'href="/admin/subscribers/+new"' in listed
