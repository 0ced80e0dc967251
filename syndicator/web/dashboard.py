"""The dashboard (`/admin/`): sources and subscribers, problems first; and the audit
log (`/admin/audit`), newest first, a page at a time."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import StoreError
from ..status import Status, SubscriberStatus, read_status
from .auth import open_store
from .console import PREFIX, config, page, require_admin

SHOWN_PROBLEMS = 50  # subscribers with a problem listed on the dashboard; the rest counted
AUDIT_PAGE = 50  # audit entries per page


def problem(row: SubscriberStatus) -> str | None:
    """What is wrong with a subscriber, in a few words, or None when nothing is."""
    if row.name is None:
        return "broken file"
    if row.last_error:
        return "failing"
    if row.items == 0:
        return "empty selection"
    return None


async def dashboard(request: Request) -> Response:
    require_admin(request)
    current = config(request)
    try:
        status: Status | None = read_status(current)
        error = None
    except StoreError as exc:
        status, error = None, str(exc)
    troubled: list[tuple[SubscriberStatus, str]] = []
    healthy = 0
    for row in status.subscribers if status else ():
        found = problem(row)
        if found is None:
            healthy += 1
        else:
            troubled.append((row, found))
    return page(
        request,
        "dashboard.html",
        {
            "site": current.site.name,
            "error": error,
            "sources": status.sources if status else (),
            "problems": troubled[:SHOWN_PROBLEMS],
            "more_problems": max(0, len(troubled) - SHOWN_PROBLEMS),
            "problem_count": len(troubled),
            "healthy": healthy,
            "config_problems": current.problems,
        },
    )


async def audit_log(request: Request) -> Response:
    require_admin(request)
    try:
        number = int(request.query_params.get("page", "1"))
    except ValueError:
        raise HTTPException(404, "No such page of the audit log.") from None
    with open_store(config(request)) as store:
        total = store.audit_count()
        entries = store.audit_entries(AUDIT_PAGE, (number - 1) * AUDIT_PAGE) if number > 0 else []
    pages = max(1, -(-total // AUDIT_PAGE))
    if number < 1 or number > pages:
        raise HTTPException(404, "No such page of the audit log.")
    return page(
        request,
        "audit.html",
        {"entries": entries, "number": number, "pages": pages, "total": total},
    )


routes = [
    Route(f"{PREFIX}/", dashboard, methods=["GET"]),
    Route(f"{PREFIX}/audit", audit_log, methods=["GET"]),
]
