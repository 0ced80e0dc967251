"""`syndicator init`: a fresh config folder for a real deployment.

The bundled `config/` is a demo (a synthetic sample feed, three example churches, its
state and outputs beside it); going live from it would keep publishing all of that. A
fresh folder holds the main file, an empty `subscribers/`, and (made by the first run)
its own `output/` and `state/`, so nothing of the demo comes along.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import tomlkit

from .config import SUBSCRIBERS_DIR, display_path, load_config
from .errors import ConfigError, ConfigErrors

CONFIG_FILE = "syndicator.toml"
DEFAULT_FEED = "https://www.worthynews.com/feed"

TEMPLATE = """\
# Syndicator: the main configuration, written by `syndicator init`. Paths are relative
# to this file's folder. Validate it (`check --print-config` shows every effective value;
# README.md, "Config reference", explains each key) with
#   syndicator --config {path} check

[site]
name = "Worthy News syndication"
# The public URL where output_dir is served (nginx, a CDN, or `syndicator serve` to try
# it out). Feeds and embed codes point here: set it before giving any church its code.
base_url = "http://127.0.0.1:8080/"
output_dir = "output"  # what churches embed; let a web server serve this folder only
state_dir = "state"    # the database and the run lock; back it up with output/ or not at all
# Goes into our User-Agent, so the outlet can reach whoever runs this instance.
# contact_url = "https://example.org/syndicator-contact"

[fetch]
interval_minutes = 30  # how often each source is polled (1-1440)

[[sources]]
id = "worthynews"
url = {feed}

# What every subscriber gets unless its own file says otherwise, e.g.:
# [defaults]
# limit = 10
# content = "excerpt"  # full, excerpt or title
#
# Bible references in the stories ("John 3:16") link to the passage, with no script
# (README.md, "Scripture links"):
# [defaults.scripture]
# link = "biblegateway"  # none (the default), biblegateway or youversion
# version = "NIV"        # unset: NIV; RVR1960 for Spanish; ARC for Portuguese

# Subscribers (churches) are one file each in subscribers/:
#   syndicator --config {path} subscribers add ID --name "..." --site https://...
"""


def init_config(folder: Path, feed: str = DEFAULT_FEED) -> Path:
    """Write `folder/syndicator.toml` (commented; one source, `worthynews`, reading
    `feed`; `output/` and `state/` inside `folder`) and an empty `folder/subscribers/`,
    and return the file's path.

    A relative `file:` feed is taken from the working directory (and written absolute).
    Refuses with `ConfigErrors`, writing nothing, when the file exists or the result
    would not load (a feed that is no URL a source may have).
    """
    file = folder / CONFIG_FILE
    if file.exists() or file.is_symlink():
        _fail(file, "already exists; nothing was changed (remove it first to start afresh)")
    text = TEMPLATE.format(
        path=shlex.quote(os.path.abspath(file)),
        feed=tomlkit.item(_absolute_file_url(feed)).as_string(),
    )
    _validate(text)
    try:
        (folder / SUBSCRIBERS_DIR).mkdir(parents=True, exist_ok=True)
        with open(file, "x", encoding="utf-8") as out:  # "x": never over a file made meanwhile
            out.write(text)
    except FileExistsError:
        _fail(file, "already exists; nothing was changed (remove it first to start afresh)")
    except OSError as exc:
        _fail(file, f"cannot write: {exc.strerror or exc}")
    return file


def _absolute_file_url(feed: str) -> str:
    parts = urlsplit(feed)
    if parts.scheme != "file" or feed.startswith("file:/"):
        return feed
    return Path(os.path.abspath(parts.path)).as_uri()


def _validate(text: str) -> None:
    """Load `text` as a main file would be loaded; its problems name the option."""
    with tempfile.TemporaryDirectory(prefix="syndicator-init-") as scratch:
        candidate = Path(scratch) / CONFIG_FILE
        candidate.write_text(text, encoding="utf-8")
        try:
            load_config(candidate)
        except ConfigErrors as exc:
            # The feed is the only thing given: the template itself is tested to load.
            raise ConfigErrors(
                [ConfigError("--feed", None, e.message) for e in exc.errors]
            ) from None


def _fail(file: Path, message: str) -> NoReturn:
    raise ConfigErrors([ConfigError(display_path(file), None, message)])
