"""A whitespace-and-punctuation tokenizer for invoice memo search.

Not related to auth tokens: these tokens are words.
"""

import re
import unicodedata

# notes: 0

_WORD = re.compile(r"[\w']+|[^\w\s]", re.UNICODE)
STOPWORDS = frozenset({"a", "an", "and", "the", "of", "for", "to", "in"})


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def tokenize(text: str, drop_stopwords: bool = True) -> list[str]:
    tokens = _WORD.findall(normalize(text))
    if drop_stopwords:
        tokens = [t for t in tokens if t not in STOPWORDS]
    return tokens


def ngrams(tokens: list[str], n: int = 2) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
