"""The dashboard (`/admin/`): sources and subscribers, problems first; "Publish now"
(`/admin/publish`); and the audit log (`/admin/audit`), newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..config import Config
from ..daemon import request_cycle
from ..errors import DAEMON, LockHeld, StoreError, SyndicatorError
from ..lock import RunLock
from ..pipeline import run_once
from ..status import ReportLine, report_lines, source_status
from .auth import open_store
from .console import PREFIX, admin_form, audit, config, now, page, require_admin
from .listing import PROBLEMS, TROUBLES, Listed, Problem, Roster, roster_for

SHOWN_PROBLEMS = 50  # subscribers with a problem listed on the dashboard; the rest counted
AUDIT_PAGE = 50  # audit entries per page
CONSOLE = "console"  # the role "Publish now" records in the run lock
URGENCY: tuple[Problem, ...] = ("failing", "broken", "empty")  # the order they are listed in


def troubled(roster: Roster, most: int = SHOWN_PROBLEMS) -> list[Listed]:
    """Up to `most` subscribers with a problem: failing first, then broken files, then
    empty selections (the subscriber list's own rows and words)."""
    shown: list[Listed] = []
    for kind in URGENCY:
        if len(shown) < most:
            shown.extend(roster.query(problem=kind, size=most - len(shown)).rows)
    return shown


async def dashboard(request: Request) -> Response:
    require_admin(request)
    current = config(request)
    try:
        sources = source_status(current)
        roster: Roster | None = roster_for(current)
        error = None
    except StoreError as exc:
        sources, roster, error = [], None, str(exc)
    counts = roster.counts if roster else dict.fromkeys(PROBLEMS, 0)
    problem_count = sum(counts[kind] for kind in TROUBLES)
    shown = troubled(roster) if roster else []
    return page(
        request,
        "dashboard.html",
        {
            "site": current.site.name,
            "error": error,
            "sources": sources,
            "problems": shown,
            "labels": PROBLEMS,
            "more_problems": problem_count - len(shown),
            "problem_count": problem_count,
            "total": len(roster.rows) if roster else 0,
            "never": counts["never"],
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


@dataclass(frozen=True, slots=True)
class Published:
    """What "Publish now" did: a headline, and the cycle's report when it ran one."""

    headline: str
    ran: bool  # False: nothing ran here (the daemon was asked, or the lock was held)
    lines: tuple[ReportLine, ...] = ()


def publish_now(config: Config, now: datetime) -> Published:
    """Run one cycle as `syndicator run` does, under the run lock. When the daemon holds
    the lock it is asked to run one instead; when a `run` does, nothing happens."""
    try:
        with RunLock(config.site.state_dir, CONSOLE):
            report = run_once(config, now)
    except LockHeld as exc:
        if exc.role == DAEMON:
            request_cycle(config.site.state_dir)
            return Published(
                "The daemon is running: it was asked to run a cycle now. Its results "
                "show on the dashboard when it has finished (reload in a minute).",
                ran=False,
            )
        who = (
            "another admin's Publish now"
            if exc.role == CONSOLE
            else "another run (cron, or a command on the server)"
        )
        return Published(
            f"Nothing was started: {who} is working on this site right now. Its results "
            "show on the dashboard when it has finished; try again then if need be.",
            ran=False,
        )
    except SyndicatorError as exc:
        return Published(f"The cycle could not run: {exc}", ran=False)
    lines = tuple(report_lines(config, report))
    headline = "Published." if report.ok else "Published, with problems (listed first)."
    return Published(headline, ran=True, lines=lines)


async def publish(request: Request) -> Response:
    await admin_form(request)
    current = config(request)
    # In a worker thread: the console keeps answering while the cycle runs.
    outcome = await run_in_threadpool(publish_now, current, now(request))
    # The report's last two lines are its summary (`report_lines`).
    summary = " ".join(line.text for line in outcome.lines[-2:]) or outcome.headline
    audit(request, "publish now", current.site.name, summary)
    return page(request, "publish.html", {"outcome": outcome})


routes = [
    Route(f"{PREFIX}/", dashboard, methods=["GET"]),
    Route(f"{PREFIX}/publish", publish, methods=["POST"]),
    Route(f"{PREFIX}/audit", audit_log, methods=["GET"]),
]
