"""The subscriber pages: the list (`/admin/subscribers`), the new-subscriber form
(`/admin/subscribers/+new`), a subscriber's form and embed code (`/admin/subscribers/<id>`)
and its removal (`/admin/subscribers/<id>/remove`, confirmed on a page of its own).

The new-subscriber form's address starts with `+`, which no id can: every id, `new`
included, has its own page, and no id is kept back from the CLI or /join.

Every change goes through `forms` (and so `syndicator.admin`, the CLI's code) and is
recorded with `audit`. An id from the URL is checked as a slug before anything else
is done with it: no path is ever built from one that is not.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..admin import SubscriberFile, read_subscriber, remove_subscriber, stored_categories
from ..config import SLUG_RE, Config, SubscriberConfig, display_path
from ..embedcode import embed_code
from ..errors import ConfigErrors, StoreError
from . import forms
from .console import PREFIX, Redirect, admin_form, audit, config, page, require_admin
from .forms import FIELDS, FORM, Refusal, Saved, Shown
from .listing import ANY, PROBLEMS, TROUBLES, Problem, roster_for

# The form's sections, in order, by the keys they hold (a test holds them to FIELDS).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("The church", ("name", "site_url")),
    ("Which stories", ("categories", "exclude_categories", "keywords", "exclude_keywords",
                       "max_age_days", "limit", "per_page", "pages", "outputs")),
    ("How stories show", ("content", "excerpt_words", "image", "image_position",
                          "theme.accent", "theme.mode", "theme.layout", "theme.font")),
    ("Links and footer", ("link_to", "detail_page_url", "utm", "footer", "keep_pages_days")),
    ("Bible references", ("scripture.link", "scripture.version")),
    ("Language and dates", ("language", "date_format", "timezone")),
)  # fmt: skip
FEED_NAMES = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed", "snippet": "HTML snippet"}
NEW_FORM = f"{PREFIX}/subscribers/+new"  # not a slug: never a subscriber's page
MESSAGES = {  # what a redirect after a change says, by its `done` parameter
    "added": "Added. The next cycle publishes it; its embed code is below.",
    "saved": "Saved. The next cycle publishes the change.",
    "unchanged": "Nothing was changed.",
}


def checked_id(subscriber_id: str) -> str:
    """The id from the URL, if it is one (a slug); else 404, before any path is built."""
    if not SLUG_RE.fullmatch(subscriber_id):
        raise HTTPException(404, "There is no such subscriber.")
    return subscriber_id


def _lists(form: FormData) -> dict[str, list[str]]:
    return {key: [str(value) for value in form.getlist(key)] for key in form}


async def subscriber_list(request: Request) -> Response:
    require_admin(request)
    current = config(request)
    params = request.query_params
    text = params.get("q", "")[:200]
    wanted = params.get("problem", "")
    problem: Problem | Literal["any"] | None = next(
        (choice for choice in (*PROBLEMS, ANY) if choice == wanted), None
    )
    number = int(params["page"]) if params.get("page", "").isdigit() else 1
    try:
        roster = roster_for(current)
    except StoreError as exc:
        return page(request, "subscribers.html", {"error": str(exc), "found": None}, 503)
    found = roster.query(text, problem, number)

    def link(to_page: int) -> str:
        query = {"q": text, "problem": wanted, "page": str(to_page)}
        return f"{PREFIX}/subscribers?" + urlencode({k: v for k, v in query.items() if v})

    removed = params.get("removed", "")
    return page(
        request,
        "subscribers.html",
        {
            "error": None,
            "found": found,
            "q": text,
            "problem": problem or "",
            "problems": PROBLEMS,
            "any": ANY,
            "troubled": sum(found.counts[kind] for kind in TROUBLES),
            "editable": [bool(SLUG_RE.fullmatch(row.id)) for row in found.rows],
            "previous": link(found.page - 1) if found.page > 1 else None,
            "next": link(found.page + 1) if found.page < found.pages else None,
            "removed": removed if SLUG_RE.fullmatch(removed) else None,
        },
    )


def _form_page(
    request: Request,
    current: Config,
    shown: Shown,
    refusal: Refusal | None = None,
    *,
    subscriber_id: str | None = None,
    opened: SubscriberFile | None = None,
    status_code: int = 200,
) -> Response:
    """The new-subscriber form (no `subscriber_id`) or a subscriber's form and code."""
    categories = stored_categories(current)
    valid = next((s for s in current.subscribers if s.id == subscriber_id), None)
    problems = [
        str(problem.message if problem.key is None else f"{problem.key}: {problem.message}")
        for problem in current.problems
        if subscriber_id and Path(problem.file).stem == subscriber_id
    ]
    done = request.query_params.get("done", "")
    return page(
        request,
        "subscriber_form.html",
        {
            "subscriber_id": subscriber_id,
            "preview_of": subscriber_id or "",
            "name": valid.name if valid else subscriber_id,
            "file": display_path(opened.path) if opened else None,
            "version": opened.version if opened else "",
            "groups": _groups(),
            "id_field": forms.ID_FIELD,
            "shown": shown,
            "errors": refusal.errors if refusal else {},
            "form_errors": refusal.errors.get(FORM, []) if refusal else [],
            "stale": bool(refusal and refusal.stale),
            "broken": problems,
            "defaults": {f.key: forms.default_text(f, current.defaults) for f in FIELDS},
            "site_defaults": {f.key: forms.from_site_defaults(f, current.defaults) for f in FIELDS},
            "choices": _choices(current, shown, categories),
            "labels": {f.key: f.label for f in (*FIELDS, forms.ID_FIELD)},
            "languages": forms.language_choices(),
            "language_tags": {tag for tag, _, _ in forms.language_choices()},
            "feed_names": FEED_NAMES,
            "timezones": _timezones(),
            "code": embed_code(current, valid) if valid else None,
            "message": MESSAGES.get(done) if refusal is None else None,
            "config_name": current.path.name,
        },
        status_code,
    )


def _groups() -> list[tuple[str, list[forms.FormField]]]:
    by_key = {f.key: f for f in FIELDS}
    return [(title, [by_key[key] for key in keys]) for title, keys in GROUPS]


def _choices(
    current: Config, shown: Shown, stored: Mapping[str, int] | None
) -> dict[str, list[tuple[str, str]]]:
    """(value, label) of each option of the selects and boxes, by field key."""
    found: dict[str, list[tuple[str, str]]] = {}
    categories = _category_choices(stored, shown)
    for f in FIELDS:
        default = forms.default_text(f, current.defaults)
        if f.kind == "categories":
            found[f.key] = categories
        elif f.kind == "choices":
            found[f.key] = [(choice, choice) for choice in f.choices]
        elif f.kind == "select":
            found[f.key] = [("", f"Default ({default})"), *((c, c) for c in f.choices)]
        elif f.kind == "yesno":
            found[f.key] = [("", f"Default ({default})"), ("true", "yes"), ("false", "no")]
    return found


def _category_choices(stored: Mapping[str, int] | None, shown: Shown) -> list[tuple[str, str]]:
    """(name, label) for each category box: the stored categories by name with how many
    stories are in each, then any the form holds that no stored story is in."""
    counts = dict(stored or {})
    held = [name for key in ("categories", "exclude_categories") for name in shown.get(key, [])]
    names = sorted(counts, key=str.casefold)
    labels = [(name, f"{name} ({counts[name]})") for name in names]
    return labels + [
        (name, f"{name} (no stored story)") for name in dict.fromkeys(held) if name not in counts
    ]


_ZONES: list[str] = []


def _timezones() -> Sequence[str]:
    if not _ZONES:
        _ZONES.extend(sorted(zoneinfo.available_timezones()))
    return _ZONES


async def new_form(request: Request) -> Response:
    require_admin(request)
    current = config(request)
    return _form_page(request, current, forms.shown_from_file({}, current.defaults))


async def create(request: Request) -> Response:
    _, form = await admin_form(request)
    current = config(request)
    typed = _lists(form)
    result = forms.create_from_form(current, typed)
    if isinstance(result, Refusal):
        return _form_page(request, current, forms.shown_from_form(typed), result, status_code=400)
    _audit(request, "add subscriber", result)
    raise Redirect(f"{PREFIX}/subscribers/{result.subscriber_id}?done=added")


def _open(current: Config, subscriber_id: str) -> SubscriberFile | None:
    """The subscriber's file; 404 when there is none; None when it is not TOML."""
    if not (current.subscribers_dir / f"{subscriber_id}.toml").is_file():
        raise HTTPException(404, "There is no such subscriber.")
    try:
        return read_subscriber(current, subscriber_id)
    except ConfigErrors:
        return None


async def edit_form(request: Request) -> Response:
    require_admin(request)
    subscriber_id = checked_id(request.path_params["subscriber_id"])
    current = config(request)
    opened = _open(current, subscriber_id)
    if opened is None:
        return _unreadable(request, current, subscriber_id)
    shown = forms.shown_from_file(opened.values, current.defaults)
    return _form_page(request, current, shown, subscriber_id=subscriber_id, opened=opened)


def _unreadable(request: Request, current: Config, subscriber_id: str) -> Response:
    try:
        read_subscriber(current, subscriber_id)
    except ConfigErrors as exc:
        problems = [error.message for error in exc.errors]
    return page(
        request,
        "subscriber_unreadable.html",
        {"subscriber_id": subscriber_id, "problems": problems},
        409,
    )


async def save(request: Request) -> Response:
    _, form = await admin_form(request)
    subscriber_id = checked_id(request.path_params["subscriber_id"])
    current = config(request)
    opened = _open(current, subscriber_id)
    if opened is None:
        return _unreadable(request, current, subscriber_id)
    typed = _lists(form)
    version = str(form.get("version", ""))
    result = forms.save_form(current, subscriber_id, typed, opened.values, version)
    if isinstance(result, Refusal):
        shown = forms.shown_from_form(typed)
        status_code = 409 if result.stale else 400
        # The version the form was made from stays: a stale form cannot be saved over.
        kept = SubscriberFile(opened.path, version, opened.values)
        return _form_page(
            request, current, shown, result,
            subscriber_id=subscriber_id, opened=kept, status_code=status_code,
        )  # fmt: skip
    if result.changes:
        _audit(request, "edit subscriber", result)
    done = "saved" if result.changes else "unchanged"
    raise Redirect(f"{PREFIX}/subscribers/{subscriber_id}?done={done}")


def _audit(request: Request, action: str, saved: Saved) -> None:
    audit(request, action, saved.subscriber_id, "; ".join(str(c) for c in saved.changes))


async def remove_form(request: Request) -> Response:
    require_admin(request)
    subscriber_id = checked_id(request.path_params["subscriber_id"])
    current = config(request)
    _open(current, subscriber_id)
    return page(request, "subscriber_remove.html", _remove_context(current, subscriber_id))


def _remove_context(current: Config, subscriber_id: str) -> dict[str, Any]:
    valid: SubscriberConfig | None = next(
        (s for s in current.subscribers if s.id == subscriber_id), None
    )
    return {
        "subscriber_id": subscriber_id,
        "name": valid.name if valid else subscriber_id,
        "file": display_path(current.subscribers_dir / f"{subscriber_id}.toml"),
        "error": None,
    }


async def remove(request: Request) -> Response:
    await admin_form(request)  # signed in, CSRF checked
    subscriber_id = checked_id(request.path_params["subscriber_id"])
    current = config(request)
    _open(current, subscriber_id)
    try:
        file = remove_subscriber(current, subscriber_id)
    except ConfigErrors as exc:
        context = _remove_context(current, subscriber_id)
        context["error"] = "; ".join(error.message for error in exc.errors)
        return page(request, "subscriber_remove.html", context, 500)
    audit(request, "remove subscriber", subscriber_id, f"removed {display_path(file)}")
    raise Redirect(f"{PREFIX}/subscribers?removed={subscriber_id}")


routes = [
    Route(f"{PREFIX}/subscribers", subscriber_list),
    Route(NEW_FORM, new_form, methods=["GET"]),
    Route(NEW_FORM, create, methods=["POST"]),
    Route(f"{PREFIX}/subscribers/{{subscriber_id}}", edit_form, methods=["GET"]),
    Route(f"{PREFIX}/subscribers/{{subscriber_id}}", save, methods=["POST"]),
    Route(f"{PREFIX}/subscribers/{{subscriber_id}}/remove", remove_form, methods=["GET"]),
    Route(f"{PREFIX}/subscribers/{{subscriber_id}}/remove", remove, methods=["POST"]),
]
