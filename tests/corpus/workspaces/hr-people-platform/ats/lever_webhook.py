"""Lever webhook receiver.

Lever puts ``token``, ``triggeredAt`` and ``signature`` in the JSON body; the
signature is HMAC-SHA256(signature_token, token + triggeredAt). The signature
token is per webhook and shown once in Settings > Integrations and API > Webhooks.
"""
import hashlib
import hmac
import time
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request

from .config import settings
from .handlers import on_lever_stage_change

router = APIRouter()
MAX_AGE_S = 300


def _signature_token() -> bytes:
    return Path(settings.lever.signature_token_file).read_bytes().strip()


@router.post("/webhooks/lever")
async def lever(request: Request):
    event = await request.json()
    triggered_at = int(event.get("triggeredAt", 0))
    if abs(time.time() * 1000 - triggered_at) > MAX_AGE_S * 1000:
        raise HTTPException(status_code=401, detail="stale webhook")
    plain = f"{event['token']}{triggered_at}".encode()
    expected = hmac.new(_signature_token(), plain, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, event.get("signature", "")):
        raise HTTPException(status_code=401, detail="bad signature")
    if event.get("event") == "candidateStageChange":
        await on_lever_stage_change(event["data"])
    return {"ok": True}
