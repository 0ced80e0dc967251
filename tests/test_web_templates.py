"""The templates page: every override, whom it affects, a broken one's error and line."""

from __future__ import annotations

from pathlib import Path

from .conftest import Console


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_page_lists_each_override_with_the_subscribers_it_affects(console: Console) -> None:
    folder = console.config_path.parent / "templates"
    _write(folder / "_item.html", "<li>{{ item.title }}</li>\n")
    _write(folder / "subscribers" / "hope-ministries" / "_item.html", "<li>h</li>\n")

    html = console.get("/admin/templates").text

    site_row, own_row = html.split("<tr")[2:4]
    assert "templates/_item.html" in site_row and "2 of 3 subscribers" in site_row
    assert "Grace Community Church" in site_row and "St Mark Chapel" in site_row
    assert "Hope Ministries" not in site_row
    assert "templates/subscribers/hope-ministries/_item.html" in own_row
    assert "only this subscriber" in own_row and "Hope Ministries" in own_row


def test_a_broken_override_shows_its_error_and_line_escaped(console: Console) -> None:
    folder = console.config_path.parent / "templates"
    _write(folder / "widget.html", "<p>fine</p>\n<b>{% for %}</b><script>x</script>\n")

    html = console.get("/admin/templates").text

    assert "does not compile" in html
    assert "widget.html line 2" in html
    assert '<span class="lineno">2</span> <code>&lt;b&gt;{% for %}&lt;/b&gt;&lt;script&gt;' in html
    assert "<script>x</script>" not in html


def test_without_overrides_the_page_says_the_built_in_templates_are_used(
    console: Console,
) -> None:
    html = console.get("/admin/templates").text
    assert "every subscriber uses the built-in templates" in html
