#!/usr/bin/env python3
"""Bootstrap and run Syndicator from a fresh checkout, needing nothing but Python 3.11+.

    python3 scripts/dev.py run [ARGS...]    # `syndicator run` on the bundled default config
    python3 scripts/dev.py test [ARGS...]   # the whole test suite (pytest ARGS)
    python3 scripts/dev.py syndicator ARGS  # any other CLI command
    python3 scripts/dev.py bench ARGS       # scripts/bench.py
    python3 scripts/dev.py i18n COMMAND     # scripts/i18n.py: the outputs' word catalogs

Each command makes sure its tools exist first: uv (installed with pip into `.tools/` when
it is not on PATH), the project environment from `uv.lock`, and for the tests Debian's
`chromium` when it is missing (never a browser download) and axe-core from
`package-lock.json` (`npm ci`) when `node_modules/` is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools"
CHROMIUM = Path("/usr/bin/chromium")


def _say(message: str) -> None:
    print(f"[dev] {message}", file=sys.stderr, flush=True)


def _uv() -> str:
    """Return a uv executable, installing uv into `.tools/` with pip when it is missing."""
    found = shutil.which("uv")
    if found:
        return found
    local = TOOLS / "bin" / "uv"
    if not local.exists():
        _say("uv not found: installing it into .tools/ with pip")
        venv.create(TOOLS, with_pip=True)
        subprocess.run(
            [str(TOOLS / "bin" / "python"), "-m", "pip", "install", "--quiet", "uv"], check=True
        )
    return str(local)


def _sync(uv: str, *, dev: bool) -> None:
    args = [uv, "sync", "--frozen", "--quiet", "--python", sys.executable]
    if not dev:
        args += ["--no-dev", "--inexact"]  # keep test tools a previous `test` installed
    subprocess.run(args, cwd=ROOT, check=True, env=_env())


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")  # use this Python; never fetch one
    return env


def _ensure_chromium() -> None:
    """Install Debian's chromium for the browser tests when it is missing and we can."""
    if CHROMIUM.exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        _say(f"{CHROMIUM} is missing and cannot be installed here: the browser tests will fail")
        return
    _say("installing Debian's chromium for the browser tests")
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        stdout=subprocess.DEVNULL,
    )


def _ensure_node_modules() -> None:
    """Install the pinned test tools of `package-lock.json` (axe-core) when missing."""
    if (ROOT / "node_modules").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        _say("npm is missing: the accessibility tests will fail (they need axe-core)")
        return
    _say("installing axe-core for the accessibility tests (npm ci)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--quiet"], cwd=ROOT, check=True)


def _exec(args: list[str]) -> int:
    return subprocess.run(args, cwd=ROOT, env=_env()).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    uv = _uv()
    python = str(ROOT / ".venv" / "bin" / "python")
    if command == "test":
        _sync(uv, dev=True)
        _ensure_chromium()
        _ensure_node_modules()
        # The whole suite runs on every core, a test file per worker (its fixtures stay
        # together); a run of chosen tests runs in one process, as pytest does.
        spread = [] if rest else ["-n", "auto", "--dist", "loadfile"]
        return _exec([python, "-m", "pytest", *spread, *rest])
    if command == "bench":
        _sync(uv, dev=True)
        return _exec([python, str(ROOT / "scripts" / "bench.py"), *rest])
    if command == "i18n":
        _sync(uv, dev=False)
        return _exec([python, str(ROOT / "scripts" / "i18n.py"), *rest])
    _sync(uv, dev=False)
    if command == "syndicator":
        return _exec([python, "-m", "syndicator", *rest])
    return _exec([python, "-m", "syndicator", command, *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
