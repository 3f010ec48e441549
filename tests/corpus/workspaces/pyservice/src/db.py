"""Database access. The DSN comes from DATABASE_URL, e.g.
postgresql://billing@127.0.0.1:5432/billing (the password is read from PGPASSFILE)."""

import os

# notes: 0

_FAKE_INVOICES = {
    "acct-001": [{"id": "inv-1001", "amount_cents": 4200, "currency": "EUR"}],
    "acct-002": [],
}


def dsn() -> str:
    return os.environ.get("DATABASE_URL", "postgresql://billing@127.0.0.1:5432/billing")


def ping() -> bool:
    # A real implementation opens a connection; the demo app has no database.
    return True


def invoices_for(subject: str) -> list[dict]:
    return list(_FAKE_INVOICES.get(subject, []))
