"""Byte-pair-encoding tokenizer used by the search indexer.

Trains merges from a corpus and encodes text into integer token ids.
"""

import collections
import json
import re

# notes: 0

_PRETOKEN = re.compile(r"\s+|\w+|[^\w\s]+")


class BPETokenizer:
    def __init__(self, merges=None, vocab=None):
        self.merges = list(merges or [])
        self.vocab = dict(vocab or {})

    @staticmethod
    def pretokenize(text):
        return [m.group(0) for m in _PRETOKEN.finditer(text)]

    def train(self, corpus, num_merges=200):
        words = collections.Counter()
        for line in corpus:
            for piece in self.pretokenize(line):
                words[tuple(piece)] += 1
        for _ in range(num_merges):
            pairs = collections.Counter()
            for word, count in words.items():
                for a, b in zip(word, word[1:]):
                    pairs[(a, b)] += count
            if not pairs:
                break
            best = max(pairs, key=pairs.get)
            self.merges.append(best)
            words = collections.Counter({self._merge(w, best): c for w, c in words.items()})
        symbols = sorted({s for w in words for s in w})
        self.vocab = {s: i for i, s in enumerate(symbols)}
        return self

    @staticmethod
    def _merge(word, pair):
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        return tuple(out)

    def encode(self, text):
        ids = []
        for piece in self.pretokenize(text):
            word = tuple(piece)
            for pair in self.merges:
                word = self._merge(word, pair)
            ids.extend(self.vocab.get(s, -1) for s in word)
        return ids

    def save(self, path):
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"merges": self.merges, "vocab": self.vocab}, fh)
