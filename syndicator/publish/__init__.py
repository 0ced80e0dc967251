"""The publish stage: rendered bytes become static files under the output folder.

`decide` makes the pure decisions (who is rendered again, who is retired, what the index
lists); `run` is the loop that carries them out through one `target.Target`;
`files` writes them (atomically, only what changed, pruning what is stale);
`ownership` decides which folders and files there are Syndicator's to replace and remove.
"""

from ..errors import PublishError
from .files import Publisher, publish, resolve_inside, write_atomic
from .ownership import OWNER_MARK, OWNER_MARK_TEXT, TEMP_PREFIX, is_marked, strangers

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
