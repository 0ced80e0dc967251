"""The console's dashboard, "Publish now" and the audit log, on a real server."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from syndicator.errors import DAEMON
from syndicator.lock import RunLock
from syndicator.store import Store

from .conftest import Console
from .test_daemon import Daemon

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def text_of(page: str) -> str:
    """The page's text, tags removed and entities read, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_before_any_cycle_the_dashboard_says_the_source_was_never_polled(
    console: Console,
) -> None:
    answer = console.get("/admin/")
    assert answer.status_code == 200
    shown = text_of(answer.text)
    assert re.search(r"worthynews file:\S+/worthynews-feed\.xml never polled — now —", shown)
    assert "3 subscribers: 0 with a problem, 3 not published yet." in shown


def test_publish_now_runs_a_cycle_shows_its_report_and_is_audited(console: Console) -> None:
    answer = console.post("/admin/publish")
    assert answer.status_code == 200
    shown = text_of(answer.text)
    assert "Published." in shown
    assert "publish: 3 subscriber(s): 3 rendered, 0 unchanged, 0 failed" in shown
    output = console.config.site.output_dir
    assert (output / "grace-church" / "rss.xml").is_file()
    dashboard = text_of(console.get("/admin/").text)
    assert re.search(r"worthynews file:\S+/worthynews-feed\.xml ok 20", dashboard)
    audit = text_of(console.get("/admin/audit").text)
    assert "admin publish now Worthy News syndication (demo) run: 1 of 1 source(s)" in audit, audit


def test_publish_now_while_a_run_holds_the_lock_starts_nothing_and_says_so(
    console: Console,
) -> None:
    config = console.config
    with RunLock(config.site.state_dir):
        answer = console.post("/admin/publish")
    assert answer.status_code == 200
    assert "Nothing was started: another run (cron, or a command on the server)" in answer.text
    assert not config.site.output_dir.exists()


def test_publish_now_while_the_daemon_runs_asks_it_for_a_cycle(console: Console) -> None:
    config = console.config
    daemon = Daemon(console.config_path, "--watch", "0")
    try:
        daemon.wait_for("cycle done: 3 subscriber(s) rendered")
        answer = console.post("/admin/publish")
        assert "The daemon is running: it was asked to run a cycle now." in answer.text
        daemon.wait_for("a cycle was asked for (the console's Publish now): running it")
        daemon.wait_for("cycle done: 0 subscriber(s) rendered")
        assert not (config.site.state_dir / "cycle-requested").exists()
    finally:
        assert daemon.stop() == 0


def test_a_request_for_the_daemon_is_left_when_its_lock_is_held(console: Console) -> None:
    config = console.config
    with RunLock(config.site.state_dir, DAEMON):
        answer = console.post("/admin/publish")
    assert "it was asked to run a cycle now" in answer.text
    assert (config.site.state_dir / "cycle-requested").is_file()


def test_problems_come_first_broken_file_failing_and_empty_selection(
    console: Console,
) -> None:
    subscribers = console.config_path.parent / "subscribers"
    (subscribers / "empty-church.toml").write_text(
        f'name = "{HOSTILE.replace(chr(34), chr(39))}"\n'
        'site_url = "https://empty.example.org/"\ncategories = ["Nothing Here"]\n',
        encoding="utf-8",
    )
    console.post("/admin/publish")
    (subscribers / "broken.toml").write_text("name = \n", encoding="utf-8")
    with Store(console.config.database_path) as store:
        store.save_render_failure("grace-church", "template error: " + HOSTILE, console.clock())
    answer = console.get("/admin/")
    shown = text_of(answer.text)
    assert "5 subscribers: 3 with a problem." in shown
    problems = re.findall(
        r"<td data-label=\"Problem\">(Failing|Empty selection|Broken file)</td>", answer.text
    )
    assert problems == ["Failing", "Broken file", "Empty selection"]  # the urgent first
    assert "<script>alert(2)" not in answer.text and "<img src=x" not in answer.text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in answer.text


def test_source_errors_from_upstream_are_shown_escaped(console: Console) -> None:
    console.post("/admin/publish")
    with Store(console.config.database_path) as store:
        state = store.source_state("worthynews")
        assert state is not None
        from dataclasses import replace

        store.save_source_state(replace(state, last_error=HOSTILE, consecutive_failures=2))
    answer = console.get("/admin/")
    assert "failing (2×)" in answer.text
    assert HOSTILE not in answer.text
    assert html.escape(HOSTILE, quote=False) in answer.text.replace("&#34;", '"')


def test_the_dashboard_lists_fifty_problems_and_counts_the_rest(console: Console) -> None:
    subscribers = console.config_path.parent / "subscribers"
    for number in range(60):
        (subscribers / f"broken-{number:02}.toml").write_text("limit = 0\n", encoding="utf-8")
    shown = text_of(console.get("/admin/").text)
    assert "63 subscribers: 60 with a problem, 3 not published yet." in shown
    assert "And 10 more: see them all" in shown
    assert shown.count("Broken file") == 50


def test_the_audit_log_is_newest_first_paged_and_escaped(console: Console) -> None:
    with Store(console.config.database_path) as store:
        for number in range(120):
            moment = console.clock() + timedelta(minutes=number)
            store.add_audit(moment, "admin", "edit", f"church-{number:03}", HOSTILE)
    first = console.get("/admin/audit")
    assert HOSTILE not in first.text and "&lt;script&gt;" in first.text
    targets = re.findall(r"church-\d{3}", first.text)
    assert targets[0] == "church-119" and len(targets) == 50
    last = console.get("/admin/audit?page=3")
    assert re.findall(r"church-\d{3}", last.text)[-1] == "church-000"
    assert "Page 3 of 3" in last.text
    assert console.get("/admin/audit?page=4").status_code == 404
    assert console.get("/admin/audit?page=x").status_code == 404


def test_publish_now_while_another_admin_s_runs_says_whose(console: Console) -> None:
    with RunLock(console.config.site.state_dir, "console"):
        answer = console.post("/admin/publish")
    assert "Nothing was started: another admin&#39;s Publish now is working" in answer.text
