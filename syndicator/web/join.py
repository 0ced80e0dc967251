"""Churches sign themselves up (`[web] self_service = true`): `/join`, a public builder
with the console's live preview, and each request's private page `/join/r/<token>`.

A submitted request waits in the state database (`Store.add_join_request`) until an
admin approves it on the console's Requests page (`web.requests_page`), which writes its
subscriber file through `syndicator.admin`. The request page is the church's only
credential: its token (32 random bytes) is given once, in the link; the database keeps
its SHA-256. The page says "waiting", then gives the embed code and a form to change the
church's options; a new name or website waits for approval again. Declined or removed,
the link stops working.

Nothing here needs a session: each form carries a CSRF token that must equal the one in
a `SameSite=Strict` cookie limited to `/join` (double submit). The address a request
comes from is limited in what it may send (`Limiter`); a hidden field no person fills
(`HONEYPOT`) and a cap on pending requests keep floods out of the admins' way.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..admin import SubscriberFile, read_subscriber, update_subscriber
from ..config import Config, SubscriberConfig, subscriber_from
from ..embedcode import embed_code
from ..errors import ConfigErrors, StaleEdit, SyndicatorError
from ..models import JoinRequest
from ..render.cache import Bounded
from ..scripture.providers import PROVIDERS
from ..store import Store, database_stamp
from . import forms
from .auth import open_store, throttle_wait
from .console import Redirect, checked_form, config, now, page
from .forms import FIELDS, FORM, Shown, field_errors, nested, values_from_form
from .preview import Previews, draft_of, file_response, frames_of
from .subscribers import FEED_NAMES

JOIN = "/join"
COOKIE = "syndicator_join"  # the /join forms' CSRF token (double submit)
HONEYPOT = "homepage"  # hidden from people (and from screen readers); bots fill it
# The options a church chooses for itself; the rest are the site's [defaults].
KEYS = (
    "name", "site_url", "categories", "limit", "content", "image", "image_position",
    "theme.layout", "theme.accent", "language", "link_to", "scripture.link",
    "scripture.version",
)  # fmt: skip
APPROVED_KEYS = ("name", "site_url")  # a change to these waits for an admin again
CHANGED_AT_ONCE = tuple(key for key in KEYS if key not in APPROVED_KEYS)
LINKS = (("original", "the outlet's site"), ("hosted", "a page of its own, hosted here"))
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
MAX_EMAIL = 254

SUBMITS = (5, timedelta(hours=1))  # requests and changes from one address
PREVIEWS = (60, timedelta(minutes=1))  # preview renders for one address
MAX_PENDING = 200  # requests waiting for an admin; more are refused until some are handled
JOIN_PREVIEWS_BYTES = 16 * 2**20


PRIVATE_LINK = re.compile(r"/join/r/[^/?#\s\"]+")


class HideLinks(logging.Filter):
    """Blanks the token of every private link (`/join/r/<token>`) in a log record: a
    church's link is its only credential, and logs are read by more people than admins.
    `syndicator web` puts it on uvicorn's loggers (its access log prints each path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = PRIVATE_LINK.sub("/join/r/…", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                PRIVATE_LINK.sub("/join/r/…", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


class Limiter:
    """At most `limit` hits per key within `window` (in memory: one server process).
    Keys not seen for a window are forgotten, so a flood of addresses stays bounded."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str, now: datetime) -> timedelta | None:
        """How long `key` must wait before its next hit; None: it may hit now (recorded)."""
        with self._lock:
            if len(self._hits) > 10_000:
                self._forget(now)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            wait = throttle_wait(list(hits), now, self.limit, self.window)
            if wait is None:
                hits.append(now)
            return wait

    def _forget(self, now: datetime) -> None:
        for key in [
            k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window
        ]:
            del self._hits[key]


@dataclass
class JoinState:
    """What /join keeps in memory: its limits, its previews, and each address's last
    preview (the same draft sent again is not rendered again)."""

    submits: Limiter = field(default_factory=lambda: Limiter(*SUBMITS))
    previews: Limiter = field(default_factory=lambda: Limiter(*PREVIEWS))
    held: Previews = field(default_factory=lambda: Previews(JOIN_PREVIEWS_BYTES))
    last: Bounded[str, tuple[str, str]] = field(default_factory=lambda: Bounded(10_000))
    # Each category's sample headline, read again only when the state database changed.
    samples: Bounded[tuple[int, ...], dict[str, str]] = field(default_factory=lambda: Bounded(1))


def _state(request: Request) -> JoinState:
    app_state = request.app.state
    if not hasattr(app_state, "join"):
        app_state.join = JoinState()
    found: JoinState = app_state.join
    return found


def _enabled(request: Request) -> Config:
    current = config(request)
    if not current.web.self_service:
        raise HTTPException(404, "Not found.")
    return current


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limited(limiter: Limiter, request: Request, what: str) -> None:
    wait = limiter.wait(_address(request), now(request))
    if wait is not None:
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        raise HTTPException(
            429,
            f"Too many {what} from your address. Try again in {minutes} minute"
            + ("" if minutes == 1 else "s")
            + ".",
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token(request: Request) -> str:
    return request.cookies.get(COOKIE) or secrets.token_urlsafe(32)


def _with_cookie(request: Request, response: Response, token: str) -> Response:
    response.set_cookie(
        COOKIE, token, path=JOIN, httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


async def _form(request: Request) -> FormData:
    return await checked_form(request, request.cookies.get(COOKIE))


def _typed(form: FormData, keys: Sequence[str] = KEYS) -> dict[str, list[str]]:
    return {key: [str(v) for v in form.getlist(key)] for key in keys if key in form}


def category_samples(current: Config) -> dict[str, str]:
    """Each stored category's newest headline (a church sees what it would get)."""
    if not current.database_path.exists():
        return {}
    samples: dict[str, str] = {}
    with Store(current.database_path) as store:
        for article in store.articles():
            if article.presence == "removed":
                continue
            for category in article.entry.categories:
                samples.setdefault(category, article.entry.title)
    return samples


def _samples(request: Request, current: Config) -> dict[str, str]:
    return _state(request).samples.get_or_make(
        database_stamp(current.database_path), lambda: category_samples(current)
    )


def _short(title: str, most: int = 50) -> str:
    """A headline cut at a word to at most `most` characters."""
    if len(title) <= most:
        return title
    return title[: title.rfind(" ", 0, most)].rstrip(",;:") + "…"


def _choices(
    current: Config, samples: Mapping[str, str], shown: Shown
) -> dict[str, list[tuple[str, str]]]:
    by_key = {f.key: f for f in FIELDS}
    categories = [(name, f"{name}: “{_short(title)}”") for name, title in sorted(samples.items())]
    typed = [n.strip() for n in shown.get("categories", []) if n.strip()]  # the text area's
    categories += [(n, n) for n in dict.fromkeys(typed) if n not in samples]
    found: dict[str, list[tuple[str, str]]] = {"categories": categories, "link_to": list(LINKS)}
    for f in FIELDS:
        if f.kind == "select" and f.key != "link_to":
            found[f.key] = [(c, c) for c in f.choices]
    found["scripture.link"] = [("none", "no links")]
    found["scripture.link"] += [(key, site.name) for key, site in PROVIDERS.items()]
    # No translation in effect until the church picks one: its language's applies.
    default = forms.default_text(by_key["scripture.version"], current.defaults)
    found["scripture.version"].insert(0, ("", f"Default ({default})"))
    return found


def builder_context(
    current: Config, shown: Shown, errors: Mapping[str, list[str]], samples: Mapping[str, str]
) -> dict[str, Any]:
    """What the builder's controls need (the console's `_controls.html`); `samples`: a
    headline by category (`category_samples`)."""
    by_key = {f.key: f for f in FIELDS}
    # What is in effect until the church chooses (a colour input cannot be empty).
    for key, values in forms.shown_from_file({}, current.defaults).items():
        shown.setdefault(key, values)
    for key in ("content", "image", "image_position", "theme.layout", "link_to", "scripture.link"):
        shown.setdefault(key, [str(forms.default_of(by_key[key], current.defaults))])
    return {
        "fields": [by_key[key] for key in KEYS],
        "shown": shown,
        "errors": errors,
        "form_errors": list(errors.get(FORM, [])),
        "labels": {f.key: f.label for f in FIELDS},
        "defaults": {f.key: forms.default_text(f, current.defaults) for f in FIELDS},
        "site_defaults": {},
        "choices": _choices(current, samples, shown),
        "languages": forms.language_choices(),
        "language_tags": {tag for tag, _, _ in forms.language_choices()},
        "config_name": current.path.name,
        "site_name": current.site.name,
    }


def validated(current: Config, typed: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The TOML keys a church's form sets (dotted), checked as its file would be;
    `ConfigErrors` naming the form's fields otherwise."""
    values = {
        key: value
        for key, value in values_from_form(typed, {}, current.defaults).items()
        if key in KEYS and value is not None
    }
    if values.get("link_to") not in {None, *(value for value, _ in LINKS)}:
        values["link_to"] = "not one of " + ", ".join(v for v, _ in LINKS)
    defaults = current.defaults.model_dump(exclude_unset=True)
    subscriber_from(nested(values), "join-request", defaults, "form")
    return values


def _email_error(email: str) -> str | None:
    if not email:
        return "needed: the admin writes to it about this request, and to no one else"
    if len(email) > MAX_EMAIL or not EMAIL.fullmatch(email):
        return f"{email!r} is not an email address"
    return None


def _builder(
    request: Request, current: Config, shown: Shown, errors: Mapping[str, list[str]],
    email: str = "", status_code: int = 200,
) -> Response:  # fmt: skip
    token = _token(request)
    context = builder_context(current, shown, errors, _samples(request, current))
    context.update({"join_token": token, "email": email, "honeypot": HONEYPOT})
    return _with_cookie(request, page(request, "join.html", context, status_code), token)


async def join_page(request: Request) -> Response:
    current = _enabled(request)
    return _builder(request, current, {}, {})


async def submit(request: Request) -> Response:
    form = await _form(request)
    current = _enabled(request)
    typed = _typed(form)
    email = str(form.get("email", "")).strip()
    if str(form.get(HONEYPOT, "")):
        raise HTTPException(
            400, "This form was filled in by a program: leave the hidden field empty."
        )
    _limited(_state(request).submits, request, "requests")
    errors: dict[str, list[str]] = {}
    try:
        values = validated(current, typed)
    except ConfigErrors as exc:
        errors = field_errors(exc.errors)
        values = {}
    problem = _email_error(email)
    if problem:
        errors["email"] = [problem]
    if errors:
        return _builder(request, current, forms.shown_from_form(typed), errors, email, 400)
    token = secrets.token_urlsafe(32)
    with open_store(current) as store, store.transaction():
        if store.count_join_requests("pending") >= MAX_PENDING:
            raise HTTPException(
                503,
                "Too many requests are waiting for approval just now. Please try again tomorrow.",
            )
        name, site_url = values.pop("name"), values.pop("site_url")
        store.add_join_request(hash_token(token), name, site_url, email, values, now(request))
    raise Redirect(f"{JOIN}/r/{token}")


def _request_of(current: Config, token: str) -> JoinRequest:
    """The request of a private link; 404 when there is none, 410 when declined or when
    its subscriber was removed (its row and email are then deleted)."""
    with open_store(current) as store:
        found = store.join_request(token_hash=hash_token(token))
        if found is None:
            raise HTTPException(
                404, "This link does not work: it was mistyped, or the request was removed."
            )
        if found.state == "declined":
            reason = f" The reason given: {found.reason}" if found.reason else ""
            raise HTTPException(410, f"This request was declined.{reason}")
        # Removed: no file, valid or broken (a broken one is being fixed: it stays).
        known = {s.id for s in current.subscribers} | current.broken_subscriber_ids
        if found.subscriber_id and found.subscriber_id not in known:
            store.forget_join_request(found.id)
            raise HTTPException(
                410, "This church no longer receives the news here: its link stopped working."
            )
    return found


def _subscriber(current: Config, found: JoinRequest) -> SubscriberConfig | None:
    return next((s for s in current.subscribers if s.id == found.subscriber_id), None)


def _request_page(
    request: Request, current: Config, found: JoinRequest, shown: Shown | None = None,
    errors: Mapping[str, list[str]] | None = None, message: str | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    subscriber = _subscriber(current, found)
    version = ""
    if subscriber is not None and shown is None:
        opened = read_subscriber(current, subscriber.id)
        version = opened.version
        shown = forms.shown_from_file(opened.values, current.defaults)
        shown = {k: v for k, v in shown.items() if k in KEYS}
        shown.update({"name": [found.name], "site_url": [found.site_url]})
    elif subscriber is not None:
        version = read_subscriber(current, subscriber.id).version
    token = _token(request)
    context = builder_context(current, dict(shown or {}), errors or {}, _samples(request, current))
    context.update({
        "join_token": token,
        "found": found,
        "code": embed_code(current, subscriber) if subscriber else None,
        "name": subscriber.name if subscriber else found.name,
        "feed_names": FEED_NAMES,
        "version": version,
        "message": message,
        "approved_keys": APPROVED_KEYS,
        "action": request.url.path,
    })  # fmt: skip
    response = page(request, "join_request.html", context, status_code)
    return _with_cookie(request, response, token)


async def request_page(request: Request) -> Response:
    current = _enabled(request)
    found = _request_of(current, request.path_params["token"])
    message = {
        "saved": "Saved. The next cycle publishes the change.",
        "unchanged": "Nothing was changed.",
    }
    return _request_page(
        request, current, found, message=message.get(request.query_params.get("done", ""))
    )


async def change(request: Request) -> Response:
    """A church changes its own options; a new name or website waits for approval."""
    form = await _form(request)
    current = _enabled(request)
    token = request.path_params["token"]
    found = _request_of(current, token)
    subscriber = _approved(current, found)
    _limited(_state(request).submits, request, "changes")
    typed = _typed(form)
    try:
        values = validated(current, typed)
        _, wanted = _changes(current, subscriber, typed, CHANGED_AT_ONCE)
        changes = update_subscriber(current, subscriber.id, wanted, str(form.get("version", "")))
    except StaleEdit as exc:
        errors = {FORM: [e.message for e in exc.errors]}
        return _request_page(
            request, current, found, forms.shown_from_form(typed), errors, status_code=409
        )
    except ConfigErrors as exc:
        errors = field_errors(exc.errors)
        return _request_page(
            request, current, found, forms.shown_from_form(typed), errors, status_code=400
        )
    proposed = {key: values[key] for key in APPROVED_KEYS}
    asks_again = (subscriber.name, subscriber.site_url) != (proposed["name"], proposed["site_url"])
    if asks_again or found.state == "pending":  # a new ask, or one taken back
        with open_store(current) as store:
            store.update_join_request(
                found.id, state="pending" if asks_again else "approved", reason="", **proposed
            )
    done = "saved" if changes or asks_again else "unchanged"
    raise Redirect(f"{JOIN}/r/{token}?done={done}")


def _approved(current: Config, found: JoinRequest) -> SubscriberConfig:
    """The subscriber an approved request made; 409 while there is none yet."""
    subscriber = _subscriber(current, found)
    if subscriber is None:
        raise HTTPException(409, "This request is not approved yet: its options cannot be changed.")
    return subscriber


def _changes(
    current: Config, subscriber: SubscriberConfig, typed: Mapping[str, Sequence[str]],
    keys: Sequence[str],
) -> tuple[SubscriberFile, dict[str, Any]]:  # fmt: skip
    """The church's file, and what its change form changes among `keys` (None: the key
    is removed, the default applies)."""
    opened = read_subscriber(current, subscriber.id)
    own = {k: v for k, v in opened.values.items() if k in KEYS}
    wanted = values_from_form({k: v for k, v in typed.items() if k in keys}, own, current.defaults)
    return opened, {k: v for k, v in wanted.items() if k in keys}


def changed_draft(
    current: Config, subscriber: SubscriberConfig, typed: Mapping[str, Sequence[str]]
) -> SubscriberConfig:
    """What an approved church's change form describes, not saved: its file as it is
    (keys an admin set that the form has no control for too), with the form's values.
    `ConfigErrors` as `change` would say them."""
    validated(current, typed)
    opened, wanted = _changes(current, subscriber, typed, KEYS)
    defaults = current.defaults.model_dump(exclude_unset=True)
    return subscriber_from(nested({**opened.values, **wanted}), subscriber.id, defaults, "form")


def _builder_draft(current: Config, typed: Mapping[str, Sequence[str]]) -> SubscriberConfig:
    if typed.get("link_to", ["original"])[0] not in {"", *(v for v, _ in LINKS)}:
        raise HTTPException(400, "Story links go to the outlet's site or a page of its own.")
    return draft_of(current, typed)


async def join_preview(request: Request) -> Response:
    """The builder's live preview: the same render as the console's, never written."""
    form = await _form(request)
    current = _enabled(request)
    typed = _typed(form)
    return await _preview(request, current, lambda: _builder_draft(current, typed))


async def request_preview(request: Request) -> Response:
    """An approved church's change form's live preview, as the builder's."""
    form = await _form(request)
    current = _enabled(request)
    subscriber = _approved(current, _request_of(current, request.path_params["token"]))
    typed = _typed(form)
    return await _preview(request, current, lambda: changed_draft(current, subscriber, typed))


async def _preview(
    request: Request, current: Config, make: Callable[[], SubscriberConfig]
) -> Response:
    """The frames of the draft `make` gives (JSON for preview.js, else a redirect to
    them): one render per change (the same draft again gets the same frames), at most
    `PREVIEWS` renders a minute per address."""
    state = _state(request)
    try:
        draft = make()
    except ConfigErrors as exc:
        labels = {f.key: f.label for f in FIELDS}
        messages = [
            f"{labels.get(key, key)}: {m}" if key else m
            for key, found in field_errors(exc.errors).items()
            for m in found
        ]
        return JSONResponse({"errors": messages}, status_code=422)
    owner = "join:" + _address(request)
    key = repr(draft)  # every option it renders with: the same draft, the same frames
    last = state.last.get(owner)
    kept = state.held.get(last[1]) if last and last[0] == key else None
    if last is not None and kept is not None:
        frames = frames_of(last[1], kept)
    else:
        try:
            _limited(state.previews, request, "previews")
        except HTTPException as exc:  # said in the preview's place (preview.js reads JSON)
            return JSONResponse({"errors": [exc.detail]}, status_code=exc.status_code)
        try:
            frames = await run_in_threadpool(
                state.held.render, current, draft, owner, now(request), f"{JOIN}/preview"
            )
        except SyndicatorError as exc:
            return JSONResponse({"errors": [str(exc)]}, status_code=422)
        state.last.put(owner, (key, frames.token))
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(frames.as_json())
    raise Redirect(f"{JOIN}/preview/{frames.token}/")


def _held(request: Request) -> Any:
    held = _state(request).held.get(request.path_params["token"])
    if held is None or held.owner != "join:" + _address(request):
        raise HTTPException(404, "This preview is gone: preview again from the form.")
    return held


async def preview_frames(request: Request) -> Response:
    _enabled(request)
    token = request.path_params["token"]
    held = _held(request)
    phone = request.query_params.get("width") == "phone"
    context = {"errors": [], "frames": frames_of(token, held), "phone": phone, "public": True}
    return page(request, "preview.html", context)


async def preview_file(request: Request) -> Response:
    _enabled(request)
    return file_response(_held(request).preview, request.path_params["path"])


routes = [
    Route(JOIN, join_page, methods=["GET"]),
    Route(JOIN, submit, methods=["POST"]),
    Route(f"{JOIN}/preview", join_preview, methods=["POST"]),
    Route(f"{JOIN}/preview/{{token}}/", preview_frames),
    Route(f"{JOIN}/preview/{{token}}/{{path:path}}", preview_file),
    Route(f"{JOIN}/r/{{token}}", request_page, methods=["GET"]),
    Route(f"{JOIN}/r/{{token}}", change, methods=["POST"]),
    Route(f"{JOIN}/r/{{token}}/preview", request_preview, methods=["POST"]),
]
