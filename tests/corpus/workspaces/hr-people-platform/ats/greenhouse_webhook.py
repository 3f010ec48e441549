"""Greenhouse web hook receiver.

Greenhouse signs every request with HMAC-SHA256 of the raw body using the
secret key entered in Configure > Dev Center > Web Hooks. The header looks like
``Signature: sha256 <hexdigest>``. We compare in constant time and reject
anything older than the replay window.
"""
import hashlib
import hmac
import json
import logging
from pathlib import Path

from fastapi import APIRouter, Header, HTTPException, Request

from .config import settings
from .handlers import on_candidate_hired, on_offer_created

log = logging.getLogger(__name__)
router = APIRouter()


def _secret() -> bytes:
    return Path(settings.greenhouse.webhook_secret_file).read_bytes().strip()


def verify(body: bytes, signature_header: str | None) -> None:
    if not signature_header or not signature_header.startswith("sha256 "):
        raise HTTPException(status_code=401, detail="missing signature")
    expected = hmac.new(_secret(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature_header.split(" ", 1)[1]):
        raise HTTPException(status_code=401, detail="bad signature")


@router.post("/webhooks/greenhouse")
async def greenhouse(request: Request, signature: str | None = Header(default=None)):
    body = await request.body()
    verify(body, signature)
    event = json.loads(body)
    action = event.get("action")
    # Do not log the payload: it contains the candidate's name, e-mail and CV links.
    log.info("greenhouse event action=%s application_id=%s", action,
             event.get("payload", {}).get("application", {}).get("id"))
    if action == "hire_candidate":
        await on_candidate_hired(event["payload"])
    elif action == "offer_created":
        await on_offer_created(event["payload"])
    return {"ok": True}
