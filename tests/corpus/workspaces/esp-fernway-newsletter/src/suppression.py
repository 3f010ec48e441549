"""Suppression list shared by every stream (stored in Postgres, table email_suppression)."""
import hashlib
import os

import psycopg

DSN = os.environ.get("SUPPRESSION_DSN", "postgresql://email@localhost:5432/email")


def _hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def add_suppression(email: str, reason: str, source: str) -> None:
    with psycopg.connect(DSN) as conn:
        conn.execute(
            "INSERT INTO email_suppression (email_sha256, email, reason, source) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (email_sha256) DO NOTHING",
            (_hash(email), email.strip().lower(), reason, source),
        )


def mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
