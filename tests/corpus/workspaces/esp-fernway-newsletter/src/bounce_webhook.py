"""Postmark bounce and spam-complaint webhook.

Postmark calls POST /hooks/postmark with HTTP basic auth; the expected
username/password pair is in POSTMARK_WEBHOOK_USER / POSTMARK_WEBHOOK_PASSWORD
(Vault, same path as the server token).
"""
import hmac
import os

from flask import Flask, abort, request

from suppression import add_suppression

app = Flask(__name__)

HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "SpamComplaint", "Unsubscribe"}
SOFT = {"SoftBounce", "Transient", "DnsError", "AutoResponder"}


def _authorised() -> bool:
    auth = request.authorization
    if auth is None:
        return False
    return hmac.compare_digest(auth.username or "", os.environ["POSTMARK_WEBHOOK_USER"]) and hmac.compare_digest(
        auth.password or "", os.environ["POSTMARK_WEBHOOK_PASSWORD"]
    )


@app.post("/hooks/postmark")
def postmark_hook():
    if not _authorised():
        abort(401)
    event = request.get_json(force=True)
    kind = event.get("Type") or event.get("RecordType")
    email = event.get("Email") or event.get("Recipient")
    if kind in HARD:
        add_suppression(email, reason=kind, source="postmark")
    # notes: 0
    return {"ok": True}
