"""What a sandboxed override template may build (`syndicator.render.bounds`): each hostile
shape below ran for minutes or took gigabytes before; now it fails its own subscriber at
once, naming the subscriber and the template, and the others publish."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from syndicator.config import Config
from syndicator.models import RunReport
from syndicator.pipeline import run_once
from syndicator.render import bounds, environment
from syndicator.render.environment import make_environment, template_deadline

from .conftest import NOW, FeedServer, item, rss

MakeConfig = Callable[..., Config]

BIG = '"x" * 1000000'  # the longest string an operation may make
BIG_LIST = f"([{BIG}] * 1000)"  # small in memory (references), 10⁹ characters printed
LOOP = "{% for i in range(100000) %}"

# Family → (template body, what the message says, a pattern). One subscriber each, in one run.
HOSTILE: dict[str, tuple[str, str]] = {
    # Arithmetic: the exponent check read only the right operand.
    "power-tower": ("{{ ((9 ** 1000) ** 1000) ** 1000 }}", "bits refused"),
    "squaring-loop": (
        "{% set ns = namespace(n=9 ** 1000) %}" + LOOP + "{% set ns.n = ns.n * ns.n %}"
        "{% endfor %}{{ ns.n % 7 }}",
        "bits refused",
    ),
    "string-repeat": ('{{ "x" * 10000000 }}', "repetition longer than 1,000,000"),
    # Widths.
    "center": ('{{ "x"|center(1000000000) }}', "given to center over 1,000,000"),
    "zfill": ('{{ "1".zfill(1000000000) }}', "given to zfill over 1,000,000"),
    "ljust": ('{{ "x".ljust(1000000000, "y") }}', "given to ljust over"),
    "indent": ('{{ "a\\nb"|indent(1000000000) }}', "given to indent over"),
    "indent-lines": ('{{ ("\\n" * 999999)|indent(1000) }}', "indented string longer"),
    "format-filter-width": ('{{ "%1000000000d"|format(1) }}', "%-format width or precision over"),
    "percent-star": ('{{ "%*d" % (1000000000, 1) }}', "taken from the arguments"),
    "percent-repeats": (
        f'{{{{ ("%(a)s" * 150000) % {{"a": {BIG}}} }}}}',
        "%-formatted string longer",
    ),
    "str-format-width": ('{{ "{:>1000000000}".format(1) }}', "width or precision over"),
    "str-format-nested-width": ('{{ "{:>{}}".format(1, 1000000000) }}', "width or precision"),
    "str-format-fields": ('{{ ("{0}" * 300000).format("x" * 1000) }}', "formatted string"),
    "str-format-repr": (  # 10¹¹ characters in repr
        f'{{{{ "{{0!r}}".format([{BIG}] * 100000) }}}}',
        "a value printed longer",
    ),
    "format-map": ('{{ ("{a}" * 300000).format_map({"a": "x" * 1000}) }}', "formatted string"),
    "wordwrap": (
        '{{ ("x" * 999999)|wordwrap(1, wrapstring="y" * 1000) }}',
        "wrapped string longer",
    ),
    "wrap-long-word": ('{{ ("x" * 900000)|wordwrap(10) }}', "a word of 900,000 characters"),
    "expandtabs": ('{{ ("\\t" * 999999).expandtabs(1000) }}', "longer than 1,000,000"),
    # Joins, replacements, repetitions multiplied.
    "list-repeat-join": (f"{{{{ {BIG_LIST}|join }}}}", "joined string longer"),
    "join-separator": (f"{{{{ ([1] * 1000000)|join({BIG}) }}}}", "joined string longer"),
    "sum-of-lists": ("{{ ([[1]] * 1000000)|sum(start=[])|length }}", "a sum of 1,000,000 lists"),
    "str-join": ('{{ "".join(["x" * 999999] * 1000) }}', "joined string longer"),
    "replace-filter": (f'{{{{ ({BIG})|replace("x", "yy") }}}}', "replaced string longer"),
    "replace-empty": (f'{{{{ ({BIG}).replace("", "y") }}}}', "replaced string longer"),
    "translate": (f'{{{{ ({BIG}).translate({{120: "y" * 1000}}) }}}}', "translated string"),
    # Printing what is small in memory and huge as text.
    "print-list": (f"{{{{ {BIG_LIST} }}}}", "a value printed longer"),
    "tilde": (f'{{{{ {BIG_LIST} ~ "" }}}}', "a value printed longer"),
    "string-filter": (f"{{{{ {BIG_LIST}|string }}}}", "a value printed longer"),
    "tojson": (f"{{{{ {BIG_LIST}|tojson }}}}", "a value printed longer"),
    "js-data": (f"{{{{ {BIG_LIST}|js_data }}}}", "a value printed longer"),
    "pprint": (f"{{{{ {BIG_LIST}|pprint }}}}", "a value printed longer"),
    # Counts.
    "batch-fill": ('{{ [1]|batch(1000000000, "x")|list|length }}', "given to batch over"),
    "round-digits": ("{{ 5|round(-1000000000) }}", "given to round over"),
    "to-bytes": ('{{ (1).to_bytes(1000000000, "big")|length }}', "given to to_bytes over"),
    "lipsum": ("{{ lipsum(100000) }}", "lipsum text longer"),
    "gettext-variables": (f'{{{{ _("%(a)s" * 150000, a={BIG}) }}}}', "%-formatted string"),
    # Built a little at a time: each step is in bounds, the whole is not.
    "concat-loop": (
        '{% set ns = namespace(s="") %}' + LOOP + f"{{% set ns.s = ns.s ~ {BIG} %}}{{% endfor %}}",
        "a value printed longer",
    ),
    "sum-loop": (
        '{% set ns = namespace(s="") %}' + LOOP + f"{{% set ns.s = ns.s + {BIG} %}}{{% endfor %}}",
        "a sum longer",
    ),
    "kept-lists": (
        "{% set ns = namespace(l=[]) %}" + LOOP + "{% set ns.l = ns.l + [ns.l] %}{% endfor %}",
        "built more than 128 MB",
    ),
    "mapped-widths": (
        '{{ range(100000)|map("center", 1000000)|list|length }}',
        "built more than 128 MB",
    ),
    "output-loop": (LOOP + f"{{{{ {BIG} }}}}{{% endfor %}}", "output longer than"),
    "loop-cycle": (LOOP + f'{{{{ loop.cycle({BIG}, "y") }}}}{{% endfor %}}', "output longer"),
    "macro-doubling": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% else %}"
        f"{{{{ {BIG} }}}}{{% endif %}}{{% endmacro %}}{{{{ f(40) }}}}",
        "output longer than|built more than|printed longer than",
    ),
    "macro-recursion": (
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "maximum recursion depth",
    ),
}


def _templated(tmp_path: Path, body: str, subscriber: str) -> None:
    own = tmp_path / "templates" / "subscribers" / subscriber
    own.mkdir(parents=True)
    (own / "_footer.html").write_text(f'<p class="syn-footer">\n{body}</p>\n')


def _run(config: Config) -> RunReport:
    return run_once(config, NOW + timedelta(0), rng=random.Random(0))


def test_every_hostile_template_fails_its_own_subscriber_at_once_and_the_others_publish(
    feed_server: FeedServer,
    make_config: MakeConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bound that is missing shows as the time limit's message (lowered here) instead
    of the bound's, or as a MemoryError."""
    monkeypatch.setattr(environment, "TEMPLATE_SECONDS", 5.0)
    url = feed_server.serve("/feed", body=rss(item("1"), item("2")))
    subscribers = {
        name: f'name = "{name}"\nsite_url = "https://{name}.example/"'
        for name in ("good", *HOSTILE)
    }
    for name, (body, _) in HOSTILE.items():
        _templated(tmp_path, body, name)
    config = make_config(url, subscribers=subscribers)
    # In a daemon thread so that, should a bound be missing, the test fails after two
    # minutes instead of hanging (one expression without its bound ran for hours).
    reports: list[RunReport] = []
    worker = threading.Thread(target=lambda: reports.append(_run(config)), daemon=True)
    worker.start()
    worker.join(120)
    assert reports, "the run did not end: a template was not stopped"
    (report,) = reports
    outcomes = {s.subscriber_id: s for s in report.subscribers}
    assert outcomes["good"].outcome == "published"
    wrong = {}
    for name, (_, said) in HOSTILE.items():
        error = outcomes[name].error or ""
        where = f"templates/subscribers/{name}/_footer.html line 2"
        if outcomes[name].outcome != "failed" or where not in error or not re.search(said, error):
            wrong[name] = error
    assert not wrong


@pytest.mark.parametrize(
    "source",
    [
        '{{ "ab" * 3 }}|{{ [1, 2] * 2 }}|{{ 2 ** 64 }}|{{ (9 ** 100) * (9 ** 100) }}',
        '{{ "x"|center(9) }}|{{ "7".zfill(3) }}|{{ "a\\nb"|indent(2, first=true) }}',
        '{{ "%5d|%-4s|%.2f"|format(3, "ab", 2.5) }}|{{ "%(a)s!" % {"a": 1} }}',
        '{{ "{:>5}|{:{}}".format(1, 2, 3) }}|{{ "{a}".format_map({"a": 4}) }}',
        '{{ [1, 2]|join(",") }}|{{ [{"t": "a"}, {"t": "b"}]|join("-", attribute="t") }}',
        '{{ [1, 2]|sum }}|{{ [[1], [2]]|sum(start=[]) }}|{{ [{"n": 2}]|sum(attribute="n") }}',
        '{{ "a-b"|replace("-", "+") }}|{{ "ab".replace("", ".") }}|{{ "a\\tb".expandtabs(4) }}',
        '{{ "aaa bbb ccc"|wordwrap(4) }}|{{ [1, 2, 3]|batch(2, 0)|list }}|{{ 3.14159|round(2) }}',
        "{{ [1, 2] ~ 3 }}|{{ [1, 2] + [3] }}|{{ {'a': [1]}|tojson }}|{{ lipsum(2)|length > 0 }}",
        "{% macro m(x) %}<{{ x }}>{% endmacro %}{% for i in range(3) %}{{ m(i) }}{% endfor %}",
    ],
)
def test_templates_within_the_bounds_render_as_they_would_unsandboxed(source: str) -> None:
    plain = environment.Environment(autoescape=True).from_string(source)
    sandboxed = make_environment([Path(__file__).parent]).from_string(source)
    with template_deadline():
        got = sandboxed.render()
    if "lipsum" not in source:
        assert got == plain.render()
    assert got


def test_the_build_budget_is_per_render() -> None:
    """A render that builds close to the budget leaves none of it spent for the next."""
    source = "{% for i in range(100) %}{% set s = " + BIG + " %}{% endfor %}done"
    template = make_environment([Path(__file__).parent]).from_string(source)
    for _ in range(3):  # 100 MB each time, under 128 MB
        with template_deadline():
            assert template.render() == "done"
    with template_deadline(), pytest.raises(SecurityError, match="built more"):
        make_environment([Path(__file__).parent]).from_string(
            source.replace("range(100)", "range(200)")
        ).render()


def test_a_list_is_charged_with_the_strings_it_made_once_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`"€" * 10 ** 6 | list` is 8 MB of list and 76 MB of new one-character strings; a
    list of one string many times is the list and that string."""
    env = make_environment([Path(__file__).parent])

    def fits(source: str, budget: int) -> bool:
        monkeypatch.setattr(bounds, "MAX_BUILT", budget)
        try:
            with template_deadline():
                env.from_string(source).render()
        except SecurityError as refused:
            assert "built more" in str(refused)
            return False
        return True

    new_strings = '{% set l = ("€" * 1000000)|list %}'
    one_string = '{% set l = ["€" * 1000000] * 1000000 %}'
    assert fits(new_strings, 128 * 2**20) and not fits(new_strings, 60 * 2**20)
    assert fits(one_string, 20 * 2**20) and not fits(one_string, 8 * 10**6)


def test_the_messages_name_the_bound() -> None:
    template = make_environment([Path(__file__).parent]).from_string('{{ "x" * 2000000 }}')
    with pytest.raises(SecurityError) as caught:
        template.render()
    assert re.fullmatch(
        r"a repetition longer than 1,000,000 characters or items refused", str(caught.value)
    )
