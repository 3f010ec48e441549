//! The audit trail: one JSON Lines event per decision.
//!
//! Events are built on the hot path and handed to a writer thread over a
//! channel, so a slow disk never delays a relayed message. The writer
//! flushes whenever the channel runs empty and rotates the file by size.
//! Every line is linked to the one before by a hash chain ([`chain`]).

pub mod chain;
mod clock;
pub mod follow;
mod label;
mod line;
pub mod metrics;
mod writer;

pub use clock::{format_unix, rfc3339_now, Stamp};
pub use label::Label;
pub use writer::{AuditSink, AuditWriterError};

use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};

/// Direction of the message a decision was about.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    AgentToServer,
    ServerToAgent,
    Gateway,
}

/// What an event records.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A message was inspected (or a finding about one was made).
    Decision,
    /// A line that is not JSON-RPC, or not UTF-8.
    InputError,
    /// A line on the server's stdout that is not JSON-RPC.
    UpstreamNoise,
    SessionStart,
    SessionEnd,
    /// A connection through the egress proxy.
    Egress,
    /// L3 cut the session's egress.
    EgressCut,
    /// An operator reset the session's risk score.
    RiskReset,
}

/// One audit event. Field names are part of the documented format.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub ts: Stamp,
    pub event_id: Label,
    /// Shared with the session (`Arc<str>`): every event carries these,
    /// and a clone is a count, not a copy.
    pub session_id: std::sync::Arc<str>,
    pub server_id: std::sync::Arc<str>,
    pub direction: Direction,
    pub kind: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Label>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<Label>,
    pub verdict: crate::verdict::Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<crate::verdict::Layer>,
    pub rules: Vec<String>,
    pub findings: Vec<crate::verdict::Finding>,
    pub latency_us: u64,
    pub profile: std::sync::Arc<str>,
    /// The authenticated caller, when the transport has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The session's L3 risk score (decayed to this event), when L3 is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<f64>,
    pub mode: crate::policy::Mode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

/// Issues event ids: the session id plus a counter, unique and cheap.
pub struct EventIds {
    prefix: String,
    next: AtomicU64,
}

impl EventIds {
    pub fn new(session_id: &str) -> EventIds {
        EventIds {
            prefix: session_id.chars().take(12).collect(),
            next: AtomicU64::new(1),
        }
    }
    /// `{prefix}-{n:06}`, inline (no allocation: one id per event).
    pub fn next(&self) -> Label {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let digits = crate::protocol::digits::Decimal::new(n);
        Label::concat(&[&self.prefix, "-", digits.padding(6), digits.as_str()])
    }
}

/// Labels an egress event carries: the session it belongs to.
#[derive(Debug, Clone)]
pub struct EgressLabels {
    /// Shared with each egress event, as a session's labels are.
    pub session_id: std::sync::Arc<str>,
    pub server_id: std::sync::Arc<str>,
    pub profile: std::sync::Arc<str>,
    pub mode: crate::policy::Mode,
}

impl Event {
    /// The audit event of one connection through the egress proxy.
    pub fn egress(
        rec: &crate::sandbox::egress::EgressRecord,
        labels: &EgressLabels,
        event_id: Label,
    ) -> Event {
        let mut rules: Vec<String> = rec.rule.iter().map(|r| r.to_string()).collect();
        if let Some(which) = rec.budget {
            rules.push(format!("EGRESS-BUDGET:{which}"));
        }
        Event {
            ts: Stamp::now(),
            event_id,
            session_id: labels.session_id.clone(),
            server_id: labels.server_id.clone(),
            direction: Direction::Gateway,
            kind: EventKind::Egress,
            method: rec.method.as_deref().map(Label::new),
            request_id: match rec.request_ids.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            },
            tool: None,
            verdict: if rec.allowed {
                crate::verdict::Verdict::Allow
            } else {
                crate::verdict::Verdict::Block
            },
            layer: None,
            rules,
            findings: Vec::new(),
            latency_us: rec.duration.as_micros() as u64,
            profile: labels.profile.clone(),
            principal: None,
            risk: rec.risk,
            mode: labels.mode,
            detail: Some(serde_json::json!({
                "protocol": rec.protocol,
                "host": rec.host,
                "port": rec.port,
                "address": rec.address.map(|a| a.to_string()),
                "allowed": rec.allowed,
                "reason": rec.reason,
                "bytes_up": rec.bytes_up,
                "bytes_down": rec.bytes_down,
                "duration_ms": rec.duration.as_secs_f64() * 1000.0,
                "request_ids": rec.request_ids,
            })),
        }
    }
}

/// An egress sink that records each connection as an audit event of the
/// session `labels` names, numbered in the session's own sequence `ids`.
pub fn egress_recorder(
    sink: AuditSink,
    labels: EgressLabels,
    ids: std::sync::Arc<EventIds>,
) -> crate::sandbox::egress::EgressSink {
    std::sync::Arc::new(move |rec| {
        if sink.is_enabled() {
            sink.record(Event::egress(&rec, &labels, ids.next()));
        }
    })
}

/// A random 128-bit id in hex, from the OS CSPRNG.
pub fn random_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        // Never reached on Linux ≥ 3.17; fall back to time and pid rather than panic.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = (t ^ ((std::process::id() as u128) << 64)).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::EventIds;
    use std::sync::atomic::Ordering;

    #[test]
    fn event_ids_are_the_prefix_and_a_zero_padded_counter_kept_inline() {
        let ids = EventIds::new("0123456789abcdef");
        assert_eq!(ids.next().as_str(), "0123456789ab-000001");
        assert_eq!(ids.next().as_str(), "0123456789ab-000002");
        ids.next.store(1_234_567, Ordering::Relaxed);
        assert_eq!(ids.next().as_str(), "0123456789ab-1234567");
        ids.next.store(u64::MAX, Ordering::Relaxed);
        let last = ids.next();
        assert_eq!(last.as_str(), format!("0123456789ab-{}", u64::MAX));
        assert!(last.is_inline(), "the longest id fits a label");
        // A multi-byte session id keeps whole characters.
        let ids = EventIds::new("ünïcødé-séssïøn");
        assert_eq!(ids.next().as_str(), "ünïcødé-séss-000001");
    }
}
