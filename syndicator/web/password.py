"""Changing your own password: `/admin/password`.

The signed-in admin gives their current password (a session left open on a shared
computer must not be enough to take the account), and the new one twice. Wrong current
passwords count against the sign-in throttle, by name and by address, as failed sign-ins
do. A change ends every other session of that admin; the one that made it goes on.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .auth import (
    MIN_PASSWORD,
    AdminError,
    change_password,
    open_store,
    record_failure,
    signin_wait,
    verify_password,
)
from .console import PREFIX, admin_form, config, now, page, require_admin
from .signin import minutes

PATH = f"{PREFIX}/password"
WRONG = "The current password is wrong."
DIFFERENT = "The two new passwords are not the same."


def _form(request: Request, *, error: str | None, field: str = "", status: int = 200) -> Response:
    context = {
        "error": error,
        "field": field,  # the control the error is about, for aria-describedby
        "changed": request.query_params.get("changed") == "1" and error is None,
        "min_password": MIN_PASSWORD,
    }
    return page(request, "password.html", context, status_code=status)


async def password_page(request: Request) -> Response:
    require_admin(request)
    return _form(request, error=None)


async def change(request: Request) -> Response:
    session, form = await admin_form(request)
    current = str(form.get("current_password", ""))
    new = str(form.get("password", ""))
    if new != str(form.get("password_again", "")):
        return _form(request, error=DIFFERENT, field="password_again", status=400)
    address = request.client.host if request.client else "unknown"
    moment = now(request)
    with open_store(config(request)) as store:
        wait = signin_wait(store, session.admin, address, moment)
        if wait is not None:
            message = f"Too many wrong passwords. Try again in {minutes(wait)}."
            return _form(request, error=message, field="current_password", status=429)
        stored = store.password_hash(session.admin)
        if not await run_in_threadpool(verify_password, stored, current):
            record_failure(store, session.admin, address, moment)
            return _form(request, error=WRONG, field="current_password", status=401)
    try:
        await run_in_threadpool(
            change_password, config(request), session.admin, new, moment, session.admin, session
        )
    except AdminError as exc:
        return _form(request, error=f"Not changed: {exc}.", field="password", status=400)
    return RedirectResponse(f"{PATH}?changed=1", 303)


routes = [
    Route(PATH, password_page, methods=["GET"]),
    Route(PATH, change, methods=["POST"]),
]
