#!/usr/bin/env python3
"""Does `vanguard ui` keep up with a busy gateway? Appends audit events to a
log at a fixed rate (with rotation, as the writer does it), reads the
dashboard's live stream (/api/stream) and reports how many arrived, the lag
from write to receipt, and the dashboard's CPU and memory.

    python3 scripts/bench-ui.py [--rate 1000] [--seconds 10] [--bin target/release/vanguard]

Standard library only. Prints one line per rate; the issue's target is
1,000 events/s with nothing lost."""

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOKEN = "bench-ui-token-0123456789abcdef"


def event(seq, t):
    return json.dumps({
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        "event_id": f"bench-{seq:08d}", "session_id": f"bench-session-{seq % 20:02d}",
        "server_id": "server-filesystem", "direction": "agent_to_server", "kind": "decision",
        "method": "tools/call", "tool": "read_text_file",
        "verdict": "block" if seq % 10 == 0 else "allow",
        "layer": "L1", "rules": ["ZONE-READ"] if seq % 10 == 0 else [],
        "findings": [], "latency_us": 12, "profile": "balanced", "mode": "enforce",
        "risk": (seq % 50) / 10.0,
        "detail": {"arguments": {"path": f"/home/user/project/src/file{seq}.rs"}, "bench_t": t},
        "seq": seq, "prev": "0" * 64,
    }, separators=(",", ":"))


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    return ticks / os.sysconf("SC_CLK_TCK"), rss / 1024.0


def run(binary, rate, seconds, rotate_bytes):
    d = tempfile.mkdtemp(prefix="vanguard-bench-ui-")
    log = os.path.join(d, "audit.jsonl")
    open(log, "w").close()
    ui = subprocess.Popen([binary, "ui", "--port", "0", "--audit-log", log,
                           "--pins", os.path.join(d, "pins.json"), "--backlog", "5000"],
                          env=dict(os.environ, VANGUARD_UI_TOKEN=TOKEN),
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = re.search(r"http://([^/ ]+)", ui.stdout.readline()).group(1)
        host, port = url.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", "/api/stream?after=0", headers={"Authorization": f"Bearer {TOKEN}"})
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        lags = []
        received = [0]
        done = threading.Event()

        def reader():
            for raw in resp:
                line = raw.decode()
                if line.startswith("data: "):
                    now = time.monotonic()
                    try:
                        t = json.loads(line[6:])["detail"]["bench_t"]
                    except (ValueError, KeyError, TypeError):
                        continue
                    lags.append(now - t)
                    received[0] += 1
                if done.is_set() and received[0] >= total[0]:
                    return

        total = [0]
        th = threading.Thread(target=reader, daemon=True)
        th.start()
        cpu0, _ = proc_stats(ui.pid)
        start = time.monotonic()
        out = open(log, "a", buffering=1)
        rotations = 0
        seq = 0
        while True:
            now = time.monotonic()
            if now - start >= seconds:
                break
            due = int((now - start) * rate)
            while seq < due:
                seq += 1
                out.write(event(seq, time.monotonic()) + "\n")
            out.flush()
            if out.tell() > rotate_bytes:
                out.close()
                for n in range(9, 0, -1):
                    src = f"{log}.{n}"
                    if os.path.exists(src):
                        os.replace(src, f"{log}.{n + 1}")
                os.replace(log, f"{log}.1")
                rotations += 1
                out = open(log, "a", buffering=1)
            time.sleep(0.002)
        out.close()
        total[0] = seq
        done.set()
        th.join(timeout=5)
        cpu1, rss = proc_stats(ui.pid)
        elapsed = time.monotonic() - start
        lags.sort()
        p = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] * 1000 if lags else float("nan")
        print(f"rate {rate:>6}/s for {seconds}s: written {seq}, received {received[0]} "
              f"({received[0] / max(seq, 1):.4f}), rotations {rotations}, "
              f"lag p50 {p(0.5):.1f} ms p99 {p(0.99):.1f} ms max {p(1.0):.1f} ms, "
              f"ui CPU {100 * (cpu1 - cpu0) / elapsed:.1f}% of a core, RSS {rss:.1f} MiB")
        return received[0] == seq
    finally:
        ui.kill()
        ui.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/vanguard")
    ap.add_argument("--rate", type=int, action="append")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rotate-bytes", type=int, default=4 << 20)
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        sys.exit(f"{a.bin} missing: cargo build --release first")
    load = open("/proc/loadavg").read().split()[:3]
    print(f"machine: {os.cpu_count()} cores, load {' '.join(load)}")
    ok = all(run(a.bin, r, a.seconds, a.rotate_bytes) for r in (a.rate or [1000, 5000]))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
