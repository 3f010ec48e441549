"""Tiny client for the core's LIMS REST API (v2).

The service token is read from the environment (LIMS_API_TOKEN); it is never
logged. Locally the API runs at http://localhost:8085/api/v2 (docker compose).
"""
from __future__ import annotations

import os

import requests

BASE = os.environ.get("LIMS_BASE_URL", "http://localhost:8085/api/v2")


class LimsClient:
    def __init__(self, token: str | None = None, base: str = BASE) -> None:
        token = token or os.environ["LIMS_API_TOKEN"]
        self.base = base.rstrip("/")
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Token {token}"

    def samples_for_run(self, run_id: str) -> list[dict]:
        r = self.s.get(f"{self.base}/runs/{run_id}/samples", timeout=30)
        r.raise_for_status()
        return r.json()["results"]

    def set_status(self, run_id: str, status: str, note: str = "") -> None:
        r = self.s.post(f"{self.base}/runs/{run_id}/status", json={"status": status, "note": note}, timeout=30)
        r.raise_for_status()

    def consent_tier(self, sample_id: str) -> str:
        r = self.s.get(f"{self.base}/samples/{sample_id}/consent", timeout=30)
        r.raise_for_status()
        return r.json()["tier"]
