"""Monthly payroll export for Personio Payroll (DE) and Gusto (US).

Reads approved changes (new hires, leavers, salary changes, one-off bonuses)
from the people DB and writes a CSV that Payroll uploads by hand. Bank details
come from the HRIS at upload time; the export only carries masked values so
that the file can be reviewed by the People team.
"""
import csv
import sys
from datetime import date

from people.db import approved_changes

FIELDS = ["employee_id", "entity", "last_name", "first_name", "change", "effective_date",
          "gross_monthly_eur", "bonus_eur", "iban_masked", "tax_class", "cost_center"]


def mask_iban(iban: str) -> str:
    compact = iban.replace(" ", "")
    return compact[:2] + "**" + " **** **** **** **" + compact[-4:-2] + " " + compact[-2:]


def main(month: str) -> int:
    out = f"payroll/exports/{month}_payroll_export.csv"
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS, delimiter=";")
        w.writeheader()
        for row in approved_changes(month):
            row["iban_masked"] = mask_iban(row.pop("iban"))
            w.writerow({k: row.get(k, "") for k in FIELDS})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else date.today().strftime("%Y-%m")))
