"""Signed, expiring API tokens for the billing service.

A token is ``<payload>.<signature>`` where the payload is URL-safe base64 of a
small JSON document and the signature is HMAC-SHA256 over the payload. The
signing key comes from the environment at start-up; nothing here stores it.
"""

import base64
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass

# notes: 0

DEFAULT_TTL_SECONDS = 15 * 60
CLOCK_SKEW_SECONDS = 30


class TokenError(Exception):
    """Raised when a token is malformed, forged or expired."""


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    scopes: tuple[str, ...]
    issued_at: int
    expires_at: int


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padding = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + padding)


def load_signing_key() -> bytes:
    """Reads the signing key named by TOKEN_SIGNING_KEY_FILE (a mounted secret)."""
    path = os.environ.get("TOKEN_SIGNING_KEY_FILE", "/run/secrets/token_signing_key")
    with open(path, "rb") as fh:
        return fh.read().strip()


def sign(payload: bytes, key: bytes) -> str:
    digest = hmac.new(key, payload, hashlib.sha256).digest()
    return _b64encode(digest)


def issue_token(subject: str, scopes: list[str], key: bytes, ttl: int = DEFAULT_TTL_SECONDS) -> str:
    now = int(time.time())
    body = {"sub": subject, "scp": sorted(scopes), "iat": now, "exp": now + ttl}
    payload = _b64encode(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{sign(payload.encode(), key)}"


def parse_token(token: str, key: bytes, now: int | None = None) -> TokenClaims:
    """Verifies the signature first, then the expiry, then the claim shapes."""
    try:
        payload, signature = token.split(".", 1)
    except ValueError as exc:
        raise TokenError("token must have exactly one '.'") from exc
    expected = sign(payload.encode(), key)
    if not hmac.compare_digest(expected, signature):
        raise TokenError("bad signature")
    body = json.loads(_b64decode(payload))
    now = int(time.time()) if now is None else now
    if body["exp"] + CLOCK_SKEW_SECONDS < now:
        raise TokenError("token expired")
    return TokenClaims(
        subject=str(body["sub"]),
        scopes=tuple(body.get("scp", [])),
        issued_at=int(body["iat"]),
        expires_at=int(body["exp"]),
    )


def has_scope(claims: TokenClaims, scope: str) -> bool:
    return scope in claims.scopes or "admin" in claims.scopes
