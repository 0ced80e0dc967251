"""Changing your own password in the console (`/admin/password`): the current password
first, the sign-in throttle, every other session ended, the audit log."""

from __future__ import annotations

import sqlite3

import httpx2

from .conftest import ADMIN, ADMIN_PASSWORD, Console, csrf_token_in, sign_in

NEW_PASSWORD = "a brand new passphrase for the admin"


def change(console: Console, current: str = ADMIN_PASSWORD, **fields: str) -> httpx2.Response:
    data = {"current_password": current, "password": NEW_PASSWORD}
    data |= fields
    data.setdefault("password_again", data["password"])
    answer: httpx2.Response = console.post("/admin/password", data)
    return answer


def signs_in_with(console: Console, password: str) -> bool:
    with httpx2.Client(base_url=console.base) as client:
        return bool(sign_in(client, ADMIN, password).status_code == 303)


def test_the_signed_in_admin_changes_their_password_and_their_other_sessions_end(
    console: Console,
) -> None:
    with httpx2.Client(base_url=console.base) as elsewhere:
        assert sign_in(elsewhere).status_code == 303
        answer = change(console)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/admin/password?changed=1"
        assert elsewhere.get("/admin/").status_code == 303  # signed out over there
    done = console.get(answer.headers["location"])
    assert "Your password is changed." in done.text  # and this session goes on
    assert console.get("/admin/").status_code == 200
    assert not signs_in_with(console, ADMIN_PASSWORD)
    assert signs_in_with(console, NEW_PASSWORD)
    with sqlite3.connect(console.config.database_path) as db:
        last = db.execute(
            "SELECT admin, action, target, detail FROM audit WHERE action = ?", ("change password",)
        ).fetchall()
    assert last == [(ADMIN, "change password", ADMIN, "1 other session ended")]


def test_a_wrong_current_password_changes_nothing_and_says_so(console: Console) -> None:
    answer = change(console, current="not the password at all")
    assert answer.status_code == 401
    assert "The current password is wrong." in answer.text
    assert signs_in_with(console, ADMIN_PASSWORD)
    assert not signs_in_with(console, NEW_PASSWORD)


def test_wrong_current_passwords_are_throttled_as_failed_sign_ins_are(
    console: Console,
) -> None:
    for _ in range(5):
        assert change(console, current="a wrong guess here").status_code == 401
    locked = change(console)  # even the right one: no oracle
    assert locked.status_code == 429
    assert "Try again in 15 minutes." in locked.text
    with httpx2.Client(base_url=console.base) as client:
        assert sign_in(client).status_code == 429  # the same counters as signing in
    console.clock.advance(minutes=15, seconds=1)
    assert change(console).status_code == 303
    assert signs_in_with(console, NEW_PASSWORD)


def test_new_passwords_that_differ_or_are_short_are_refused_with_the_reason(
    console: Console,
) -> None:
    differ = change(console, password_again="something else entirely")
    assert differ.status_code == 400
    assert "The two new passwords are not the same." in differ.text
    short = change(console, password="too short")
    assert short.status_code == 400
    assert "password too short: use at least 12 characters (it had 9)" in short.text
    assert signs_in_with(console, ADMIN_PASSWORD)


def test_a_change_without_the_session_s_csrf_token_or_session_is_refused(
    console: Console,
) -> None:
    fields = {
        "current_password": ADMIN_PASSWORD,
        "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD,
    }
    forged = console.client.post("/admin/password", data=fields)
    assert forged.status_code == 403
    with httpx2.Client(base_url=console.base) as stranger:
        token = csrf_token_in(stranger.get("/admin/login").text)  # a sign-in form's token
        answer = stranger.post("/admin/password", data={"csrf_token": token, **fields})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")
    assert signs_in_with(console, ADMIN_PASSWORD)


def test_every_console_page_links_to_the_password_page_from_the_admin_s_name(
    console: Console,
) -> None:
    html = console.get("/admin/").text
    assert '<a class="who" href="/admin/password"' in html
    form = console.get("/admin/password").text
    assert 'name="current_password"' in form and 'autocomplete="new-password"' in form
