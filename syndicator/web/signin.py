"""Signing in and out: `/admin/login` and `/admin/logout`.

The sign-in form carries its own CSRF token (a random value in a short-lived cookie,
echoed by the form: there is no session yet to hold one). A sign-in starts a fresh
session, whatever cookie came with it (no fixation); signing out deletes it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .auth import (
    ABSOLUTE,
    end_session,
    open_store,
    record_failure,
    signin_wait,
    start_session,
    verify_password,
)
from .console import (
    PREFIX,
    SESSION_COOKIE,
    checked_form,
    config,
    current_session,
    now,
    page,
    require_admin,
)

SIGNIN_COOKIE = "syndicator_signin"  # the sign-in form's CSRF token
WRONG = "The name or password is wrong."


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path under /admin/ on this site, else the dashboard.
    Refuses what a browser would read as another site (`//evil`, `/\\evil`, schemes)."""
    home = f"{PREFIX}/"
    if not value or not value.startswith(home) or "\\" in value:
        return home
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 0x21 for c in value):
        return home
    return value


def _form(
    request: Request, *, error: str | None, name: str, status: int, next_path: str
) -> Response:
    token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        {
            "error": error,
            "name": name,
            "signin_token": token,
            "next": safe_next(next_path),
        },
        status_code=status,
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        token,
        max_age=3600,
        path=f"{PREFIX}/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def login_page(request: Request) -> Response:
    if current_session(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), 303)
    next_path = request.query_params.get("next", "")
    return _form(request, error=None, name="", status=200, next_path=next_path)


async def login(request: Request) -> Response:
    form = await checked_form(request, request.cookies.get(SIGNIN_COOKIE))
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    next_path = str(form.get("next", ""))
    address = request.client.host if request.client else "unknown"
    moment = now(request)
    with open_store(config(request)) as store:
        wait = signin_wait(store, name, address, moment)
        if wait is not None:
            message = f"Too many failed sign-ins. Try again in {minutes(wait)}."
            return _form(request, error=message, name=name, status=429, next_path=next_path)
        stored = store.password_hash(name)
        if not await run_in_threadpool(verify_password, stored, password):
            record_failure(store, name, address, moment)
            return _form(request, error=WRONG, name=name, status=401, next_path=next_path)
        stale = current_session(request)
        if stale is not None:
            end_session(store, stale)
        session_id = start_session(store, name, moment)
        store.add_audit(moment, name, "sign in", name, f"from {address}")
    response = RedirectResponse(safe_next(next_path), 303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(ABSOLUTE.total_seconds()),
        path=f"{PREFIX}/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(SIGNIN_COOKIE, path=f"{PREFIX}/login")
    return response


def minutes(wait: timedelta) -> str:
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return f"{minutes} minute" + ("" if minutes == 1 else "s")


async def logout(request: Request) -> Response:
    session = require_admin(request)
    await checked_form(request, session.csrf_token)
    with open_store(config(request)) as store:
        end_session(store, session)
        store.add_audit(now(request), session.admin, "sign out", session.admin, "")
    response = RedirectResponse(f"{PREFIX}/login", 303)
    response.delete_cookie(SESSION_COOKIE, path=f"{PREFIX}/")
    return response


routes = [
    Route(f"{PREFIX}/login", login_page, methods=["GET"]),
    Route(f"{PREFIX}/login", login, methods=["POST"]),
    Route(f"{PREFIX}/logout", logout, methods=["POST"]),
]
