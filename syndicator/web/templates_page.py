"""The templates page (`/admin/templates`): every override template, which subscribers
each affects, and a broken one's error with its line (compiled in the sandbox it renders
in). Nothing here is written: templates are edited as files, as the README says."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..config import display_path
from ..render.environment import SITE_TEMPLATES, Override, overrides
from .console import PREFIX, config, page, require_admin

NAMED = 12  # affected subscribers named on a row; the rest are counted


@dataclass(frozen=True, slots=True)
class Row:
    """One override as the page shows it."""

    found: Override
    shown: str  # its path as the admin finds it, from the config folder
    named: tuple[tuple[str, str], ...]  # (id, name) of the first affected subscribers
    more: int  # affected subscribers not named


async def templates(request: Request) -> Response:
    require_admin(request)
    current = config(request)
    names = {s.id: s.name for s in current.subscribers}
    folder = current.path.parent
    rows = [
        Row(
            found,
            found.path.relative_to(folder).as_posix(),
            tuple((i, names[i]) for i in found.affects[:NAMED]),
            max(0, len(found.affects) - NAMED),
        )
        for found in overrides(folder, list(names))
    ]
    rows.sort(key=lambda row: row.found.problem is None)  # broken ones first, else in order
    return page(
        request,
        "templates.html",
        {
            "rows": rows,
            "broken": sum(row.found.problem is not None for row in rows),
            "total": len(names),
            "folder": display_path(folder / SITE_TEMPLATES),
        },
    )


routes = [Route(f"{PREFIX}/templates", templates)]
