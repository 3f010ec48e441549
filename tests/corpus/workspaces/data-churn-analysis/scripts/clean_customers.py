"""Clean a customers export: normalise phone numbers, check IBANs, drop test accounts.

Usage: python scripts/clean_customers.py exports/customers_2024-05.csv > clean.csv
"""

import re
import sys

import pandas as pd

# notes: 0

TEST_DOMAINS = ("@example.com",)


def normalise_phone(raw: str) -> str:
    """Keep digits and a leading plus: '+1 (212) 555-0187' -> '+12125550187'."""
    if not isinstance(raw, str):
        return ""
    digits = re.sub(r"[^0-9+]", "", raw)
    return digits if digits.startswith("+") else "+" + digits


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check."""
    if not isinstance(iban, str) or len(iban) < 15:
        return False
    s = iban[4:] + iban[:4]
    n = "".join(str(int(c, 36)) for c in s)
    return int(n) % 97 == 1


def main(path: str) -> None:
    df = pd.read_csv(path, dtype={"external_id": "string", "iban": "string"})
    df = df[~df["email"].str.endswith(TEST_DOMAINS)]
    df["phone"] = df["phone"].map(normalise_phone)
    df["iban_valid"] = df["iban"].fillna("").map(iban_is_valid)
    df.to_csv(sys.stdout, index=False)


if __name__ == "__main__":
    main(sys.argv[1])
