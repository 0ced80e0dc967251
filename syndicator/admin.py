"""Subscriber administration: list, show, add, edit and remove `subscribers/<id>.toml`.

Files are edited with tomlkit, so comments, blank lines and key order survive. Every
change is checked by the config loader itself (`load_subscriber` on the new bytes, over the
main file's `[defaults]`) before anything is written, and the write is atomic: a refused or
failed change leaves the file exactly as it was. Every problem is raised as `ConfigErrors`
naming the file (or the argument) and the key.
"""

from __future__ import annotations

import hashlib
import re
import stat
import tempfile
import threading
import typing
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import ConvertError, ParseError
from tomlkit.items import Item

from .config import (
    SUBSCRIBERS_DIR,
    Config,
    SubscriberConfig,
    SubscriberOptions,
    display_path,
    load_subscriber,
    validate_subscriber_id,
)
from .errors import ConfigError, ConfigErrors, StaleEdit, StoreError
from .files import read_regular
from .locales import has_words, word_languages
from .models import SubscriberReport
from .publish import write_atomic
from .render.views import footer_text
from .select import unknown_categories
from .store import Store

# The order `add_subscriber` writes keys in: the required ones, then as documented.
KEY_ORDER = ("name", "site_url", *SubscriberOptions.model_fields)
LIST_COLUMNS = (
    "id", "name", "site_url", "categories", "content", "limit", "outputs", "file", "error",
)  # fmt: skip
# Keys whose value is a list: one value given alone is a list of one (`categories=Israel`).
LIST_KEYS = frozenset(
    name
    for name, field in SubscriberConfig.model_fields.items()
    if typing.get_origin(field.annotation) in {tuple, list}
)
MAX_LISTED = 20  # categories named in a warning; more are left to `status`
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_NOT_SET = "is not set in this file, so there is nothing to remove"
_EXAMPLES = "e.g. limit=5, name=Grace Church, theme.accent=#aa0000, or footer= to remove"
# Read, compare, write: one edit at a time in this process (the console's threads), so two
# saves made from the same version cannot both pass the version check.
_EDITING = threading.Lock()


@dataclass(frozen=True, slots=True)
class Change:
    """One key `edit_subscriber` changed; None means not set (the defaults apply)."""

    key: str
    old: Any
    new: Any

    def __str__(self) -> str:
        if self.new is None:
            return f"{self.key}: removed (was {_toml(self.old)}); the default applies"
        if self.old is None:
            return f"{self.key}: set to {_toml(self.new)}"
        return f"{self.key}: {_toml(self.old)} → {_toml(self.new)}"


def list_subscribers(config: Config) -> list[dict[str, Any]]:
    """One row per subscriber file, by id, valid or not: `id`, `name`, `site_url`,
    `categories` ([] = every category), `content`, `limit`, `outputs` (how many), `file`,
    and `error` (None, or why the file is skipped; the other values are then None)."""
    rows = [
        {
            "id": subscriber.id,
            "name": subscriber.name,
            "site_url": subscriber.site_url,
            "categories": list(subscriber.categories),
            "content": subscriber.content,
            "limit": subscriber.limit,
            "outputs": len(subscriber.outputs),
            "file": display_path(_path(config, subscriber.id)),
            "error": None,
        }
        for subscriber in config.subscribers
    ]
    broken: dict[str, list[str]] = {}
    for problem in config.problems:
        broken.setdefault(problem.file, []).append(_key_message(problem))
    for file, messages in broken.items():
        row = dict.fromkeys(LIST_COLUMNS)
        rows.append({**row, "id": Path(file).stem, "file": file, "error": "; ".join(messages)})
    return sorted(rows, key=lambda row: str(row["id"]))


def stored_categories(config: Config) -> dict[str, int] | None:
    """Each category of the stored articles (not removed upstream) with how many carry it;
    None before the first run, or when the database cannot be read. Never creates it."""
    if not config.database_path.exists():
        return None
    try:
        with Store(config.database_path) as store:
            return store.category_counts()
    except StoreError:
        return None  # `status` and `run` say what is wrong with it


def category_warnings(
    config: Config, subscribers: Iterable[SubscriberConfig], known: Mapping[str, int] | None
) -> list[str]:
    """One line per category a subscriber names that no stored article is in, with the
    closest one, then a line naming the stored categories; nothing when nothing is stored
    yet (`known` is None or empty) or every name is known."""
    if not known:
        return []
    warnings = []
    for subscriber in subscribers:
        for key, name, close in unknown_categories(subscriber, known):
            effect = "adds nothing to" if key == "categories" else "keeps nothing out of"
            hint = f"; did you mean {close!r}?" if close else ""
            warnings.append(
                f"{display_path(_path(config, subscriber.id))}: {key}: no stored article is "
                f"in {name!r}, so it {effect} the selection for now{hint}"
            )
    if warnings:
        names = sorted(known, key=str.casefold)
        shown = ", ".join(names[:MAX_LISTED])
        more = (
            f" and {len(names) - MAX_LISTED} more (`syndicator status`)"
            if len(names) > MAX_LISTED
            else ""
        )
        warnings.append(f"the stored articles' categories: {shown}{more}")
    return warnings


def language_warnings(subscribers: Iterable[SubscriberConfig]) -> list[str]:
    """One line per language that subscribers name and the outputs' words have no catalog
    in (`locales.has_words`), naming them: their words fall back to English."""
    missing: dict[str, list[str]] = {}
    for subscriber in subscribers:
        if not has_words(subscriber.language):
            missing.setdefault(subscriber.language, []).append(subscriber.id)
    have = ", ".join(word_languages())
    warnings = []
    for language, ids in sorted(missing.items()):
        named = ", ".join(ids[:MAX_LISTED]) + (
            f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else ""
        )
        warnings.append(
            f"language {language!r} (subscriber {named}): the outputs' words are not translated "
            f"into it yet, so they are in English (dates and lang are {language!r}); "
            f"the words exist in {have}"
        )
    return warnings


def empty_selection_warnings(config: Config, reports: Iterable[SubscriberReport]) -> list[str]:
    """One line per subscriber whose lists show no story (its widget is empty), saying
    what it selects; then `category_warnings` for them (a misspelt category, say)."""
    empty = {report.subscriber_id for report in reports if report.items == 0}
    subscribers = [subscriber for subscriber in config.subscribers if subscriber.id in empty]
    lines = [
        f"subscriber {subscriber.id}: lists no story ({_selection(subscriber)}): "
        "its feeds and widget are empty"
        for subscriber in subscribers
    ]
    if lines:
        lines += category_warnings(config, subscribers, stored_categories(config))
    return lines


def _selection(subscriber: SubscriberConfig) -> str:
    """What a subscriber's options keep, as `key: values` (nothing: every story)."""
    chosen = [
        f"{key}: {', '.join(values)}"
        for key in ("categories", "exclude_categories", "keywords", "exclude_keywords")
        if (values := getattr(subscriber, key))
    ]
    if subscriber.max_age_days is not None:
        chosen.append(f"max_age_days: {subscriber.max_age_days}")
    return "; ".join(chosen) or "no story is stored yet"


def stray_files(config: Config) -> list[str]:
    """Files in subscribers/ that look meant as subscriber files but are not read, since
    only names ending in exactly `.toml` are (`Grace.TOML`, `grace.toml.txt`; a backup
    such as `grace.toml~` is left alone)."""
    try:
        names = sorted(path.name for path in config.subscribers_dir.iterdir())
    except OSError:
        return []
    return [
        f"{display_path(config.subscribers_dir / name)}: not read: subscriber files are "
        f"named ID.toml (lower-case .toml at the end)"
        for name in names
        if name.lower().endswith((".toml", ".toml.txt")) and not name.endswith(".toml")
    ]


def output_folder_warnings(config: Config) -> list[str]:
    """The output folder is writable by other users (without the sticky bit): they can
    change what churches embed, and by swapping a subscriber's folder for a link while a
    publish runs, make it write its files outside the output folder (pruning goes through
    open folder handles and cannot be led out; writing checks each folder once, then goes
    by path). Keep others out."""
    folder = config.site.output_dir
    try:
        mode = folder.stat().st_mode
    except OSError:
        return []  # not made yet: `run` makes it, writable by its owner only
    if not mode & (stat.S_IWGRP | stat.S_IWOTH) or mode & stat.S_ISVTX:
        return []
    who = "everyone" if mode & stat.S_IWOTH else "its group"
    return [
        f"{display_path(folder)}: output_dir is writable by {who}: whoever can write there "
        f"can change what churches embed, and could make a publish write its files outside "
        f"it; let only the user who runs Syndicator write there (chmod go-w)"
    ]


def subscriber_warnings(config: Config, subscriber_id: str) -> list[str]:
    """`category_warnings` and `language_warnings` for one subscriber, read from its file
    as it is now."""
    subscriber = load_subscriber(_path(config, subscriber_id), _defaults(config))
    known = stored_categories(config)
    return [*category_warnings(config, [subscriber], known), *language_warnings([subscriber])]


def show_subscriber(config: Config, subscriber_id: str) -> str:
    """The subscriber's file as written, then its effective options (the file over the main
    file's `[defaults]` over the built-in defaults) as TOML, or why the file is invalid."""
    file = subscriber_file(config, subscriber_id)
    text = _read(file)
    if not text.endswith("\n"):
        text += "\n"
    text = f"# {display_path(file)}\n{text}\n"
    try:
        subscriber = load_subscriber(file, _defaults(config))
    except ConfigErrors as exc:
        problems = "".join(f"#   {_key_message(error)}\n" for error in exc.errors)
        return f"{text}# Invalid, so every run skips it:\n{problems}"
    options = subscriber.model_dump(mode="json", exclude={"id"}, exclude_none=True)
    options["footer"] = footer_text(subscriber)  # the default one spelt out
    effective = {key: options[key] for key in KEY_ORDER if key in options}
    return (
        f"{text}# Effective options (this file over [defaults] in {config.path.name}, "
        f"then the built-in defaults):\n{tomlkit.dumps(effective)}"
    )


def add_subscriber(
    config: Config,
    subscriber_id: str,
    name: str,
    site_url: str,
    options: Mapping[str, Any] | None = None,
) -> Path:
    """Write a new `subscribers/<id>.toml` and return its path.

    `options` maps keys to values (None: leave unset); keys may be dotted (`theme.mode`) or
    a table may be given whole (`theme={...}`). The file is validated before it is written;
    an existing id, a bad id or an invalid value raises `ConfigErrors` and writes nothing.
    """
    file = check_new_id(config, subscriber_id)
    document = tomlkit.document()
    document.add(tomlkit.comment(_one_line(name) or subscriber_id))
    document.add(tomlkit.comment(f"Keys not set here come from [defaults] in {config.path.name}."))
    values = {**(options or {}), "name": name, "site_url": site_url}
    for key in sorted(values, key=_rank):
        if values[key] is not None:
            _assign(document, file, key, values[key])
    _save(config, file, document.as_string())
    return file


def check_new_id(config: Config, subscriber_id: str) -> Path:
    """The file a new subscriber `subscriber_id` would have; `ConfigErrors` when the id is
    not valid (naming the id to use) or is taken."""
    file = _path(config, subscriber_id)
    if file.exists() or file.is_symlink():
        _fail(file, None, f"subscriber {subscriber_id!r} already exists; edit it or remove it")
    return file


@dataclass(frozen=True, slots=True)
class SubscriberFile:
    """A subscriber's file as it is now, for a form to start from."""

    path: Path
    version: str  # `file_version` of its bytes: a save made from them says so
    values: dict[str, Any]  # what the file sets, dotted inside tables ("theme.accent")


def read_subscriber(config: Config, subscriber_id: str) -> SubscriberFile:
    """A subscriber's file, its version and the keys it sets; `ConfigErrors` when there is
    none, or it is not TOML (then only an editor can fix it)."""
    file = subscriber_file(config, subscriber_id)
    data = _read_bytes(file)
    document = _parse(file, data)
    return SubscriberFile(file, file_version(data), dict(_flatten(document.unwrap())))


def file_version(data: bytes) -> str:
    """A file's version: the SHA-256 of its bytes, in hex."""
    return hashlib.sha256(data).hexdigest()


def edit_subscriber(config: Config, subscriber_id: str, assignments: Sequence[str]) -> list[Change]:
    """Apply `KEY=VALUE` assignments (see `parse_assignments`) to a subscriber's file and
    return what changed, as `update_subscriber` does."""
    return update_subscriber(config, subscriber_id, parse_assignments(assignments))


def update_subscriber(
    config: Config, subscriber_id: str, values: Mapping[str, Any], version: str | None = None
) -> list[Change]:
    """Set each key of `values` (dotted inside tables; None removes it) in a subscriber's
    file and return what changed. Comments, blank lines and key order are kept; the result
    is validated before it is written (a file that is already invalid can be fixed this
    way), and nothing is written when nothing changed.

    With `version` (from `read_subscriber`), a file changed since then is left alone and
    `StaleEdit` raised: a later save never silently overwrites an earlier one."""
    file = subscriber_file(config, subscriber_id)
    with _EDITING:
        data = _read_bytes(file)
        if version is not None and file_version(data) != version:
            raise StaleEdit(display_path(file))
        document = _parse(file, data)
        changes = []
        for key, new in values.items():
            old = _current(document, key)
            if old is not None and type(old) is type(new) and old == new:
                continue
            _assign(document, file, key, new)
            changes.append(Change(key, old, new))
        if changes:
            _save(config, file, document.as_string())
    return changes


def remove_subscriber(config: Config, subscriber_id: str) -> Path:
    """Delete the subscriber's file and return its path; the next run retires its outputs.
    The request it came from on /join goes too (its contact email, its private link)."""
    file = subscriber_file(config, subscriber_id)
    try:
        file.unlink()
    except OSError as exc:
        _fail(file, None, f"cannot remove: {exc.strerror or exc}")
    if config.database_path.exists():
        try:
            with Store(config.database_path) as store:
                store.forget_join_request_of(subscriber_id)
        except StoreError:
            pass  # the file is gone: its link stops working anyway (`web.join`)
    return file


def subscriber_file(config: Config, subscriber_id: str) -> Path:
    """The file of an existing subscriber, valid or not; `ConfigErrors` for a bad id or one
    without a file (naming the ids there are)."""
    file = _path(config, subscriber_id)
    if not file.is_file():
        known = ", ".join(sorted(f.stem for f in config.subscribers_dir.glob("*.toml"))) or "none"
        _fail(file, None, f"no such subscriber; the {SUBSCRIBERS_DIR} folder has: {known}")
    return file


def parse_assignments(assignments: Iterable[str]) -> dict[str, Any]:
    """`KEY=VALUE` arguments as {key: value}. VALUE is read as TOML when it is one
    (`limit=5`, `utm=false`, `categories=["Israel", "World News"]`), else as text
    (`name=Grace Church`, `theme.accent=#aa0000`); one text given to a list key is a list
    of one (`categories=Israel`); an empty VALUE is None, which removes the key. KEY may
    be dotted (`theme.mode=dark`). The last assignment of a key wins."""
    values: dict[str, Any] = {}
    for assignment in assignments:
        key, equals, raw = (part.strip() for part in assignment.partition("="))
        if not equals or not all(_BARE_KEY.fullmatch(part) for part in key.split(".")):
            _fail("argument", None, f"{assignment!r} is not KEY=VALUE ({_EXAMPLES})")
        values[key] = parse_value(key, raw)
    return values


def parse_value(key: str, raw: str) -> Any:
    """One VALUE of `KEY=VALUE` as `parse_assignments` reads it."""
    value = _read_value(key, raw)
    return [value] if key in LIST_KEYS and isinstance(value, str) else value


def _read_value(key: str, raw: str) -> Any:
    if not raw:
        return None
    try:
        return tomlkit.value(raw).unwrap()
    except ValueError:  # tomlkit's ParseError, or a date out of range
        if raw[0] in "[{\"'":  # meant as TOML: text would only hide the mistake
            closing = {"[": "]", "{": "}"}.get(raw[0], raw[0])
            hint = (
                f"it does not end with {closing!r}"
                if not raw.rstrip().endswith(closing)
                else "put each text in double quotes, items apart with commas: "
                '["Israel", "World News"]'
            )
            _fail("argument", key, f"not a valid TOML value: {raw} ({hint})")
        return raw


def _assign(document: MutableMapping[str, Any], file: Path, key: str, value: Any) -> None:
    """Set `key` (dotted: inside tables, created as needed) to `value`; None removes it."""
    *parents, last = key.split(".")
    if key == "id" and value is not None:
        _fail(file, "id", "cannot be set: a subscriber's id is its file name, and never changes")
    table = document
    for depth, part in enumerate(parents):
        if part not in table:
            if value is None:
                _fail(file, key, _NOT_SET)
            table[part] = tomlkit.table()
        elif not isinstance(table[part], MutableMapping):
            _fail(file, ".".join(parents[: depth + 1]), "is not a table, so it has no keys")
        table = table[part]
    if value is None:
        if last not in table:
            _fail(file, key, _NOT_SET)
        del table[last]
        return
    try:
        table[last] = tomlkit.item(value)
    except ConvertError:
        _fail(file, key, f"cannot be written as TOML: {value!r}")


def _current(document: Container, key: str) -> Any:
    node: Any = document
    for part in key.split("."):
        if not isinstance(node, MutableMapping) or part not in node:
            return None
        node = node[part]
    return node.unwrap() if isinstance(node, Item | Container) else node


def _save(config: Config, file: Path, text: str) -> None:
    data = text.encode()
    _validate(config, file, data)
    try:
        # A linked file is edited where it lives (the link stays), keeping its permissions.
        target = file.resolve() if file.is_symlink() else file
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
        write_atomic(target, data, mode=mode)
    except OSError as exc:
        _fail(file, None, f"cannot write: {exc.strerror or exc}")


def _validate(config: Config, file: Path, data: bytes) -> None:
    """Run the loader itself on `data` as if it were `file`. It reads files, so the bytes go
    to a scratch folder first; its problems are reported under the real file's name."""
    with tempfile.TemporaryDirectory(prefix="syndicator-") as scratch:
        candidate = Path(scratch) / file.name
        candidate.write_bytes(data)
        try:
            load_subscriber(candidate, _defaults(config))
        except ConfigErrors as exc:
            shown = display_path(file)
            errors = [ConfigError(shown, error.key, error.message) for error in exc.errors]
            raise ConfigErrors(errors) from None


def _defaults(config: Config) -> dict[str, Any]:
    # What the main file's [defaults] set, as load_config passes it to load_subscriber.
    return config.defaults.model_dump(exclude_unset=True)


def _path(config: Config, subscriber_id: str) -> Path:
    try:
        validate_subscriber_id(subscriber_id)
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    return config.subscribers_dir / f"{subscriber_id}.toml"


def _read(file: Path) -> str:
    return _decode(file, _read_bytes(file))


def _read_bytes(file: Path) -> bytes:
    try:
        return read_regular(file)
    except OSError as exc:
        _fail(file, None, f"cannot read: {exc.strerror or exc}")


def _decode(file: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        _fail(file, None, "not UTF-8 text; TOML files must be UTF-8")


def _parse(file: Path, data: bytes) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(_decode(file, data))
    except ParseError as exc:
        _fail(file, None, f"invalid TOML: {exc}; fix it in an editor first")


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in table.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _rank(key: str) -> int:
    head = key.split(".")[0]
    return KEY_ORDER.index(head) if head in KEY_ORDER else len(KEY_ORDER)


def _toml(value: Any) -> str:
    if isinstance(value, Mapping):  # a whole table, shown on one line
        table = tomlkit.inline_table()
        table.update(value)
        return table.as_string()
    text: str = tomlkit.item(value).as_string()
    return text


def _one_line(text: str) -> str:
    # A comment must stay one line of printable characters, whatever the name holds: the
    # name's own problems are for validation to report.
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _key_message(error: ConfigError) -> str:
    return f"{error.key}: {error.message}" if error.key else error.message


def _fail(where: Path | str, key: str | None, message: str) -> NoReturn:
    shown = display_path(where) if isinstance(where, Path) else where
    raise ConfigErrors([ConfigError(shown, key, message)])
