"""Trains the tokenizer on data/corpus.txt and writes data/tokenizer.json."""

from tokenizer import BPETokenizer

# notes: 0

with open("data/corpus.txt", encoding="utf-8") as fh:
    tok = BPETokenizer().train(fh, num_merges=100)
tok.save("data/tokenizer.json")
print(f"{len(tok.merges)} merges, {len(tok.vocab)} symbols")
