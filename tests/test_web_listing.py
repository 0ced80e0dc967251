"""The console's subscriber list over real files and a real ledger: search, the problem
filter, pages, and a roster built again only when the config or the ledger changed."""

from __future__ import annotations

from pathlib import Path

from syndicator.config import Config, load_config
from syndicator.store import Store
from syndicator.web.listing import PROBLEMS, Roster, roster_for

from .conftest import NOW
from .test_admin import make


def church(name: str, site: str) -> str:
    return f'name = "{name}"\nsite_url = "{site}"\n'


def world(tmp_path: Path) -> Config:
    """Five subscribers, one of each problem and one fine, as a run leaves them."""
    config = make(
        tmp_path,
        {
            "grace": church("Grace Chapel", "https://grace.example.org/"),
            "hope": church("Hope Fellowship", "https://hope.example.net/"),
            "zion": church("Zion Church", "https://zion.example.org/"),
            "quiet": church("Quiet Church", "https://quiet.example.org/"),
            "broken": 'name = "Broken"\nlimit = 0\n',
        },
    )
    config.database_path.parent.mkdir(parents=True, exist_ok=True)
    with Store(config.database_path) as store:
        store.save_published("grace", "f", NOW, 9, {}, "{}", {}, items=5)
        store.save_published("quiet", "f", NOW, 9, {}, "{}", {}, items=0)
        store.save_render_failure("hope", "disk full", NOW)
    return config


def ids(roster: Roster, **query: object) -> list[str]:
    return [row.id for row in roster.query(**query).rows]  # type: ignore[arg-type]


def test_each_subscriber_is_listed_with_its_one_problem(tmp_path: Path) -> None:
    roster = roster_for(world(tmp_path))

    problems = {row.id: row.problem for row in roster.rows}
    assert problems == {
        "broken": "broken",
        "grace": None,
        "hope": "failing",
        "quiet": "empty",
        "zion": "never",
    }
    grace = roster.rows[1]
    assert (grace.name, grace.site_url, grace.items, grace.published_at, grace.state) == (
        "Grace Chapel", "https://grace.example.org/", 5, NOW, "ok",
    )  # fmt: skip
    assert roster.query().counts == dict.fromkeys(PROBLEMS, 1)
    assert "limit" in (roster.rows[0].detail or "")  # why the file is broken


def test_search_finds_id_name_or_site_in_any_case(tmp_path: Path) -> None:
    roster = roster_for(world(tmp_path))

    assert ids(roster, text="GRACE") == ["grace"]
    assert ids(roster, text="fellowship") == ["hope"]
    assert ids(roster, text="example.net") == ["hope"]
    assert ids(roster, text=" church ") == ["quiet", "zion"]
    assert ids(roster, text="nowhere") == []


def test_the_filter_keeps_one_problem_and_combines_with_search(tmp_path: Path) -> None:
    roster = roster_for(world(tmp_path))

    assert ids(roster, problem="failing") == ["hope"]
    assert ids(roster, problem="never") == ["zion"]
    assert ids(roster, problem="empty", text="zion") == []
    assert ids(roster, problem="any") == ["broken", "hope", "quiet"]  # zion: not yet


def test_pages_hold_size_rows_and_a_page_out_of_range_is_the_nearest(tmp_path: Path) -> None:
    roster = roster_for(world(tmp_path))

    first = roster.query(size=2)
    assert ([r.id for r in first.rows], first.total, first.page, first.pages) == (
        ["broken", "grace"], 5, 1, 3,
    )  # fmt: skip
    assert ids(roster, size=2, page=3) == ["zion"]
    assert roster.query(size=2, page=99).page == 3
    assert roster.query(size=2, page=-4).page == 1
    empty = roster.query(text="nowhere")
    assert (empty.page, empty.pages, empty.total) == (1, 1, 0)


def test_the_roster_is_kept_until_the_ledger_or_the_config_changes(tmp_path: Path) -> None:
    config = world(tmp_path)
    first = roster_for(config)
    assert roster_for(config) is first

    with Store(config.database_path) as store:
        store.save_published("zion", "f", NOW, 9, {}, "{}", {}, items=3)
    after_run = roster_for(config)
    assert after_run is not first
    assert ids(after_run, problem="never") == []

    reloaded = load_config(config.path)
    assert roster_for(reloaded) is not after_run


def test_ten_thousand_subscribers_list_and_search_without_rereading_files(
    tmp_path: Path,
) -> None:
    config = make(tmp_path)
    for n in range(10_000):
        (config.subscribers_dir / f"church-{n:05}.toml").write_text(
            church(f"Church {n}", f"https://c{n}.example.org/")
        )
    config = load_config(config.path)
    roster = roster_for(config)
    for file in config.subscribers_dir.iterdir():
        file.unlink()  # a query never reads a subscriber file

    found = roster.query(text="church 9999")
    assert [row.id for row in found.rows] == ["church-09999"]
    everything = roster.query(page=200)
    assert (everything.total, everything.pages, everything.rows[-1].id) == (
        10_000, 200, "church-09999",
    )  # fmt: skip
    assert roster_for(config) is roster
