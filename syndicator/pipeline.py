"""Wire the stages: `run_once(config, now)` polls, cleans, renders and publishes.

The CLI, cron mode and the daemon all call `run_once`. A failure of one source or one
subscriber is a result (recorded in the store and in the report), never a crash of the
run, and never costs anyone their last good outputs.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Collection
from datetime import datetime

import httpx2

from . import ingest
from .config import Config
from .errors import StoreError
from .fetch import Fetcher
from .models import RunReport
from .publish.run import publish_outputs
from .store import Store


def run_once(
    config: Config,
    now: datetime,
    *,
    force: bool = False,
    only: Collection[str] | None = None,
    transport: httpx2.BaseTransport | None = None,
    rng: random.Random | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunReport:
    """Run one cycle: poll every due source (all of them with `force`), store the changes,
    clean, then render and publish the subscribers whose inputs changed.

    `only` limits the polling to some source ids; `progress(done, total)` is called per
    subscriber; `transport` and `rng` are test seams.
    """
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    sources = [s for s in config.sources if only is None or s.id in only]
    contact = config.site.contact_url or config.site.base_url
    with (
        Store(config.database_path) as store,
        Fetcher(config.fetch, contact_url=contact, transport=transport) as fetcher,
    ):
        try:
            reports = tuple(
                ingest.poll_source(config, source, store, fetcher, now, rng=rng, force=force)
                for source in sources
            )
            cleaning = tuple(ingest.clean_source(source, store) for source in sources)
            outcome = publish_outputs(config, store, now, force=force, progress=progress)
        except sqlite3.Error as exc:  # read-only, full, corrupt: every write rolled back
            raise StoreError(
                f"{config.database_path}: the state database cannot be used: {exc}; "
                "nothing more was stored or published this run"
            ) from exc
    return RunReport(
        started=now,
        sources=reports,
        cleaning=cleaning,
        config_errors=tuple(str(problem) for problem in config.problems),
        subscribers=outcome.subscribers,
        publish=outcome.publish,
        publish_error=outcome.error,
        index_error=outcome.index_error,
    )
