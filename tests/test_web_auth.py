"""Admins (`syndicator admins …` and syndicator/web/auth.py): argon2id hashes in the state
database, nothing secret in the config folder; the throttle's pure decision."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from syndicator.cli import cli
from syndicator.config import load_config
from syndicator.web.auth import open_store, start_session, throttle_wait, verify_password

from .conftest import REPO

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def demo(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path / "config" / "syndicator.toml"


def admins(config: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), "admins", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_an_admin_added_from_stdin_is_listed_and_stored_as_an_argon2id_hash(
    tmp_path: Path,
) -> None:
    config = demo(tmp_path)
    before = sorted((p, p.read_bytes()) for p in config.parent.rglob("*") if p.is_file())
    code, out, err = admins(config, "add", "pastor.jo", stdin="a long secret phrase here\n")
    assert (code, err) == (0, "")
    assert "added admin pastor.jo" in out
    code, out, _ = admins(config, "list")
    assert code == 0 and out.startswith("pastor.jo\tadded ")
    with sqlite3.connect(load_config(config).database_path) as db:
        (stored,) = db.execute("SELECT password_hash FROM admins").fetchone()
    assert stored.startswith("$argon2id$") and "a long secret phrase" not in stored
    after = sorted((p, p.read_bytes()) for p in config.parent.rglob("*") if p.is_file())
    assert after == before  # nothing written to the config folder


def test_a_duplicate_admin_is_refused_and_keeps_the_first_password(tmp_path: Path) -> None:
    config = demo(tmp_path)
    admins(config, "add", "jo", stdin="the first long password\n")
    code, _, err = admins(config, "add", "jo", stdin="the second long password\n")
    assert code == 1
    assert err == "error: admin 'jo' exists already; remove it first to replace it\n"


def test_a_short_password_is_refused_with_the_minimum_said(tmp_path: Path) -> None:
    config = demo(tmp_path)
    code, _, err = admins(config, "add", "jo", stdin="short\n")
    assert code == 1
    assert "password too short: use at least 12 characters (it had 5)" in err
    assert admins(config, "list")[1] == ""


def test_a_name_that_is_not_a_plain_word_is_refused(tmp_path: Path) -> None:
    code, _, err = admins(demo(tmp_path), "add", "<script>", stdin="a long secret phrase\n")
    assert code == 1 and "admin name '<script>' is not allowed" in err


def test_removing_an_admin_ends_them_and_an_unknown_one_is_named(tmp_path: Path) -> None:
    config = demo(tmp_path)
    admins(config, "add", "jo", stdin="a long secret phrase\n")
    admins(config, "add", "sam", stdin="another long phrase\n")
    assert admins(config, "remove", "jo")[0] == 0
    assert admins(config, "list")[1].startswith("sam\t")
    code, _, err = admins(config, "remove", "jo")
    assert code == 1 and err == "error: no admin 'jo'; admins: sam\n"


def test_the_throttle_allows_until_the_limit_then_waits_for_the_oldest_to_age_out() -> None:
    failures = [NOW - timedelta(minutes=m) for m in (10, 5, 1)]
    assert throttle_wait(failures, NOW, limit=4) is None
    assert throttle_wait(failures, NOW, limit=3) == timedelta(minutes=5)
    assert throttle_wait(failures, NOW + timedelta(minutes=6), limit=3) is None


def test_adding_and_removing_admins_is_in_the_audit_log(tmp_path: Path) -> None:
    config = demo(tmp_path)
    admins(config, "add", "jo", stdin="a long secret phrase\n")
    admins(config, "remove", "jo")
    with sqlite3.connect(load_config(config).database_path) as db:
        rows = db.execute("SELECT admin, action, target FROM audit ORDER BY id").fetchall()
    assert rows == [
        ("(command line)", "add admin", "jo"),
        ("(command line)", "remove admin", "jo"),
    ]


def test_listing_no_admins_says_how_to_add_one(tmp_path: Path) -> None:
    code, out, err = admins(demo(tmp_path), "list")
    assert (code, out) == (0, "")
    assert err == "no admins yet: add one with `syndicator admins add NAME`\n"


def password_works(config: Path, name: str, password: str) -> bool:
    with sqlite3.connect(load_config(config).database_path) as db:
        found = db.execute("SELECT password_hash FROM admins WHERE name = ?", (name,))
        stored = found.fetchone()
    return verify_password(stored[0] if stored else None, password)


def test_passwd_from_stdin_replaces_the_password_ends_the_sessions_and_is_audited(
    tmp_path: Path,
) -> None:
    config = demo(tmp_path)
    admins(config, "add", "jo", stdin="the first long password\n")
    admins(config, "add", "sam", stdin="another long phrase\n")
    loaded = load_config(config)
    with open_store(loaded) as store:
        start_session(store, "jo", NOW)
        start_session(store, "jo", NOW)
        start_session(store, "sam", NOW)
    code, out, err = admins(config, "passwd", "jo", stdin="the second long password\n")
    assert (code, err) == (0, "")
    assert out == "changed the password of admin jo; their sessions have ended\n"
    assert password_works(config, "jo", "the second long password")
    assert not password_works(config, "jo", "the first long password")
    assert password_works(config, "sam", "another long phrase")
    with sqlite3.connect(loaded.database_path) as db:
        sessions = db.execute("SELECT admin FROM sessions").fetchall()
        last = db.execute("SELECT admin, action, target, detail FROM audit ORDER BY id DESC")
        audited = last.fetchone()
    assert sessions == [("sam",)]
    assert audited == ("(command line)", "change password", "jo", "2 sessions ended")


@pytest.mark.parametrize("args", [("add", "jo"), ("passwd", "jo"), ("remove", "jo"), ("list",)])
def test_every_admins_command_says_a_corrupt_state_database_in_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    config = demo(tmp_path)
    database = load_config(config).database_path
    database.parent.mkdir(parents=True, exist_ok=True)
    database.write_bytes(b"this is not a database" * 100)
    code, out, err = admins(config, *args, stdin="a long secret phrase here\n")
    assert code == 1, (out, err)
    assert err == f"error: {database}: cannot open the state database: file is not a database\n"
    assert database.read_bytes() == b"this is not a database" * 100  # nothing overwritten


def test_passwd_refuses_a_short_password_and_keeps_the_old_one(tmp_path: Path) -> None:
    config = demo(tmp_path)
    admins(config, "add", "jo", stdin="the first long password\n")
    code, _, err = admins(config, "passwd", "jo", stdin="short\n")
    assert code == 1
    assert "password too short: use at least 12 characters (it had 5)" in err
    assert password_works(config, "jo", "the first long password")


def test_passwd_for_an_unknown_admin_names_the_admins_there_are(tmp_path: Path) -> None:
    config = demo(tmp_path)
    admins(config, "add", "sam", stdin="another long phrase\n")
    code, _, err = admins(config, "passwd", "jo", stdin="a long secret phrase\n")
    assert code == 1 and err == "error: no admin 'jo'; admins: sam\n"
    code, _, err = admins(config, "passwd", "jo", stdin="")  # said before any is read
    assert code == 1 and err == "error: no admin 'jo'; admins: sam\n"


@pytest.mark.parametrize(
    ("command", "prompt", "done"),
    [
        ("add", b"password for jo: ", b"added admin jo"),
        ("passwd", b"new password for jo: ", b"changed the password of admin jo"),
    ],
)
def test_on_a_terminal_the_password_is_asked_twice_and_not_echoed(
    tmp_path: Path, command: str, prompt: bytes, done: bytes
) -> None:
    import os
    import pty
    import subprocess
    import sys
    import time

    config = demo(tmp_path)
    if command == "passwd":
        admins(config, "add", "jo", stdin="the first long password\n")
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "syndicator", "--config", str(config), "admins", command, "jo"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen = b""

    def read_until(text: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 60
        while text not in seen:
            assert time.monotonic() < deadline, seen
            try:
                seen += os.read(leader, 1024)
            except OSError:  # the other end closed
                break

    read_until(prompt)
    os.write(leader, b"a long secret phrase\n")
    read_until(b"Repeat for confirmation: ")
    os.write(leader, b"a long secret phrase\n")
    read_until(done)
    assert process.wait(timeout=60) == 0
    os.close(leader)
    assert b"a long secret phrase" not in seen  # never echoed
    assert password_works(config, "jo", "a long secret phrase")
