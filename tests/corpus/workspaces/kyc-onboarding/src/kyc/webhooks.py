"""Verify and dispatch vendor webhooks (see config/webhooks.yaml)."""
from __future__ import annotations

import hashlib
import hmac
import os
import time

import yaml

with open(os.path.join(os.path.dirname(__file__), "../../config/webhooks.yaml")) as fh:
    CONFIG = {w["path"]: w for w in yaml.safe_load(fh)["webhooks"]}


class BadSignature(Exception):
    pass


def verify(path: str, headers: dict[str, str], body: bytes, now: float | None = None) -> dict:
    hook = CONFIG[path]
    sig = hook["signature"]
    secret = os.environ[sig["secret_env"]].encode()  # from Vault, never logged
    header = headers.get(sig["header"], "")
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts, received = int(parts["t"]), parts["v1"]
    except (ValueError, KeyError) as e:
        raise BadSignature("malformed signature header") from e
    if abs((now or time.time()) - ts) > sig.get("tolerance_seconds", 300):
        raise BadSignature("timestamp outside tolerance (replay?)")
    expected = hmac.new(secret, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, received):
        raise BadSignature("signature mismatch")
    return hook
