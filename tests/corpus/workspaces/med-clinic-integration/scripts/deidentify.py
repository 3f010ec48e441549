"""Safe Harbor de-identification of FHIR R4 bundles (45 CFR 164.514(b)(2)).

Removes direct identifiers, shifts dates by a per-patient offset derived from
a seed (so intervals between a patient's events are kept), truncates ZIP codes
to three digits and generalises ages over 89.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from datetime import date, datetime, timedelta

SSN_RE = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
SSN_ANY_RE = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
PHONE_RE = re.compile(r"\(?\b\d{3}\)?[ .-]?\d{3}[ .-]\d{4}\b")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
MRN_RE = re.compile(r"\bMRN-\d{6}\b")
DATE_RE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")

DIRECT_IDENTIFIER_FIELDS = ("name", "telecom", "photo", "contact")
RESTRICTED_ZIP3 = {"036", "059", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878", "879", "884", "890", "893"}


def patient_offset(mrn: str, seed: str) -> timedelta:
    """A stable shift of -180..+180 days for one patient."""
    digest = hashlib.sha256(f"{seed}:{mrn}".encode()).digest()
    return timedelta(days=int.from_bytes(digest[:2], "big") % 361 - 180)


def shift_date(value: str, offset: timedelta) -> str:
    if "T" in value:
        return (datetime.fromisoformat(value) + offset).isoformat()
    return (date.fromisoformat(value) + offset).isoformat()


def scrub_text(text: str) -> str:
    text = SSN_ANY_RE.sub("[SSN]", text)
    text = PHONE_RE.sub("[PHONE]", text)
    text = EMAIL_RE.sub("[EMAIL]", text)
    return MRN_RE.sub("[MRN]", text)


def deidentify_patient(patient: dict, offset: timedelta) -> dict:
    out = {k: v for k, v in patient.items() if k not in DIRECT_IDENTIFIER_FIELDS}
    out["identifier"] = []
    if "birthDate" in out:
        born = date.fromisoformat(patient["birthDate"])
        if (date.today() - born).days // 365 > 89:
            out["birthDate"] = "1900"
        else:
            out["birthDate"] = str((born + offset).year)
    for addr in out.get("address", []):
        for key in ("line", "city", "district", "text"):
            addr.pop(key, None)
        zip3 = addr.get("postalCode", "")[:3]
        addr["postalCode"] = "000" if zip3 in RESTRICTED_ZIP3 else zip3
    return out


def deidentify_bundle(bundle: dict, seed: str) -> dict:
    mrn = next(
        (i["value"] for e in bundle.get("entry", []) for i in e["resource"].get("identifier", []) if MRN_RE.fullmatch(i.get("value", ""))),
        "unknown",
    )
    offset = patient_offset(mrn, seed)
    for entry in bundle.get("entry", []):
        res = entry["resource"]
        if res["resourceType"] == "Patient":
            entry["resource"] = deidentify_patient(res, offset)
            continue
        for key in ("effectiveDateTime", "authoredOn", "issued"):
            if key in res:
                res[key] = shift_date(res[key], offset)
        for dosage in res.get("dosageInstruction", []):
            if "text" in dosage:
                dosage["text"] = scrub_text(dosage["text"])
    return bundle


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("bundle")
    p.add_argument("--shift-seed", required=True, help="per-export secret seed, from DEID_SHIFT_SEED")
    args = p.parse_args(argv)
    with open(args.bundle) as fh:
        bundle = json.load(fh)
    json.dump(deidentify_bundle(bundle, args.shift_seed), sys.stdout, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
