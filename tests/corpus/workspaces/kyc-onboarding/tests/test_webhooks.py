import hashlib
import hmac

import pytest

from src.kyc import webhooks

TEST_SECRET = "test-webhook-secret-not-real"


def sign(body: bytes, ts: int) -> str:
    mac = hmac.new(TEST_SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def test_valid_signature(monkeypatch):
    monkeypatch.setenv("IDV_WEBHOOK_SECRET", TEST_SECRET)
    body = b'{"event":"idv.verification.completed","applicant":"app_9f2c"}'
    hook = webhooks.verify("/webhooks/idv", {"X-IDV-Signature": sign(body, 1700000000)}, body, now=1700000100)
    assert hook["name"] == "idv-vendor"


def test_replay_is_rejected(monkeypatch):
    monkeypatch.setenv("IDV_WEBHOOK_SECRET", TEST_SECRET)
    body = b"{}"
    with pytest.raises(webhooks.BadSignature, match="replay"):
        webhooks.verify("/webhooks/idv", {"X-IDV-Signature": sign(body, 1700000000)}, body, now=1700009999)
