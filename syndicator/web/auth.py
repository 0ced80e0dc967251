"""Who may use the console: admins with argon2id password hashes, server-side sessions,
and the sign-in throttle. Everything lives in the state database; nothing secret is
written to the config folder.

A session's id is 32 random bytes given to the browser once, in its cookie; the store
keeps only its SHA-256, so a copy of the database signs no one in. Each session has its
own CSRF token. The throttle's decision (`throttle_wait`) is pure: the store only counts.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..config import Config
from ..errors import SyndicatorError
from ..store import Store

# argon2-cffi's defaults are RFC 9106's second recommendation (argon2id, 64 MiB, t=3):
# about 50 ms here, once per sign-in.
_hasher = PasswordHasher()
# Verified against when the name is unknown, so that an unknown name takes as long as a
# wrong password and timing tells no one which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

MIN_PASSWORD = 12  # characters; long passphrases beat rules about symbols
ADMIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")

IDLE = timedelta(hours=2)  # a session unused this long has ended
ABSOLUTE = timedelta(hours=12)  # and any session this old, however busy
TOUCH_EVERY = timedelta(minutes=1)  # how stale `seen_at` may get (one write a minute)

FAILURE_WINDOW = timedelta(minutes=15)
ACCOUNT_FAILURES = 5  # wrong passwords for one name within the window, then 429
ADDRESS_FAILURES = 20  # failed sign-ins from one address within the window, then 429


class AdminError(SyndicatorError):
    """An admin cannot be added or removed: a duplicate, an unknown name, a weak password."""


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in admin's session, as read back from its cookie."""

    id_hash: str  # SHA-256 of the cookie's value, hex
    admin: str
    csrf_token: str
    created_at: datetime
    seen_at: datetime


def open_store(config: Config) -> Store:
    """The state database (created and migrated if need be)."""
    return Store(config.database_path)


COMMAND_LINE = "(command line)"  # who the audit log names for `syndicator admins …`


def add_admin(
    config: Config, name: str, password: str, now: datetime, by: str = COMMAND_LINE
) -> None:
    """Add an admin (audited as done `by`). Raises `AdminError` for a bad or taken name
    or a short password."""
    if not ADMIN_NAME.fullmatch(name):
        raise AdminError(
            f"admin name {name!r} is not allowed: use 1–64 letters, digits, '.', '_', '@' "
            "or '-', starting with a letter or digit"
        )
    _check_password(password)
    with open_store(config) as store, store.transaction():
        if not store.add_admin(name, _hasher.hash(password), now):
            raise AdminError(f"admin {name!r} exists already; remove it first to replace it")
        store.add_audit(now, by, "add admin", name, "")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AdminError(
            f"password too short: use at least {MIN_PASSWORD} characters "
            f"(it had {len(password)}); a few unrelated words make a good one"
        )


def change_password(
    config: Config,
    name: str,
    password: str,
    now: datetime,
    by: str = COMMAND_LINE,
    keep: Session | None = None,
) -> int:
    """Give an admin a new password and end their sessions, all but `keep` (the one that
    asked for it, in the console); audited as done `by`. How many sessions ended. Raises
    `AdminError` for a short password or an unknown name."""
    _check_password(password)
    password_hash = _hasher.hash(password)
    with open_store(config) as store, store.transaction():
        if not store.set_password_hash(name, password_hash):
            raise _unknown(store, name)
        ended = store.end_admin_sessions(name, keep.id_hash if keep else None)
        others = "other " if keep else ""
        detail = f"{ended} {others}session{'' if ended == 1 else 's'} ended"
        store.add_audit(now, by, "change password", name, detail)
    return ended


def remove_admin(config: Config, name: str, now: datetime, by: str = COMMAND_LINE) -> None:
    """Remove an admin and end their sessions (audited as done `by`). Raises `AdminError`
    when unknown."""
    with open_store(config) as store, store.transaction():
        if not store.remove_admin(name):
            raise _unknown(store, name)
        store.add_audit(now, by, "remove admin", name, "its sessions ended")


def _unknown(store: Store, name: str) -> AdminError:
    known = ", ".join(n for n, _ in store.admins()) or "none"
    return AdminError(f"no admin {name!r}; admins: {known}")


def check_admin(config: Config, name: str) -> None:
    """Raise `AdminError` when there is no admin `name` (before asking for a password)."""
    with open_store(config) as store:
        if store.password_hash(name) is None:
            raise _unknown(store, name)


def list_admins(config: Config) -> list[tuple[str, datetime]]:
    """Every admin's name and when it was added."""
    with open_store(config) as store:
        return store.admins()


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash (None: no such admin, which takes as
    long to say as a wrong password). Slow on purpose: call it off the event loop."""
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


def _hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(store: Store, admin: str, now: datetime) -> str:
    """A new session for `admin`: its id, for the cookie (never stored as such). Ended
    sessions nobody came back with are forgotten here."""
    store.end_sessions_before(now - ABSOLUTE, now - IDLE)
    session_id = secrets.token_urlsafe(32)
    store.add_session(_hash_id(session_id), admin, secrets.token_urlsafe(32), now)
    return session_id


def find_session(store: Store, session_id: str, now: datetime) -> Session | None:
    """The live session of that cookie value, its last use brought up to date; None
    when unknown or expired (an expired one is deleted)."""
    id_hash = _hash_id(session_id)
    found = store.session(id_hash)
    if found is None:
        return None
    admin, csrf_token, created_at, seen_at = found
    if now - created_at >= ABSOLUTE or now - seen_at >= IDLE:
        store.end_session(id_hash)
        return None
    if now - seen_at >= TOUCH_EVERY:
        store.touch_session(id_hash, now)
        seen_at = now
    return Session(id_hash, admin, csrf_token, created_at, seen_at)


def end_session(store: Store, session: Session) -> None:
    store.end_session(session.id_hash)


def throttle_wait(
    failures: Sequence[datetime], now: datetime, limit: int, window: timedelta = FAILURE_WINDOW
) -> timedelta | None:
    """How long until one more try is allowed, after `failures` (oldest first, all within
    `window` of `now`); None when a try is allowed now."""
    if len(failures) < limit:
        return None
    # Allowed again once the oldest of the last `limit` failures leaves the window.
    wait = failures[-limit] + window - now
    return wait if wait > timedelta(0) else None


def signin_keys(name: str, address: str) -> tuple[str, str]:
    """The throttle's counters for a sign-in: one per account, one per address."""
    return f"account:{name.casefold()}", f"address:{address}"


def signin_wait(store: Store, name: str, address: str, now: datetime) -> timedelta | None:
    """How long this account or address must wait before trying again, if at all."""
    account, place = signin_keys(name, address)
    since = now - FAILURE_WINDOW
    store.forget_signin_failures(None, since)
    waits = [
        throttle_wait(store.signin_failures(account, since), now, ACCOUNT_FAILURES),
        throttle_wait(store.signin_failures(place, since), now, ADDRESS_FAILURES),
    ]
    found = [wait for wait in waits if wait is not None]
    return max(found) if found else None


def record_failure(store: Store, name: str, address: str, now: datetime) -> None:
    store.add_signin_failure(signin_keys(name, address), now)
