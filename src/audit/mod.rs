//! The audit trail: one JSON Lines event per decision.
//!
//! Events are built on the hot path and handed to a writer thread over a
//! channel, so a slow disk never delays a relayed message. The writer
//! flushes whenever the channel runs empty and rotates the file by size.

mod clock;
mod writer;

pub use clock::rfc3339_now;
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

/// One audit event. Field names are part of the documented format.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub ts: String,
    pub event_id: String,
    pub session_id: String,
    pub server_id: String,
    pub direction: Direction,
    /// `decision` for inspected messages; `session_start`, `session_end`,
    /// `input_error`, `upstream_noise` for lifecycle and bad input.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<crate::verdict::Layer>,
    pub rules: Vec<String>,
    pub findings: Vec<crate::verdict::Finding>,
    pub latency_us: u64,
    pub profile: String,
    /// The authenticated caller, when the transport has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The session's L3 risk score (decayed to this event), when L3 is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<f64>,
    pub mode: &'static str,
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
    pub fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n:06}", self.prefix)
    }
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
