"""The one exception root and its few meaningful subclasses.

Every error carries what failed (file and key, source id, ...) so that a message can name
it, and third-party errors are wrapped where they enter (`raise FetchError(...) from exc`).
"""

from __future__ import annotations

from datetime import datetime
from errno import EDQUOT, EIO, ENOSPC, EROFS
from pathlib import Path

from jinja2.exceptions import SecurityError


class SyndicatorError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(SyndicatorError):
    """One problem in one config file: `file: key: what was wrong and what is allowed`."""

    def __init__(self, file: str, key: str | None, message: str) -> None:
        self.file = file
        self.key = key
        self.message = message
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {message}")


class UnknownLanguage(SyndicatorError, ValueError):
    """A language CLDR has no data for; `suggestions` are close ones it has. A ValueError
    too, so that a config validator reports it as a bad value."""

    def __init__(self, language: str, suggestions: list[str]) -> None:
        super().__init__(language)
        self.language = language
        self.suggestions = suggestions


class ConfigErrors(SyndicatorError):
    """Several config problems found at once (a config is checked as a whole)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(str(e) for e in errors))


class StaleEdit(ConfigErrors):
    """A save made from a version of a subscriber's file that is no longer there: someone
    saved it meanwhile. Nothing was written."""

    def __init__(self, file: str) -> None:
        super().__init__(
            [
                ConfigError(
                    file,
                    None,
                    "changed since this form was opened (another admin saved it, or it was "
                    "edited); nothing was saved: open it again to see the change, then make "
                    "yours",
                )
            ]
        )


class FetchError(SyndicatorError):
    """A source could not be fetched. `retry_after` is set when the server asked us to wait."""

    def __init__(
        self,
        source_id: str,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: datetime | None = None,
    ) -> None:
        self.source_id = source_id
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{source_id}: {reason} ({url})")


class SourceGone(FetchError):
    """The server says the feed is gone for good (HTTP 410): the source is disabled."""


class ParseError(SyndicatorError):
    """A fetched document is not a usable feed. Nothing stored is touched."""

    def __init__(self, source_id: str, reason: str) -> None:
        self.source_id = source_id
        self.reason = reason
        super().__init__(f"{source_id}: {reason}")


class CleanError(SyndicatorError):
    """An article cannot be cleaned as it is (too large or complex to process safely); it
    is left uncleaned, and so unpublished, while the rest carry on."""


class StoreError(SyndicatorError):
    """The state database cannot be opened or is from an unknown (newer) version."""


class StateUnusable(StoreError):
    """The state folder cannot be used: its lock or database cannot be created, opened or
    written (a folder this user cannot write, a read-only disk, a file in its place).
    Nothing was done; the CLI exits 4, which systemd is told not to restart on."""

    def __init__(self, folder: Path, reason: str) -> None:
        self.folder = folder
        self.reason = reason
        super().__init__(
            f"{folder}: the state folder cannot be used: {reason} (state_dir must be a "
            "folder the user running Syndicator can write)"
        )


DAEMON = "daemon"  # the role the daemon records beside its pid in the lock file


class LockHeld(SyndicatorError):
    """Another run, or the daemon, is working on the same state."""

    def __init__(self, path: Path, pid: int | None, role: str | None = None) -> None:
        holder = f"process {pid}" if pid else "another process"
        if role == DAEMON:
            message = (
                f"{path}: the daemon ({holder}) is running and publishes by itself: it "
                "reads changed config and subscriber files on its own (every 10 s unless "
                "started with another --watch); to make it poll and publish at once, reload "
                f"it (systemctl reload syndicator-daemon, or kill -HUP {pid})"
            )
        else:
            message = f"{path}: {holder} is running (another run or the daemon); try later"
        super().__init__(message)
        self.path = path
        self.pid = pid
        self.role = role


class NotRecorded(SyndicatorError):
    """A batch's files are in place, but the database refused to record them."""


class RenderError(SyndicatorError):
    """A subscriber's outputs (or, with no subscriber, the site's index.html and
    subscribers.opml) could not be rendered; the last good ones stay."""

    def __init__(self, subscriber_id: str | None, message: str) -> None:
        where = (
            f"subscriber {subscriber_id}" if subscriber_id else "index.html and subscribers.opml"
        )
        super().__init__(f"{where}: {message}")
        self.subscriber_id = subscriber_id
        self.message = message


# The sandbox's own bounds are also Jinja2 SecurityErrors, the type its built-in checks
# raise: a template stopped by the sandbox fails as one kind, whichever check stopped it.
class TemplateTimeout(SyndicatorError, SecurityError):
    """A sandboxed template ran past its deadline."""


class TooBig(SyndicatorError, SecurityError):
    """A sandboxed template asked for a value, an output or a render past its bound."""


class PublishError(SyndicatorError):
    """A path would leave the output folder, or the disk refused a write. `errno` is the
    operating system's error number when the disk refused."""

    def __init__(self, message: str, *, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno

    @property
    def disk_wide(self) -> bool:
        """The file system itself refused (full, over quota, read-only, failing): no other
        file would fare better, so a publish stops instead of trying every subscriber."""
        return self.errno in DISK_WIDE


DISK_WIDE = frozenset({ENOSPC, EDQUOT, EROFS, EIO})


class ServeError(SyndicatorError):
    """The server cannot start: the output folder is missing, or the address is unusable."""


class DoubtfulRequest(SyndicatorError):
    """A request whose end cannot be known for sure; the message says why."""
