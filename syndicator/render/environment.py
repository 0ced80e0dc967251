"""The one Jinja2 environment factory and the template error messages.

Every template renders with autoescape and `StrictUndefined`. Wherever an admin's override
can be loaded, everything renders in an immutable sandbox; the built-in templates alone are
our own code and render in a plain environment (the sandbox's checks on every attribute
and `str.format` cost a tenth of rendering). The loader chain is subscriber folder → site
folder → built-in templates, so an admin overrides one file without copying the rest.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import posixpath
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    nodes,
)
from jinja2.bccache import Bucket, BytecodeCache
from jinja2.filters import make_attrgetter
from jinja2.loaders import split_template_path
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
    safe_range,
)
from jinja2.utils import _PassArg, generate_lorem_ipsum
from markupsafe import Markup

from ..config import display_path
from ..errors import TemplateTimeout
from ..files import read_regular
from ..locales import SOURCE_LANGUAGE, translations
from . import bounds
from .cache import Bounded
from .views import safe_html


def builtin_templates(package: Path) -> Path:
    """The built-in templates' folder for the `syndicator` package at `package`: the
    checkout's top-level `templates/`, which an installed wheel carries inside the package
    (pyproject's hatch `force-include`)."""
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


BUILTIN_TEMPLATES = builtin_templates(Path(__file__).resolve().parent.parent)
SITE_TEMPLATES = "templates"  # beside syndicator.toml
TEMPLATE_SUFFIXES = (".html", ".xml", ".js", ".opml", ".css")
SUBSCRIBERS_FOLDER = "subscribers"  # in the site folder: one folder per subscriber
SUBSCRIBER_TEMPLATES = f"{SITE_TEMPLATES}/{SUBSCRIBERS_FOLDER}"  # then <subscriber-id>/


def template_chain(config_dir: Path, subscriber_id: str | None = None) -> tuple[Path, ...]:
    """The override folders that exist, most specific first (built-in not included). The
    site folder counts when it holds templates besides the subscribers' own folders."""
    site = config_dir / SITE_TEMPLATES
    folders = [site] if _has_site_templates(site) else []
    own = config_dir / SUBSCRIBER_TEMPLATES / subscriber_id if subscriber_id else None
    if own is not None and own.is_dir():
        folders.insert(0, own)
    return tuple(folders)


def _has_site_templates(site: Path) -> bool:
    """Whether the site folder holds a template outside the subscribers' own folders."""
    return next(_site_files(site), None) is not None


def _site_files(site: Path) -> Iterator[Path]:
    """The site folder's files outside the subscribers' own folders (which are not walked:
    there may be thousands), in a stable order."""
    for entry in sorted(site.iterdir()) if site.is_dir() else ():
        if entry.is_file():
            yield entry
        elif entry.is_dir() and entry.name != SUBSCRIBERS_FOLDER:
            yield from (path for path in sorted(entry.rglob("*")) if path.is_file())


VERDICTS_KEPT = 4096  # (class, attribute) pairs whose sandbox verdict is remembered
TEMPLATE_SECONDS = 20.0  # longest a sandboxed template may run for one subscriber's outputs
_deadline = threading.local()  # .until: when the sandboxed rendering under way must stop


@contextlib.contextmanager
def template_deadline(seconds: float | None = None) -> Iterator[None]:
    """Sandboxed templates rendered inside stop with a SecurityError after `seconds`
    (default `TEMPLATE_SECONDS`; checked as they loop, whatever over, and call functions,
    filters or macros), or once they have built `bounds.MAX_BUILT` bytes in all: a runaway
    override fails its subscriber instead of holding up the run and its lock."""
    previous = getattr(_deadline, "until", None)
    _deadline.until = time.monotonic() + (TEMPLATE_SECONDS if seconds is None else seconds)
    try:
        with bounds.one_render():
            yield
    finally:
        _deadline.until = previous


def _check_deadline() -> None:
    until = getattr(_deadline, "until", None)
    if until is not None and time.monotonic() > until:
        raise TemplateTimeout("template ran past its time limit: stopped")


def template_file(exc: BaseException) -> Path | None:
    """The template file whose code was running when `exc` was raised, if any."""
    where = _template_line(exc)
    return where[0] if where else None


def _template_line(exc: BaseException) -> tuple[Path, int] | None:
    for frame, line in reversed(list(traceback.walk_tb(exc.__traceback__))):
        filename = frame.f_code.co_filename
        if filename.endswith(TEMPLATE_SUFFIXES):
            return Path(filename), line
    return None


class _TimedRange(Sequence[int]):
    """The sandbox's `range`: jinja2's size-limited one, checking the deadline as it is
    iterated (nested loops over it are how a template runs for hours)."""

    def __init__(self, *args: int) -> None:
        self._range = safe_range(*args)

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: Any) -> Any:
        return self._range[index]

    def __iter__(self) -> Iterator[int]:
        for number, value in enumerate(self._range):
            if number % 1024 == 0:
                _check_deadline()
            yield value


TIMED_LOOP = "syndicator_timed_loop"  # the global every sandboxed {% for %} loops through


def _timed(iterable: Iterable[Any]) -> Iterator[Any]:
    """`iterable`, checking the deadline every 1,024 items."""
    for number, value in enumerate(iterable):
        if number % 1024 == 0:
            _check_deadline()
        yield value


PRINTABLE = "syndicator_printable"  # the global every sandboxed `~` operand goes through
_UNCHECKED_CALLS = frozenset({_timed, bounds.printable, bounds.charge})


class _Sandbox(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox, remembering its verdict on each (class, attribute),
    and bounding what a template may build (see `bounds`).

    jinja2 decides from the object's class (function, method, type, frame, mutable
    container…) and the attribute's name alone, yet worked it out again on every read:
    a sixth of all rendering time. The verdict itself is still jinja2's.
    """

    # `"x" * 10**9`, `9 ** 9 ** 9`, `s + s` in a loop or `"%999999999d" % 1` would exhaust
    # the memory or the time of the whole run; refused, they fail the subscriber whose
    # template asks for them.
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    concat = staticmethod(bounds.bounded_concat)  # every template, macro and block set
    template_class: type[Template]  # set below: `_BoundedTemplate`

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=bounds.printed, **options)
        self._verdicts: dict[tuple[type, type, str], bool] = {}
        self.globals["range"] = _TimedRange
        self.globals["lipsum"] = _lipsum
        self.globals[TIMED_LOOP] = _timed
        self.globals[PRINTABLE] = bounds.printable

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """The template's tree, every `{% for %}` looping over `_timed(...)` (a loop over a
        long string or list nested in another runs for days without calling anything),
        and every operand of `~` checked as printable, its result charged."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = _call(TIMED_LOOP, loop.iter)
        for concat in tree.find_all(nodes.Concat):
            concat.nodes = [_call(PRINTABLE, node) for node in concat.nodes]
        return tree

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_deadline()  # every function and macro call (recursion included)
        if __obj in _UNCHECKED_CALLS:
            return super().call(__context, __obj, *args, **kwargs)
        bounds.check_method(__obj, args, kwargs)
        return bounds.charge(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        bounds.check_binop(operator, left, right)
        return bounds.charge(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """jinja2's sandboxed `str.format` and `format_map`, with each field's width
        checked and the result stopped past `bounds.MAX_SIZE` as it is built."""
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) or (
            value.__name__ not in ("format", "format_map")
        ):
            return None
        owner = value.__self__
        if not isinstance(owner, str):
            return None
        formatter: SandboxedFormatter
        if isinstance(owner, Markup):
            formatter = _BoundedEscapeFormatter(self, escape=owner.escape)
        else:
            formatter = _BoundedFormatter(self)
        mapped = value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if mapped:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]  # type: ignore[misc]
            text = type(owner)(formatter.vformat(owner, args, kwargs))
            return bounds.charge(text)  # type: ignore[no-any-return]

        return functools.update_wrapper(wrapper, value)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), obj.__class__, attr)  # isinstance() consults both
        verdict = self._verdicts.get(key)
        if verdict is None:
            # Templates get views of plain values; a path reaching one (a config's folder)
            # would open the file system (read_text, write_text, unlink…) to it.
            verdict = not isinstance(obj, PurePath) and super().is_safe_attribute(obj, attr, value)
            if len(self._verdicts) < VERDICTS_KEPT:
                self._verdicts[key] = verdict
        return verdict


class _Loader(FileSystemLoader):
    """The folders' templates, read through `read_regular`: an override that is a FIFO, a
    device or over a megabyte fails its subscribers with the reason (rather than hanging
    the run, or being passed over for the built-in template without a word)."""

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # refuses `..`
        for folder in self.searchpath:
            filename = posixpath.join(folder, *pieces)
            if os.path.lexists(filename):
                break
        else:
            raise TemplateNotFound(template)
        try:
            source = read_regular(filename).decode("utf-8")
        except OSError as exc:
            raise TemplateError(
                f"template {display_path(Path(filename))}: {exc.strerror}"
            ) from None
        except UnicodeDecodeError as exc:
            raise TemplateError(
                f"template {display_path(Path(filename))}: not UTF-8 text (byte {exc.start})"
            ) from None
        return source, os.path.normpath(filename), lambda: False  # auto_reload is off


COMPILED_KEPT = 1024  # compiled templates shared by every environment (`_Compiled`)


class _Compiled(BytecodeCache):
    """Compiled templates, shared by every environment `make_environment` makes in this
    process. An environment is made per run, and the console's preview makes one per
    keystroke: compiling is nine tenths of rendering a small subscriber. The environment's
    kind is part of the key (the sandbox compiles its own checks into a template's code),
    and jinja2 compares the source's checksum, so an edited file is compiled again."""

    def __init__(self) -> None:
        self._codes: Bounded[tuple[str, str], types.CodeType] = Bounded(COMPILED_KEPT)
        self._lock = threading.Lock()  # the console renders previews beside a cycle

    def get_bucket(
        self, environment: Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        key = self.get_cache_key(f"{type(environment).__qualname__}:{name}", filename)
        bucket = Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            bucket.code = self._codes.get((bucket.key, bucket.checksum))

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            with self._lock:
                self._codes.put((bucket.key, bucket.checksum), bucket.code)


_COMPILED = _Compiled()


class _BoundedTemplate(Template):
    """A sandboxed template: what one `render` prints counts toward `bounds.MAX_OUTPUT`."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        with bounds.one_output():
            return super().render(*args, **kwargs)


_Sandbox.template_class = _BoundedTemplate


def _call(name: str, node: nodes.Node) -> nodes.Call:
    return nodes.Call(nodes.Name(name, "load"), [node], [], None, None)


class _Bounded:
    """A `str.format` formatter whose fields' widths are checked, and whose result stops
    past `bounds.MAX_SIZE` characters as fields are added."""

    _built = 0

    def vformat(self, format_string: str, args: Sequence[Any], kwargs: Any) -> str:
        self._built = len(format_string)
        return super().vformat(format_string, args, kwargs)  # type: ignore[misc,no-any-return]

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        bounds.printable(value)  # `!r` and `!s` print it before `format_field` sees it
        return super().convert_field(value, conversion)  # type: ignore[misc]

    def format_field(self, value: Any, format_spec: str) -> Any:
        bounds.check_format_spec(format_spec)
        bounds.printable(value)
        field = super().format_field(value, format_spec)  # type: ignore[misc]
        self._built += len(field)
        bounds.check_size(self._built, "a formatted string")
        return field


class _BoundedFormatter(_Bounded, SandboxedFormatter):
    pass


class _BoundedEscapeFormatter(_Bounded, SandboxedEscapeFormatter):
    pass


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` (the filter `name`) checked against the bounds before it runs, its
    result charged to the render, and the deadline checked at every call."""
    passes = _PassArg.from_obj(function) is not None  # a context or environment comes first

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_deadline()
        head, (value, *rest) = (args[:1], args[1:]) if passes else ((), args)
        if name in ("join", "sum"):  # an iterator is read once: here, for both
            owner = args[0]  # join is given the evaluation context, sum the environment
            env = owner if isinstance(owner, Environment) else owner.environment
            value = _checked_items(name, env, list(value), rest, kwargs)
        bounds.check_filter(name, value, tuple(rest), kwargs)
        return bounds.charge(function(*head, value, *rest, **kwargs))

    return bounded


def _checked_items(
    name: str, env: Environment, items: list[Any], rest: list[Any], kwargs: dict[str, Any]
) -> list[Any]:
    """`items`, once the `join` or `sum` filter they go to is checked on what it reads
    (`attribute` of each, when given)."""
    if name == "join":  # join(d="", attribute=None)
        other = rest[0] if rest else kwargs.get("d", "")
        attribute = rest[1] if len(rest) > 1 else kwargs.get("attribute")
    else:  # sum(attribute=None, start=0)
        attribute = rest[0] if rest else kwargs.get("attribute")
        other = rest[1] if len(rest) > 1 else kwargs.get("start", 0)
    read = items if attribute is None else list(map(make_attrgetter(env, attribute), items))
    if name == "join":
        bounds.check_join(read, other)
    else:
        bounds.check_sum(read, other)
    return items


_GETTEXT = ("gettext", "ngettext", "pgettext", "npgettext", "_")


def _bounded_gettext(function: Any) -> Callable[..., Any]:
    """A newstyle gettext function (it formats the message with `%`), its message and
    variables checked as `%` is (`_("%(a)s" * 99999, a=s)`)."""

    @functools.wraps(function)
    def bounded(context: Any, *messages: Any, **variables: Any) -> Any:
        for message in messages:
            if isinstance(message, str):
                bounds.check_percent(message, variables)
        return bounds.charge(function(context, *messages, **variables))

    return bounded


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """jinja2's `lipsum`, refusing more than `bounds.MAX_SIZE` characters' worth of words
    (`lipsum(100000)` took two minutes and 1.5 GB)."""
    for value in (n, min, max):
        bounds.check_count(value, "a number given to lipsum")
    bounds.check_size(n * max * 12, "lipsum text")  # a word and its space: under 12
    return bounds.charge(generate_lorem_ipsum(n, html, min, max))  # type: ignore[no-any-return]


# The iframe page's one script, for the auto-height iframe code (`embed_codes`): it tells
# the page around the frame how tall the widget is, whenever that changes (a narrower
# column, a story opened). The page's CSP allows it by its hash and nothing else; the
# iframe codes' sandbox lets scripts run (else Chromium logs every load as an error), in
# an opaque origin but for the auto-height code's. The height is no secret: any window
# may read it.
FRAME_SCRIPT = (
    "(function(){var d=document.documentElement,h=0;if(parent===window)return;"
    "new ResizeObserver(function(){var n=Math.ceil(d.getBoundingClientRect().height);"
    'if(n!==h){h=n;parent.postMessage({syndicator:"height",height:n},"*")}}).observe(d)})();'
)
FRAME_SCRIPT_HASH = (
    f"sha256-{base64.b64encode(hashlib.sha256(FRAME_SCRIPT.encode()).digest()).decode()}"
)


def make_environment(
    overrides: Sequence[Path] = (), language: str = SOURCE_LANGUAGE
) -> Environment:
    """An environment whose loader looks in `overrides` first, then built-ins: sandboxed
    whenever there is an override folder, plain for the built-in templates alone. Its
    templates' words (`_`, `gettext`) are in `language` (a valid tag)."""
    kind = _Sandbox if overrides else Environment
    env = kind(
        loader=_Loader([*overrides, BUILTIN_TEMPLATES]),
        extensions=["jinja2.ext.i18n"],
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        bytecode_cache=_COMPILED,
    )
    env.filters["safe_html"] = safe_html
    env.filters["js_data"] = js_data
    env.globals["frame_script"] = Markup(FRAME_SCRIPT)  # noqa: S704 - our own constant
    env.globals["frame_script_hash"] = FRAME_SCRIPT_HASH
    env.policies["json.dumps_kwargs"] = {"sort_keys": True}  # ASCII: see `js_data`
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    if kind is _Sandbox:
        env.filters = {name: _bounded_filter(name, f) for name, f in env.filters.items()}
        for name in _GETTEXT:
            if name in env.globals:
                env.globals[name] = _bounded_gettext(env.globals[name])
    return env


def js_data(value: Any) -> Markup:
    """`value` as a JavaScript literal for a .js file: compact JSON, without `tojson`'s
    HTML escaping of every `<`, `>`, `&` and `'` (the embed's items are HTML, and it is
    downloaded by every visitor). Still safe if the text is ever put inside a <script>
    element: `</` and `<!` are escaped, and so are U+2028/U+2029 for older engines.
    Pure ASCII (`\\u00df` for ß): a script served without a charset is read in the host
    page's encoding, and in Shift_JIS or GBK a UTF-8 byte can swallow the `\\` before a
    quote, ending the string early and running the rest of the article as code.

    A `ScriptData` comes with its literal made already (from pieces made by this function)."""
    if isinstance(value, ScriptData):
        return value.literal
    return Markup(_script_safe(_json(value)))  # noqa: S704 - JSON text, escaped for a script


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _script_safe(text: str) -> str:
    for raw, escaped in (
        ("</", "<\\/"),
        ("<!", "\\u003c!"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def js_string_body(text: str) -> str:
    """What `js_data` makes of the string `text`, without its quotes. Escaping is one
    character at a time but for `</` and `<!`: pieces made by this function join into the
    body of their concatenation unless one ends with `<` (`ScriptData` checks)."""
    return _script_safe(json.dumps(text)[1:-1])


class ScriptData(dict[str, Any]):
    """A dict for `js_data` whose literal is made already: its members' literals (made
    by `js_data`, or from `js_string_body` pieces) in `js_data`'s key order. The dict itself
    holds the same members, for templates that read them (`data.stories`)."""

    def __init__(self, members: dict[str, Any], literal: Markup) -> None:
        super().__init__(members)
        self.literal = literal

    @classmethod
    def of(cls, members: dict[str, Any], literals: dict[str, str]) -> ScriptData:
        """`members`, with the literal made of their `literals`."""
        literal = "{" + ",".join(f"{_key(key)}:{literals[key]}" for key in sorted(members)) + "}"
        return cls(members, Markup(literal))  # noqa: S704 - made of js_data literals


@functools.lru_cache(maxsize=256)
def _key(name: str) -> str:
    return _script_safe(_json(name))


def overrides_fingerprint(folders: Sequence[Path], *, site: bool = False) -> str:
    """A digest of every override template's name and bytes: edits re-render. For the
    `site` folder, the subscribers' own folders are left out: editing one subscriber's
    template re-renders that subscriber only."""
    digest = hashlib.sha256()
    for folder in folders:
        files = _site_files(folder) if site else sorted(folder.rglob("*"))
        for path in files:
            if path.is_file():
                digest.update(str(path.relative_to(folder)).encode() + b"\0")
                digest.update(_template_bytes(path) + b"\0")
    return digest.hexdigest()


def _template_bytes(path: Path) -> bytes:
    """The file's bytes as the loader would read them; what stops it (a file past the
    size cap) stands in, so the loader, not the digest, reads and refuses a huge file."""
    try:
        return read_regular(path)
    except OSError as exc:
        return f"unreadable: {exc.strerror}".encode()


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """Why an override template does not compile, and where."""

    message: str  # as `describe` words it: 'template X line N: what'
    line: int | None  # 1-based; None when the file could not be read at all
    text: str | None  # that line of the file, as written


@dataclass(frozen=True, slots=True)
class Override:
    """One admin's template file: what it overrides and for whom."""

    name: str  # the template it stands for, relative to its folder ("_item.html")
    path: Path
    owner: str | None  # the subscriber whose own folder holds it; None: site-wide
    affects: tuple[str, ...]  # the subscribers that render this file, not another
    problem: TemplateProblem | None  # None: it compiles


def overrides(config_dir: Path, subscriber_ids: Sequence[str]) -> list[Override]:
    """Every override template, site-wide first, then each subscriber folder's, each
    compiled in the sandbox it renders in. Errors that only show when rendering are found
    by `run`."""
    site = config_dir / SITE_TEMPLATES
    own_root = config_dir / SUBSCRIBER_TEMPLATES
    known = set(subscriber_ids)
    own = {
        folder.name: _names(folder)
        for folder in (sorted(own_root.iterdir()) if own_root.is_dir() else ())
        if folder.is_dir()
    }
    found = []
    if _has_site_templates(site):
        env = make_environment((site,))
        for path in _site_files(site):
            name = path.relative_to(site).as_posix()
            affects = tuple(i for i in subscriber_ids if name not in own.get(i, {}))
            found.append(Override(name, path, None, affects, _problem(env, name, path)))
    for owner, names in own.items():
        env = make_environment(template_chain(config_dir, owner))
        affects = (owner,) if owner in known else ()
        for name, path in names.items():
            found.append(Override(name, path, owner, affects, _problem(env, name, path)))
    return found


def _names(folder: Path) -> dict[str, Path]:
    return {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _problem(env: Environment, name: str, path: Path) -> TemplateProblem | None:
    try:
        env.get_template(name)
    except TemplateError as exc:  # syntax, or a file that cannot be read
        line = exc.lineno if isinstance(exc, TemplateSyntaxError) else None
        text = None
        if line is not None:
            with contextlib.suppress(OSError, IndexError):
                text = read_regular(path).decode("utf-8", "replace").splitlines()[line - 1]
        return TemplateProblem(describe(exc), line, text)
    return None


def check_templates(config_dir: Path, subscriber_ids: Sequence[str]) -> list[str]:
    """One message per override template (site-wide and each subscriber's) that does not
    compile. Errors that only show when rendering are found by `run`."""
    return [
        (f"subscriber {found.owner}: " if found.owner else "") + found.problem.message
        for found in overrides(config_dir, subscriber_ids)
        if found.problem is not None and (found.owner is None or found.affects)
    ]


def describe(exc: Exception) -> str:
    """'template X line N: what' for a template error, from the error or its traceback."""
    if isinstance(exc, TemplateSyntaxError):
        where = exc.filename or exc.name or "?"
        return f"template {display_path(Path(where))} line {exc.lineno}: {exc.message}"
    if found := _template_line(exc):
        return f"template {display_path(found[0])} line {found[1]}: {_what(exc)}"
    return _what(exc)


def _what(exc: Exception) -> str:
    if isinstance(exc, TemplateError):
        return exc.message or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"
