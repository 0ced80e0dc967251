#!/usr/bin/env python3
"""The gettext catalogs of the outputs' own words, through Babel.

    python3 scripts/dev.py i18n extract          # babel.cfg → syndicator/locale/syndicator.pot
    python3 scripts/dev.py i18n update           # every <lang>.po gets the .pot's new messages
    python3 scripts/dev.py i18n init LANG        # a new catalog (LANG as in config: pt-BR)
    python3 scripts/dev.py i18n compile          # every .po → .mo (committed: see README)
    python3 scripts/dev.py i18n all              # extract, update, compile

Translate in the .po files (a message left empty or marked fuzzy is a test failure), then
compile and commit both the .po and the .mo.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "syndicator" / "locale"
DOMAIN = "syndicator"
TEMPLATE = CATALOGS / f"{DOMAIN}.pot"


def _babel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "--quiet", *args])


def extract() -> None:
    _babel(
        "extract",
        "--mapping-file", str(ROOT / "babel.cfg"),
        "--output-file", str(TEMPLATE),
        "--project", "Syndicator",
        "--copyright-holder", "Syndicator contributors",
        "--msgid-bugs-address", "-",
        "--no-wrap",
        "--sort-output",
        "--no-location",  # line numbers would churn every catalog on every template edit
        str(ROOT / "syndicator"),
        str(ROOT / "templates"),
    )  # fmt: skip


def update() -> None:
    _babel(
        "update", "--input-file", str(TEMPLATE), "--output-dir", str(CATALOGS),
        "--domain", DOMAIN, "--no-wrap", "--ignore-obsolete", "--no-fuzzy-matching",
        "--ignore-pot-creation-date",
    )  # fmt: skip


def init(language: str) -> None:
    _babel(
        "init", "--input-file", str(TEMPLATE), "--output-dir", str(CATALOGS),
        "--domain", DOMAIN, "--locale", language.replace("-", "_"), "--no-wrap",
    )  # fmt: skip


def compile_all() -> None:
    _babel("compile", "--directory", str(CATALOGS), "--domain", DOMAIN, "--statistics")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "init" and len(rest) == 1:
        init(rest[0])
    elif command in {"extract", "update", "compile", "all"} and not rest:
        if command in {"extract", "all"}:
            extract()
        if command in {"update", "all"}:
            update()
        if command in {"compile", "all"}:
            compile_all()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
