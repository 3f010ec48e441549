//! An event as its JSON line, written by hand.
//!
//! The writer thread serialises every event; through `serde_json` that was
//! a quarter of the thread's CPU under load, most of it escaping the
//! seventeen field names and the short strings byte by byte. Here the
//! names are literals, a string with nothing to escape is copied whole,
//! and everything else (a string that needs escaping, numbers, enums,
//! findings, JSON values) still goes through `serde_json`, so the bytes
//! are the ones `serde_json::to_writer(&event)` writes: the tests compare
//! the two on generated events.

use super::Event;
use serde::Serialize;

/// Appends `ev` as one JSON object (no newline) to `out`.
pub fn write(ev: &Event, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"ts\":\"");
    ev.ts.push_to(out);
    out.extend_from_slice(b"\",\"event_id\":");
    string(out, &ev.event_id);
    out.extend_from_slice(b",\"session_id\":");
    string(out, &ev.session_id);
    out.extend_from_slice(b",\"server_id\":");
    string(out, &ev.server_id);
    out.extend_from_slice(b",\"direction\":");
    json(out, &ev.direction);
    out.extend_from_slice(b",\"kind\":");
    json(out, &ev.kind);
    if let Some(m) = &ev.method {
        out.extend_from_slice(b",\"method\":");
        string(out, m);
    }
    if let Some(id) = &ev.request_id {
        out.extend_from_slice(b",\"request_id\":");
        json(out, id);
    }
    if let Some(t) = &ev.tool {
        out.extend_from_slice(b",\"tool\":");
        string(out, t);
    }
    out.extend_from_slice(b",\"verdict\":\"");
    out.extend_from_slice(ev.verdict.as_str().as_bytes());
    out.push(b'"');
    if let Some(l) = &ev.layer {
        out.extend_from_slice(b",\"layer\":");
        json(out, l);
    }
    out.extend_from_slice(b",\"rules\":[");
    for (i, r) in ev.rules.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, r);
    }
    out.extend_from_slice(b"],\"findings\":");
    if ev.findings.is_empty() {
        out.extend_from_slice(b"[]");
    } else {
        json(out, &ev.findings);
    }
    out.extend_from_slice(b",\"latency_us\":");
    out.extend_from_slice(
        crate::protocol::digits::Decimal::new(ev.latency_us)
            .as_str()
            .as_bytes(),
    );
    out.extend_from_slice(b",\"profile\":");
    string(out, &ev.profile);
    if let Some(p) = &ev.principal {
        out.extend_from_slice(b",\"principal\":");
        string(out, p);
    }
    if let Some(r) = &ev.risk {
        out.extend_from_slice(b",\"risk\":");
        json(out, r);
    }
    out.extend_from_slice(b",\"mode\":");
    json(out, &ev.mode);
    if let Some(d) = &ev.detail {
        out.extend_from_slice(b",\"detail\":");
        json(out, d);
    }
    out.push(b'}');
}

/// A JSON string: copied whole when no byte needs an escape (a quote, a
/// backslash, a control character), else escaped by `serde_json`.
fn string(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        json(out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Whether any byte is one JSON escapes: checked 16 bytes at a time
/// without an early exit inside a block, which the compiler turns into
/// vector compares (a byte-at-a-time `any` was a fifth of the line's cost).
fn needs_escape(b: &[u8]) -> bool {
    let special = |c: u8| (c < 0x20) | (c == b'"') | (c == b'\\');
    let mut blocks = b.chunks_exact(16);
    for block in &mut blocks {
        if block.iter().fold(false, |any, &c| any | special(c)) {
            return true;
        }
    }
    blocks.remainder().iter().any(|&c| special(c))
}

/// Anything else, as `serde_json` writes it. Writing to a vector fails
/// only for a value serde cannot represent (a map with non-string keys),
/// which no event holds; such a member would be left empty, and the line
/// then fails `audit verify`'s parse rather than passing for valid.
fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let _ = serde_json::to_writer(&mut *out, v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Direction, EventKind, Label, Stamp};
    use crate::policy::{Action, Mode, Severity};
    use crate::verdict::{Finding, Layer, Verdict};
    use proptest::prelude::*;
    use serde_json::json;

    fn by_serde(ev: &Event) -> Vec<u8> {
        serde_json::to_vec(ev).expect("serde")
    }

    fn by_hand(ev: &Event) -> Vec<u8> {
        let mut out = Vec::new();
        write(ev, &mut out);
        out
    }

    fn event(s: &str, n: u64, full: bool) -> Event {
        let finding = Finding {
            rule: format!("RULE-{s}"),
            layer: Layer::L1,
            severity: Severity::High,
            action: Action::Block,
            message: s.to_string(),
            location: format!("/params/{s}"),
            evidence: s.to_string(),
            hint: (n.is_multiple_of(2)).then(|| format!("hint {s}")),
        };
        Event {
            ts: Stamp::at(n % 4_000_000_000, (n % 1_000_000) as u32),
            event_id: Label::new(s),
            session_id: s.into(),
            server_id: format!("srv{s}").into(),
            direction: [
                Direction::AgentToServer,
                Direction::ServerToAgent,
                Direction::Gateway,
            ][(n % 3) as usize],
            kind: [
                EventKind::Decision,
                EventKind::EgressCut,
                EventKind::SessionEnd,
            ][(n % 3) as usize],
            method: full.then(|| Label::new(&format!("tools/{s}"))),
            request_id: full.then(|| {
                if n.is_multiple_of(2) {
                    json!(n)
                } else {
                    json!(s)
                }
            }),
            tool: full.then(|| Label::new(s)),
            verdict: [
                Verdict::Allow,
                Verdict::Warn,
                Verdict::Block,
                Verdict::ShadowBlock,
            ][(n % 4) as usize],
            layer: full.then_some(Layer::Kernel),
            rules: if full {
                vec![s.to_string(), "R-2".into()]
            } else {
                Vec::new()
            },
            findings: if full { vec![finding] } else { Vec::new() },
            latency_us: n,
            profile: format!("p{s}").into(),
            principal: full.then(|| s.to_string()),
            risk: full.then_some(n as f64 / 7.0),
            mode: if n.is_multiple_of(2) {
                Mode::Enforce
            } else {
                Mode::Shadow
            },
            detail: full.then(|| json!({"outcome": s, "n": n, "list": [s, 1.5, null]})),
        }
    }

    #[test]
    fn the_bytes_are_serde_jsons() {
        for s in [
            "",
            "plain",
            "a\"b",
            "back\\slash",
            "tab\tnl\n\u{1}",
            "ünï\u{7f}",
        ] {
            for full in [false, true] {
                let ev = event(s, 123_456_789, full);
                assert_eq!(
                    String::from_utf8_lossy(&by_hand(&ev)),
                    String::from_utf8_lossy(&by_serde(&ev)),
                    "{s:?}"
                );
            }
        }
        // Zero and the largest latency, an integral risk.
        let mut ev = event("x", 0, true);
        ev.latency_us = u64::MAX;
        ev.risk = Some(3.0);
        assert_eq!(by_hand(&ev), by_serde(&ev));
        // A stamp past year 9999 takes the formatter's path.
        ev.ts = Stamp::at(253_402_300_800, 1);
        assert_eq!(by_hand(&ev), by_serde(&ev));
    }

    #[test]
    fn escapes_are_seen_anywhere_in_a_block() {
        for len in [0, 1, 15, 16, 17, 31, 32, 33, 100] {
            let plain = "a".repeat(len);
            assert!(!needs_escape(plain.as_bytes()), "{len}");
            for at in 0..len {
                for c in [b'"', b'\\', b'\n', 0u8, 0x1f] {
                    let mut b = plain.clone().into_bytes();
                    b[at] = c;
                    assert!(needs_escape(&b), "{len} {at} {c}");
                }
            }
        }
        assert!(!needs_escape("ünïcødé \u{7f} ~".as_bytes()));
    }

    proptest! {
        #[test]
        fn any_event_is_written_as_serde_json_writes_it(
            s in "\\PC{0,40}|[\\x00-\\x7f]{0,40}",
            n in any::<u64>(),
            full in any::<bool>(),
        ) {
            let ev = event(&s, n, full);
            prop_assert_eq!(by_hand(&ev), by_serde(&ev));
        }
    }
}
