"""The console's Requests page (`/admin/requests`): the churches' requests from `/join`
(`web.join`) waiting for an admin, each with its preview; approve (writes its subscriber
file through `syndicator.admin`, with an id made from its name, editable) or decline (with
a reason the church sees on its link). A request for a new name or website of an approved
church is approved or declined the same way. Every decision is in the audit log.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..admin import add_subscriber, check_new_id, update_subscriber
from ..config import Config
from ..errors import ConfigErrors
from ..models import JoinRequest
from . import notices
from .auth import open_store
from .console import PREFIX, Redirect, admin_form, audit, config, page, require_admin
from .forms import suggested_id

REASON_CHARS = 500  # a decline's reason, as the church reads it
MESSAGES = {
    "approved": "Approved. The next cycle publishes it; the church finds its code on its link.",
    "declined": "Declined. The church's link now says so.",
    "unsent": "The email to the church was not sent (the audit log says why); its link "
    "says what was decided.",
}


def _fields(found: JoinRequest) -> list[tuple[str, str]]:
    """(name, value) of the request's options as form fields, for its preview."""
    fields = [("name", found.name), ("site_url", found.site_url)]
    for key, value in found.options.items():
        values = value if isinstance(value, list) else [value]
        fields += [(key, str(item)) for item in values]
    return fields


def _context(current: Config, errors: dict[int, list[str]], typed_ids: dict[int, str]) -> Any:
    known = {s.id for s in current.subscribers} | current.broken_subscriber_ids
    with open_store(current) as store:
        pending = store.join_requests("pending")
        for gone in store.join_requests("approved"):  # a file removed by hand: its email goes
            if gone.subscriber_id not in known:
                store.forget_join_request(gone.id)
    names = {s.id: s.name for s in current.subscribers}
    return {
        "pending": [
            {
                "request": found,
                "fields": _fields(found),
                "suggested": typed_ids.get(found.id) or suggested_id(found.name),
                "current_name": names.get(found.subscriber_id or ""),
                "errors": errors.get(found.id, []),
            }
            for found in pending
        ],
        "reason_chars": REASON_CHARS,
    }


async def requests_list(request: Request) -> Response:
    require_admin(request)
    context = _context(config(request), {}, {})
    params = request.query_params
    said = [MESSAGES.get(params.get("done", "")), MESSAGES.get(params.get("mail", ""))]
    context["message"] = " ".join(m for m in said if m) or None
    return page(request, "requests.html", context)


def _pending(current: Config, raw_id: str) -> JoinRequest:
    found = None
    if raw_id.isdigit():
        with open_store(current) as store:
            found = store.join_request(id=int(raw_id))
    if found is None or found.state != "pending":
        raise HTTPException(404, "There is no such request waiting.")
    return found


async def approve(request: Request) -> Response:
    _, form = await admin_form(request)
    current = config(request)
    found = _pending(current, request.path_params["request_id"])
    typed_id = str(form.get("id", "")).strip() or suggested_id(found.name)
    try:
        if found.subscriber_id is None:
            check_new_id(current, typed_id)
            add_subscriber(current, typed_id, found.name, found.site_url, found.options)
            subscriber_id, what = typed_id, "approve request"
        else:
            subscriber_id, what = found.subscriber_id, "approve new name or website"
            update_subscriber(
                current, subscriber_id, {"name": found.name, "site_url": found.site_url}
            )
    except ConfigErrors as exc:
        errors = {found.id: [error.message for error in exc.errors]}
        context = _context(current, errors, {found.id: typed_id})
        context["message"] = None
        return page(request, "requests.html", context, 400)
    with open_store(current) as store:
        store.update_join_request(
            found.id, state="approved", subscriber_id=subscriber_id, reason=""
        )
    audit(request, what, subscriber_id, f"{found.name} ({found.site_url})")
    mail = ""
    if found.subscriber_id is None:
        join_url = str(request.base_url).rstrip("/") + "/join"
        words = notices.approved(current.site.name, found.name, join_url)
        mail = await _notify(request, current, found.email, subscriber_id, *words)
    raise Redirect(f"{PREFIX}/requests?done=approved{mail}")


async def decline(request: Request) -> Response:
    _, form = await admin_form(request)
    current = config(request)
    found = _pending(current, request.path_params["request_id"])
    reason = " ".join(str(form.get("reason", "")).split())[:REASON_CHARS]
    with open_store(current) as store:
        if found.subscriber_id is None:  # the email goes: nothing more is sent to it
            store.update_join_request(found.id, state="declined", reason=reason, email="")
        else:  # only the new name or website: the church keeps what it has
            kept = next((s for s in current.subscribers if s.id == found.subscriber_id), None)
            store.update_join_request(
                found.id, state="approved", reason=reason or "no reason given",
                name=kept.name if kept else found.name,
                site_url=kept.site_url if kept else found.site_url,
            )  # fmt: skip
    target = found.subscriber_id or found.name
    audit(request, "decline request", target, reason)
    mail = ""
    if found.subscriber_id is None:
        words = notices.declined(current.site.name, found.name, reason)
        mail = await _notify(request, current, found.email, target, *words)
    raise Redirect(f"{PREFIX}/requests?done=declined{mail}")


async def _notify(
    request: Request, current: Config, email: str, target: str, subject: str, text: str
) -> str:
    """Email the church, when `[web.smtp]` is set; the redirect's `mail` parameter."""
    problem = await run_in_threadpool(notices.send, current, email, subject, text)
    if problem is None:
        return ""
    audit(request, "email not sent", target, problem)
    return "&mail=unsent"


routes = [
    Route(f"{PREFIX}/requests", requests_list, methods=["GET"]),
    Route(f"{PREFIX}/requests/{{request_id}}/approve", approve, methods=["POST"]),
    Route(f"{PREFIX}/requests/{{request_id}}/decline", decline, methods=["POST"]),
]
