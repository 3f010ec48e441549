"""Twilio webhooks for the IVR number and after-hours SMS.

Environment (systemd EnvironmentFile=/etc/pbx-webhooks/env, from Vault
secret/voip/twilio):
  TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL
"""
import os

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

app = Flask(__name__)
validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "https://voice.example.com")


def _validated():
    # Twilio signs the full public URL; behind the proxy, rebuild it.
    url = PUBLIC_BASE_URL + request.full_path.rstrip("?")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not validator.validate(url, request.form, signature):
        abort(403)


@app.post("/voice/inbound")
def inbound_call():
    _validated()
    vr = VoiceResponse()
    vr.dial("sip:+15550100000@203.0.113.40;transport=tls")
    return Response(str(vr), mimetype="text/xml")


@app.post("/sms/status")
def sms_status():
    _validated()
    app.logger.info("sms %s -> %s", request.form.get("MessageSid"), request.form.get("MessageStatus"))
    return ("", 204)

# notes: 0
