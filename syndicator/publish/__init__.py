"""The publish stage: rendered bytes become static files under the output folder.

`files` writes them (atomically, only what changed, pruning what is stale);
`ownership` decides which folders are Syndicator's to write into and remove from.
"""

from .files import (
    OWNER_MARK,
    OWNER_MARK_TEXT,
    TEMP_PREFIX,
    Publisher,
    PublishError,
    is_marked,
    publish,
    resolve_inside,
    strangers,
    write_atomic,
)

__all__ = [
    "OWNER_MARK",
    "OWNER_MARK_TEXT",
    "TEMP_PREFIX",
    "PublishError",
    "Publisher",
    "is_marked",
    "publish",
    "resolve_inside",
    "strangers",
    "write_atomic",
]
