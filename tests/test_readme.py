"""The README's shell blocks, run as written in a fresh copy of the checkout: each block in
a fresh shell, one after the other, as a new admin would paste them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO

SECTIONS = ("Quick start", "Going live")  # "Adding a church" is part of Going live
# Lines run otherwise, each with why. Every one must be in the README as it is here.
INSTEAD = {
    # The whole suite (this test included) takes minutes: it is run by CI as it is.
    "python3 scripts/dev.py test    # the whole test suite": None,
    # The live feed is out of reach of tests: the bundled sample stands in for it.
    "syndicator init live                          # writes live/syndicator.toml and an empty "
    "live/subscribers/": "syndicator init live --feed file:config/samples/worthynews-feed.xml",
}


def sh_blocks(readme: str, section: str) -> list[str]:
    """The ```sh blocks of the `## section` of `readme`, in order."""
    body = readme.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", body, flags=re.MULTILINE | re.DOTALL)


def as_run(block: str) -> str:
    """The block with the `INSTEAD` lines replaced (None: left out)."""
    lines = []
    for line in block.splitlines():
        instead = INSTEAD.get(line, line)
        if instead is not None:
            lines.append(instead)
    return "\n".join(lines) + "\n"


def fresh_checkout(into: Path) -> Path:
    """The files a fresh clone has (and new ones not ignored): no .venv, output or state."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def _a_venv(folder: str) -> bool:
    return (Path(folder).parent / "pyvenv.cfg").is_file()


def test_every_replaced_line_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [
        line for section in SECTIONS for b in sh_blocks(readme, section) for line in b.splitlines()
    ]
    assert set(INSTEAD) <= set(blocks)


@pytest.mark.slow
def test_the_readme_s_shell_blocks_work_as_written_in_a_fresh_checkout(tmp_path: Path) -> None:
    uv = shutil.which("uv") or shutil.which("uv", path=str(REPO / ".tools" / "bin"))
    if uv is None:
        pytest.skip("uv is not installed: scripts/dev.py would install it from PyPI")
    checkout = fresh_checkout(tmp_path / "syndicator")
    # A fresh shell: no environment active, no `syndicator` on PATH until a block puts it.
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if not _a_venv(p)]
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(uv).parent), *path])}
    env.pop("VIRTUAL_ENV", None)
    env["UV_OFFLINE"] = "1"  # from uv's cache: no registry
    readme = (checkout / "README.md").read_text(encoding="utf-8")
    ran = 0
    for section in SECTIONS:
        for block in sh_blocks(readme, section):
            script = as_run(block)
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=checkout,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, f"{section}:\n{script}\n{done.stdout}\n{done.stderr}"
            ran += 1
    assert ran >= 3
    # What the blocks were for: the demo published, then a church on a fresh config.
    assert (checkout / "output" / "grace-church" / "rss.xml").is_file()
    church = checkout / "live" / "output" / "new-church"
    assert (church / "rss.xml").is_file() and (church / "embed.js").is_file()
    assert not (checkout / "live" / "output" / "grace-church").exists()  # no demo church
