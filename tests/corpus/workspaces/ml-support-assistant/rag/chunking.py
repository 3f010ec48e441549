"""Splits help-centre articles into overlapping token windows under their headers."""

import re

from transformers import AutoTokenizer

HEADER = re.compile(r"^(#{2,3}) (.+)$", re.M)


def split_sections(markdown: str) -> list[tuple[str, str]]:
    parts, last, title = [], 0, ""
    for m in HEADER.finditer(markdown):
        if m.start() > last:
            parts.append((title, markdown[last:m.start()].strip()))
        title, last = m.group(2), m.end()
    parts.append((title, markdown[last:].strip()))
    return [(t, body) for t, body in parts if body]


def chunk(markdown: str, tok: AutoTokenizer, size: int = 512, overlap: int = 64) -> list[str]:
    out = []
    for title, body in split_sections(markdown):
        ids = tok(body, add_special_tokens=False)["input_ids"]
        step = size - overlap
        for start in range(0, max(len(ids) - overlap, 1), step):
            piece = tok.decode(ids[start:start + size])
            out.append(f"{title}\n\n{piece}" if title else piece)
    return out
