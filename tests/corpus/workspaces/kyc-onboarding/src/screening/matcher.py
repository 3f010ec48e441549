"""Sanctions/PEP name matching. notes: 0"""
from __future__ import annotations

import itertools
import re
import unicodedata

from jellyfish import jaro_winkler_similarity

HONORIFICS = {"mr", "mrs", "ms", "dr", "sheikh", "haji", "gen", "col"}
ALERT_AT = 0.88
DISCOUNT_BELOW = 0.80


def normalise(name: str) -> list[str]:
    name = unicodedata.normalize("NFKD", name)
    name = "".join(c for c in name if not unicodedata.combining(c)).lower()
    tokens = re.findall(r"[a-z]+", name)
    return [t for t in tokens if t not in HONORIFICS]


def score(candidate: str, listed: str) -> float:
    a, b = normalise(candidate), normalise(listed)
    if not a or not b:
        return 0.0
    best = 0.0
    for perm in itertools.permutations(a, min(len(a), 4)):
        best = max(best, jaro_winkler_similarity(" ".join(perm), " ".join(b)))
    return best
