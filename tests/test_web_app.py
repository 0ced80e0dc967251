"""The console as a whole: every route's protection (sign-in, CSRF), the security headers,
the assets served from our origin. Routes are enumerated from the app, so every page
module's POST routes are attacked here without being listed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from starlette.routing import Route

from syndicator.web import create_app

from .conftest import Console

PATH_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def routes(method: str) -> list[str]:
    """Every path of the app answering `method`, path parameters filled with a real id."""
    app = create_app(Path("config/syndicator.toml"))
    found = []
    for route in app.routes:
        if isinstance(route, Route) and route.methods and method in route.methods:
            found.append(PATH_PARAM.sub("grace-church", route.path))
    return found


def post_routes() -> list[str]:
    return routes("POST")


def test_the_app_has_post_routes_to_attack() -> None:
    assert "/admin/logout" in post_routes()
    assert "/admin/login" in post_routes()


@pytest.mark.parametrize("path", post_routes())
def test_every_post_route_refuses_a_form_without_the_csrf_token(
    console: Console, path: str
) -> None:
    before = console.config_path.parent
    files = sorted(p.read_bytes() for p in before.rglob("*") if p.is_file())
    answer = console.client.post(path, data={"name": "x", "password": "y", "id": "new-church"})
    assert answer.status_code == 403, (path, answer.status_code)
    assert files == sorted(p.read_bytes() for p in before.rglob("*") if p.is_file())
    assert console.get("/admin/").status_code == 200  # still signed in


@pytest.mark.parametrize("path", post_routes())
def test_every_post_route_refuses_a_wrong_csrf_token(console: Console, path: str) -> None:
    wrong = console.csrf_token[:-2] + ("AA" if not console.csrf_token.endswith("AA") else "BB")
    answer = console.client.post(path, data={"csrf_token": wrong, "name": "x", "id": "z"})
    assert answer.status_code == 403, (path, answer.status_code)


def console_routes(method: str) -> list[str]:
    """The console's own routes (`/join`'s are public: `test_web_join`)."""
    return [path for path in routes(method) if not path.startswith("/join")]


@pytest.mark.parametrize("path", [p for p in console_routes("POST") if p != "/admin/login"])
def test_every_post_route_without_a_session_changes_nothing_and_asks_to_sign_in(
    console: Console, path: str
) -> None:
    with httpx2.Client(base_url=console.base) as stranger:
        answer = stranger.post(path, data={"csrf_token": console.csrf_token, "id": "x"})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/login")
    assert console.get("/admin/").status_code == 200  # the admin's session lives on


@pytest.mark.parametrize(
    "path", [p for p in console_routes("GET") if p not in {"/", "/admin", "/admin/login"}]
)
def test_every_console_page_asks_a_stranger_to_sign_in(console: Console, path: str) -> None:
    with httpx2.Client(base_url=console.base) as stranger:
        answer = stranger.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/admin/login?next={quote(path, safe='/')}"


def test_every_answer_carries_a_strict_csp_and_pages_are_not_cached(console: Console) -> None:
    answers: list[Any] = [
        console.get("/admin/"),
        console.get("/admin/login"),
        console.get("/admin/static/console.css"),
        console.get("/admin/no-such-page"),
    ]
    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert answers[0].headers["cache-control"] == "no-store"
    assert "cache-control" not in answers[2].headers
    assert answers[3].status_code == 404


def test_the_stylesheet_is_served_from_our_origin_and_pages_link_nothing_elsewhere(
    console: Console,
) -> None:
    css = console.get("/admin/static/console.css")
    assert css.status_code == 200 and "prefers-color-scheme: dark" in css.text
    html = console.get("/admin/").text
    assert "/admin/static/console.css" in html
    assert not re.search(r"""(src|href)="(https?:)?//""", html)
    assert "<script>" not in html and "style=" not in html


def test_a_main_config_file_that_stops_loading_is_named_on_every_page(
    console: Console,
) -> None:
    main = console.config_path
    main.write_text(main.read_text(encoding="utf-8") + "\n[site.nonsense]\n", encoding="utf-8")
    answer = console.get("/admin/")
    assert answer.status_code == 503
    assert "The main config file has problems" in answer.text
    assert "syndicator.toml" in answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")


def test_a_state_database_that_cannot_be_read_is_said_not_crashed_on(
    console: Console,
) -> None:
    database = console.config.database_path
    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    database.write_bytes(b"this is not a database" * 100)
    answer = console.get("/admin/")
    assert answer.status_code == 503
    assert "The state database cannot be used." in answer.text


def test_syndicator_web_serves_the_console_and_says_where(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    from .conftest import REPO

    shutil.copytree(REPO / "config", tmp_path / "config")
    config = tmp_path / "config" / "syndicator.toml"
    command = [sys.executable, "-m", "syndicator", "--config", str(config), "web"]
    server = subprocess.Popen([*command, "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.fullmatch(
            r"console at (http://127\.0\.0\.1:(\d+))/admin/ \(Ctrl-C to stop\)\n", line
        )
        assert found, line
        answer = httpx2.get(found.group(1) + "/admin/login", timeout=30)
        assert answer.status_code == 200 and "Sign in" in answer.text
        assert "server" not in answer.headers  # uvicorn does not name itself
        busy = subprocess.run(
            [*command, "--port", found.group(2)], capture_output=True, text=True, timeout=60
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert busy.returncode == 1
    assert busy.stderr == (
        f"error: cannot listen on 127.0.0.1:{found.group(2)}: Address already in use\n"
    )


@pytest.mark.parametrize("path", ["/admin/login", "/join", "/join/preview"])
@pytest.mark.parametrize("token", ["\0", ""])
def test_a_public_form_posted_without_its_cookie_is_refused_whatever_token_it_has(
    console: Console, path: str, token: str
) -> None:
    from .conftest import ADMIN, ADMIN_PASSWORD

    assert path in post_routes()
    with httpx2.Client(base_url=console.base) as stranger:  # a cross-site form: no cookie
        answer = stranger.post(
            path, data={"csrf_token": token, "name": ADMIN, "password": ADMIN_PASSWORD}
        )
    assert answer.status_code == 403, (path, answer.status_code)


def test_the_readme_states_the_console_s_csp_as_it_is() -> None:
    from syndicator.web.app import CSP

    from .conftest import REPO

    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert f"Content-Security-Policy (`{CSP}`)" in readme


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_past_the_limit_is_refused_413_and_the_server_carries_on(
    console: Console, chunked: bool
) -> None:
    """Without nginx in front (its 1 MB cap), a huge form would be read whole into memory:
    the app stops reading at its own cap, whether the size was announced or not."""
    from syndicator.web.app import MAX_BODY

    body = b"csrf_token=" + console.csrf_token.encode() + b"&name=" + b"x" * MAX_BODY
    content: Any = (
        iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    )
    answer = console.client.post(
        "/admin/subscribers/+new",
        content=content,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413, answer.status_code
    assert "too large" in answer.text
    assert not (console.config_path.parent / "subscribers" / "x.toml").exists()
    assert console.get("/admin/").status_code == 200


def test_a_form_within_the_limit_is_read(console: Console) -> None:
    answer = console.post("/admin/subscribers/+new", {"name": "x" * 5000})
    assert answer.status_code != 413
