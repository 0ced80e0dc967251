"""Where published files go: the one seam between the publish loop and storage.

The loop (`publish.run`) decides what to write, in which order, and what to retire; a
`Target` carries it out. `LocalTarget` (the output folder, through `files.Publisher` and
the `ownership` rules) is the first; an object-storage target implements the same
protocol (its ownership questions are simpler: the whole prefix is Syndicator's).
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Protocol

from ..errors import PublishError
from ..models import PublishReport
from . import ownership
from .files import Publisher
from .ownership import OWNER_MARK, OWNER_MARK_TEXT

log = logging.getLogger(__name__)


class Target(Protocol):
    """Somewhere to publish files to, by path relative to the site's root (`<id>/rss.xml`).

    Writing is staged: `put` and `delete` take effect at `commit`, in the order they were
    asked for (within one `put`, in the order of its files); the loop asks for leaves
    before the lists that link to them, and for removals after the lists that stopped
    linking. What was staged and not committed is dropped by `discard`.
    """

    @property
    def report(self) -> PublishReport:
        """What was written, left unchanged and removed so far (committed only)."""
        ...

    @property
    def pending_bytes(self) -> int:
        """Bytes staged and not yet committed (the loop commits in batches)."""
        ...

    def present(self) -> frozenset[str]:
        """The top-level names there (subscriber folders, site files)."""
        ...

    def listing(self, folder: str) -> frozenset[str]:
        """The paths of the files directly in `folder` (none when it is absent)."""
        ...

    def put(
        self, files: Mapping[str, bytes], *, folder: str | None = None, keep: Collection[str] = ()
    ) -> int:
        """Stage `files` (path → bytes); return how many differ from what is there. With a
        `folder`, after the commit it holds exactly `files` and `keep` (what is already
        there as it should be): the rest goes. All or nothing: PublishError says why."""
        ...

    def delete(self, folder: str) -> None:
        """Stage the removal of a retired subscriber's `folder`, after everything put."""
        ...

    def commit(self) -> dict[str, PublishError]:
        """Make everything staged visible; return the folders whose stale files could not
        be removed, each with its error. A failure to write raises PublishError."""
        ...

    def discard(self) -> None:
        """Drop whatever is staged and not committed."""
        ...

    def refusal(self, subscriber_id: str, *, first: bool) -> str | None:
        """Why the subscriber's folder cannot be published to (it is someone else's), or
        None; `first`: its first publish in this database."""
        ...

    def index_refusal(self) -> str | None:
        """Why the site files cannot be published for the first time, or None."""
        ...

    def pages_left(self, subscriber_id: str) -> list[str]:
        """The slugs of the article pages an earlier database published for the
        subscriber (in a folder that is Syndicator's), to keep for their grace period."""
        ...

    def adopt(self, subscriber_ids: Iterable[str], *, site: bool) -> None:
        """Stage whatever tells these subscribers' folders (published before) and, with
        `site`, the site's root as Syndicator's, where it went missing."""
        ...


class LocalTarget:
    """The output folder: atomic writes in batches (`files.Publisher`), and only folders
    that `ownership` says are Syndicator's are written to or removed."""

    def __init__(self, root: Path, publisher: Publisher | None = None) -> None:
        self.root = root
        self._publisher = publisher or Publisher(root)

    @property
    def report(self) -> PublishReport:
        return self._publisher.report

    @property
    def pending_bytes(self) -> int:
        return self._publisher.pending_bytes

    def present(self) -> frozenset[str]:
        return outputs_present(self.root)

    def listing(self, folder: str) -> frozenset[str]:
        try:
            names = os.listdir(self.root / folder)
        except OSError:  # gone, or in the way: every page is made (and staging says why)
            return frozenset()
        return frozenset(posixpath.join(folder, name) for name in names)

    def put(
        self, files: Mapping[str, bytes], *, folder: str | None = None, keep: Collection[str] = ()
    ) -> int:
        # Publisher renames in sorted order: a folder's `articles/` sort before its lists.
        if folder is not None:
            return self._publisher.stage(files, managed=[folder], keep=keep)
        return self._publisher.stage({**files, OWNER_MARK: OWNER_MARK_TEXT})

    def delete(self, folder: str) -> None:
        if found := ownership.foreign(self.root, folder):  # made again by someone else
            log.warning(
                "retired subscriber %s: %s is left as it is: it holds files Syndicator "
                "did not write, such as %s, and not its mark",
                folder,
                self.root / folder,
                ", ".join(found),
            )
            return
        self._publisher.stage({}, managed=[folder])

    def commit(self) -> dict[str, PublishError]:
        return self._publisher.commit()

    def discard(self) -> None:
        self._publisher.discard()

    def refusal(self, subscriber_id: str, *, first: bool) -> str | None:
        return ownership.taken(self.root, subscriber_id, first=first)

    def index_refusal(self) -> str | None:
        return ownership.index_taken(self.root)

    def pages_left(self, subscriber_id: str) -> list[str]:
        return ownership.pages_on_disk(self.root, subscriber_id)

    def adopt(self, subscriber_ids: Iterable[str], *, site: bool) -> None:
        for subscriber_id in ownership.unmarked(self.root, subscriber_ids):
            self._publisher.stage({f"{subscriber_id}/{OWNER_MARK}": OWNER_MARK_TEXT})
        if site and not ownership.is_marked(self.root):  # from before marks
            self._publisher.stage({OWNER_MARK: OWNER_MARK_TEXT})


def outputs_present(output_dir: Path) -> frozenset[str]:
    """The names in the output folder (subscriber folders, index files): one scandir,
    however many subscribers; none when it is gone or cannot be read."""
    try:
        with os.scandir(output_dir) as scan:
            return frozenset(entry.name for entry in scan)
    except OSError:
        return frozenset()
