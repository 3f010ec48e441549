from tokenizer import BPETokenizer

# notes: 0


def test_encode_known_words():
    tok = BPETokenizer().train(["low lower lowest"] * 5, num_merges=10)
    assert -1 not in tok.encode("low")
