"""Live preview: the subscriber form's draft rendered by the real renderer from the store,
before saving and without writing anything (`syndicator.preview.render_preview`).

POST `/admin/preview` (signed in, CSRF-checked, the subscriber form's fields) renders once
and keeps the result in memory under an unguessable token; it answers with the frames'
addresses as JSON (the editor's `preview.js`), or, with JavaScript off, sends the browser
to `/admin/preview/<token>/`, a console page holding the frames. The frames load the
files from `/admin/preview/<token>/<path>`; every URL inside them points there.

The frames are sandboxed (`allow-scripts`, no same origin), and the files are served with
a CSP that sandboxes them again when opened on their own: upstream HTML in them never runs
with the console's origin. A sandboxed document's own requests carry no SameSite=Strict
cookie, so a file is served on its token alone; a request that does carry a session
cookie must be the session that rendered it. The token is 192 random bits, and the
previews of all sessions together are bounded (the least recently used go first).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..config import Config, SubscriberConfig, subscriber_from, validate_subscriber_id
from ..errors import ConfigError, ConfigErrors, SyndicatorError
from ..models import Story
from ..preview import DARK_PAGE, PREVIEW_PAGE, Preview, current_stories, render_preview
from ..render.cache import Bounded
from ..render.environment import FRAME_SCRIPT_HASH
from ..store import database_stamp
from .console import (
    PREFIX,
    SESSION_COOKIE,
    Redirect,
    admin_form,
    config,
    current_session,
    now,
    page,
    require_admin,
)
from .forms import FIELDS, FORM, field_errors, nested, values_from_form

PREVIEWS_BYTES = 64 * 2**20  # rendered previews kept, all sessions together
DRAFT_ID = "new-subscriber"  # a new subscriber's outputs' folder until its id is valid
PREVIEW_OF = "preview_of"  # the field naming the subscriber an edit form previews
# Placeholders for a new subscriber's two required fields while they are empty, so the
# preview follows the other options from the start.
PLACEHOLDERS = {"name": "New subscriber", "site_url": "https://church.example.org/"}
FRAME_CSP = (
    "sandbox allow-scripts; default-src 'none'; "
    f"script-src 'self' '{FRAME_SCRIPT_HASH}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' https: http: data:; media-src https:; frame-src 'self' https:; "
    "base-uri 'none'; form-action 'none'"
)  # no frame-ancestors: no value admits the sandboxed church page holding the iframe page
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/feed+json",
    ".xml": "application/xml",
}


@dataclass(frozen=True, slots=True)
class Held:
    """One rendered preview and the session it belongs to."""

    owner: str  # the session's `id_hash` (a church's: "join:" and its address)
    base: str  # the address its files are served under, ending in "/"
    subscriber_id: str
    preview: Preview
    size: int  # its bytes, for the cache's bound


@dataclass(frozen=True, slots=True)
class Frames:
    """What the editor shows of a preview: each frame's address (None: not rendered)."""

    token: str
    light: str  # the sample church page
    dark: str  # the same on a dark background
    iframe: str | None  # the iframe page, when the subscriber has it
    article: str | None  # the first listed story's page, when it has article pages

    def as_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "frames": {
                "light": self.light,
                "dark": self.dark,
                "iframe": self.iframe,
                "article": self.article,
            },
        }


class Previews:
    """Previews by token, least recently used dropped past `limit` bytes; and the
    store's stories, read again only when the store or the config changed."""

    def __init__(self, limit: int = PREVIEWS_BYTES) -> None:
        self._held: Bounded[str, Held] = Bounded(limit, lambda held: held.size)
        self._stories: Bounded[tuple[int, tuple[int, ...]], tuple[Config, list[Story]]]
        self._stories = Bounded(2)
        self._lock = threading.Lock()

    def render(
        self,
        config: Config,
        subscriber: SubscriberConfig,
        owner: str,
        when: datetime,
        prefix: str = f"{PREFIX}/preview",
    ) -> Frames:
        """Render `subscriber` for the session `owner`; the new preview's frames, served
        under `prefix` (the console's, or `/join`'s)."""
        token = secrets.token_urlsafe(24)
        base = f"{prefix}/{token}/"
        with self._lock:  # one render at a time: the machine's cores serve the rest
            preview = render_preview(config, subscriber, base, when, self._stories_of(config))
            size = sum(map(len, preview.outputs.values())) + sum(map(len, preview.pages.values()))
            held = self._held.put(token, Held(owner, base, subscriber.id, preview, size))
        return frames_of(token, held)

    def _stories_of(self, config: Config) -> list[Story]:
        key = (id(config), database_stamp(config.database_path))
        kept = self._stories.get(key)
        if kept is not None and kept[0] is config:  # the id of a live object: the same one
            return kept[1]
        stories = current_stories(config)
        self._stories.put(key, (config, stories))
        return stories

    def get(self, token: str) -> Held | None:
        with self._lock:
            return self._held.get(token)

    def __len__(self) -> int:
        return len(self._held)


def frames_of(token: str, held: Held) -> Frames:
    base = held.base
    widget = f"{held.subscriber_id}/widget.html"
    return Frames(
        token=token,
        light=base + PREVIEW_PAGE,
        dark=base + DARK_PAGE,
        iframe=base + widget if widget in held.preview.outputs else None,
        article=base + held.preview.article if held.preview.article else None,
    )


def draft_of(config: Config, form: Mapping[str, Sequence[str]]) -> SubscriberConfig:
    """The subscriber a form describes, validated as its file would be, not saved.
    `ConfigErrors` name the form's fields as `forms.field_errors` reads them."""
    subscriber_id = _draft_id(config, form)
    data = nested(values_from_form(form, {}, config.defaults))
    for key, placeholder in PLACEHOLDERS.items():
        data.setdefault(key, placeholder)
    defaults = config.defaults.model_dump(exclude_unset=True)  # as load_config passes them
    return subscriber_from(data, subscriber_id, defaults, "form")


def _draft_id(config: Config, form: Mapping[str, Sequence[str]]) -> str:
    """The subscriber an edit form previews (it must exist), or a new one's typed id."""
    edited = (form.get(PREVIEW_OF) or [""])[0]
    if edited:
        if edited not in {s.id for s in config.subscribers}:
            raise HTTPException(404, f"There is no subscriber {edited!r} to preview.")
        return edited
    typed = (form.get("id") or [""])[0].strip()
    try:
        return validate_subscriber_id(typed)
    except ConfigError:
        return DRAFT_ID  # the id field says what is wrong when the form is saved


def previews(request: Request) -> Previews:
    found: Previews | None = getattr(request.app.state, "previews", None)
    if found is None:
        found = request.app.state.previews = Previews()
    return found


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def preview(request: Request) -> Response:
    session, form = await admin_form(request)
    fields = {key: form.getlist(key) for key in form}
    current = config(request)
    try:
        draft = draft_of(current, {k: [str(v) for v in vs] for k, vs in fields.items()})
    except ConfigErrors as exc:
        return _refused(request, field_errors(exc.errors))
    try:
        frames = await run_in_threadpool(
            previews(request).render, current, draft, session.id_hash, now(request)
        )
    except SyndicatorError as exc:  # no store yet, or a template that fails
        return _refused(request, {FORM: [str(exc)]})
    if _wants_json(request):
        return JSONResponse(frames.as_json())
    raise Redirect(f"{PREFIX}/preview/{frames.token}/")


def _refused(request: Request, errors: dict[str, list[str]]) -> Response:
    labels = {f.key: f.label for f in FIELDS}
    messages = [
        f"{labels[key]}: {message}" if key in labels else message
        for key, found in errors.items()
        for message in found
    ]
    if _wants_json(request):
        return JSONResponse({"errors": messages}, status_code=422)
    return page(request, "preview.html", {"errors": messages, "frames": None}, 422)


def _owned(request: Request, token: str) -> Held:
    """The preview under `token` for this request: 404 when there is none, or when the
    request carries a session cookie of another session (or of none: signed out, expired);
    a stranger with no preview to see is asked to sign in."""
    held = previews(request).get(token)
    session = current_session(request)
    if held is None and session is None:
        require_admin(request)  # raises: to the sign-in page
    if (
        held is None
        or (session is not None and session.id_hash != held.owner)
        or (session is None and SESSION_COOKIE in request.cookies)
    ):
        raise HTTPException(404, "This preview is gone: preview again from the form.")
    return held


async def frames_page(request: Request) -> Response:
    """The frames of one preview, for a browser without JavaScript (or a new tab)."""
    token = request.path_params["token"]
    require_admin(request)
    held = _owned(request, token)
    phone = request.query_params.get("width") == "phone"
    return page(
        request, "preview.html", {"errors": [], "frames": frames_of(token, held), "phone": phone}
    )


async def preview_file(request: Request) -> Response:
    """One file of a preview, sandboxed by its CSP wherever it is opened."""
    held = _owned(request, request.path_params["token"])
    return file_response(held.preview, request.path_params["path"])


def file_response(preview: Preview, path: str) -> Response:
    """The file at `path` of `preview` (404 when it has none), sent with `FRAME_CSP`,
    which sandboxes it wherever it is opened. No frame-ancestors and no X-Frame-Options:
    Chromium refuses both when an ancestor is sandboxed, and the sample church page (a
    sandboxed frame) frames the iframe page."""
    data = preview.get(path)
    if data is None:
        raise HTTPException(404, "No such file in this preview.")
    suffix = path[path.rfind(".") :] if "." in path else ""
    return Response(
        data,
        media_type=TYPES.get(suffix, "application/octet-stream"),
        headers={"Content-Security-Policy": FRAME_CSP},
    )


routes = [
    Route(f"{PREFIX}/preview", preview, methods=["POST"]),
    Route(f"{PREFIX}/preview/{{token}}/", frames_page),
    Route(f"{PREFIX}/preview/{{token}}/{{path:path}}", preview_file),
]
