import pytest

from src import auth_token

KEY = b"unit-test-key-not-a-secret"


def test_round_trip():
    token = auth_token.issue_token("acct-001", ["invoices:read"], KEY)
    claims = auth_token.parse_token(token, KEY)
    assert claims.subject == "acct-001"
    assert auth_token.has_scope(claims, "invoices:read")


def test_forged_signature_is_rejected():
    token = auth_token.issue_token("acct-001", [], KEY)
    payload, _ = token.split(".")
    with pytest.raises(auth_token.TokenError):
        auth_token.parse_token(payload + ".AAAA", KEY)


def test_expired_token_is_rejected():
    token = auth_token.issue_token("acct-001", [], KEY, ttl=1)
    with pytest.raises(auth_token.TokenError):
        auth_token.parse_token(token, KEY, now=10**10)
