"""`create_app(config_path)`: the console as one Starlette app, served by `syndicator web`.

Each page module has a `routes` list; this collects them, serves the console's own
assets at /admin/static/, and sets the security headers on every response: a strict CSP
(no inline script or style, nothing from another origin, never framed), no sniffing,
no referrer to other sites, and no caching of pages that show what an admin sees.
"""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ConfigErrors, StoreError
from . import (
    dashboard,
    join,
    password,
    preview,
    requests_page,
    signin,
    subscribers,
    templates_page,
)
from .console import ENVIRONMENT, HERE, PREFIX, Clock, ConfigCache, page, utc_now

HIDE_LINKS = join.HideLinks()

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
MAX_BODY = 1 << 20  # as nginx's default client_max_body_size: a form is a few KB
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds `HEADERS` to every response, and `Cache-Control: no-store` to all but assets;
    but not a header the response sets itself, nor X-Frame-Options to a response with
    its own CSP (the preview's files: sandboxed, framed by the console and by each other,
    `web.preview`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_asset = str(scope.get("path", "")).startswith(f"{PREFIX}/static/")
        # A church's private link is its credential: not even our own pages get it as a
        # Referer, whatever the page says (a 404 or 410 too).
        private = str(scope.get("path", "")).startswith(f"{join.JOIN}/r/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                own = {name.lower() for name, _ in headers}
                if private and b"referrer-policy" not in own:
                    headers.append((b"referrer-policy", b"no-referrer"))
                    own.add(b"referrer-policy")
                if b"content-security-policy" in own:  # its framing rules are in it
                    own.add(b"x-frame-options")
                headers.extend((name, value) for name, value in HEADERS if name not in own)
                if not is_asset:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Stops reading a request body past `MAX_BODY` bytes, announced or not (chunked): the
    page that reads it answers 413 instead. Without nginx in front, nothing else would
    keep a huge form from being read whole into memory."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announced = dict(scope["headers"]).get(b"content-length", b"0")
        received = int(announced) if announced.isdigit() and int(announced) > MAX_BODY else 0

        async def limited() -> Message:
            nonlocal received
            if received <= MAX_BODY:
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                if received <= MAX_BODY:
                    return message
            raise HTTPException(413, f"The form is too large: at most {MAX_BODY:,} bytes.")

        await self.app(scope, limited, send)


async def _error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        raise exc
    if exc.status_code in {301, 302, 303, 307, 308}:
        return Response(status_code=exc.status_code, headers=exc.headers)
    context = {"status": exc.status_code, "message": exc.detail, "details": []}
    return page(request, "error.html", context, exc.status_code)


async def _unusable(request: Request, exc: Exception) -> Response:
    """A main config file that no longer loads, or a state database that cannot be used:
    every page says what is wrong (each problem on its line) until it is fixed, with 503.
    Rendered without the session, which lives in that database and needs that config."""
    if isinstance(exc, ConfigErrors):
        heading = "The main config file has problems: the console waits for them to be fixed."
        details = [str(error) for error in exc.errors]
    else:
        heading = "The state database cannot be used."
        details = [str(exc)]
    html = ENVIRONMENT.get_template("error.html").render(
        admin=None,
        csrf_token="",
        path=request.url.path,
        status=503,
        message=heading,
        details=details,
    )
    return HTMLResponse(html, status_code=503)


async def _home(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/", 303)


def create_app(config_path: Path, *, clock: Clock = utc_now) -> Starlette:
    """The console over the config at `config_path` (read again whenever its files change).
    `clock` gives the time (sessions expire by it); tests pass their own."""
    routes = [
        Route("/", _home),
        Route(PREFIX, _home),
        *signin.routes,
        *password.routes,
        *dashboard.routes,
        *templates_page.routes,
        *preview.routes,
        *subscribers.routes,
        *join.routes,
        *requests_page.routes,
        Mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: _error,
            ConfigErrors: _unusable,
            StoreError: _unusable,
        },
    )
    app.state.config_cache = ConfigCache(Path(config_path))
    app.state.clock = clock
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    return app


def server_config(app: Starlette, host: str = "127.0.0.1", port: int = 8090) -> uvicorn.Config:
    """How `syndicator web` serves the app (tests serve it the same way). Behind a proxy
    on this machine, its X-Forwarded-Proto and -For are believed, from 127.0.0.1 only:
    the session cookie is then Secure when the browser spoke https to the proxy, and the
    throttle counts the browser's address, not the proxy's. Churches' private links are
    blanked in uvicorn's logs (`join.HideLinks`)."""
    served = uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
        log_level="warning",
        lifespan="off",
    )
    for name in ("uvicorn.access", "uvicorn.error"):  # after uvicorn configured them
        logging.getLogger(name).addFilter(HIDE_LINKS)
    return served
