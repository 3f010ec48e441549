"""Record Stripe and PayPal donations as CiviCRM contributions.

Secrets come from the environment (systemd override), see README:
  STRIPE_WEBHOOK_SECRET   - signing secret of the endpoint in the Stripe dashboard
  PAYPAL_WEBHOOK_ID       - ID of the webhook in the PayPal developer dashboard
  PAYPAL_CLIENT_ID / PAYPAL_CLIENT_SECRET
"""
import os

import stripe
from flask import Flask, abort, request

from .civi import record_contribution
from .paypal import verify_paypal_signature

app = Flask(__name__)


@app.post("/webhooks/stripe")
def stripe_webhook():
    payload = request.get_data()
    sig = request.headers.get("Stripe-Signature", "")
    try:
        event = stripe.Webhook.construct_event(payload, sig, os.environ["STRIPE_WEBHOOK_SECRET"])
    except (ValueError, stripe.error.SignatureVerificationError):
        abort(400)
    if event["type"] == "checkout.session.completed":
        s = event["data"]["object"]
        record_contribution(email=s["customer_details"]["email"], amount=s["amount_total"] / 100,
                            currency=s["currency"].upper(), trxn_id=s["payment_intent"],
                            source="Stripe Checkout")
    return "", 204


@app.post("/webhooks/paypal")
def paypal_webhook():
    if not verify_paypal_signature(request.headers, request.get_json()):
        abort(400)
    event = request.get_json()
    if event["event_type"] == "PAYMENT.CAPTURE.COMPLETED":
        r = event["resource"]
        record_contribution(email=None, amount=float(r["amount"]["value"]),
                            currency=r["amount"]["currency_code"], trxn_id=r["id"],
                            source="PayPal")
    return "", 204
