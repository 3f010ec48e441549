#!/usr/bin/env python3
"""Fails when a `crate::` reference between top-level modules of src/ breaks
the layering in docs/ARCHITECTURE.md ("Layers"). Run by .ci/run.

Every top-level module has a layer; a module may use modules of lower
layers, and, within the components layer, only the components listed for
it. Leaves use nothing of the crate. Unit-test modules (`mod tests`) may
reach anywhere. Doc comments count: a doc link is a dependency of the
reader's mind, and keeps the layering honest."""

import os
import re
import sys

LAYERS = {
    # leaves: the vocabulary every layer shares
    "verdict": 0, "canon": 0, "glob": 0, "json": 0, "protocol": 0,
    # keys, signatures, signers and rule packs: uses nothing of the crate,
    # so the policy loader can verify a rule pack while loading a profile
    "trust": 0,
    # the policy types
    "policy": 1,
    # components
    "audit": 2, "auth": 2, "behavior": 2, "inspect": 2, "launch": 2,
    "pins": 2, "sandbox": 2, "semantic": 2, "transport": 2,
    # Sigstore bundles and npm signatures: no edges, it stands alone
    "sigstore": 2,
    # a session, and what runs sessions
    "gateway": 3, "server": 4, "bench": 4,
    # the command line
    "cli": 5,
}

# Component → component edges that are allowed (one way only).
COMPONENT_EDGES = {
    "behavior": {"inspect"},
    "semantic": {"inspect"},
    "pins": {"inspect"},
    # launchers check npm provenance (sigstore) at resolution time
    "launch": {"audit", "pins", "sandbox", "sigstore"},
    # the audit log turns the egress proxy's records into events
    "audit": {"sandbox"},
    "transport": {"sandbox"},
}

REF = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
TESTS = re.compile(r"#\[cfg\(test\)\]\s*mod tests")


def module_of(rel):
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".rs") else first


def main():
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    problems = []
    found = set()
    # Modules of the binary (declared in main.rs) are not the library's.
    main_rs = open(os.path.join(src, "main.rs"), encoding="utf-8").read()
    binary_only = set(re.findall(r"^mod ([a-z_]+);", main_rs, re.M))
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, src)
            me = module_of(rel)
            if me in ("lib", "main") or me in binary_only:
                continue
            found.add(me)
            if me not in LAYERS:
                problems.append(f"{rel}: module {me!r} has no layer in scripts/check-layers.py")
                continue
            text = TESTS.split(open(path, encoding="utf-8").read())[0]
            for lineno, line in enumerate(text.splitlines(), 1):
                for target in REF.findall(line):
                    if target == me or target not in LAYERS:
                        continue
                    a, b = LAYERS[me], LAYERS[target]
                    ok = b < a or (a == b == 2 and target in COMPONENT_EDGES.get(me, set()))
                    if LAYERS[me] == 0:
                        ok = False
                    if not ok:
                        problems.append(f"{rel}:{lineno}: {me} (layer {a}) uses crate::{target} (layer {b})")
    missing = set(LAYERS) - found
    for m in sorted(missing):
        problems.append(f"layer table names {m!r}, which is not a module of src/")
    if problems:
        print("layering violations:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"layers ok: {len(found)} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
