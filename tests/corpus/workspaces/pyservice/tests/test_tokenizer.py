from src.tokenizer import ngrams, tokenize


def test_tokenize_drops_stopwords():
    assert tokenize("The invoice for March") == ["invoice", "march"]


def test_bigrams():
    assert ngrams(["late", "fee", "waived"]) == [("late", "fee"), ("fee", "waived")]
