"""`publish.run`: the publish loop through `run_once`: what is rendered again and
what is left alone, failures costing one subscriber only, a refusing disk or database,
folders that are not Syndicator's, retirement, and the site's index. Real files on
disk, a real SQLite file, real config files."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from syndicator.config import load_config
from syndicator.publish import (
    OWNER_MARK,
    OWNER_MARK_TEXT,
    TEMP_PREFIX,
    PublishError,
    decide,
)
from syndicator.publish import run as publish_run
from syndicator.publish.target import LocalTarget
from syndicator.render import Plan, Renderer, environment
from syndicator.render.plain import Outputs
from syndicator.store import Store

from .conftest import (
    REPO,
    FeedServer,
    item,
    rss,
)
from .cycle import (
    FOUR,
    FOUR_CHURCHES,
    GOOD_SUBSCRIBERS,
    MakeConfig,
    outputs_of,
    run,
    slug_of,
)


def test_each_subscriber_s_items_are_reported_and_counted_once_after_an_upgrade(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """`items` is how many stories a subscriber's lists show (0: an empty widget). A
    subscriber published before it was recorded is rendered once more (same bytes) so
    that `status` can show it."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(
        url,
        subscribers={
            "grace": 'name = "Grace"\nsite_url = "https://g.example/"',
            "lake": 'name = "Lake"\nsite_url = "https://l.example/"\ncategories = ["Asia"]',
        },
    )
    first = {r.subscriber_id: r.items for r in run(config).subscribers}
    assert first == {"grace": 4, "lake": 0}
    with sqlite3.connect(config.database_path) as db:
        db.execute("UPDATE renders SET items = NULL")  # as a database from before it
    again = run(config, timedelta(hours=1))
    assert [(r.outcome, r.items, r.written) for r in again.subscribers] == [
        ("published", 4, 0),
        ("published", 0, 0),
    ]
    with Store(config.database_path) as store:
        assert {k: r.items for k, r in store.render_records().items()} == {"grace": 4, "lake": 0}
    later = run(config, timedelta(hours=2))
    assert [(r.outcome, r.items) for r in later.subscribers] == [("unchanged", 4), ("unchanged", 0)]


def _rendered_pages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The article pages rendered from now on (a spy around `Renderer.render`)."""
    rendered: list[str] = []
    render = Renderer.render

    def spy(self: Renderer, plan: Plan, *, unchanged: object = ()) -> dict[str, bytes]:
        files = render(self, plan, unchanged=unchanged)  # type: ignore[arg-type]
        rendered.extend(name for name in files if "/articles/" in name)
        return files

    monkeypatch.setattr(Renderer, "render", spy)
    return rendered


def test_a_new_story_renders_its_own_page_and_leaves_the_others_alone(
    feed_server: FeedServer, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subscriber re-rendered for a new story renders that story's page only: the
    others were published from the same story, options and templates. What is published
    is exactly what rendering everything gives, and the pages left alone stay."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    churches = {name: FOUR_CHURCHES[name] for name in ("church0", "church1")}
    churches["church1"] += '\ncontent = "full"\nkeep_pages_days = 30'
    config = make_config(url, subscribers=churches)
    assert run(config).ok
    before = {name: outputs_of(config, name) for name in churches}
    rendered = _rendered_pages(monkeypatch)

    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))

    assert {s.outcome for s in report.subscribers} == {"published"}
    new = f"articles/{slug_of(config, '4')}.html"
    assert sorted(rendered) == [f"{name}/{new}" for name in churches]
    for name in churches:
        files = outputs_of(config, name)
        assert {k: v for k, v in files.items() if k.startswith("articles/") and k != new} == {
            k: v for k, v in before[name].items() if k.startswith("articles/")
        }
    rendered.clear()
    forced = run(config, timedelta(hours=1), force=True)
    assert len(rendered) == 8  # every page, this time
    assert forced.ok and forced.publish.written == 0  # and not one byte differs


@pytest.mark.parametrize("mishap", ["not recorded", "stale files not removed", "page deleted"])
def test_pages_are_made_again_when_the_disk_may_differ_from_the_ledger(
    feed_server: FeedServer,
    make_config: MakeConfig,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    mishap: str,
) -> None:
    """A run whose publish was not recorded (a full database disk) or whose stale files
    could not be removed leaves the files ahead of the ledger; a page may be deleted by
    hand. The next run that re-renders the subscriber makes its pages again from what
    they should be, not from what the ledger says they are."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers={"church0": FOUR_CHURCHES["church0"]})
    assert run(config).ok
    page = config.site.output_dir / "church0" / "articles" / f"{slug_of(config, '1')}.html"
    subscriber = tmp_path / "subscribers" / "church0.toml"
    original = subscriber.read_text()
    if mishap == "page deleted":
        page.unlink()
    else:
        subscriber.write_text(original + '\nfooter = "A passing footer"\n')
        if mishap == "not recorded":
            error = sqlite3.OperationalError("database or disk is full")
            monkeypatch.setattr(Store, "save_published", lambda *args: _raise(error))
        else:
            refused = PublishError("church0/old.html: cannot remove: Permission denied")
            commit = LocalTarget.commit

            def prune_refused(target: LocalTarget) -> dict[str, PublishError]:
                return {**commit(target), "church0": refused}

            monkeypatch.setattr(LocalTarget, "commit", prune_refused)
        assert not run(load_config(config.path), timedelta(hours=1)).ok
        assert b"A passing footer" in page.read_bytes()  # published, not (fully) recorded
        monkeypatch.undo()
        subscriber.write_text(original)

    if mishap == "page deleted":  # else reverting the option is all it takes
        feed_server.serve("/feed", body=rss(*FOUR))
    again = run(load_config(config.path), timedelta(hours=2))
    assert again.ok and [s.outcome for s in again.subscribers] == ["published"]

    assert page.is_file() and b"A passing footer" not in page.read_bytes()
    forced = run(load_config(config.path), timedelta(hours=2), force=True)
    assert forced.ok and forced.publish.written == 0  # nothing left to put right


def _raise(error: BaseException) -> None:
    raise error


@pytest.mark.parametrize("change", ["subscriber option", "site template", "story corrected"])
def test_what_an_article_page_is_made_from_changing_renders_it_again(
    feed_server: FeedServer,
    make_config: MakeConfig,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    change: str,
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers={"church0": FOUR_CHURCHES["church0"]})
    assert run(config).ok
    rendered = _rendered_pages(monkeypatch)
    slugs = [slug_of(config, guid) for guid in "123"]
    if change == "subscriber option":
        with (tmp_path / "subscribers" / "church0.toml").open("a", encoding="utf-8") as file:
            file.write('\nfooter = "Shared by Church 0 with thanks"\n')
        mark, changed = b"Shared by Church 0 with thanks", slugs
    elif change == "site template":
        templates = tmp_path / "templates"
        templates.mkdir()
        article = (REPO / "templates" / "article.html").read_text("utf-8")
        (templates / "article.html").write_text(article.replace("<main", "<!-- ours --><main"))
        mark, changed = b"<!-- ours -->", slugs
    else:
        fixed = item("2", 21, title="Story 2 corrected")
        feed_server.serve("/feed", body=rss(FOUR[0], fixed, FOUR[2]))
        mark, changed = b"Story 2 corrected", [slugs[1]]

    report = run(load_config(config.path), timedelta(hours=1))

    assert report.ok and [s.outcome for s in report.subscribers] == ["published"]
    assert sorted(rendered) == sorted(f"church0/articles/{slug}.html" for slug in changed)
    files = outputs_of(config, "church0")
    for slug in slugs:
        assert (mark in files[f"articles/{slug}.html"]) == (slug in changed), slug


def test_a_story_pushed_out_of_the_list_keeps_its_page_for_keep_pages_days(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(FOUR[0]))
    options = 'name = "Grace"\nsite_url = "https://g.example/"\nlimit = 1\nper_page = 1\npages = 1\nkeep_pages_days = 10'
    config = make_config(url, subscribers={"grace": options})
    run(config)
    old = slug_of(config, "1")
    feed_server.serve("/feed", body=rss(FOUR[0], FOUR[1]))
    run(config, timedelta(hours=1))
    files = outputs_of(config, "grace")
    assert b"Story 1" not in files["rss.xml"] and b"Story 2" in files["rss.xml"]
    assert b"Story 1" in files[f"articles/{old}.html"]  # the link given out still works
    assert f"articles/{old}.html" in outputs_of(config, "grace")
    run(config, timedelta(days=9))
    assert f"articles/{old}.html" in outputs_of(config, "grace")
    run(config, timedelta(days=11))
    assert f"articles/{old}.html" not in outputs_of(config, "grace")


def test_dropping_an_output_retires_its_files(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(
        url, subscribers={"grace": 'name = "Grace"\nsite_url = "https://g.example/"'}
    )
    run(config)
    (tmp_path / "subscribers" / "grace.toml").write_text(
        'name = "Grace"\nsite_url = "https://g.example/"\noutputs = ["rss", "json"]\n'
    )
    run(load_config(config.path), timedelta(hours=1))
    assert set(outputs_of(config, "grace")) == {"rss.xml", "feed.json", OWNER_MARK}


def test_a_broken_template_or_option_costs_only_that_subscriber(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    before = {name: outputs_of(config, name) for name in GOOD_SUBSCRIBERS}

    own = tmp_path / "templates" / "subscribers" / "templated"
    own.mkdir(parents=True)
    (own / "_item.html").write_text("<li>\n{{ item.title }}\n{{ item.no_such_field }}</li>\n")
    (tmp_path / "subscribers" / "typo.toml").write_text(GOOD_SUBSCRIBERS["typo"] + "\nlimt = 5\n")
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(load_config(config.path), timedelta(hours=1))

    assert not report.ok
    assert any("typo.toml" in e and "limt" in e for e in report.config_errors)
    failed = {s.subscriber_id: s for s in report.subscribers if s.outcome == "failed"}
    assert set(failed) == {"templated"}
    error = failed["templated"].error or ""
    assert "templates/subscribers/templated/_item.html line 3" in error, error
    assert "no_such_field" in error
    assert b"Story 4" in outputs_of(config, "good")["rss.xml"]
    assert outputs_of(config, "templated") == before["templated"]  # last good outputs kept
    assert outputs_of(config, "typo") == before["typo"]
    # The index changed (a new story count elsewhere does not matter; a broken file must
    # not drop its subscriber): it still lists the one whose file is broken, as published.
    output = config.site.output_dir
    assert b"Typo Church" in (output / "index.html").read_bytes()
    assert b"typo/rss.xml" in (output / "subscribers.opml").read_bytes()
    with Store(config.database_path) as store:
        assert store.render_records()["templated"].last_error == error

    (own / "_item.html").unlink()  # fixed: the next run publishes it
    assert run(load_config(config.path), timedelta(hours=2)).subscribers[1].outcome == "published"


@pytest.mark.parametrize(
    "obstacle", ["link leading outside", "file for a folder", "folder for a file"]
)
def test_a_subscriber_folder_in_the_way_costs_only_that_subscriber(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path, obstacle: str
) -> None:
    """Someone replaced one subscriber's folder by a link elsewhere, put a file where its
    articles/ folder goes, or a folder where its rss.xml goes: that subscriber is reported, names the path and keeps its
    last outputs whole; the others publish in the same batch; fixed, it publishes."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    output = config.site.output_dir
    before = outputs_of(config, "templated")
    moved = tmp_path / "moved"
    if obstacle == "link leading outside":
        (output / "templated").rename(moved)
        (output / "templated").symlink_to(moved, target_is_directory=True)
        where = "templated is a symbolic link; publishing would write where it leads"
    elif obstacle == "file for a folder":
        (output / "templated" / "articles").rename(moved)
        (output / "templated" / "articles").write_bytes(b"in the way")
        where = "templated/articles/"
    else:  # before, the rename failed at commit and stopped the batch: no one published
        (output / "templated" / "rss.xml").rename(moved)
        (output / "templated" / "rss.xml").mkdir()
        (output / "templated" / "rss.xml" / "notes.txt").write_bytes(b"someone's")
        where = "templated/rss.xml: a folder is in the way of this file"
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))

    assert not report.ok and report.publish_error is None
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert {i: s.outcome for i, s in outcomes.items()} == {
        "good": "published", "templated": "failed", "typo": "published",
    }  # fmt: skip
    error = outcomes["templated"].error or ""
    assert error.startswith("not published: ") and where in error, error
    for name in ("good", "typo"):
        assert b"Story 4" in outputs_of(config, name)["rss.xml"], name
    assert not list(output.rglob(f"{TEMP_PREFIX}*"))
    if obstacle == "link leading outside":
        assert {p.name for p in moved.iterdir()} == {p.split("/")[0] for p in before}
        assert b"Story 4" not in (moved / "rss.xml").read_bytes()  # nothing written there
        (output / "templated").unlink()
        moved.rename(output / "templated")
    elif obstacle == "folder for a file":
        kept = outputs_of(config, "templated")
        assert kept.pop("rss.xml/notes.txt") == b"someone's"  # theirs, left alone
        assert kept == {k: v for k, v in before.items() if k != "rss.xml"}
        shutil.rmtree(output / "templated" / "rss.xml")
    else:  # nothing of its batch went live: every file it has is as it was
        kept = outputs_of(config, "templated")
        assert {k: v for k, v in kept.items() if k != "articles"} == {
            k: v for k, v in before.items() if not k.startswith("articles/")
        }
        (output / "templated" / "articles").unlink()
        moved.rename(output / "templated" / "articles")
    with Store(config.database_path) as store:
        assert store.render_records()["templated"].last_error == error

    fixed = run(config, timedelta(hours=2))
    assert fixed.ok
    assert b"Story 4" in outputs_of(config, "templated")["rss.xml"]


@pytest.mark.parametrize("how", ["retired", "forced", "unchanged"])
def test_a_folder_made_again_by_someone_else_is_never_pruned_or_claimed(
    feed_server: FeedServer,
    make_config: MakeConfig,
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An admin deleted a subscriber's folder by hand and the web root's owner made one
    of that name for their own pages (no mark). Retiring the subscriber, publishing it
    again with --force, or a run that leaves it unchanged must not delete their files nor
    mark the folder as Syndicator's (a later publish would then prune it)."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    folder = config.site.output_dir / "typo"
    shutil.rmtree(folder)
    (folder / "events").mkdir(parents=True)
    (folder / "events" / "easter.html").write_bytes(b"theirs")
    (folder / "rss.xml").write_bytes(b"their own feed")  # a name Syndicator also writes
    if how == "retired":
        (config.subscribers_dir / "typo.toml").unlink()
    report = run(load_config(config.path), timedelta(hours=1), force=how == "forced")

    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert (folder / "events" / "easter.html").read_bytes() == b"theirs"
    assert (folder / "rss.xml").read_bytes() == b"their own feed"
    assert not (folder / OWNER_MARK).exists()
    if how == "retired":
        assert outcomes["typo"].outcome == "retired"
        assert "typo" in caplog.text and "events/easter.html" in caplog.text
    elif how == "forced":
        assert outcomes["typo"].outcome == "failed"
        assert "already holds files Syndicator did not write" in (outcomes["typo"].error or "")
        assert outcomes["good"].outcome == "published"
    else:
        assert outcomes["typo"].outcome == "unchanged"


@pytest.mark.parametrize(
    ("refusal", "batches"),
    [("full", "one per subscriber"), ("full", "one"), ("read-only", "one")],
)
def test_a_full_or_read_only_disk_stops_the_publish_and_loses_nothing(
    feed_server: FeedServer,
    make_config: MakeConfig,
    monkeypatch: pytest.MonkeyPatch,
    refusal: str,
    batches: str,
) -> None:
    """The disk refuses while the third subscriber is staged. Full: what was staged
    whole is published (in its own batches or the pending one). Read-only: nothing can
    be renamed or removed either. Either way, every other subscriber keeps its last
    outputs whole and is reported, the run fails naming the file, nothing escapes as a
    crash, and once the disk is back the next run publishes exactly those."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    assert run(config).ok
    before = {name: outputs_of(config, name) for name in FOUR_CHURCHES}
    index = (config.site.output_dir / "index.html").read_bytes()
    if batches == "one per subscriber":
        monkeypatch.setattr(publish_run, "BATCH_BYTES", 1)
    number, reason = {
        "full": (errno.ENOSPC, "No space left on device"),
        "read-only": (errno.EROFS, "Read-only file system"),
    }[refusal]
    create, replace, unlink = os.open, os.replace, os.unlink
    subscribers_seen: set[str] = set()

    def refuses(path: str, flags: int, *args: Any, **kwargs: Any) -> int:
        """Creating a file in the output folder (a temporary file to stage) is refused
        from the third subscriber on."""
        if flags & os.O_CREAT and "/output/" in str(path):
            subscribers_seen.add(str(path).split("/output/")[1].split("/")[0])
            if len(subscribers_seen) > 2:
                if refusal == "read-only":  # from now on, nothing in the output changes
                    monkeypatch.setattr(os, "replace", refused_too(replace))
                    monkeypatch.setattr(os, "unlink", refused_too(unlink))
                raise OSError(number, reason)
        return create(path, flags, *args, **kwargs)

    def refused_too(call: Callable[..., None]) -> Callable[..., None]:
        def refusing(path: str, *args: str) -> None:
            if "/output/" in str(path):
                raise OSError(number, reason, str(path))
            call(path, *args)

        return refusing

    monkeypatch.setattr(os, "open", refuses)
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))
    monkeypatch.undo()  # the disk is back

    assert not report.ok
    assert report.publish_error and reason in report.publish_error
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert set(outcomes) == set(FOUR_CHURCHES)
    published = {i for i, s in outcomes.items() if s.outcome == "published"}
    failed = {i for i, s in outcomes.items() if s.outcome == "failed"}
    assert len(published) == (2 if refusal == "full" else 0)
    assert published | failed == set(FOUR_CHURCHES)
    assert any(not outcomes[name].reached for name in failed)  # told apart by type
    for name in published:
        assert b"Story 4" in outputs_of(config, name)["rss.xml"], name
    for name in failed:
        error = outcomes[name].error or ""
        assert error.startswith(("not published: ", "not reached: publishing stopped: "))
        assert outcomes[name].reached is not error.startswith("not reached: ")  # typed, not read
        assert reason in error, error
        kept = outputs_of(config, name)
        assert {k: v for k, v in kept.items() if TEMP_PREFIX not in k} == before[name]
    assert (config.site.output_dir / "index.html").read_bytes() == index

    again = run(config, timedelta(hours=2))
    assert again.ok
    assert {s.subscriber_id for s in again.subscribers if s.outcome == "published"} == failed
    for name in FOUR_CHURCHES:
        assert b"Story 4" in outputs_of(config, name)["rss.xml"], name
    assert not list(config.site.output_dir.rglob(f"{TEMP_PREFIX}*"))  # leftovers pruned


def test_a_database_that_cannot_record_stops_the_publish_and_loses_nothing(
    feed_server: FeedServer, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outputs' disk is fine but the database's is full: the batch's files are live,
    the run says they are not recorded and fails; the next run records them."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    assert run(config).ok

    def full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "save_published", full)
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))
    monkeypatch.undo()

    assert not report.ok
    assert report.publish_error and "database or disk is full" in report.publish_error
    assert str(config.database_path) in report.publish_error
    assert {s.outcome for s in report.subscribers} == {"failed"}
    for subscriber in report.subscribers:
        assert (subscriber.error or "").startswith("published, not recorded"), subscriber
        assert b"Story 4" in outputs_of(config, subscriber.subscriber_id)["rss.xml"]
    again = run(config, timedelta(hours=2))
    assert again.ok and again.publish.written == 0  # recorded now; the bytes were there
    assert {s.outcome for s in again.subscribers} == {"published"}


def test_a_syntax_error_names_template_line_and_subscriber(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    own = tmp_path / "templates" / "subscribers" / "templated"
    own.mkdir(parents=True)
    (own / "_footer.html").write_text("<p>\n{% if %}</p>\n")
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    report = run(config)
    (failed,) = [s for s in report.subscribers if s.outcome == "failed"]
    assert failed.subscriber_id == "templated"
    assert "templates/subscribers/templated/_footer.html line 2" in (failed.error or "")
    assert not (config.site.output_dir / "templated").exists()
    assert (config.site.output_dir / "good" / "rss.xml").is_file()


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__[1].__subclasses__()",
        "sub.__class__.__init__.__globals__",
        "item.__dict__",
        "gettext.__globals__",  # the words every template may call
    ],
)
@pytest.mark.parametrize("folder", ["subscribers/templated", "."])
def test_an_admin_template_cannot_reach_python_internals(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path, expression: str, folder: str
) -> None:
    """Override templates run sandboxed, a subscriber's or the site's (where the built-in
    templates render in a plain environment when there is none): reaching for internals
    fails whom the override applies to, with a message naming the template; nothing of the
    interpreter reaches an output."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    own = tmp_path / "templates" / folder
    own.mkdir(parents=True, exist_ok=True)
    (own / "_footer.html").write_text(f'<p class="syn-footer">\n{{{{ {expression} }}}}</p>\n')
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    report = run(config)
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    hit = ["templated"] if folder != "." else ["good", "templated", "typo"]
    where = "/".join(part for part in ("templates", folder, "_footer.html") if part != ".")
    for name in hit:
        assert outcomes[name].outcome == "failed", name
        assert f"{where} line 2" in (outcomes[name].error or "")
        assert not (config.site.output_dir / name).exists()
    if folder != ".":
        assert outcomes["good"].outcome == "published"
    for path in config.site.output_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"<class " not in data and b"__builtins__" not in data, path


@pytest.mark.parametrize(
    "expression",
    [
        "site.output_dir.joinpath('SECRET').read_text()",
        "site.state_dir.joinpath('SECRET').read_text()",
    ],
)
def test_a_site_index_template_cannot_reach_the_file_system(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path, expression: str
) -> None:
    """index.html and subscribers.opml templates see the site's name and URL, not its
    folders (paths would read, write and delete files)."""
    (tmp_path / "SECRET").write_text("the secret")
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    for folder in (config.site.output_dir, config.site.state_dir):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "SECRET").write_text("the secret")
    own = tmp_path / "templates"
    own.mkdir(exist_ok=True)
    opml = (REPO / "templates" / "subscribers.opml").read_text()
    (own / "subscribers.opml").write_text(
        opml.replace("{{ site.name }}", f"{{{{ {expression} }}}}")
    )
    report = run(config)
    assert report.index_error and "templates/subscribers.opml" in report.index_error
    assert {s.outcome for s in report.subscribers} == {"published"}
    for path in config.site.output_dir.rglob("*"):
        if path.is_file() and path.name != "SECRET":
            assert b"the secret" not in path.read_bytes(), path


def test_a_runaway_override_fails_its_subscriber_and_the_run_goes_on(
    feed_server: FeedServer,
    make_config: MakeConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(environment, "TEMPLATE_SECONDS", 0.5)
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    own = tmp_path / "templates" / "subscribers" / "templated"
    own.mkdir(parents=True)
    loops = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    (own / "_footer.html").write_text(f'<p class="syn-footer">{loops}</p>\n')
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    report = run(config)
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert outcomes["templated"].outcome == "failed"
    assert "time limit" in (outcomes["templated"].error or "")
    assert outcomes["good"].outcome == outcomes["typo"].outcome == "published"


def test_a_runaway_site_template_costs_its_time_limit_once_per_run_not_per_subscriber(
    feed_server: FeedServer,
    make_config: MakeConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every subscriber renders the site's templates: the first to run past the limit
    fails, and the others that would render the same file fail at once, naming it,
    instead of each waiting out the limit (with thousands, hours of holding the lock). A
    subscriber with its own version of that file is rendered."""
    monkeypatch.setattr(environment, "TEMPLATE_SECONDS", 1.0)
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    site = tmp_path / "templates"
    site.mkdir()
    (site / "_footer.html").write_text(
        '{% set s = "x" * 100000 %}{% for i in s %}{% for j in s %}{% endfor %}{% endfor %}\n'
    )
    own = site / "subscribers" / "templated"
    own.mkdir(parents=True)
    (own / "_footer.html").write_text('<p class="syn-footer">{{ sub.footer }}</p>\n')
    subscribers = {
        **{
            f"church-{n}": f'name = "Church {n}"\nsite_url = "https://c{n}.example/"'
            for n in range(6)
        },
        "templated": GOOD_SUBSCRIBERS["templated"],
    }
    config = make_config(url, subscribers=subscribers)
    rendered: list[str] = []
    original = Outputs.files  # every subscriber's outputs, shared or not, are made by it

    def counting(self: Outputs, plan: Any, unchanged: Any) -> Any:
        rendered.append(plan.subscriber.id)
        return original(self, plan, unchanged)

    monkeypatch.setattr(Outputs, "files", counting)
    report = run(config)
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert outcomes["templated"].outcome == "published"
    failed = [s for s in outcomes.values() if s.outcome == "failed"]
    assert len(failed) == 6
    (first,) = [s for s in failed if "time limit: stopped" in (s.error or "")]
    for other in failed:
        if other is not first:
            assert f"it ran past its time limit for {first.subscriber_id} earlier in this run" in (
                other.error or ""
            )
            assert "_footer.html" in (other.error or "")
    assert sorted(rendered) == sorted([first.subscriber_id, "templated"])  # no one else tried


def test_an_output_beyond_any_real_size_fails_its_subscriber_only(
    feed_server: FeedServer,
    make_config: MakeConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An override template that multiplies its output (here past a lowered limit) costs
    that subscriber, with a message naming the file; its last outputs stay."""
    monkeypatch.setattr(decide, "MAX_FILE_BYTES", 200_000)
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    before = outputs_of(config, "templated")
    own = tmp_path / "templates" / "subscribers" / "templated"
    own.mkdir(parents=True)
    (own / "_footer.html").write_text('<p class="syn-footer">{{ "x" * 100000 }}</p>\n')
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert outcomes["good"].outcome == "published"
    assert outcomes["templated"].outcome == "failed"
    assert "bytes, over the 200,000 any output may have" in (outcomes["templated"].error or "")
    assert outputs_of(config, "templated") == before


def test_a_broken_site_index_template_keeps_the_last_index_and_publishes_everyone(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    output = config.site.output_dir
    names = ("index.html", "subscribers.opml")
    before = {name: (output / name).read_bytes() for name in names}

    site = tmp_path / "templates"
    site.mkdir()
    (site / "index.html").write_text("<h1>\n{{ site.nme.upper() }}</h1>\n")
    (tmp_path / "subscribers" / "new.toml").write_text(
        'name = "New"\nsite_url = "https://n.example/"'
    )
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(load_config(config.path), timedelta(hours=1))

    assert not report.ok
    assert report.index_error and "templates/index.html line 2" in report.index_error
    assert {s.outcome for s in report.subscribers} == {"published"}
    assert b"Story 4" in outputs_of(config, "good")["rss.xml"]
    assert b"Story 4" in outputs_of(config, "new")["rss.xml"]
    assert {name: (output / name).read_bytes() for name in names} == before  # last good kept
    assert not [p for p in output.rglob("*") if p.name.startswith(".tmp-")]

    (site / "index.html").unlink()  # fixed: the next run tries again and publishes the index
    again = run(load_config(config.path), timedelta(hours=2))
    assert again.ok and again.index_error is None
    assert b"New" in (output / "index.html").read_bytes()


def test_site_overrides_apply_to_everyone_and_a_subscriber_folder_to_one(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    site = tmp_path / "templates"
    (site / "subscribers" / "templated").mkdir(parents=True)
    # A site-wide footer that transforms a subscriber field: fragments cannot be shared,
    # and each subscriber must still get its own name, not a neighbour's or a placeholder.
    (site / "_footer.html").write_text('<p class="syn-footer">SITE {{ sub.name|upper }}</p>\n')
    # …and a list item that cuts one short: what is left of its placeholder is detected too.
    (site / "_item.html").write_text(
        '<li class="syn-item"><a href="{{ item.url }}">{{ item.title }}</a> '
        "[{{ sub.name[:2] }}] {% include '_attribution.html' %}</li>\n"
    )
    (site / "subscribers" / "templated" / "_attribution.html").write_text(
        'Via <a href="{{ item.original_url }}">{{ item.outlet }}</a> (ours)\n'
    )
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    for name, shown in (("good", "GOOD CHURCH"), ("templated", "TEMPLATED CHURCH")):
        files = outputs_of(config, name)
        for output in ("snippet.html", "rss.xml", f"articles/{slug_of(config, '1')}.html"):
            assert f"SITE {shown}".encode() in files[output], (name, output)
            assert b"\0" not in files[output]
    for name, cut in (("good", "Go"), ("templated", "Te")):
        assert f"[{cut}]".encode() in outputs_of(config, name)["snippet.html"]
    assert b"(ours)" in outputs_of(config, "templated")["snippet.html"]
    assert b"(ours)" not in outputs_of(config, "good")["snippet.html"]


def test_editing_one_subscribers_template_re_renders_that_subscriber_only(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    """A subscriber's own template folder is not part of the site's templates: editing it
    leaves the others unchanged (at 10,000 subscribers, not a full rebuild)."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    own = tmp_path / "templates" / "subscribers" / "templated"
    own.mkdir(parents=True)
    footer = '<p class="syn-footer">\n{{ sub.footer }} ({})</p>\n'
    (own / "_footer.html").write_text(footer.replace("{}", "one"))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    (own / "_footer.html").write_text(footer.replace("{}", "two"))
    report = run(config, timedelta(hours=1))
    outcomes = {s.subscriber_id: s.outcome for s in report.subscribers}
    assert outcomes == {"good": "unchanged", "templated": "published", "typo": "unchanged"}
    assert b"(two)" in outputs_of(config, "templated")["snippet.html"]


def test_a_subscriber_added_later_is_published_without_touching_the_others(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers={"good": GOOD_SUBSCRIBERS["good"]})
    run(config)
    (tmp_path / "subscribers" / "new.toml").write_text(
        'name = "New"\nsite_url = "https://n.example/"'
    )
    report = run(load_config(config.path), timedelta(hours=1))
    outcomes = {s.subscriber_id: s.outcome for s in report.subscribers}
    assert outcomes == {"good": "unchanged", "new": "published"}
    assert b"New" in (config.site.output_dir / "subscribers.opml").read_bytes()


WEB_ROOT_FOLDERS = {
    "their own files": (
        {"logo.png": b"\x89PNG", "rss.xml": b"<rss>podcast</rss>", "a/2019/easter.html": b"<p>"},
        "already holds files Syndicator did not write, such as a/2019/easter.html, logo.png, "
        "rss.xml",
    ),
    "files named like outputs": (
        {"rss.xml": b"<rss>podcast</rss>", "articles/easter.html": b"<p>", "page/1.html": b"<p>"},
        "such as articles/easter.html, page/1.html, rss.xml",
    ),
    "a link to another folder": ({}, "is a symbolic link; publishing would write where it leads"),
}


@pytest.mark.parametrize("held", list(WEB_ROOT_FOLDERS))
def test_a_web_root_s_own_folders_and_home_page_are_never_taken_over(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path, held: str
) -> None:
    """The output folder is a web root that already has a folder named like a new
    subscriber (or a link of that name) and its own index.html and subscribers.opml:
    publishing would replace or prune them. They are kept, the run says why and where,
    the others publish; retiring the refused subscriber leaves the folder alone; once it
    is moved away and the pages deleted, everything publishes."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    output = config.site.output_dir
    files, message = WEB_ROOT_FOLDERS[held]
    folder = output / ("st-marys" if held.startswith("a link") else "church1")
    theirs = {f"{folder.name}/{name}": data for name, data in files.items()}
    theirs |= {"st-marys/rss.xml": b"<rss>theirs</rss>"} if folder.name == "st-marys" else {}
    theirs |= {"index.html": b"<title>St Somewhere</title>", "subscribers.opml": b"<opml/>"}
    for name, data in theirs.items():
        (output / name).parent.mkdir(parents=True, exist_ok=True)
        (output / name).write_bytes(data)
    if folder.name == "st-marys":
        (output / "church1").symlink_to("st-marys", target_is_directory=True)

    def untouched() -> None:
        assert {p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file()} >= set(
            theirs
        )
        for name, data in theirs.items():
            assert (output / name).read_bytes() == data, name
        assert {p.name for p in folder.iterdir()} == {n.split("/")[1] for n in theirs if "/" in n}

    report = run(config)

    assert not report.ok and report.publish_error is None
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert {i: s.outcome for i, s in outcomes.items()} == {
        "church0": "published", "church1": "failed", "church2": "published",
        "church3": "published",
    }  # fmt: skip
    error = outcomes["church1"].error or ""
    assert error.startswith(f"not published: {output / 'church1'} ") and message in error, error
    assert report.index_error == (
        f"{output} already holds index.html and subscribers.opml, which Syndicator did not "
        "write: kept; move them elsewhere (if Syndicator wrote them, before it marked its "
        f"folders or with a database since lost, create {output / OWNER_MARK})"
    )
    untouched()

    subscriber_file = tmp_path / "subscribers" / "church1.toml"
    subscriber_file.rename(tmp_path / "church1.toml")
    gone = run(load_config(config.path), timedelta(hours=1))
    assert "church1" not in {s.subscriber_id for s in gone.subscribers if s.outcome != "retired"}
    untouched()

    (tmp_path / "church1.toml").rename(subscriber_file)
    (output / "church1").rename(tmp_path / "their-church1")
    (output / "index.html").unlink()
    (output / "subscribers.opml").unlink()
    fixed = run(load_config(config.path), timedelta(hours=2))
    assert fixed.ok, fixed
    assert b"Story 4" in outputs_of(config, "church1")["rss.xml"]
    assert b"Church 1" in (output / "index.html").read_bytes()


def test_a_subscriber_not_yet_published_is_not_listed_in_the_index(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """Its links would lead to nothing, or to someone else's files."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    output = config.site.output_dir
    (output / "church1").mkdir(parents=True)
    (output / "church1" / "rss.xml").write_bytes(b"<rss>their podcast</rss>")
    assert not run(config).ok
    for name in ("index.html", "subscribers.opml"):
        listing = (output / name).read_bytes()
        assert b"church0/rss.xml" in listing and b"church1/" not in listing, name
    (output / "church1" / "rss.xml").unlink()
    assert run(config, timedelta(hours=1)).ok
    assert b"church1/rss.xml" in (output / "subscribers.opml").read_bytes()


def test_a_fresh_database_takes_over_the_outputs_an_earlier_one_published(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """Restoring a server from a backup of the outputs only (or losing the database):
    the folders hold nothing but Syndicator's own outputs and leftovers, so they and the
    index are published over. Article pages of stories the new database never saw (no
    longer in the feed) are links given out: kept as they are for `keep_pages_days`,
    like any page of a story that left the lists, then pruned."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    assert run(config).ok
    output = config.site.output_dir
    old_page = output / "church1" / "articles" / "story-gone.html"
    old_page.write_bytes(b"an old page")
    (output / "church1" / "page" / f"{TEMP_PREFIX}crashed").write_bytes(b"half")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{config.database_path}{suffix}").unlink(missing_ok=True)

    again = run(config, timedelta(hours=1))

    assert again.ok, again
    assert {s.outcome for s in again.subscribers} == {"published"}
    assert old_page.read_bytes() == b"an old page"  # kept as found, never rendered
    assert not list(output.rglob(f"{TEMP_PREFIX}*"))
    assert (output / "index.html").is_file()
    assert run(config, timedelta(days=30)).ok
    assert old_page.read_bytes() == b"an old page"  # still within keep_pages_days (90)
    assert "church1" in {s.subscriber_id for s in run(config, timedelta(days=91)).subscribers}
    assert not old_page.exists()  # its time is up: pruned
    assert (output / "church1" / "rss.xml").is_file()


def test_outputs_from_before_folders_were_marked_are_marked_or_adopted(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    """Outputs published before Syndicator marked its folders (or whose marks were
    deleted) are marked on the next run, even when nothing changed. Unmarked and with the
    database lost, they are refused, and the message says how to adopt them."""
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    assert run(config).ok
    output = config.site.output_dir
    marks = [output / OWNER_MARK, *(output / name / OWNER_MARK for name in FOUR_CHURCHES)]

    for mark in marks:
        mark.unlink()
    quiet = run(config, timedelta(hours=1))
    assert quiet.ok and {s.outcome for s in quiet.subscribers} == {"unchanged"}
    assert all(mark.read_bytes() == OWNER_MARK_TEXT for mark in marks)

    for mark in marks:
        mark.unlink()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{config.database_path}{suffix}").unlink(missing_ok=True)
    refused = run(config, timedelta(hours=2))
    assert {s.outcome for s in refused.subscribers} == {"failed"}
    assert f"create {output / 'church0' / OWNER_MARK} to let it take" in (
        refused.subscribers[0].error or ""
    )
    assert refused.index_error and f"create {output / OWNER_MARK}" in refused.index_error
    for mark in marks:
        mark.write_bytes(b"")  # adopted by hand, as the message says
    adopted = run(config, timedelta(hours=3))
    assert adopted.ok and {s.outcome for s in adopted.subscribers} == {"published"}


def test_a_published_subscriber_s_folder_replaced_by_a_link_is_not_written_through(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=FOUR_CHURCHES)
    assert run(config).ok
    output = config.site.output_dir
    (output / "their-site").mkdir()
    (output / "their-site" / "rss.xml").write_bytes(b"<rss>theirs</rss>")
    shutil.rmtree(output / "church1")
    (output / "church1").symlink_to("their-site", target_is_directory=True)
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(config, timedelta(hours=1))
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert outcomes["church1"].outcome == "failed"
    assert "church1 is a symbolic link" in (outcomes["church1"].error or "")
    assert [p.name for p in (output / "their-site").iterdir()] == ["rss.xml"]
    assert (output / "their-site" / "rss.xml").read_bytes() == b"<rss>theirs</rss>"


def test_a_removed_subscriber_file_retires_its_outputs(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    run(config)
    output = config.site.output_dir
    assert (output / "typo" / "rss.xml").is_file()
    (tmp_path / "subscribers" / "typo.toml").unlink()
    report = run(load_config(config.path), timedelta(hours=1))
    assert {s.subscriber_id: s.outcome for s in report.subscribers}["typo"] == "retired"
    assert report.ok
    assert not (output / "typo").exists()
    assert b"Typo Church" not in (output / "index.html").read_bytes()
    assert b"typo/rss.xml" not in (output / "subscribers.opml").read_bytes()
    assert (output / "good" / "rss.xml").is_file()
    with Store(config.database_path) as store:
        assert "typo" not in store.render_records()
    again = run(load_config(config.path), timedelta(hours=2))
    assert "typo" not in {s.subscriber_id for s in again.subscribers}


def test_a_retired_subscriber_whose_folder_is_a_link_is_reported_and_kept(
    feed_server: FeedServer, make_config: MakeConfig, tmp_path: Path
) -> None:
    """Nothing is removed through the link; the others publish; the subscriber stays in
    the ledger, reported, until the link is gone."""
    url = feed_server.serve("/feed", body=rss(*FOUR[:3]))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    run(config)
    output = config.site.output_dir
    moved = tmp_path / "moved"
    (output / "typo").rename(moved)
    (output / "typo").symlink_to(moved, target_is_directory=True)
    kept = sorted(p.relative_to(moved) for p in moved.rglob("*"))
    (tmp_path / "subscribers" / "typo.toml").unlink()
    feed_server.serve("/feed", body=rss(*FOUR))
    report = run(load_config(config.path), timedelta(hours=1))
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert outcomes["typo"].outcome == "failed" and not report.ok
    assert "symbolic link" in (outcomes["typo"].error or "")
    assert sorted(p.relative_to(moved) for p in moved.rglob("*")) == kept
    assert b"Story 4" in outputs_of(config, "good")["rss.xml"]
    with Store(config.database_path) as store:
        assert "typo" in store.render_records()
    (output / "typo").unlink()
    again = run(load_config(config.path), timedelta(hours=2))
    assert {s.subscriber_id: s.outcome for s in again.subscribers}["typo"] == "retired"
    assert again.ok


def test_a_plain_run_restores_a_deleted_output_folder_and_a_deleted_subscriber_folder(
    feed_server: FeedServer, make_config: MakeConfig
) -> None:
    url = feed_server.serve("/feed", body=rss(*FOUR))
    config = make_config(url, subscribers=GOOD_SUBSCRIBERS)
    assert run(config).ok
    output = config.site.output_dir
    published = sorted(str(path.relative_to(output)) for path in output.rglob("*"))
    before = {name: (output / name).read_bytes() for name in published if (output / name).is_file()}

    shutil.rmtree(output)  # nothing changed upstream or in the config: only the files went
    report = run(config, timedelta(minutes=1))
    assert report.ok and {s.outcome for s in report.subscribers} == {"published"}
    assert sorted(str(path.relative_to(output)) for path in output.rglob("*")) == published
    assert {name: (output / name).read_bytes() for name in before} == before

    kept = {path: path.stat().st_ino for path in (output / "good").rglob("*")}
    shutil.rmtree(output / "typo")
    report = run(config, timedelta(minutes=2))
    outcomes = {s.subscriber_id: s.outcome for s in report.subscribers}
    assert outcomes == {"good": "unchanged", "templated": "unchanged", "typo": "published"}
    assert (output / "typo" / "rss.xml").read_bytes() == before["typo/rss.xml"]
    assert {path: path.stat().st_ino for path in (output / "good").rglob("*")} == kept

    (output / "index.html").unlink()
    run(config, timedelta(minutes=3))
    assert (output / "index.html").read_bytes() == before["index.html"]
