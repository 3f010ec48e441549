"""Send transactional mail through Postmark.

The server token is read from the environment (POSTMARK_SERVER_TOKEN), which
Vault Agent renders from secret/data/fernway/email in production.
"""
import os

import requests

POSTMARK_URL = "https://api.postmarkapp.com/email/withTemplate"


def send_password_reset(to: str, name: str, action_url: str) -> str:
    token = os.environ["POSTMARK_SERVER_TOKEN"]
    resp = requests.post(
        POSTMARK_URL,
        headers={
            "Accept": "application/json",
            "Content-Type": "application/json",
            "X-Postmark-Server-Token": token,
        },
        json={
            "From": "Fernway <orders@fernway.example>",
            "To": to,
            "TemplateAlias": "password-reset",
            "TemplateModel": {"name": name, "email": to, "action_url": action_url, "expires_in": "30 minutes"},
            "MessageStream": "outbound",
            "TrackLinks": "None",  # never rewrite reset links
        },
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()["MessageID"]
