"""What every console page shares: the loaded config (reloaded when its files change),
the signed-in admin (`require_admin`), the CSRF check, the page renderer and `audit`.

The console's own templates are our code, so they render in a plain (not sandboxed)
Jinja environment, with autoescape on and `StrictUndefined`: every value an admin or
upstream wrote reaches the page escaped.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ..config import Config
from ..watch import ConfigWatch
from .auth import Session, find_session, open_store

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "syndicator_session"
CSRF_FIELD = "csrf_token"
PREFIX = "/admin"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


RECHECK_SECONDS = 2.0  # how soon a subscriber file rewritten in place is seen


class ConfigCache:
    """The config, loaded once and again only when its files change (`ConfigWatch`: the
    main file and the subscribers folder looked at on each request, every subscriber
    file every `recheck` seconds). A main file that stops loading raises `ConfigErrors`
    on every request until it is fixed."""

    def __init__(
        self,
        path: Path,
        recheck: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._watch = ConfigWatch(path, recheck=recheck, clock=clock)
        self._lock = threading.Lock()
        self._broken = False

    def get(self) -> Config:
        with self._lock:
            config = self._watch.config
            if config is None or self._broken or self._watch.changed():
                self._broken = True  # until it loads again: said on every request
                config = self._watch.reload()
                self._broken = False
            return config


class Redirect(HTTPException):
    """Answer with a 303 to `location` (a path on this site)."""

    def __init__(self, location: str) -> None:
        super().__init__(303, headers={"Location": location})


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = lambda name: f"{PREFIX}/static/{quote(name)}"
    env.filters["stamp"] = _stamp
    return env


def _stamp(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "—"


ENVIRONMENT = _environment()


def config(request: Request) -> Config:
    """The current config (see `ConfigCache`)."""
    cache: ConfigCache = request.app.state.config_cache
    return cache.get()


def now(request: Request) -> datetime:
    """The time, from the app's clock (tests move it)."""
    clock: Clock = request.app.state.clock
    return clock()


def current_session(request: Request) -> Session | None:
    """The signed-in admin's live session, or None."""
    if "session" in request.scope.get("state", {}):
        found: Session | None = request.state.session
        return found
    session_id = request.cookies.get(SESSION_COOKIE)
    session = None
    if session_id:
        with open_store(config(request)) as store:
            session = find_session(store, session_id, now(request))
    request.state.session = session
    return session


def require_admin(request: Request) -> Session:
    """The signed-in admin's session; else a redirect to the sign-in page, which comes
    back here afterwards (GET only: a form posted without a session is not replayed)."""
    session = current_session(request)
    if session is None:
        back = request.url.path if request.method == "GET" else f"{PREFIX}/"
        raise Redirect(f"{PREFIX}/login?next={quote(back, safe='/')}")
    return session


async def checked_form(request: Request, expected: str | None) -> FormData:
    """The posted form, once its `csrf_token` equals `expected`; else 403. No token
    expected (None or empty: no cookie came with the form) matches nothing."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if (
        not expected
        or not isinstance(given, str)
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise HTTPException(
            403, "The form was out of date or not sent from this console: reload and try again."
        )
    return form


async def admin_form(request: Request) -> tuple[Session, FormData]:
    """For every state-changing request: the signed-in admin and their form, CSRF-checked."""
    session = require_admin(request)
    return session, await checked_form(request, session.csrf_token)


def page(
    request: Request, template: str, context: Mapping[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render one console template (it extends base.html) into a response."""
    session = current_session(request)
    values = {
        "request": request,
        "admin": session.admin if session else None,
        "csrf_token": session.csrf_token if session else "",
        "path": request.url.path,
        **context,
    }
    html = ENVIRONMENT.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)


def audit(request: Request, action: str, target: str, detail: str = "") -> None:
    """Record a change in the audit log: who (the signed-in admin), what, when."""
    session = require_admin(request)
    with open_store(config(request)) as store:
        store.add_audit(now(request), session.admin, action, target, detail)
