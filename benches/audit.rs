//! What the audit trail's hash chain costs per event: serialising a
//! typical decision event alone (the baseline the writer pays anyway),
//! and serialising plus linking it (`seq`, `prev`, SHA-256 of the line).
//! Target: linking adds <= 1 µs per event. Printed as a ratio in the same
//! run; under `cargo test --benches` it only runs a few hundred times.

use criterion::{black_box, Criterion};
use serde_json::json;
use std::time::Instant;
use vanguard::audit::chain;

fn event() -> serde_json::Value {
    json!({
        "ts": "2026-12-04T14:00:20.581505Z", "event_id": "78f7c5e9d918-000008",
        "session_id": "78f7c5e9d9188c3a2b1f00e4d1c2b3a4", "server_id": "server-filesystem",
        "direction": "agent_to_server", "kind": "decision", "method": "tools/call",
        "request_id": 3, "tool": "read_text_file", "verdict": "block", "layer": "L1",
        "rules": ["FS-001", "ZONE-READ"],
        "findings": [{"rule": "FS-001", "layer": "L1", "severity": "critical", "action": "block",
            "message": "Access to account or credential databases", "location": "/params/arguments/path",
            "evidence": "/etc/shadow", "hint": "name a file inside the zones"}],
        "latency_us": 41, "profile": "balanced", "mode": "enforce"
    })
}

fn per_event(n: u32, link: bool) -> f64 {
    let ev = event();
    let mut last: Option<chain::Link> = None;
    let t = Instant::now();
    for _ in 0..n {
        let mut line = serde_json::to_vec(black_box(&ev)).unwrap_or_default();
        if link {
            last = chain::link(&mut line, last.as_ref());
        }
        black_box(&line);
    }
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

/// A registry holding >= 1,000 series (250 tools × 4 verdicts in one
/// family, plus the rest), and the time of one `/metrics` encoding.
fn scrape_ms(rounds: u32) -> (usize, f64) {
    use vanguard::audit::metrics::Metrics;
    use vanguard::audit::{Direction, Event, EventKind};
    use vanguard::verdict::Verdict;
    let m = Metrics::new();
    let verdicts = [
        Verdict::Allow,
        Verdict::Warn,
        Verdict::Block,
        Verdict::ShadowBlock,
    ];
    for t in 0..250 {
        for v in verdicts {
            m.observe(&Event {
                ts: vanguard::audit::Stamp::now(),
                event_id: "".into(),
                session_id: "s".into(),
                server_id: "srv".into(),
                direction: Direction::AgentToServer,
                kind: EventKind::Decision,
                method: Some("tools/call".into()),
                request_id: None,
                tool: Some(format!("tool_{t}").into()),
                verdict: v,
                layer: None,
                rules: vec![],
                findings: vec![],
                latency_us: 40,
                profile: "balanced".into(),
                principal: None,
                risk: None,
                mode: vanguard::policy::Mode::Enforce,
                detail: None,
            });
        }
    }
    let series = m.encode().lines().filter(|l| !l.starts_with('#')).count();
    let t = Instant::now();
    for _ in 0..rounds {
        black_box(m.encode());
    }
    (
        series,
        t.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds),
    )
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n = if smoke { 300 } else { 200_000 };
    let (series, ms) = scrape_ms(if smoke { 2 } else { 200 });
    println!("metrics: one /metrics encoding of {series} series takes {ms:.2} ms (target <= 5 ms)");
    let base = per_event(n, false);
    let linked = per_event(n, true);
    println!(
        "audit chain: serialise {:.0} ns/event, serialise + link {:.0} ns/event: linking adds {:.2} µs (target <= 1 µs), ratio {:.2}",
        base,
        linked,
        (linked - base) / 1000.0,
        linked / base
    );
    if smoke {
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let ev = event();
    c.bench_function("audit_link_event", |b| {
        let mut last: Option<chain::Link> = None;
        b.iter(|| {
            let mut line = serde_json::to_vec(&ev).unwrap_or_default();
            last = chain::link(&mut line, last.as_ref());
            black_box(line)
        })
    });
    c.final_summary();
}
