"""Signing in and out of the console: sessions, the throttle, redirects after sign-in."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest

from syndicator.web.signin import safe_next

from .conftest import ADMIN, ADMIN_PASSWORD, Console, csrf_token_in, sign_in


def test_signing_in_sets_a_strict_http_only_session_cookie(console: Console) -> None:
    with httpx2.Client(base_url=console.base) as client:
        answer = sign_in(client)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/"
    cookie = answer.headers["set-cookie"].lower()
    assert "syndicator_session=" in cookie
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin/" in cookie
    assert "secure" not in cookie  # plain http to 127.0.0.1: a Secure cookie would be lost


def test_a_wrong_password_and_an_unknown_name_get_the_same_generic_error(
    console: Console,
) -> None:
    with httpx2.Client(base_url=console.base) as client:
        wrong = sign_in(client, ADMIN, "not the password at all")
        unknown = sign_in(client, "nobody", ADMIN_PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "The name or password is wrong." in wrong.text
    assert "The name or password is wrong." in unknown.text
    assert "syndicator_session" not in wrong.headers.get("set-cookie", "")


def test_signing_out_ends_the_session_on_the_server(console: Console) -> None:
    cookie = console.client.cookies["syndicator_session"]
    assert console.post("/admin/logout").status_code == 303
    with httpx2.Client(base_url=console.base, cookies={"syndicator_session": cookie}) as replay:
        assert replay.get("/admin/").status_code == 303  # the stolen copy is worthless too


def test_the_sign_in_form_itself_needs_its_csrf_token(console: Console) -> None:
    with httpx2.Client(base_url=console.base) as client:
        client.get("/admin/login")
        answer = client.post("/admin/login", data={"name": ADMIN, "password": ADMIN_PASSWORD})
    assert answer.status_code == 403


def test_a_session_id_planted_before_sign_in_is_never_the_one_signed_in(
    console: Console,
) -> None:
    planted = "attacker-chosen-session-id"
    with httpx2.Client(base_url=console.base) as victim:
        victim.cookies.set("syndicator_session", planted, domain="127.0.0.1", path="/admin/")
        sign_in(victim)
        given = victim.cookies.get("syndicator_session", domain="127.0.0.1", path="/admin/")
    assert given and given != planted
    with httpx2.Client(base_url=console.base) as attacker:
        attacker.cookies.set("syndicator_session", planted, path="/admin/")
        assert attacker.get("/admin/").status_code == 303


def test_signing_in_again_ends_the_session_it_came_with(console: Console) -> None:
    old = console.client.cookies["syndicator_session"]
    assert console.get("/admin/login").status_code == 303  # signed in: straight on
    with httpx2.Client(base_url=console.base) as client:
        token = csrf_token_in(client.get("/admin/login").text)
        client.cookies.set("syndicator_session", old, domain="127.0.0.1", path="/admin/")
        answer = client.post(
            "/admin/login", data={"csrf_token": token, "name": ADMIN, "password": ADMIN_PASSWORD}
        )
        new = client.cookies.get("syndicator_session", domain="127.0.0.1", path="/admin/")
    assert answer.status_code == 303
    assert new and new != old
    assert console.get("/admin/").status_code == 303  # the old session was ended


def test_a_session_ends_after_two_idle_hours(console: Console) -> None:
    console.clock.advance(hours=1, minutes=59)
    assert console.get("/admin/").status_code == 200
    console.clock.advance(hours=1, minutes=59)
    assert console.get("/admin/").status_code == 200  # used an hour and 59 minutes ago
    console.clock.advance(hours=2)
    answer = console.get("/admin/")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


def test_a_session_ends_after_twelve_hours_however_busy(console: Console) -> None:
    for _ in range(11):
        console.clock.advance(hours=1)
        assert console.get("/admin/").status_code == 200
    console.clock.advance(hours=1)
    assert console.get("/admin/").status_code == 303


def test_five_wrong_passwords_lock_the_account_with_the_wait_said(console: Console) -> None:
    with httpx2.Client(base_url=console.base) as client:
        for _ in range(5):
            assert sign_in(client, ADMIN, "wrong password guess").status_code == 401
        locked = sign_in(client, ADMIN, ADMIN_PASSWORD)  # even the right one: no oracle
    assert locked.status_code == 429
    assert "Try again in 15 minutes." in locked.text
    console.clock.advance(minutes=15, seconds=1)
    with httpx2.Client(base_url=console.base) as client:
        assert sign_in(client).status_code == 303


def test_one_address_trying_many_names_is_throttled_too(console: Console) -> None:
    with httpx2.Client(base_url=console.base) as client:
        for number in range(20):
            assert sign_in(client, f"guess{number}", "wrong password").status_code == 401
        answer = sign_in(client)
    assert answer.status_code == 429
    assert "Try again in" in answer.text


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/admin/subscribers?page=2", "/admin/subscribers?page=2"),
        ("/admin/audit", "/admin/audit"),
        ("https://evil.example/admin/", "/admin/"),
        ("//evil.example/admin/", "/admin/"),
        ("/admin/\\evil.example", "/admin/"),
        ("/\\evil.example/admin/", "/admin/"),
        ("/join", "/admin/"),
        ("/admin/\t//evil.example", "/admin/"),
        ("", "/admin/"),
    ],
)
def test_after_sign_in_only_console_paths_are_followed(given: str, expected: str) -> None:
    assert safe_next(given) == expected


def test_the_next_field_cannot_send_a_signed_in_admin_to_another_site(
    console: Console,
) -> None:
    with httpx2.Client(base_url=console.base) as client:
        token = csrf_token_in(client.get("/admin/login?next=//evil.example/").text)
        answer = client.post(
            "/admin/login",
            data={
                "csrf_token": token,
                "name": ADMIN,
                "password": ADMIN_PASSWORD,
                "next": "//evil.example/",
            },
        )
    assert answer.headers["location"] == "/admin/"


def proxied_sign_in(console: Console, address: str, password: str = ADMIN_PASSWORD) -> Any:
    """A sign-in through the nginx proxy on this machine: https, from `address`."""
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": address}
    with httpx2.Client(base_url=console.base, headers=headers) as client:
        form = client.get("/admin/login")
        assert "secure" in form.headers["set-cookie"].lower()
        token = csrf_token_in(form.text)
        # httpx2 keeps a Secure cookie from plain http: send it as the browser would.
        return client.post(
            "/admin/login",
            data={"csrf_token": token, "name": ADMIN, "password": password},
            headers={"Cookie": f"syndicator_signin={token}"},
        )


def test_behind_the_https_proxy_the_session_cookie_is_secure(console: Console) -> None:
    answer = proxied_sign_in(console, "203.0.113.9")
    assert answer.status_code == 303
    assert "; secure" in answer.headers["set-cookie"].lower()


def test_behind_the_proxy_the_throttle_counts_each_browser_s_address(
    console: Console,
) -> None:
    for number in range(20):
        with httpx2.Client(
            base_url=console.base, headers={"X-Forwarded-For": "203.0.113.9"}
        ) as client:
            assert sign_in(client, f"guess{number}", "wrong password").status_code == 401
    assert proxied_sign_in(console, "203.0.113.9").status_code == 429
    assert proxied_sign_in(console, "198.51.100.7").status_code == 303


def test_removing_an_admin_ends_their_session_at_once(console: Console) -> None:
    from syndicator.web.auth import remove_admin

    remove_admin(console.config, ADMIN, console.clock())
    assert console.get("/admin/").status_code == 303


def test_sessions_nobody_came_back_with_are_forgotten_at_the_next_sign_in(
    console: Console,
) -> None:
    import sqlite3

    console.clock.advance(hours=3)
    with httpx2.Client(base_url=console.base) as client:
        assert sign_in(client).status_code == 303
    with sqlite3.connect(console.config.database_path) as db:
        assert db.execute("SELECT count(*) FROM sessions").fetchone() == (1,)


def test_signing_in_and_out_is_in_the_audit_log_with_the_address(console: Console) -> None:
    console.post("/admin/logout")
    with httpx2.Client(base_url=console.base) as client:
        sign_in(client)
        log = client.get("/admin/audit").text
    rows = re.findall(
        r"<td data-label=\"What\">([^<]*)</td><td data-label=\"Which\">[^<]*</td><td data-label=\"Details\">([^<]*)</td>",
        log,
    )
    assert rows == [
        ("sign in", "from 127.0.0.1"),
        ("sign out", ""),
        ("sign in", "from 127.0.0.1"),
        ("add admin", ""),
    ]
