"""The `syndicator` command, run as a real subprocess: output and cron exit codes."""

from __future__ import annotations

import json
import os
import pty
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from syndicator.cli import EXIT_CONFIG, EXIT_LOCKED, EXIT_STATE
from syndicator.config import load_config
from syndicator.init import init_config

from .conftest import FEEDS, NOW, REPO, FeedServer, item, rss, write_config


def syndicator(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syndicator", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    """A copy of the bundled default config (so the test writes into tmp, not the repo)."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path / "config" / "syndicator.toml"


def test_run_on_the_bundled_default_config(bundled: Path) -> None:
    first = syndicator("--config", str(bundled), "run")
    assert first.returncode == 0, first.stderr
    assert "worthynews: 15 new, 0 changed" in first.stdout
    assert (bundled.parent.parent / "state" / "syndicator.sqlite3").is_file()

    again = syndicator("--config", str(bundled), "run")
    assert again.returncode == 0 and "worthynews: not due until" in again.stdout

    assert "publish: 3 subscriber(s): 0 rendered, 3 unchanged, 0 failed" in again.stdout
    output = bundled.parent.parent / "output"
    assert {p.name for p in output.iterdir()} == {
        "grace-church", "hope-ministries", "st-mark-chapel", "index.html", "subscribers.opml",
        ".syndicator",
    }  # fmt: skip

    forced = syndicator("--config", str(bundled), "run", "--force")
    assert forced.returncode == 0 and "worthynews: not modified" in forced.stdout
    assert "3 rendered, 0 unchanged, 0 failed; 0 file(s) written" in forced.stdout

    status = syndicator("--config", str(bundled), "status", "--json")
    (row,) = json.loads(status.stdout)["sources"]
    assert row["id"] == "worthynews" and row["articles"] == 15 and row["state"] == "ok"
    table = syndicator("--config", str(bundled), "status")
    assert "worthynews" in table.stdout and "15" in table.stdout


def test_the_readme_quick_start_prints_what_a_first_run_prints(tmp_path: Path) -> None:
    """The Quick start shows a first run's output: it must stay what the command prints."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    shown = quick_start.split("prints what it did:\n\n```\n", 1)[1].split("```", 1)[0]
    shutil.copytree(REPO / "config", tmp_path / "config")  # as a fresh checkout has it
    first = syndicator("--config", "config/syndicator.toml", "run", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == shown.splitlines()


def test_init_writes_a_fresh_config_that_check_passes_and_prints_the_next_commands(
    tmp_path: Path,
) -> None:
    made = syndicator("init", "live", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    file = tmp_path / "live" / "syndicator.toml"
    text = file.read_text(encoding="utf-8")
    assert 'url = "https://www.worthynews.com/feed"' in text and 'id = "worthynews"' in text
    assert sum(line.startswith("#") for line in text.splitlines()) >= 10  # commented
    assert list((tmp_path / "live" / "subscribers").iterdir()) == []
    config = load_config(file)
    assert (config.site.output_dir, config.site.state_dir) == (
        tmp_path / "live" / "output",
        tmp_path / "live" / "state",
    )  # inside the folder: nothing shared with the demo beside config/
    commands = [line.strip() for line in made.stdout.splitlines() if line.startswith("  ")]
    assert [shlex.split(c)[:4] for c in commands] == [
        ["syndicator", "--config", "live/syndicator.toml", "check"],
        ["syndicator", "--config", "live/syndicator.toml", "subscribers"],
        ["syndicator", "--config", "live/syndicator.toml", "run"],
    ]
    checked = syndicator(*shlex.split(commands[0])[1:], cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == "live/syndicator.toml: OK; 1 source(s), 0 valid subscriber(s)\n"

    again = syndicator("init", "live", "--feed", "https://mirror.example/feed", cwd=tmp_path)
    assert again.returncode == 2
    assert "live/syndicator.toml: already exists; nothing was changed" in again.stderr
    assert file.read_text(encoding="utf-8") == text
    bad = syndicator("init", "other", "--feed", "ftp://mirror.example/feed", cwd=tmp_path)
    assert bad.returncode == 2 and "--feed: must be an absolute http(s) URL" in bad.stderr
    assert not (tmp_path / "other").exists()


def test_inits_commented_defaults_example_loads_as_written_once_uncommented(
    tmp_path: Path,
) -> None:
    file = init_config(tmp_path)
    text = file.read_text(encoding="utf-8")
    start = text.index("# [defaults]\n")
    example = text[start : text.index("\n\n", start)]
    uncommented = "".join(
        line.removeprefix("# ") + "\n"
        for line in example.splitlines()
        if line.startswith(("# [", "# ")) and ("=" in line or line.startswith("# ["))
    )
    file.write_text(text + "\n" + uncommented, encoding="utf-8")
    defaults = load_config(file).defaults
    assert (defaults.limit, defaults.content) == (10, "excerpt")
    assert (defaults.scripture.link, defaults.scripture.version) == ("biblegateway", "NIV")


def test_init_with_a_local_feed_then_its_printed_commands_publish_a_church(
    tmp_path: Path,
) -> None:
    shutil.copy(REPO / "config" / "samples" / "worthynews-feed.xml", tmp_path / "feed.xml")
    made = syndicator("init", "site", "--feed", "file:feed.xml", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "feed.xml").as_uri() in (tmp_path / "site" / "syndicator.toml").read_text()
    for command in [line.strip() for line in made.stdout.splitlines() if line.startswith("  ")]:
        done = syndicator(*shlex.split(command)[1:], cwd=tmp_path)
        assert done.returncode == 0, (command, done.stderr)
    published = tmp_path / "site" / "output" / "new-church"
    assert (published / "rss.xml").is_file() and len(list(published.glob("articles/*"))) == 15
    assert not (tmp_path / "output").exists() and not (tmp_path / "state").exists()


def test_status_before_any_run_creates_nothing(bundled: Path) -> None:
    result = syndicator("--config", str(bundled), "status", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["sources"][0]["state"] == "never polled"
    assert not (bundled.parent.parent / "state").exists()


def test_newer_database_is_a_clean_error(bundled: Path) -> None:
    import sqlite3

    (bundled.parent.parent / "state").mkdir()
    with sqlite3.connect(bundled.parent.parent / "state" / "syndicator.sqlite3") as db:
        db.execute("PRAGMA user_version = 999")
    for command in ("status", "run"):
        result = syndicator("--config", str(bundled), command)
        assert result.returncode == 1, command
        assert "newer than this Syndicator understands" in result.stderr
        assert "Traceback" not in result.stderr


def test_quiet_run_prints_nothing_when_all_is_well(bundled: Path) -> None:
    quiet = syndicator("--config", str(bundled), "run", "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_failed_source_exits_1_and_names_source_and_reason(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    main = write_config(tmp_path, feed_server.serve("/feed", body=rss(item("1"))))
    assert syndicator("--config", str(main), "run").returncode == 0
    feed_server.serve("/feed", 500)
    result = syndicator("--config", str(main), "run", "--force", "--quiet")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "worthynews: FAILED: HTTP 500" in result.stderr
    status = json.loads(syndicator("--config", str(main), "status", "--json").stdout)
    assert status["sources"][0]["articles"] == 1  # nothing stored was lost
    assert status["sources"][0]["last_error"].startswith("HTTP 500")


def test_a_stray_byte_is_told_even_to_a_quiet_run_and_exits_1(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    main = write_config(
        tmp_path, feed_server.serve("/feed", body=(FEEDS / "utf8-clean.xml").read_bytes())
    )
    assert syndicator("--config", str(main), "run").returncode == 0
    feed_server.serve("/feed", body=(FEEDS / "utf8-stray-byte.xml").read_bytes())
    result = syndicator("--config", str(main), "run", "--force", "--quiet")
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("worthynews: 1 stored article(s) kept as they were: the feed's")
    assert lines[1].startswith("worthynews: 1 article(s) stored with U+FFFD for bytes not valid")
    assert "line 11 (byte 381), line 39 (byte 2,503)" in lines[2]


def test_a_suspicious_poll_is_told_even_to_a_quiet_run_exits_1_and_shows_in_status(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    main = write_config(
        tmp_path, feed_server.serve("/feed", body=rss(*(item(str(n), n) for n in range(1, 9))))
    )
    assert syndicator("--config", str(main), "run").returncode == 0
    feed_server.serve("/feed", body=rss(item("901", 1), item("902", 2)))
    result = syndicator("--config", str(main), "run", "--force", "--quiet")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        "worthynews: the feed looks wrong: none of its 2 item(s) is among the 8 current ones; "
        "no story withdrawn (8 kept as they were), new ones stored; the next poll that looks "
        "like this one is taken as it is (should every poll bring only new items, shorten "
        "interval_minutes)\n"
    )
    status = json.loads(syndicator("--config", str(main), "status", "--json").stdout)
    (row,) = status["sources"]
    assert row["state"] == "suspicious" and row["suspicious"] == result.stderr[12:-1]
    assert "suspicious" in syndicator("--config", str(main), "status").stdout

    again = syndicator("--config", str(main), "run", "--force", "--quiet")
    assert again.returncode == 0 and again.stderr == ""  # it looks like the last one
    status = json.loads(syndicator("--config", str(main), "status", "--json").stdout)
    assert status["sources"][0]["state"] == "ok"


def test_invalid_main_config_exits_2_with_file_and_key(tmp_path: Path) -> None:
    main = tmp_path / "syndicator.toml"
    main.write_text('[site]\nname = "S"\nbase_url = "https://s.example/"\nbogus = 1\n')
    for command in ("run", "check", "status"):
        result = syndicator("--config", str(main), command)
        assert result.returncode == 2, command
        assert f"{main}: site.bogus: unknown key" in result.stderr


def test_broken_subscriber_run_exits_1_check_exits_2(tmp_path: Path) -> None:
    main = write_config(
        tmp_path,
        (tmp_path / "feed.xml").as_uri(),
        subscribers={"grace": 'name = "G"\nsite_url = "https://g.example/"\nlimit = 0\n'},
    )
    (tmp_path / "feed.xml").write_bytes(rss(item("1")))
    check = syndicator("--config", str(main), "check")
    assert check.returncode == 2
    assert "subscribers/grace.toml: limit: must be 1–100, got 0" in check.stderr
    run = syndicator("--config", str(main), "run")
    assert run.returncode == 1  # the rest ran; cron hears about the skipped file
    assert "worthynews: 1 new" in run.stdout
    assert "grace.toml: limit" in run.stderr


def test_broken_template_run_exits_1_check_exits_2(bundled: Path) -> None:
    folder = bundled.parent / "templates" / "subscribers" / "grace-church"
    folder.mkdir(parents=True)
    (folder / "widget.html").write_text("<html>\n\n{% for %}\n")
    check = syndicator("--config", str(bundled), "check")
    assert check.returncode == 2
    assert "subscriber grace-church: template" in check.stderr
    assert "templates/subscribers/grace-church/widget.html line 3" in check.stderr
    run = syndicator("--config", str(bundled), "run")
    assert run.returncode == 1
    assert "subscriber grace-church: FAILED: template" in run.stderr
    assert "last good outputs stay published" in run.stderr
    assert "2 rendered, 0 unchanged, 1 failed" in run.stdout


def test_check_ok_and_print_config(bundled: Path) -> None:
    result = syndicator("--config", str(bundled), "check", "--print-config")
    assert result.returncode == 0, result.stderr
    assert "OK; 1 source(s), 3 valid subscriber(s)" in result.stdout
    assert 'id = "worthynews"' in result.stdout and "max_redirects = 5" in result.stdout


def test_fetch_rejects_unknown_source(bundled: Path) -> None:
    result = syndicator("--config", str(bundled), "fetch", "nope")
    assert result.returncode == 2 and "unknown source nope; configured: worthynews" in result.stderr


def test_default_config_path_is_config_syndicator_toml(bundled: Path) -> None:
    result = syndicator("check", cwd=bundled.parent.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("config/syndicator.toml: OK")


def test_every_command_has_help() -> None:
    top = syndicator("--help")
    assert top.returncode == 0
    for command in ("run", "fetch", "check", "status"):
        assert command in top.stdout
        result = syndicator(command, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout


HOLD_LOCK = """
import sys, time
from pathlib import Path
from syndicator.lock import RunLock
with RunLock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_run_exits_3_while_the_lock_is_held(bundled: Path) -> None:
    state = bundled.parent.parent / "state"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(state)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        blocked = syndicator("--config", str(bundled), "run")
        assert blocked.returncode == 3, blocked.stderr
        assert f"process {holder.pid} is running" in blocked.stderr
        assert not (bundled.parent.parent / "output").exists()  # it did nothing
    finally:
        holder.kill()
        holder.wait()
    # The holder was killed: the kernel dropped its lock, the file still names it.
    after = syndicator("--config", str(bundled), "run")
    assert after.returncode == 0, after.stderr
    assert f"recovered the lock left by process {holder.pid}" in after.stderr
    clean = syndicator("--config", str(bundled), "run")  # a clean exit leaves no note
    assert clean.returncode == 0 and "recovered" not in clean.stderr


def test_a_damaged_database_is_named_by_run_and_status_and_nothing_is_published(
    bundled: Path,
) -> None:
    assert syndicator("--config", str(bundled), "run").returncode == 0
    output = bundled.parent.parent / "output"
    before = {p: p.read_bytes() for p in output.rglob("*") if p.is_file()}
    database = bundled.parent.parent / "state" / "syndicator.sqlite3"
    with database.open("r+b") as handle:  # a disk error, a bad copy: pages overwritten
        handle.seek(database.stat().st_size // 2)
        handle.write(bytes(range(256)) * 32)
    for command in (["run", "--force"], ["status"]):
        result = syndicator("--config", str(bundled), *command)
        assert result.returncode == 1, (command, result.stderr)
        assert f"error: {database}: the state database" in result.stderr, command
        assert "Traceback" not in result.stderr
    assert {p: p.read_bytes() for p in output.rglob("*") if p.is_file()} == before


def test_status_lists_subscribers_and_embed_code_prints_what_to_paste(bundled: Path) -> None:
    (bundled.parent / "subscribers" / "broken.toml").write_text('name = "B"\n')
    syndicator("--config", str(bundled), "run")
    status = json.loads(syndicator("--config", str(bundled), "status", "--json").stdout)
    rows = {row["id"]: row for row in status["subscribers"]}
    assert rows["grace-church"]["state"] == "ok" and rows["grace-church"]["files"] > 8
    assert rows["broken"]["state"] == "invalid file (skipped)"
    assert "site_url" in rows["broken"]["last_error"]

    code = syndicator("--config", str(bundled), "embed-code", "grace-church")
    assert code.returncode == 0, code.stderr
    assert (
        '<script src="http://127.0.0.1:8080/grace-church/embed.js" async></script>' in code.stdout
    )
    assert 'src="http://127.0.0.1:8080/grace-church/widget.html"' in code.stdout
    assert "rss: http://127.0.0.1:8080/grace-church/rss.xml" in code.stdout
    assert 'WordPress: a "Custom HTML" block.' in code.stdout  # how to paste it
    assert "the script must be on that page too" not in code.stdout  # links go to the outlet
    # The bundled base_url is for trying things out: it would fail on churches' sites.
    assert "site.base_url http://127.0.0.1:8080/: it is plain http" in code.stderr
    assert "127.0.0.1 is reachable from this machine or its network only" in code.stderr
    unknown = syndicator("--config", str(bundled), "embed-code", "nobody")
    assert unknown.returncode == 2 and "no subscriber 'nobody'" in unknown.stderr
    broken = syndicator("--config", str(bundled), "embed-code", "broken")
    assert broken.returncode == 2 and "broken.toml" in broken.stderr

    edited = syndicator(
        "--config", str(bundled), "subscribers", "edit", "grace-church", "link_to=detail_page",
        "detail_page_url=https://grace.example.org/news/",
    )  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    detail = syndicator("--config", str(bundled), "embed-code", "grace-church").stdout
    assert (
        "Stories open on https://grace.example.org/news/ (?story=…): the script must be" in detail
    )
    public = bundled.read_text().replace("http://127.0.0.1:8080/", "https://news.example.org/")
    bundled.write_text(public)
    quiet = syndicator("--config", str(bundled), "embed-code", "grace-church")
    assert quiet.returncode == 0 and quiet.stderr == ""
    (bundled.parent / "subscribers" / "broken.toml").unlink()
    checked = syndicator("--config", str(bundled), "check")
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr


def test_an_empty_selection_is_a_warning_of_run_naming_it_and_status_counts_items(
    bundled: Path,
) -> None:
    """A church whose widget would stay empty (a category nothing is in) is told to the
    admin by every run, quiet ones too (exit 0: nothing failed), and `status` shows each
    subscriber's number of items."""
    (bundled.parent / "subscribers" / "lake-chapel.toml").write_text(
        'name = "Lake Chapel"\nsite_url = "https://lake.example/"\ncategories = ["Antarctica"]\n'
    )
    first = syndicator("--config", str(bundled), "run")
    assert first.returncode == 0, first.stderr
    warning = (
        "warning: subscriber lake-chapel: lists no story (categories: Antarctica): "
        "its feeds and widget are empty"
    )
    assert warning in first.stderr.splitlines()
    assert "the stored articles' categories: Africa, Asia," in first.stderr  # what there is
    assert "grace-church" not in first.stderr
    again = syndicator("--config", str(bundled), "run", "--quiet")  # unchanged: told again
    assert again.returncode == 0 and again.stdout == ""
    assert warning in again.stderr.splitlines()

    status = json.loads(syndicator("--config", str(bundled), "status", "--json").stdout)
    items = {row["id"]: row["items"] for row in status["subscribers"]}
    sample = feedparser.parse((bundled.parent / "samples" / "worthynews-feed.xml").read_bytes())
    wanted = {"World News", "Christian News"}  # grace-church's categories
    in_grace = [e for e in sample.entries if wanted & {t.term for t in e.tags}]
    assert items == {
        "grace-church": len(in_grace), "hope-ministries": items["hope-ministries"],
        "st-mark-chapel": items["st-mark-chapel"], "lake-chapel": 0,
    }  # fmt: skip
    assert items["hope-ministries"] > 0 and items["st-mark-chapel"] > 0
    table = syndicator("--config", str(bundled), "status").stdout
    assert "items" in table
    (lake,) = [line for line in table.splitlines() if "lake-chapel" in line]
    assert " 0 " in lake


def test_status_says_a_broken_files_last_outputs_are_still_published(bundled: Path) -> None:
    assert syndicator("--config", str(bundled), "run").returncode == 0
    file = bundled.parent / "subscribers" / "grace-church.toml"
    file.write_text(file.read_text().replace("limit = 10", "limit = 0\nlimt = 3"))  # two problems
    status = json.loads(syndicator("--config", str(bundled), "status", "--json").stdout)
    (row,) = [row for row in status["subscribers"] if row["id"] == "grace-church"]
    assert row["state"] == "invalid file (skipped; last outputs still published)"
    assert row["last_published"] is not None and row["files"] > 8
    assert "limit: must be 1–100" in row["last_error"] and "limt: unknown key" in row["last_error"]


def test_add_on_a_terminal_asks_again_for_a_website_that_is_no_url(bundled: Path) -> None:
    controller, terminal = pty.openpty()  # stdin a terminal: add asks for name and site
    try:
        adding = subprocess.Popen(
            [sys.executable, "-m", "syndicator", "--config", str(bundled), "subscribers", "add",
             "tty-church"],
            stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        os.write(controller, b"Tty Church\ntty.example.org\nhttps://tty.example.org/\n")
        out, err = adding.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert adding.returncode == 0, err
    assert "did you mean 'https://tty.example.org'?" in out + err  # asked again, not aborted
    written = (bundled.parent / "subscribers" / "tty-church.toml").read_text()
    assert 'site_url = "https://tty.example.org/"' in written and 'name = "Tty Church"' in written


def test_tables_fit_an_80_column_terminal_with_every_id_whole(bundled: Path) -> None:
    subscribers = bundled.parent / "subscribers"
    (subscribers / "a-rather-long-church-name.toml").write_text(
        'name = "The Church With A Long Name"\nsite_url = "https://long-church.example.org/news/"\n'
    )
    (subscribers / "broken-church.toml").write_text("name = 1\n")
    for command in (["subscribers", "list"], ["status"]):
        shown = subprocess.run(
            [sys.executable, "-m", "syndicator", "--config", str(bundled), *command],
            capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "80"},
        ).stdout  # fmt: skip
        assert max(len(line) for line in shown.splitlines()) <= 80, shown
        for subscriber_id in ("a-rather-long-church-name", "broken-church", "hope-ministries"):
            assert f"│ {subscriber_id} " in shown, (command, subscriber_id)


def test_a_misspelt_category_is_warned_about_with_the_closest_known_one(bundled: Path) -> None:
    """Nothing stops it (the feed may carry it later), but the admin hears of it at once
    instead of finding an empty widget."""
    before = syndicator("--config", str(bundled), "check")
    assert before.returncode == 0 and "stored article" not in before.stderr  # none stored yet
    syndicator("--config", str(bundled), "run")
    edited = syndicator(
        "--config", str(bundled), "subscribers", "edit", "grace-church",
        'categories=["Wrold News", "Israel"]', 'exclude_categories=["opinion"]',
    )  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    warning = (
        "warning: config/subscribers/grace-church.toml: categories: no stored article is in "
        "'Wrold News', so it adds nothing to the selection for now; did you mean 'World News'?"
    )
    assert warning in edited.stderr.replace(str(bundled.parent.parent) + "/", "")
    assert "Israel" not in edited.stderr.split("\n")[0]  # a known name is not warned about
    assert "opinion" not in edited.stderr  # case aside, it is known
    assert "categories: Africa, Asia, Christian News" in edited.stderr  # what there is

    (bundled.parent / "subscribers" / "Faith.TOML").write_text('name = "F"\n')
    (bundled.parent / "subscribers" / "hope.toml.txt").write_text('name = "H"\n')
    (bundled.parent / "subscribers" / "grace-church.toml~").write_text("")  # a backup: silent
    check = syndicator("--config", str(bundled), "check")
    assert check.returncode == 0 and "'Wrold News'" in check.stderr and ": OK;" in check.stdout
    strays = [line for line in check.stderr.splitlines() if "not read" in line]
    assert len(strays) == 2 and "Faith.TOML: not read" in strays[0] and "hope.toml.txt" in strays[1]
    output = bundled.parent.parent / "output"
    for mode, who in ((0o755, None), (0o775, "its group"), (0o777, "everyone"), (0o1777, None)):
        output.chmod(mode)
        check = syndicator("--config", str(bundled), "check")
        assert check.returncode == 0, check.stderr
        said = [line for line in check.stderr.splitlines() if "output_dir is writable" in line]
        assert said == (
            [
                f"warning: {output}: output_dir is writable by {who}: whoever can "
                "write there can change what churches embed, and could make a "
                "publish write its files outside it; let only the user who "
                "runs Syndicator write there (chmod go-w)"
            ]
            if who
            else []
        ), mode
    output.chmod(0o755)
    added = syndicator(
        "--config", str(bundled), "subscribers", "add", "new-hope", "--name", "New Hope",
        "--site", "https://newhope.example/", "--category", "Persecutoin",
    )  # fmt: skip
    assert added.returncode == 0 and "did you mean 'Persecution'?" in added.stderr
    status = json.loads(syndicator("--config", str(bundled), "status", "--json").stdout)
    assert status["categories"]["Christian News"] == 9 and "Wrold News" not in status["categories"]


def test_subscribers_add_run_edit_remove_run(bundled: Path) -> None:
    output = bundled.parent.parent / "output"
    added = syndicator(
        "--config", str(bundled), "subscribers", "add", "new-hope",
        "--name", "New Hope", "--site", "https://newhope.example/",
        "--category", "Israel", "--limit", "3", "--set", "theme.mode=dark",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    run = syndicator("--config", str(bundled), "run")
    assert run.returncode == 0, run.stderr
    assert (output / "new-hope" / "rss.xml").is_file()
    listed = json.loads(
        syndicator("--config", str(bundled), "subscribers", "list", "--json").stdout
    )
    assert {"grace-church", "new-hope"} <= {row["id"] for row in listed}

    file = bundled.parent / "subscribers" / "grace-church.toml"
    before = file.read_text()
    edited = syndicator("--config", str(bundled), "subscribers", "edit", "grace-church", "limit=3")
    assert edited.returncode == 0 and "limit: 10 → 3" in edited.stdout
    after = file.read_text()
    assert after == before.replace("limit = 10", "limit = 3")  # comments and order kept
    typo = syndicator("--config", str(bundled), "subscribers", "edit", "grace-church", "limt=3")
    assert typo.returncode == 2 and "limit" in typo.stderr and file.read_text() == after

    removed = syndicator("--config", str(bundled), "subscribers", "remove", "new-hope", "--yes")
    assert removed.returncode == 0, removed.stderr
    again = syndicator("--config", str(bundled), "run")
    assert again.returncode == 0 and "1 retired" in again.stdout
    assert not (output / "new-hope").exists()


def _served(bundled: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "syndicator", "--config", str(bundled), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    url = line.split(" at ", 1)[1].split(" (Ctrl-C", 1)[0]
    return proc, url


def test_serve_and_preview_over_real_http(bundled: Path) -> None:
    import urllib.request

    assert syndicator("--config", str(bundled), "run").returncode == 0
    output = bundled.parent.parent / "output"
    live = {p: p.read_bytes() for p in output.rglob("*") if p.is_file()}

    proc, url = _served(bundled, "serve", "--port", "0")
    try:
        with urllib.request.urlopen(url + "grace-church/rss.xml") as response:
            assert response.headers["Content-Type"].startswith("application/rss+xml")
            assert response.read() == (output / "grace-church" / "rss.xml").read_bytes()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    proc, url = _served(bundled, "preview", "hope-ministries")
    try:
        assert url.endswith("/preview.html")
        base = url.removesuffix("preview.html")
        with urllib.request.urlopen(url) as response:
            page = response.read().decode()
        assert f'<script src="{base}hope-ministries/embed.js" async></script>' in page
        assert "Hope Ministries" in page and 'id="snippet"' in page and "<iframe" in page
        with urllib.request.urlopen(base + "hope-ministries/embed.js") as response:
            assert response.headers["Content-Type"].startswith("text/javascript")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert {p: p.read_bytes() for p in output.rglob("*") if p.is_file()} == live  # untouched


def test_subscribers_not_reached_after_a_stop_are_told_in_one_line(
    bundled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full disk at 10,000 subscribers must not mail the admin 10,000 lines: the one
    that hit it is named with its reason, the rest in one line with their count."""
    from syndicator.cli import _print_report
    from syndicator.config import load_config
    from syndicator.models import RunReport, SubscriberReport
    from syndicator.publish.run import NOT_REACHED
    from syndicator.status import NAMED

    stop = "/srv/out/c1/rss.xml: cannot write: No space left on device"
    left = [f"c{n}" for n in range(2, NAMED + 7)]  # NAMED + 5 of them
    report = RunReport(
        started=NOW,
        sources=(),
        subscribers=(
            SubscriberReport("c0", "published", 5, 5),
            SubscriberReport("c1", "failed", error=f"not published: {stop}"),
            *(
                SubscriberReport(i, "failed", error=f"{NOT_REACHED}: {stop}", reached=False)
                for i in left
            ),
        ),
        publish_error=stop,
    )
    _print_report(load_config(bundled), report, quiet=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"subscriber c1: FAILED: not published: {stop} (its last good outputs stay published)",
        f"{len(left)} subscriber(s) not reached after publishing stopped: "
        f"{', '.join(left[:NAMED])} and 5 more (their last good outputs stay published; "
        "the next run publishes them)",
        f"error: publishing stopped: {stop}",
    ]


def test_a_fifo_named_like_a_config_file_or_template_is_refused_not_waited_on(
    bundled: Path,
) -> None:
    """Nothing writes to these FIFOs: reading one would wait forever, holding the lock."""
    os.mkfifo(bundled.parent / "subscribers" / "piped.toml")
    own = bundled.parent / "templates" / "subscribers" / "grace-church"
    own.mkdir(parents=True)
    os.mkfifo(own / "widget.html")
    result = syndicator("--config", str(bundled), "run")
    assert result.returncode == 1
    fifo = "not a regular file: a FIFO (named pipe)"
    assert f"subscribers/piped.toml: cannot read: {fifo} (subscriber skipped)" in result.stderr
    assert f"grace-church: FAILED: template {own / 'widget.html'}: {fifo}" in result.stderr
    assert "3 subscriber(s): 2 rendered, 0 unchanged, 1 failed" in result.stdout
    output = bundled.parent.parent / "output"
    assert (output / "hope-ministries" / "widget.html").is_file()

    check = syndicator("--config", str(bundled), "check")
    assert check.returncode == 2
    assert "piped.toml: cannot read" in check.stderr

    os.mkfifo(bundled.parent / "piped-main.toml")
    main = syndicator("--config", str(bundled.parent / "piped-main.toml"), "check")
    assert main.returncode == 2 and f"piped-main.toml: cannot read: {fifo}" in main.stderr


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Path]:
    """A copy of the bundled config in a folder any user may read (pytest's own temporary
    folders are private to the user running the tests)."""
    folder = Path(tempfile.mkdtemp(prefix="syndicator-test-"))
    try:
        folder.chmod(0o755)
        shutil.copytree(REPO / "config", folder / "config")
        yield folder / "config" / "syndicator.toml"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_state_folder_it_cannot_write_is_one_line_naming_it_and_exit_4(shared: Path) -> None:
    """The state folder belongs to someone else (as after a `sudo syndicator run`): run,
    fetch, daemon and status each say so in one line and exit 4, which systemd does not
    restart on; nothing is published."""
    state = shared.parent.parent / "state"
    assert syndicator("--config", str(shared), "run").returncode == 0  # the database exists
    shutil.rmtree(shared.parent.parent / "output")
    if os.geteuid() == 0:  # root writes anywhere: run as someone else
        prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    else:
        prefix = []
        state.chmod(0o555)
    try:
        for command in (["run"], ["fetch"], ["daemon"], ["status"]):
            result = subprocess.run(
                [*prefix, sys.executable, "-m", "syndicator", "--config", str(shared), *command],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 4, (command, result.stderr)
            (line,) = result.stderr.splitlines()
            assert line.startswith(f"error: {state}: the state folder cannot be used: "), line
    finally:
        state.chmod(0o755)
    assert not (shared.parent.parent / "output").exists()


def test_systemd_does_not_restart_the_daemon_on_what_needs_an_admin() -> None:
    unit = (REPO / "scripts" / "deploy" / "syndicator-daemon.service").read_text()
    (line,) = [line for line in unit.splitlines() if line.startswith("RestartPreventExitStatus=")]
    assert set(line.split("=", 1)[1].split()) == {str(EXIT_CONFIG), str(EXIT_STATE)}
    run_unit = (REPO / "scripts" / "deploy" / "syndicator-run.service").read_text()
    assert f"SuccessExitStatus={EXIT_LOCKED}\n" in run_unit
