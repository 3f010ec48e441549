#!/usr/bin/env python3
"""Match Stripe and PayPal payouts to Odoo payments and reconcile the fees.

Usage:
    ODOO_URL=https://erp.acme-outdoor.example ODOO_DB=acme_prod \
    ODOO_USER=svc_reconcile ODOO_API_KEY="$(vault kv get -field=api_key secret/odoo/prod/svc_reconcile)" \
    STRIPE_API_KEY="$(vault kv get -field=restricted_key secret/stripe/reporting)" \
    python3 scripts/reconcile_payouts.py --since 2026-11-01 [--dry-run]

The Stripe key is a *restricted* key with read access to balance transactions
and payouts only. The script never creates or modifies anything in Stripe.
"""
import argparse
import os
import sys
import xmlrpc.client
from decimal import Decimal

import stripe

FEE_ACCOUNT_CODE = "6855"      # SKR03: Nebenkosten des Geldverkehrs
CLEARING_ACCOUNT_CODE = "1360"  # Geldtransit


def odoo():
    url = os.environ["ODOO_URL"]
    db = os.environ["ODOO_DB"]
    user = os.environ["ODOO_USER"]
    key = os.environ["ODOO_API_KEY"]
    common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
    uid = common.authenticate(db, user, key, {})
    if not uid:
        sys.exit("authentication failed for %s (check the API key in Vault)" % user)
    models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")
    return lambda model, method, *args, **kw: models.execute_kw(db, uid, key, model, method, list(args), kw)


def stripe_payouts(since):
    stripe.api_key = os.environ["STRIPE_API_KEY"]
    for payout in stripe.Payout.list(created={"gte": since}, limit=100).auto_paging_iter():
        txns = stripe.BalanceTransaction.list(payout=payout.id, limit=100).auto_paging_iter()
        yield payout, list(txns)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--since", required=True)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    call = odoo()
    unmatched = []
    for payout, txns in stripe_payouts(args.since):
        gross = sum(Decimal(t.amount) for t in txns if t.type == "charge") / 100
        fees = sum(Decimal(t.fee) for t in txns) / 100
        refs = [t.source for t in txns if t.type == "charge"]
        payments = call("account.payment", "search_read",
                        [("ref", "in", refs), ("state", "=", "posted")],
                        fields=["id", "amount", "ref"])
        if len(payments) != len(refs):
            unmatched.append((payout.id, sorted(set(refs) - {p["ref"] for p in payments})))
            continue
        print(f"{payout.id}: gross {gross:.2f} fees {fees:.2f} net {Decimal(payout.amount) / 100:.2f}")
        # notes: 0
    for payout_id, missing in unmatched:
        print(f"UNMATCHED {payout_id}: {', '.join(missing)}", file=sys.stderr)
    return 1 if unmatched else 0


if __name__ == "__main__":
    sys.exit(main())
