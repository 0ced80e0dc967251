"""How much a sandboxed template may build: the size checks of the sandbox in `environment`.

An override template is an admin's code. Without bounds, one expression holds the whole
run for minutes and gigabytes (`((9 ** 1000) ** 1000) ** 1000`, `"x"|center(10 ** 9)`,
`lipsum(100000)`), and a loop that builds a little at a time gets there too. Three rules,
each checked before the work where the work is large, so that any template fails its own
subscribers within the time limit and a few hundred MB:

- one value: no operation builds a string, list or number longer than `MAX_SIZE`
  characters or items (`MAX_INT_BITS` bits), and nothing longer is printed (a list is
  printed as its `repr`). Widths, counts and repetitions are checked before the work.
- one output: what a template prints for one output file (its includes and macros
  counted as they print) stops past `MAX_OUTPUT` characters, as it is printed; so does
  any one template's, macro's or block's joined output.
- one render: what every operation built, every output included, is charged to the
  render in bytes; past `MAX_BUILT` it stops (a loop that builds a bounded value a
  million times, or keeps what it built).
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from collections.abc import Generator, Iterable, Iterator
from typing import Any

from jinja2.utils import Namespace
from markupsafe import Markup, escape

from ..errors import TooBig

MAX_SIZE = 1_000_000  # longest string or list (printed, for lists) one operation may make
MAX_INT_BITS = 100_000  # largest number (30,103 digits) arithmetic may make
MAX_OUTPUT = 16 * 1024 * 1024  # characters of one template's output (a real page: < 1 MB)
MAX_BUILT = 128 * 1024 * 1024  # bytes all operations of one render may build in all

COPY_WORK = 10**9  # characters or items one filter may copy over and over (a second or so)
# .left: bytes the render under way may still build (`one_render`); .output_left:
# characters the output under way may still print (`one_output`).
_budget = threading.local()


@contextlib.contextmanager
def _budgeted(name: str, amount: int) -> Iterator[None]:
    """`_budget.<name>` is `amount` inside, and what it was before after (they nest)."""
    previous = getattr(_budget, name, None)
    setattr(_budget, name, amount)
    try:
        yield
    finally:
        setattr(_budget, name, previous)


def one_render() -> contextlib.AbstractContextManager[None]:
    """What is built inside (by `charge`) counts toward one render's `MAX_BUILT`."""
    return _budgeted("left", MAX_BUILT)


def charge(value: Any) -> Any:
    """`value`, its bytes charged to the render under way; past its budget, `TooBig`."""
    left: int | None = getattr(_budget, "left", None)
    if left is not None and isinstance(value, (str, bytes, list, tuple, dict)):
        left -= _built_size(value)
        _budget.left = left
        if left < 0:
            raise TooBig(f"the template built more than {MAX_BUILT // 2**20} MB: stopped")
    return value


def _built_size(value: str | bytes | list[Any] | tuple[Any, ...] | dict[Any, Any]) -> int:
    """The bytes of `value` and of its members, each counted once: `"€" * 10 ** 6 | list`
    makes a million new strings (76 MB) for 8 MB of list."""
    size = sys.getsizeof(value)
    if isinstance(value, (str, bytes)):
        return size
    members = [*value.keys(), *value.values()] if isinstance(value, dict) else value
    seen = set()
    for member in members:
        if id(member) not in seen:
            seen.add(id(member))
            size += sys.getsizeof(member)
    return size


def too_long(what: str) -> TooBig:
    return TooBig(f"{what} longer than {MAX_SIZE:,} characters or items refused")


def check_size(size: int, what: str = "a value") -> None:
    if size > MAX_SIZE:
        raise too_long(what)


def check_count(value: Any, what: str) -> None:
    """A width, count or length argument: a number up to `MAX_SIZE`."""
    if isinstance(value, int) and abs(value) > MAX_SIZE:
        raise TooBig(f"{what} over {MAX_SIZE:,} refused")


def printed_size(value: Any, budget: int = MAX_SIZE) -> int:
    """About how many characters `str(value)` makes, counted only up to past `budget`
    (a list of a million references to a long string is small, printed it is not)."""
    size = 0
    pending = [value]
    while pending and size <= budget:
        item = pending.pop()
        if isinstance(item, (str, bytes)):
            size += len(item)
        elif isinstance(item, bool) or item is None:
            size += 5
        elif isinstance(item, int):
            size += item.bit_length() * 30103 // 100000 + 2
        elif isinstance(item, dict):
            size += 2 + 4 * len(item)
            if size <= budget:
                pending.extend(item.keys())
                pending.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            size += 2 + 2 * len(item)
            if size <= budget:
                pending.extend(item)
        elif isinstance(item, Namespace):
            size += 12
            pending.append(item._Namespace__attrs)
        else:  # our views, macros, loop objects: their own text, not something built
            size += len(repr(item))
    return size


def printable(value: Any, what: str = "a value printed") -> Any:
    """`value`, unless printing it would make more than `MAX_SIZE` characters."""
    check_size(printed_size(value), what)
    return value


def one_output() -> contextlib.AbstractContextManager[None]:
    """What is printed inside (by `printed`) counts toward one output's `MAX_OUTPUT`."""
    return _budgeted("output_left", MAX_OUTPUT)


def printed(value: Any) -> Any:
    """`value`, printed by a template (the sandbox's `finalize`): at most `MAX_SIZE`
    characters, counted toward its output's `MAX_OUTPUT` (so that the template printing
    too much is the one named, even when it is included in another)."""
    size = printed_size(value)
    check_size(size, "a value printed")
    left: int | None = getattr(_budget, "output_left", None)
    if left is not None:
        _budget.output_left = left = left - size
        if left < 0:
            raise _output_too_long()
    return value


def _output_too_long() -> TooBig:
    return TooBig(f"output longer than {MAX_OUTPUT:,} characters: stopped")


def bounded_concat(pieces: Iterable[str]) -> str:
    """`"".join(pieces)`, stopping past `MAX_OUTPUT` characters (the sandbox's
    `Environment.concat`: every template, macro and block set joins its output with it;
    this catches the template text a loop repeats, which is not printed by `printed`)."""
    kept = []
    size = 0
    for piece in pieces:
        size += len(piece)
        if size > MAX_OUTPUT:
            error = _output_too_long()
            if isinstance(pieces, Generator):  # raised where the template is, to name it
                pieces.throw(error)
            raise error
        kept.append(piece)
    return charge("".join(kept))  # type: ignore[no-any-return]


# --- operators ---------------------------------------------------------------------------


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `left operator right` when its result would be past the bounds."""
    if operator == "**":
        numbers = _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1
        if numbers and left.bit_length() * right > MAX_INT_BITS:
            raise TooBig(f"a power of more than {MAX_INT_BITS:,} bits refused")
    elif operator == "*":
        numbers = _is_int(left) and _is_int(right)
        if numbers and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TooBig(f"a product of more than {MAX_INT_BITS:,} bits refused")
        for sequence, times in ((left, right), (right, left)):
            if _is_sized(sequence) and _is_int(times):
                check_size(len(sequence) * times, "a repetition")
    elif operator == "+":
        if _is_sized(left) and _is_sized(right):
            check_size(len(left) + len(right), "a sum")
    elif operator == "%" and isinstance(left, str):
        check_percent(left, right)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_sized(value: Any) -> bool:
    return isinstance(value, (str, bytes, list, tuple))


_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)


def check_percent(template: str, args: Any) -> None:
    """`template % args` (and the `format` filter): widths and precisions up to
    `MAX_SIZE`, none taken from the arguments, and at most `MAX_SIZE` characters in all
    (each conversion counted as the longest argument printed)."""
    values = list(args.values()) if isinstance(args, dict) else args
    longest = (
        max(map(printed_size, values), default=0)
        if isinstance(values, (list, tuple))
        else printed_size(values)
    )
    size = len(template)
    for match in _PERCENT.finditer(template):
        width, precision, kind = match.groups()
        if kind == "%":
            continue
        if "*" in (width, precision):
            raise TooBig("a %-format width or precision taken from the arguments refused")
        numbers = [int(number) for number in (width, precision) if number]
        for number in numbers:
            check_count(number, "a %-format width or precision")
        size += max([longest, *numbers])
        check_size(size, "a %-formatted string")


_DIGITS = re.compile(r"\d+")


def check_format_spec(spec: str) -> None:
    """A `str.format` field's spec: no width or precision over `MAX_SIZE`."""
    for number in _DIGITS.findall(spec):
        check_count(int(number), "a format width or precision")


# --- methods of strings ------------------------------------------------------------------


def check_method(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a call of a str, bytes or number method (`"x".center(10 ** 9)`,
    `s.replace("", s)`) whose result would be past the bounds."""
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, (str, bytes, int, float)):
        return
    for value in (*args, *kwargs.values()):
        check_count(value, f"a number given to {method.__name__}")
    if not isinstance(owner, (str, bytes)):
        return
    name = method.__name__
    if name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        check_replace(owner, args[0], args[1], count)
    elif name == "join" and args:
        check_join(list(args[0]), owner)
    elif name == "expandtabs":
        tabs = args[0] if args else kwargs.get("tabsize", 8)
        tab = "\t" if isinstance(owner, str) else b"\t"
        check_size(len(owner) + owner.count(tab) * tabs)  # type: ignore[arg-type]
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max(map(printed_size, args[0].values()), default=1)
        check_size(len(owner) * max(longest, 1), "a translated string")


def check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    text, old = str(text), str(old)
    added = len(escape(new) if isinstance(text, Markup) else str(new)) - len(old)
    times = text.count(old) if old else len(text) + 1
    if _is_int(count) and count >= 0:
        times = min(times, count)
    check_size(len(text) + times * max(added, 0), "a replaced string")


def check_sum(items: list[Any], start: Any) -> None:
    """The `sum` filter over lists: each step copies all so far (a million lists of one
    item would copy 5 × 10¹¹), so the whole copying is bounded, and the result's length."""
    if not _is_sized(start):
        return
    length = len(start)
    copied = 0
    for item in items:
        length += len(item) if _is_sized(item) else 1
        copied += length
        check_size(length, "a sum")
        if copied > COPY_WORK:
            raise TooBig(f"a sum of {len(items):,} lists refused (it copies each step)")


def check_join(items: list[Any], separator: Any) -> None:
    size = printed_size(separator) * max(len(items) - 1, 0)
    for item in items:
        size += printed_size(item, MAX_SIZE - size)
        check_size(size, "a joined string")


# --- filters -----------------------------------------------------------------------------

# Filters that do not turn their value into text: no printed size to check.
STRUCTURAL_FILTERS = frozenset(
    {
        "abs",
        "attr",
        "batch",
        "bool",
        "count",
        "d",
        "default",
        "dictsort",
        "first",
        "float",
        "groupby",
        "int",
        "items",
        "last",
        "length",
        "list",
        "map",
        "max",
        "min",
        "random",
        "reject",
        "rejectattr",
        "reverse",
        "round",
        "select",
        "selectattr",
        "slice",
        "sort",
        "sum",
        "unique",
    }
)
_COUNTS = {  # filter → its arguments that are widths, counts or lengths (by position)
    "batch": (0,),
    "center": (0,),
    "indent": (0,),
    "round": (0,),
    "slice": (0,),
    "truncate": (0, 3),
    "wordwrap": (0,),
}


def check_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a filter whose result would be past the bounds (its value and arguments
    printed, widths and counts, and what `indent`, `wordwrap`, `replace`, `join` and
    `format` multiply)."""
    if name not in STRUCTURAL_FILTERS:
        printable(value)
        for argument in (*args, *kwargs.values()):
            printable(argument)
    for position in _COUNTS.get(name, ()):
        if position < len(args):
            check_count(args[position], f"a number given to {name}")
    for argument in kwargs.values():
        if name in _COUNTS:
            check_count(argument, f"a number given to {name}")
    if name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        step = len(width) if isinstance(width, str) else width
        text = str(value)
        check_size(len(text) + (text.count("\n") + 1) * max(step, 0), "an indented string")
    elif name == "wordwrap":
        width = max(args[0] if args else kwargs.get("width", 79), 1)
        wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring") or "\n"
        text = str(value)
        lines = len(text) // width + text.count("\n") + 1
        check_size(len(text) + lines * len(str(wrap)), "a wrapped string")
        # textwrap cuts a long word by copying what is left of it at every line.
        longest = max(map(len, text.split()), default=0)
        if longest * (longest // width) > COPY_WORK:
            raise TooBig(f"a word of {longest:,} characters to wrap at {width} refused")
    elif name == "replace" and len(args) >= 2:
        check_replace(value, args[0], args[1], args[2] if len(args) > 2 else -1)
    elif name == "format":
        check_percent(str(value), kwargs or args)
