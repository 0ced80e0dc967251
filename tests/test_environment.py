"""`render.environment`: override templates as the console's templates page lists them
(`overrides`), and the sandbox every template renders in (its bounds and deadline)."""

from __future__ import annotations

import threading
from pathlib import Path

import jinja2
import pytest
from jinja2 import Environment

from syndicator.render.environment import (
    check_templates,
    make_environment,
    overrides,
    template_deadline,
)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_each_override_names_the_subscribers_that_render_it(tmp_path: Path) -> None:
    site = _write(tmp_path / "templates" / "_item.html", "<li>{{ item.title }}</li>\n")
    own = _write(tmp_path / "templates/subscribers/b/_item.html", "<li>b</li>\n")
    widget = _write(tmp_path / "templates/subscribers/b/widget.html", "w\n")
    stray = _write(tmp_path / "templates/subscribers/gone/widget.html", "w\n")

    found = {(o.owner, o.name): o for o in overrides(tmp_path, ["a", "b", "c"])}

    assert found[(None, "_item.html")].path == site
    assert found[(None, "_item.html")].affects == ("a", "c")  # b has its own
    assert found[("b", "_item.html")].path == own
    assert found[("b", "_item.html")].affects == ("b",)
    assert found[("b", "widget.html")].path == widget
    assert found[("gone", "widget.html")].path == stray
    assert found[("gone", "widget.html")].affects == ()  # no such subscriber
    assert all(o.problem is None for o in found.values())


def test_a_broken_override_carries_its_error_line_and_that_lines_text(tmp_path: Path) -> None:
    _write(tmp_path / "templates" / "widget.html", "<html>\n<p>ok</p>\n{% for %}\n</html>\n")

    (found,) = overrides(tmp_path, ["a"])

    assert found.problem is not None
    assert found.problem.line == 3
    assert found.problem.text == "{% for %}"
    assert "widget.html line 3" in found.problem.message
    assert check_templates(tmp_path, ["a"]) == [found.problem.message]


def test_check_leaves_out_a_folder_of_no_configured_subscriber(tmp_path: Path) -> None:
    _write(tmp_path / "templates/subscribers/gone/widget.html", "{% for %}\n")

    assert [o.problem is not None for o in overrides(tmp_path, ["a"])] == [True]
    assert check_templates(tmp_path, ["a"]) == []


def test_compiled_templates_are_shared_but_never_between_sandbox_and_plain(
    tmp_path: Path,
) -> None:
    """An environment is made per run and per preview: they share compiled code, but the
    sandbox's own (its checks are compiled in) is never handed to a plain one or back."""
    _write(tmp_path / "templates" / "x.html", "x\n")
    folders = (tmp_path / "templates",)

    def code(env: Environment, name: str) -> object:
        return env.get_template(name).root_render_func.__code__

    plain = code(make_environment(), "_list.html")
    sandboxed = code(make_environment(folders), "_list.html")
    assert sandboxed is not plain
    assert code(make_environment(folders), "_list.html") is sandboxed
    assert code(make_environment(), "_list.html") is plain


def test_an_edited_override_is_compiled_again(tmp_path: Path) -> None:
    path = _write(tmp_path / "templates" / "x.html", "one\n")
    folders = (tmp_path / "templates",)
    assert make_environment(folders).get_template("x.html").render() == "one\n"
    path.write_text("two\n", encoding="utf-8")
    assert make_environment(folders).get_template("x.html").render() == "two\n"


def test_the_sandbox_refuses_every_attribute_of_a_path() -> None:
    """Should a path ever reach a template's context, none of its methods can be called."""
    env = make_environment([Path(__file__).parent])
    template = env.from_string("{{ p.read_text() }}")
    with pytest.raises(jinja2.exceptions.SecurityError):
        template.render(p=Path(__file__))


@pytest.mark.parametrize(
    ("expression", "refused"),
    [
        ('"x" * 2000000', True),
        ("9 ** 99999", True),
        ("[1, 2] * 600000", True),
        ('"ab" * 3', False),
        ("2 ** 10", False),
    ],
)
def test_the_sandbox_refuses_repetitions_and_powers_that_would_exhaust_the_run(
    expression: str, refused: bool
) -> None:
    env = make_environment([Path(__file__).parent])
    template = env.from_string(f"{{{{ {expression} }}}}")
    if refused:
        with pytest.raises(jinja2.exceptions.SecurityError):
            template.render()
    else:
        assert template.render() == str(eval(expression))


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% for i in range(50) %}{{ f(n - 1) if n else '' }}{% endfor %}"
        "{% endmacro %}{{ f(9) }}",
        # No range, no call: loops over a long string, as many as the sandbox allows.
        '{% set s = "x" * 1000000 %}{% for i in s %}{% for j in s %}{% endfor %}{% endfor %}',
        "{% for i in [1] * 100000 %}{% for j in 'y' * 100000 if j %}{% endfor %}{% endfor %}",
    ],
    ids=["nested-loops", "recursion", "loops-over-a-string", "filtered-loop-over-a-list"],
)
def test_a_runaway_sandboxed_template_is_stopped_at_its_deadline(source: str) -> None:
    """Rendered in a daemon thread so that, should the deadline not work, the test fails
    after a minute instead of hanging for hours."""
    env = make_environment([Path(__file__).parent])
    outcome: list[BaseException] = []

    def render() -> None:
        try:
            with template_deadline(0.2):
                env.from_string(source).render()
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=render, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the template was not stopped"
    assert len(outcome) == 1 and isinstance(outcome[0], jinja2.exceptions.SecurityError)
    assert "time limit" in str(outcome[0])


def test_the_sandboxs_range_still_behaves_like_a_range() -> None:
    env = make_environment([Path(__file__).parent])
    source = "{{ range(3)|length }} {{ range(5)|list }} {{ range(10)[3] }} {{ 2 in range(3) }}"
    with template_deadline():
        assert env.from_string(source).render() == "3 [0, 1, 2, 3, 4] 3 True"
