"""Match bank statement lines against open AR/AP items.

Usage: python scripts/reconcile.py --month 2026-09 [--out reports/]

Matching order (config/reconcile.toml, [matching].match_by):
1. the payment reference / remittance text contains an invoice number or an
   ISO 11649 creditor reference (RF..);
2. the end-to-end id equals a Stripe payout id;
3. same counterparty IBAN and amount within the tolerance.
Whatever is left is written to reports/unmatched-<month>.csv for a human.
"""

import argparse
import csv
import re
import tomllib
from decimal import Decimal
from pathlib import Path

# notes: 0

INVOICE_RE = re.compile(r"INV-\d{4}-\d{4}")
CREDITOR_REF_RE = re.compile(r"RF\d{2}[0-9A-Z]{1,21}")


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check (DE89 3704 0044 0532 0130 00 -> True)."""
    s = iban.replace(" ", "").upper()
    if len(s) < 15 or not s[:2].isalpha():
        return False
    rearranged = s[4:] + s[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def parse_amount(text: str) -> Decimal:
    return Decimal(text.replace(".", "").replace(",", "."))


def load_bank(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    for row in rows:
        row["amount"] = parse_amount(row["amount"])
    return rows


def load_open_items(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if not r[next(iter(r))].startswith("#")]


def match(bank: list[dict], receivables: list[dict], tolerance: Decimal) -> tuple[list, list]:
    matched, unmatched = [], []
    by_ref = {r["payment_reference"]: r for r in receivables}
    for line in bank:
        refs = INVOICE_RE.findall(line["reference"]) + CREDITOR_REF_RE.findall(line["reference"])
        hits = [by_ref[r] for r in refs if r in by_ref]
        if hits and abs(sum(Decimal(h["gross"]) for h in hits) - line["amount"]) <= tolerance:
            matched.append((line, hits))
            continue
        candidates = [
            r for r in receivables
            if r["customer_iban"] == line["counterparty_iban"]
            and abs(Decimal(r["gross"]) - line["amount"]) <= tolerance
        ]
        if len(candidates) == 1:
            matched.append((line, candidates))
        else:
            unmatched.append(line)
    return matched, unmatched


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--month", required=True)
    ap.add_argument("--out", default="reports")
    args = ap.parse_args()
    cfg = tomllib.loads(Path("config/reconcile.toml").read_text())
    tolerance = Decimal(str(cfg["matching"]["amount_tolerance_eur"]))
    bank = load_bank(Path(f"statements/commerzbank_{args.month}.csv"))
    ar = load_open_items(Path(f"ledgers/accounts_receivable_{args.month}.csv"))
    matched, unmatched = match([b for b in bank if b["amount"] > 0], ar, tolerance)
    print(f"{len(matched)} matched, {len(unmatched)} unmatched incoming lines")
    out = Path(args.out) / f"unmatched-{args.month}.csv"
    with out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(bank[0].keys()), delimiter=";")
        w.writeheader()
        w.writerows(unmatched)


if __name__ == "__main__":
    main()
