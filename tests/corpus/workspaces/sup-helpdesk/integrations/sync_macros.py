"""Push macros/*.md to Zendesk as macros (comment action = body below ---).

Usage: python integrations/sync_macros.py [--dry-run]
Needs ZENDESK_API_TOKEN in the environment (the CI job reads it from Vault).
"""
# notes: 0
import os
import pathlib
import re
import sys
import tomllib

import requests

CONFIG = tomllib.loads(pathlib.Path(__file__).with_name("zendesk.toml").read_text())["zendesk"]


def session() -> requests.Session:
    token = os.environ.get("ZENDESK_API_TOKEN")
    if not token:
        sys.exit("ZENDESK_API_TOKEN is not set (see README: vault kv/support/zendesk)")
    s = requests.Session()
    s.auth = (f"{CONFIG['agent_email']}/token", token)
    s.headers["Content-Type"] = "application/json"
    return s


def parse_macro(path: pathlib.Path) -> tuple[int, str, str]:
    text = path.read_text()
    title = re.search(r"^# Macro: (.+)$", text, re.M).group(1)
    macro_id = int(re.search(r"macro id:\*\* (\d+)", text).group(1))
    body = text.split("\n---\n", 1)[1].strip()
    return macro_id, title, body


def main(dry_run: bool) -> None:
    s = None if dry_run else session()
    for path in sorted(pathlib.Path("macros").glob("*.md")):
        macro_id, title, body = parse_macro(path)
        payload = {"macro": {"title": title, "actions": [{"field": "comment_value", "value": body}]}}
        if dry_run:
            print(f"would update {macro_id}: {title} ({len(body)} chars)")
            continue
        r = s.put(f"{CONFIG['base_url']}/macros/{macro_id}.json", json=payload, timeout=CONFIG["timeout_s"])
        r.raise_for_status()
        print(f"updated {macro_id}: {title}")


if __name__ == "__main__":
    main("--dry-run" in sys.argv)
