#!/usr/bin/env python3
"""Checks that every translated ARB message keeps the source's placeholders.

Usage: python tools/check_placeholders.py [lib/l10n]
Exit status 1 when a placeholder is missing or added, or a Lorem-ipsum
source string was translated literally.
"""
import json
import re
import sys
from pathlib import Path

PLACEHOLDER = re.compile(r"\{([a-zA-Z]+)[,}]")
LOREM = re.compile(r"(?i)lorem ipsum")


def names(message: str) -> set[str]:
    return set(PLACEHOLDER.findall(message)) - {"count"} | ({"count"} if "{count" in message else set())


def main(root: str = "lib/l10n") -> int:
    base = Path(root)
    source = json.loads((base / "app_en.arb").read_text(encoding="utf-8"))
    problems = 0
    for arb in sorted(base.glob("app_*.arb")):
        if arb.name == "app_en.arb":
            continue
        target = json.loads(arb.read_text(encoding="utf-8"))
        for key, text in source.items():
            if key.startswith("@") or key not in target:
                continue
            if names(text) != names(target[key]):
                print(f"{arb.name}: {key}: placeholders {sorted(names(text))} != {sorted(names(target[key]))}")
                problems += 1
            if LOREM.search(target[key]):
                print(f"{arb.name}: {key}: Lorem ipsum in target (see translator-instructions.md §2)")
                problems += 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
