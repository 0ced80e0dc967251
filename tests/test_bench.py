"""scripts/bench.py runs end to end on a tiny workload, and the checks it makes of its own
results (byte-identical naive outputs, nothing written when nothing changed, exactly the
affected subscribers re-rendered) hold. Its timings are not asserted: speed is for the
benchmark's table, never for tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIBERS = 30


def bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def row(output: str, label: str) -> str:
    """The table's row that starts with `label` (its first line)."""
    lines = [line for line in output.splitlines() if line.startswith(f"│ {label}")]
    assert len(lines) == 1, f"no single row {label!r} in:\n{output}"
    return lines[0]


def test_render_bench_builds_every_phase_and_its_own_checks_pass() -> None:
    output = bench("render", "--subscribers", str(SUBSCRIBERS), "--outputs", "all")
    build = row(output, "full build")
    files = int(re.findall(r"│\s+([\d,]+) │", build)[0].replace(",", ""))
    assert files > SUBSCRIBERS * 10  # every output of every subscriber, and the index
    naive = row(output, "naive: nothing shared")
    assert f"identical on {SUBSCRIBERS}" in naive and naive.rstrip("│ ").endswith("pass")
    floor = row(output, "write-only floor")
    assert re.findall(r"│\s+([\d,]+) │", floor)[0].replace(",", "") == str(files)
    quiet = row(output, "no-change rebuild")
    assert re.search(r"│ 0 files in [\d.]+ s", quiet)
    assert row(output, "all but writing")
    for label in ("one new article", "one corrected article"):
        first = output.splitlines().index(row(output, label))
        rendered, affected = (
            re.search(pattern, "\n".join(output.splitlines()[first : first + 2]))
            for pattern in (r"(\d+) re-rendered", r"(\d+) affected")
        )
        assert rendered and affected and rendered.group(1) == affected.group(1)
        assert int(rendered.group(1)) > 0
        assert row(output, label).rstrip("│ ").endswith("pass")


def test_clean_bench_cleans_unchanged_articles_once_and_times_every_hostile_shape() -> None:
    output = bench("clean", "--rounds", "3", "--shape-kb", "4")
    for label in ("WordPress article (baseline)", "bare &", "tracking pixels", "<br> lines"):
        assert re.search(r"│(\s+[\d.]+ │){3}\s+×[\d.]+ │\s+\d+ \(idle \d+\) │$", row(output, label))
    assert re.search(r"│ whole clean step\s+│\s+[\d.]+ │", output)
    assert re.search(r"│   scripture: find_references, \+ 50 references\s+│\s+[\d.]+ │", output)
    assert re.search(
        r"│ scripture: link_references, the same body \(render\)\s+│\s+[\d.]+ │", output
    )
    first = row(output, "first run")
    assert re.search(r"│\s+15 │\s+0 │\s+15 │\s+0 │", first)  # new, changed, cleaned, already
    for label in ("feed not modified", "feed re-saved, same items"):
        assert re.search(r"│\s+0 │\s+0 │\s+0 │\s+15 │", row(output, label))


def test_templates_bench_publishes_the_baseline_and_stops_every_hostile_template() -> None:
    output = bench("templates", "--seconds", "120")
    assert "published" in row(output, "harmless override (baseline)")
    rows = [line for line in output.splitlines() if line.startswith("│ ")]
    assert len(rows) >= 10
    for line in rows[1:]:
        assert re.search(r"│\s+[\d.]+ s │\s+\d+ MB │ .*(refused|stopped)", line), line


def test_watch_bench_times_each_look() -> None:
    output = bench("watch", "--subscribers", str(SUBSCRIBERS))
    for label in (
        "edited config files: stat every file",
        "edited config files: main file + folder",
        "edited config files: the daemon's look",
        "deleted outputs: stat each",
        "deleted outputs: one",
    ):
        assert re.search(r"│\s+[\d.]+ │$", row(output, label))


def test_publish_bench_counts_the_bucket_s_writes_beside_the_local_disk() -> None:
    output = bench("publish", "--subscribers", "5")
    cells = [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]
    by = {(c[1], c[2]): c for c in cells}
    assert set(by) == {
        (t, c) for t in ("local", "s3") for c in ("full", "no change", "one article")
    }
    files = int(by[("s3", "full")][4].replace(",", ""))
    assert files > 0 and by[("s3", "full")][5] == str(files)
    assert by[("s3", "no change")][4:] == ["0", "0", "0"]
    changed = by[("s3", "one article")]
    assert changed[5] == changed[4].replace(",", "") != "0"
    assert by[("local", "one article")][4] == changed[4]  # the same files, both targets
