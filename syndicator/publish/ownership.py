"""Which folders and files under the output folder are Syndicator's to replace and remove.

The output folder may be a shared web root, so Syndicator takes over only what it can
tell is its own: a folder carrying its mark (OWNER_MARK, written into every folder it
publishes into), or one holding nothing but the names it gives (its outputs, and the
temporary files of a publish killed midway). Everything else there is someone else's
and is never touched.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import PublishError
from ..models import SITE_FILES, SUBSCRIBER_FILES

TEMP_PREFIX = ".tmp-"
# In every folder Syndicator publishes into (each subscriber's, and the output root once
# it holds index.html): what is there is Syndicator's to replace and remove. A folder
# without it is taken over only if it holds nothing (see `strangers`).
OWNER_MARK = ".syndicator"
OWNER_MARK_TEXT = b"Published by Syndicator, which replaces and removes the files in this folder.\n"


def _any_of(names: Iterable[str]) -> re.Pattern[str]:
    """A pattern matching the `names`, where `{number}` stands for a page number and
    `{slug}` for a story's slug (as `models.slugify` makes them)."""
    holes = {re.escape("{number}"): "[0-9]+", re.escape("{slug}"): "[a-z0-9-]+"}
    patterns = []
    for name in names:
        pattern = re.escape(name)
        for hole, fill in holes.items():
            pattern = pattern.replace(hole, fill)
        patterns.append(pattern)
    return re.compile("|".join(patterns))


# What Syndicator writes in a subscriber's folder. After a first publish, an unmarked
# folder holding anything else was made again by someone else (the mark goes with it).
OUR_FILES = _any_of(SUBSCRIBER_FILES.values())


def temp_names() -> Iterator[str]:
    """Names for temporary files: this process's own random prefix and a counter."""
    prefix = f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-"
    return (f"{prefix}{number}" for number in itertools.count())


_LEFTOVER = re.compile(re.escape(TEMP_PREFIX) + r"[0-9]+-[0-9a-f]{8}-[0-9]+")  # temp_names


def is_leftover(name: str) -> bool:
    """Whether `name` is one `temp_names` gives: a temporary file of a killed publish."""
    return _LEFTOVER.fullmatch(name) is not None


def is_marked(folder: Path) -> bool:
    """Whether `folder` carries OWNER_MARK (a file of its own, not a link to one)."""
    try:
        return stat.S_ISREG(os.lstat(folder / OWNER_MARK).st_mode)  # one call per subscriber
    except OSError:
        return False


def strangers(folder: Path, *, most: int = 3, ours: re.Pattern[str] | None = None) -> list[str]:
    """What stops a first publish into `folder`: nothing ([]) when the folder is absent,
    carries OWNER_MARK, or holds nothing but empty folders and temporary files a killed
    publish left (and files whose relative path `ours` matches); else up to `most` of the
    paths in it (relative to it). A file where the folder should be is no stranger:
    staging reports it as in the way.
    """
    found: list[str] = []

    def walk(path: str, relative: str) -> None:
        with os.scandir(path) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            if len(found) >= most:
                return
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, f"{relative}{entry.name}/")
            elif entry.is_symlink() or not (
                is_leftover(entry.name)
                or (ours is not None and ours.fullmatch(f"{relative}{entry.name}"))
            ):
                found.append(f"{relative}{entry.name}")

    try:
        if is_marked(folder):
            return []
        walk(os.fspath(folder), "")
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise PublishError(
            f"{exc.filename or folder}: cannot read: {exc.strerror}", errno=exc.errno
        ) from exc
    return found


def taken(output_dir: Path, subscriber_id: str, *, first: bool) -> str | None:
    """Why a subscriber cannot be published: its folder is a link (publishing would write
    where it leads), or is not Syndicator's (`strangers`): a shared web root's own folder
    of that name, whose files would be replaced or removed. After the first publish, an
    unmarked folder may hold the files Syndicator writes (from before folders were marked)
    but nothing else: the folder was deleted and made again by someone else."""
    folder = output_dir / subscriber_id
    if folder.is_symlink():
        return f"not published: {folder} is a symbolic link; publishing would write where it leads"
    try:
        found = strangers(folder, ours=None if first else OUR_FILES)
    except PublishError as exc:
        return f"not published: {exc}"
    if not found:
        return None
    return (
        f"not published: {folder} already holds files Syndicator did not write, such as "
        f"{', '.join(found)}; move them elsewhere, or give the subscriber another id (if "
        f"Syndicator wrote them, before it marked its folders or with a database since lost, "
        f"create {folder / OWNER_MARK} to let it take the folder over)"
    )


def foreign(output_dir: Path, subscriber_id: str) -> list[str]:
    """Files in a subscriber's unmarked folder that Syndicator does not write (`OUR_FILES`);
    [] when the folder is marked, absent or cannot be read (staging says why)."""
    try:
        return strangers(output_dir / subscriber_id, ours=OUR_FILES)
    except PublishError:
        return []


def unmarked(output_dir: Path, published: Iterable[str]) -> list[str]:
    """Of the subscribers `published` before, those whose folder lacks OWNER_MARK and holds
    only what Syndicator writes: written before folders were marked, or the mark was
    deleted. Marked again, so that a database lost later does not cost them their folder
    (one holding other files is not ours to claim)."""
    found = []
    for subscriber_id in published:
        folder = output_dir / subscriber_id
        lacking = not is_marked(folder) and folder.is_dir() and not folder.is_symlink()
        if lacking and not foreign(output_dir, subscriber_id):
            found.append(subscriber_id)
    return found


def pages_on_disk(output_dir: Path, subscriber_id: str) -> list[str]:
    """The slugs of the article pages in the subscriber's folder, if Syndicator's (marked):
    published with a database since lost or started afresh (`decide.adopted_pages`)."""
    folder = output_dir / subscriber_id
    if not is_marked(folder):
        return []
    try:
        with os.scandir(folder / "articles") as scan:
            names = [entry.name for entry in scan if entry.is_file(follow_symlinks=False)]
    except OSError:  # none yet, or unreadable: staging reports what matters
        return []
    return [name[: -len(".html")] for name in names if name.endswith(".html")]


def index_taken(root: Path) -> str | None:
    """Why the top-level index cannot be published for the first time into the output
    folder `root`: an index.html or subscribers.opml is there and the folder is not marked
    as Syndicator's (a shared web root's home page)."""
    if is_marked(root):
        return None
    there = [name for name in SITE_FILES if (root / name).exists() or (root / name).is_symlink()]
    if not there:
        return None
    return (
        f"{root} already holds {' and '.join(there)}, which Syndicator did not write: kept; "
        f"move them elsewhere (if Syndicator wrote them, before it marked its folders or with "
        f"a database since lost, create {root / OWNER_MARK})"
    )
