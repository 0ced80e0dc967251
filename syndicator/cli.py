"""The `syndicator` command: a thin layer over the library. Each command is a few lines.

Exit codes (cron relies on them): 0 all went well; 1 a source or subscriber failed (what
was stored or published is kept); 2 the config is invalid; 3 another run or the daemon
holds the lock; 4 the state folder cannot be used (run, fetch, daemon, status).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shlex
import socket
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn

import click
import tomlkit
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from . import __version__
from .admin import (
    add_subscriber,
    category_warnings,
    edit_subscriber,
    language_warnings,
    list_subscribers,
    output_folder_warnings,
    parse_assignments,
    remove_subscriber,
    show_subscriber,
    stored_categories,
    stray_files,
    subscriber_file,
    subscriber_warnings,
)
from .config import (
    DEFAULT_CONFIG_PATH,
    Config,
    SubscriberConfig,
    base_url_warnings,
    check_web_url,
    display_path,
    load_config,
)
from .daemon import WATCH_SECONDS, JsonFormatter, run_daemon
from .embedcode import embed_code
from .errors import (
    ConfigErrors,
    LockHeld,
    PublishError,
    ServeError,
    StateUnusable,
    StoreError,
    SyndicatorError,
)
from .init import DEFAULT_FEED, init_config
from .lock import RunLock
from .models import RunReport
from .pipeline import run_once
from .preview import PREVIEW_PAGE, build_preview
from .publish.run import verify_bucket
from .publish.s3 import CORS_RULE, check_bucket
from .render.environment import check_templates
from .serve import make_server
from .status import read_status, report_lines, stamp
from .store import Store

EXIT_OK, EXIT_PARTIAL, EXIT_CONFIG, EXIT_LOCKED, EXIT_STATE = 0, 1, 2, 3, 4


class _Context:
    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path

    def config(self) -> Config:
        """Load the config or exit 2 with every problem listed on stderr."""
        try:
            return load_config(self.config_path)
        except ConfigErrors as exc:
            for error in exc.errors:
                _err(f"error: {error}")
            sys.exit(EXIT_CONFIG)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_CONFIG_PATH,
    show_default=True,
    help="Main config file; subscribers are read from subscribers/ beside it.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="syndicator")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, verbose: int) -> None:
    """Republish a news outlet's articles to subscribing ministry websites."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = _Context(config_path)


@cli.command()
@click.option(
    "--force",
    is_flag=True,
    help="Poll every source now, even if not due, and re-render every subscriber.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only problems (for cron mail).")
@click.pass_obj
def run(obj: _Context, force: bool, quiet: bool) -> None:
    """Run one cycle: poll due sources, clean, render changed subscribers, publish."""
    config = obj.config()
    report = _run(config, force=force, only=None, quiet=quiet)
    _print_report(config, report, quiet=quiet)
    sys.exit(EXIT_OK if report.ok else EXIT_PARTIAL)


@cli.command()
@click.option("--json-logs", is_flag=True, help="Log one JSON object per line (for collectors).")
@click.option(
    "--watch",
    type=click.FloatRange(min=0),
    default=WATCH_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="How often to look for edited config and subscriber files (0: only on SIGHUP).",
)
@click.pass_context
def daemon(ctx: click.Context, json_logs: bool, watch: float) -> None:
    """Run cycles on a schedule until stopped: each source on its own interval.

    An edited, added or removed config or subscriber file is read within --watch seconds
    and published; SIGHUP reloads at once (an invalid main file is reported and the old
    config kept); SIGTERM/SIGINT finish the publish in progress, then exit 0.
    """
    obj: _Context = ctx.obj
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if json_logs
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(min(root.level, logging.INFO))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    obj.config()  # exit 2 on an invalid config, with every problem listed
    try:
        sys.exit(run_daemon(obj.config_path, watch=watch))
    except LockHeld as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_LOCKED)
    except StateUnusable as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_STATE)


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 or :: for every interface).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on (0 picks a free one).",
)
@click.pass_obj
def serve(obj: _Context, host: str, port: int) -> None:
    """Serve output_dir over HTTP, with the headers production uses (for previews).

    Production serving is nginx or a CDN: see scripts/deploy/nginx-syndicator.conf.
    """
    config = obj.config()
    _serve(config.site.output_dir, host, port)


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; keep 127.0.0.1 behind the nginx proxy (TLS in front).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8090,
    show_default=True,
    help="Port to listen on (0 picks a free one).",
)
@click.pass_obj
def web(obj: _Context, host: str, port: int) -> None:
    """Serve the web console at /admin/ (sign in with an admin from `admins add`).

    Behind a proxy on the same machine, its X-Forwarded-Proto and -For are believed
    (from 127.0.0.1 only), so the session cookie is Secure when the proxy speaks https.
    Binding the port fails with a one-line error naming the address.
    """
    # Imported here: `run` from cron should not pay for loading the web stack.
    import uvicorn

    from .web.app import create_app, server_config

    obj.config()  # exit 2 on an invalid config, with every problem listed
    shown = f"[{host}]" if ":" in host else host
    # IPPROTO_TCP named: asyncio then sets TCP_NODELAY (else each answer waits ~40 ms).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # from the line below on, a browser's connection waits, not refused
    except OSError as exc:
        sock.close()
        _err(f"error: cannot listen on {shown}:{port}: {exc.strerror or exc}")
        sys.exit(EXIT_PARTIAL)
    port = sock.getsockname()[1]
    click.echo(f"console at http://{shown}:{port}/admin/ (Ctrl-C to stop)")
    app = create_app(obj.config_path)
    uvicorn.Server(server_config(app, host, port)).run(sockets=[sock])


@cli.group()
def admins() -> None:
    """Add, list and remove the web console's admins, or change one's password (kept in
    the state database)."""


@admins.command("add")
@click.argument("name")
@click.pass_obj
def admins_add(obj: _Context, name: str) -> None:
    """Add an admin. The password is asked twice on a terminal, else read as one line
    from standard input (`printf '%s\\n' "$PASSWORD" | syndicator admins add NAME`)."""
    from .web.auth import add_admin

    loaded = obj.config()
    password = _read_password(f"password for {name}")
    with _admin_errors():
        add_admin(loaded, name, password, datetime.now(UTC))
    click.echo(f"added admin {name}; sign in at /admin/login")


@contextlib.contextmanager
def _admin_errors() -> Iterator[None]:
    """An admin command's refusal (unknown name, short password) or an unusable state
    database, said on one line with the command's exit status instead of a traceback."""
    from .web.auth import AdminError

    try:
        yield
    except AdminError as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_PARTIAL)
    except StoreError as exc:  # as `status` says it: 4 when the folder cannot be used
        _err(f"error: {exc}")
        sys.exit(EXIT_STATE if isinstance(exc, StateUnusable) else EXIT_PARTIAL)


def _read_password(prompt: str) -> str:
    """A password asked twice, unechoed, on a terminal; else one line of standard input."""
    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True, err=True))
    return sys.stdin.readline().rstrip("\r\n")


@admins.command("passwd")
@click.argument("name")
@click.pass_obj
def admins_passwd(obj: _Context, name: str) -> None:
    """Change an admin's password; their sessions end at once. The password is asked
    twice on a terminal, else read as one line from standard input."""
    from .web.auth import change_password, check_admin

    loaded = obj.config()
    with _admin_errors():
        check_admin(loaded, name)  # before the password is typed, twice, for nothing
        password = _read_password(f"new password for {name}")
        change_password(loaded, name, password, datetime.now(UTC))
    click.echo(f"changed the password of admin {name}; their sessions have ended")


@admins.command("list")
@click.pass_obj
def admins_list(obj: _Context) -> None:
    """List the admins and when each was added."""
    from .web.auth import list_admins

    with _admin_errors():
        found = list_admins(obj.config())
    if not found:
        _err("no admins yet: add one with `syndicator admins add NAME`")
    for name, added in found:
        click.echo(f"{name}\tadded {stamp(added)}")


@admins.command("remove")
@click.argument("name")
@click.pass_obj
def admins_remove(obj: _Context, name: str) -> None:
    """Remove an admin; their sessions end at once."""
    from .web.auth import remove_admin

    with _admin_errors():
        remove_admin(obj.config(), name, datetime.now(UTC))
    click.echo(f"removed admin {name}; their sessions have ended")


@cli.command()
@click.argument("subscriber_id")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port (default: any free one)."
)
@click.pass_obj
def preview(obj: _Context, subscriber_id: str, port: int) -> None:
    """Render one subscriber from the current store into a temporary folder and serve a
    sample church page with its script embed, snippet, iframe and feed items.

    The live output folder is untouched.
    """
    config = obj.config()
    subscriber = _subscriber(config, subscriber_id)
    with tempfile.TemporaryDirectory(prefix="syndicator-preview-") as folder:
        try:
            server = make_server(Path(folder), "127.0.0.1", port)
        except ServeError as exc:
            _err(f"error: {exc}")
            sys.exit(EXIT_PARTIAL)
        base = f"http://127.0.0.1:{server.server_port}/"
        try:
            build_preview(config, subscriber, Path(folder), base, datetime.now(UTC))
        except SyndicatorError as exc:
            server.server_close()
            _err(f"error: {exc}")
            sys.exit(EXIT_PARTIAL)
        _run_server(server, f"preview of {subscriber_id} at {base}{PREVIEW_PAGE}")


def _serve(root: Path, host: str, port: int) -> None:
    try:
        server = make_server(root, host, port)
    except ServeError as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_PARTIAL)
    shown = f"[{host}]" if ":" in host else host
    _run_server(server, f"serving {display_path(root)} at http://{shown}:{server.server_port}/")


def _run_server(server: ThreadingHTTPServer, message: str) -> None:
    click.echo(f"{message} (Ctrl-C to stop)")
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


@cli.command()
@click.argument("source_ids", nargs=-1)
@click.pass_obj
def fetch(obj: _Context, source_ids: tuple[str, ...]) -> None:
    """Poll SOURCE_IDS (default: all) now, due or not, even if disabled; store the result."""
    config = obj.config()
    unknown = sorted(set(source_ids) - {s.id for s in config.sources})
    if unknown:
        known = ", ".join(s.id for s in config.sources)
        raise click.BadParameter(f"unknown source {', '.join(unknown)}; configured: {known}")
    report = _run(config, force=True, only=set(source_ids) or None, quiet=False)
    _print_report(config, report, quiet=False)
    sys.exit(EXIT_OK if report.ok else EXIT_PARTIAL)


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--feed",
    default=DEFAULT_FEED,
    show_default=True,
    help="The outlet's feed: an http(s) URL, or file:PATH (relative to here) for a local copy.",
)
def init(folder: Path, feed: str) -> None:
    """Make a fresh config in FOLDER for a real deployment: a commented
    FOLDER/syndicator.toml (source worthynews), an empty FOLDER/subscribers/, and the
    outputs and state in FOLDER/output/ and FOLDER/state/. Never overwrites.
    """
    try:
        file = init_config(folder, feed)
    except ConfigErrors as exc:
        _refused(exc)
    config = load_config(file)
    flag = f"--config {shlex.quote(display_path(file))}"
    click.echo(
        f"wrote {display_path(file)}: source worthynews reads {config.sources[0].url}; "
        f"subscribers go in {display_path(config.subscribers_dir)}/, the outputs in "
        f"{display_path(config.site.output_dir)}/, the state in "
        f"{display_path(config.site.state_dir)}/"
    )
    click.echo(
        f"Set base_url in it to where {display_path(config.site.output_dir)}/ is served, then:"
    )
    click.echo(f"  syndicator {flag} check")
    click.echo(
        f'  syndicator {flag} subscribers add new-church --name "New Church" '
        "--site https://new-church.example.org/"
    )
    click.echo(f"  syndicator {flag} run")


@cli.command()
@click.option("--print-config", is_flag=True, help="Print the effective config as TOML.")
@click.pass_obj
def check(obj: _Context, print_config: bool) -> None:
    """Validate the config, every subscriber file and every override template; exit 2 on
    any error."""
    config = obj.config()
    if print_config:
        click.echo(tomlkit.dumps(config.as_dict()))
    problems = [str(problem) for problem in config.problems]
    problems += check_templates(config.path.parent, [s.id for s in config.subscribers])
    for problem in problems:
        _err(f"error: {problem}")
    known = stored_categories(config)
    found = [
        *stray_files(config),
        *category_warnings(config, config.subscribers, known),
        *language_warnings(config.subscribers),
        *output_folder_warnings(config),
    ]
    for warning in found:
        _err(f"warning: {warning}")
    _warn_base_url(config)
    if config.publish.bucket is not None:
        problems += _check_bucket(config)
    counts = f"{len(config.sources)} source(s), {len(config.subscribers)} valid subscriber(s)"
    if problems:
        _err(f"{display_path(config.path)}: {len(problems)} problem(s); {counts}")
        sys.exit(EXIT_CONFIG)
    click.echo(f"{display_path(config.path)}: OK; {counts}")


def _check_bucket(config: Config) -> list[str]:
    """Probe the bucket (a tiny object written and deleted); its problem, or none."""
    target = config.publish.target
    try:
        found = check_bucket(config.publish)
    except PublishError as exc:
        _err(f"error: {exc}")
        return [str(exc)]
    click.echo(f"bucket {target}: writable (a probe object was written and deleted)")
    click.echo(f"bucket credentials: found in {found}")
    click.echo("bucket CORS rule (feed.json and embed.js are loaded by other sites' scripts):")
    click.echo(CORS_RULE)
    return []


@cli.command()
@click.option(
    "--verify",
    is_flag=True,
    help="List the bucket, repair what changed or went missing behind our back, report it.",
)
@click.pass_obj
def publish(obj: _Context, verify: bool) -> None:
    """Object-storage upkeep: `publish --verify` repairs drift between the bucket and the
    manifest of what Syndicator uploaded there."""
    config = obj.config()
    if not verify:
        raise click.UsageError("say what to do: --verify")
    try:
        with RunLock(config.site.state_dir), Store(config.database_path) as store:
            drift, outcome = verify_bucket(config, store, datetime.now(UTC))
    except LockHeld as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_LOCKED)
    except SyndicatorError as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_PARTIAL)
    click.echo(
        f"verify: {drift.listed} object(s) listed; {len(drift.missing)} missing and "
        f"{len(drift.changed)} changed behind our back; {outcome.publish.written} uploaded "
        f"again, {outcome.publish.removed} removed"
    )
    for path in drift.missing:
        click.echo(f"  missing, uploaded again: {path}")
    for path in drift.changed:
        click.echo(f"  changed, uploaded again: {path}")
    if drift.strangers:
        shown = ", ".join(drift.strangers[:5])
        click.echo(f"  not Syndicator's, left alone: {len(drift.strangers)} ({shown})")
    if outcome.error is not None:
        _err(f"error: {outcome.error}")
        sys.exit(EXIT_PARTIAL)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def status(obj: _Context, as_json: bool) -> None:
    """Show each source (last success, last error, articles, next poll), the categories
    of the stored articles, and each subscriber (last publish, files, last error)."""
    config = obj.config()
    try:
        found = read_status(config)
    except StoreError as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_STATE if isinstance(exc, StateUnusable) else EXIT_PARTIAL)
    if as_json:
        click.echo(json.dumps(found.to_json(), indent=2))
        return
    sources = [row.to_json() for row in found.sources]
    subscribers = [row.to_json() for row in found.subscribers]
    console = Console()
    console.print(
        _table(
            f"Sources ({display_path(config.database_path)})",
            sources,
            {"source": "id", "state": "state", "last success": "last_success",
             "last error": "last_error", "suspicious": "suspicious", "articles": "articles",
             "next due": "next_due"},
        )
    )  # fmt: skip
    if found.categories:
        counted = ", ".join(f"{name} ({count})" for name, count in found.categories.items())
        console.print(f"Categories of the stored articles: {counted}", highlight=False)
    console.print(
        _table(
            f"Subscribers ({display_path(config.site.output_dir)})",
            subscribers,
            {"subscriber": "id", "state": "state", "last publish": "last_published",
             "items": "items", "files": "files", "last error": "last_error"},
        )
    )  # fmt: skip


@cli.command("embed-code")
@click.argument("subscriber_id")
@click.pass_obj
def embed_code_command(obj: _Context, subscriber_id: str) -> None:
    """Print the HTML a church pastes into its site, and its feed URLs."""
    config = obj.config()
    given = embed_code(config, _subscriber(config, subscriber_id))
    _warn_base_url(config)
    for label, code in given.codes.items():
        click.echo(f"{label}:\n  {code}\n")
    for output, url in given.feeds.items():
        click.echo(f"{output}: {url}")
    click.echo("\nHow to paste it:")
    for advice in given.advice:
        click.echo(textwrap.fill(advice, 88, initial_indent="  ", subsequent_indent="    "))
    if given.detail_page:
        click.echo(f"\n{given.detail_page}")


def _web_url(value: str) -> str:
    """A website typed at a prompt, checked as the config will check it (asked again if
    it is not one)."""
    try:
        return check_web_url(value.strip())
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _warn_base_url(config: Config) -> None:
    for warning in base_url_warnings(config.site.base_url):
        _err(
            f"warning: {display_path(config.path)}: site.base_url {config.site.base_url}: {warning}"
        )


@cli.group()
def subscribers() -> None:
    """List, show, add, edit and remove subscribers (one file each in subscribers/)."""


def _refused(exc: ConfigErrors) -> NoReturn:
    for error in exc.errors:
        _err(f"error: {error}")
    sys.exit(EXIT_CONFIG)


@subscribers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def subscribers_list(obj: _Context, as_json: bool) -> None:
    """List every subscriber file: what it receives, or why it is skipped."""
    config = obj.config()
    rows = list_subscribers(config)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        if row["categories"] is not None:
            row["categories"] = ", ".join(row["categories"]) or "all"
    Console().print(
        _table(
            f"Subscribers ({display_path(config.subscribers_dir)})",
            rows,
            {"subscriber": "id", "name": "name", "site": "site_url", "categories": "categories",
             "content": "content", "limit": "limit", "problem": "error"},
        )
    )  # fmt: skip


@subscribers.command("show")
@click.argument("subscriber_id")
@click.pass_obj
def subscribers_show(obj: _Context, subscriber_id: str) -> None:
    """Print a subscriber's file, then its effective options (defaults filled in)."""
    try:
        click.echo(show_subscriber(obj.config(), subscriber_id), nl=False)
    except ConfigErrors as exc:
        _refused(exc)


@subscribers.command("add")
@click.argument("subscriber_id")
@click.option("--name", help="The church's or ministry's name (asked for on a terminal).")
@click.option("--site", "site_url", help="Its website, an http(s) URL (asked for on a terminal).")
@click.option(
    "--category",
    "categories",
    multiple=True,
    help="Only articles in this category; repeat for more (default: every category).",
)
@click.option("--limit", type=int, help="Items in the feeds and the widget, 1–100.")
@click.option("--content", help="full, excerpt or title.")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any other option, as for `subscribers edit`; repeatable (--set theme.mode=dark).",
)
@click.pass_obj
def subscribers_add(
    obj: _Context,
    subscriber_id: str,
    name: str | None,
    site_url: str | None,
    categories: tuple[str, ...],
    limit: int | None,
    content: str | None,
    assignments: tuple[str, ...],
) -> None:
    """Add a subscriber: write subscribers/SUBSCRIBER_ID.toml, validated first.

    SUBSCRIBER_ID (lower-case letters, digits, inner hyphens) becomes its folder and URLs,
    which never change once given out.
    """
    config = obj.config()
    if sys.stdin.isatty():
        name = name or click.prompt("Name")
        site_url = site_url or click.prompt("Website (http or https URL)", value_proc=_web_url)
    if name is None or site_url is None:
        raise click.UsageError("--name and --site are required (or run it on a terminal)")
    chosen = {"categories": list(categories) or None, "limit": limit, "content": content}
    try:
        options = parse_assignments(assignments)
        options.update((key, value) for key, value in chosen.items() if value is not None)
        file = add_subscriber(config, subscriber_id, name, site_url, options)
    except ConfigErrors as exc:
        _refused(exc)
    click.echo(f"added {subscriber_id} in {display_path(file)}; the next run publishes it")
    for warning in subscriber_warnings(config, subscriber_id):
        _err(f"warning: {warning}")


@subscribers.command("edit")
@click.argument("subscriber_id")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.pass_obj
def subscribers_edit(obj: _Context, subscriber_id: str, assignments: tuple[str, ...]) -> None:
    """Change options in a subscriber's file, keeping its comments and layout.

    VALUE is read as TOML when it is one (limit=5, utm=false,
    'categories=["Israel", "World News"]'), else as text (name="Grace Church" in the
    shell); one value of a list key is a list of one (categories=Israel);
    theme.accent=#aa0000 sets a key in [theme]; an empty VALUE (footer=) removes
    the key, so the default applies. Nothing is written unless the result is valid.
    """
    config = obj.config()
    try:
        changes = edit_subscriber(config, subscriber_id, assignments)
    except ConfigErrors as exc:
        _refused(exc)
    for change in changes:
        click.echo(f"{subscriber_id}: {change}")
    if not changes:
        click.echo(f"{subscriber_id}: nothing to change")
    for warning in subscriber_warnings(config, subscriber_id):
        _err(f"warning: {warning}")


@subscribers.command("remove")
@click.argument("subscriber_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def subscribers_remove(obj: _Context, subscriber_id: str, yes: bool) -> None:
    """Delete a subscriber's file; the next run removes its published outputs.

    Its feed and widget URLs then stop working on the church's site.
    """
    config = obj.config()
    try:
        file = subscriber_file(config, subscriber_id)
        if not yes:
            click.confirm(
                f"Remove {display_path(file)}? The next run deletes all its outputs.", abort=True
            )
        remove_subscriber(config, subscriber_id)
    except ConfigErrors as exc:
        _refused(exc)
    click.echo(f"removed {display_path(file)}; the next run retires its outputs")


def _subscriber(config: Config, subscriber_id: str) -> SubscriberConfig:
    for subscriber in config.subscribers:
        if subscriber.id == subscriber_id:
            return subscriber
    for problem in config.problems:
        if Path(problem.file).stem == subscriber_id:
            _err(f"error: {problem}")
            sys.exit(EXIT_CONFIG)
    known = ", ".join(s.id for s in config.subscribers) or "none"
    raise click.BadParameter(f"no subscriber {subscriber_id!r}; configured: {known}")


def _table(title: str, rows: list[dict[str, Any]], columns: dict[str, str]) -> Table:
    """Rows as a table whose first column (the id) is never cut short; a column with no
    value in any row (no problems, no errors) is left out, to leave the others room."""
    shown = {
        label: key
        for number, (label, key) in enumerate(columns.items())
        if number == 0 or any(row[key] is not None for row in rows)
    }
    table = Table(title=title)
    for number, column in enumerate(shown):
        table.add_column(column, no_wrap=number == 0, overflow="fold")
    for row in rows:
        table.add_row(*(Text(str(row[k] if row[k] is not None else "—")) for k in shown.values()))
    return table


def _run(config: Config, *, force: bool, only: set[str] | None, quiet: bool) -> RunReport:
    try:
        with RunLock(config.site.state_dir) as lock, _progress(quiet) as progress:
            if lock.stale_pid is not None:
                _err(
                    f"note: recovered the lock left by process {lock.stale_pid}, "
                    "which stopped without releasing it"
                )
            return run_once(config, datetime.now(UTC), force=force, only=only, progress=progress)
    except LockHeld as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_LOCKED)
    except StateUnusable as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_STATE)
    except SyndicatorError as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_PARTIAL)


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar over the subscribers, on a terminal only (never in cron mail)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("rendering", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _print_report(config: Config, report: RunReport, *, quiet: bool) -> None:
    for line in report_lines(config, report):
        if line.problem:
            _err(line.text)
        elif not quiet:
            click.echo(line.text)


def _err(message: str) -> None:
    click.echo(message, err=True)


def main() -> None:
    cli(prog_name="syndicator")
