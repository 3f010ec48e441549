//! Prometheus / OpenMetrics metrics, counted from the audit events: every
//! decision, session start and end, egress connection and kernel denial is
//! an event already, so the metrics cannot disagree with the audit trail
//! (and work with the audit log switched off).
//!
//! Label values an agent or a server chooses (a method name, a tool name)
//! are bounded: methods outside MCP's own are `other`, and at most
//! [`MAX_TOOLS`] tool names get their own series, so a client cannot grow
//! the registry without limit.

use super::{Event, EventKind};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::sync::Mutex;

/// Distinct tool names with their own series; the rest count as `other`.
pub const MAX_TOOLS: usize = 256;

/// Methods of the MCP specification (labels keep their names).
const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "sampling/createMessage",
    "elicitation/create",
    "roots/list",
    "tasks/get",
    "tasks/list",
    "tasks/result",
    "tasks/cancel",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/message",
    "notifications/tools/list_changed",
    "notifications/resources/list_changed",
    "notifications/resources/updated",
    "notifications/prompts/list_changed",
    "notifications/roots/list_changed",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    direction: &'static str,
    method: String,
    verdict: String,
    layer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
    verdict: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
    layer: String,
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    direction: &'static str,
    layer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EgressLabels {
    allowed: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BytesLabels {
    direction: &'static str,
}

pub struct Metrics {
    registry: Registry,
    messages: Family<MessageLabels, Counter>,
    tool_calls: Family<ToolLabels, Counter>,
    findings: Family<RuleLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    sessions_started: Counter,
    sessions_active: Gauge,
    sessions_ended: Family<OutcomeLabels, Counter>,
    kernel_denials: Counter,
    input_errors: Counter,
    egress: Family<EgressLabels, Counter>,
    egress_bytes: Family<BytesLabels, Counter>,
    l2_unavailable: Counter,
    risk: Histogram,
    tools_seen: Mutex<HashSet<String>>,
}

fn direction(ev: &Event) -> &'static str {
    match ev.direction {
        super::Direction::AgentToServer => "agent_to_server",
        super::Direction::ServerToAgent => "server_to_agent",
        super::Direction::Gateway => "gateway",
    }
}

/// A JSON-serialised enum's name (`"block"` → `block`).
fn name_of<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".into(),
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics { .. }")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("vanguard");
        let messages = Family::<MessageLabels, Counter>::default();
        registry.register(
            "messages",
            "Messages judged, by direction, method, verdict and deciding layer",
            messages.clone(),
        );
        let tool_calls = Family::<ToolLabels, Counter>::default();
        registry.register(
            "tool_calls",
            "tools/call requests judged, by tool and verdict",
            tool_calls.clone(),
        );
        let findings = Family::<RuleLabels, Counter>::default();
        registry.register(
            "findings",
            "Findings, by rule, layer and action",
            findings.clone(),
        );
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(|| {
            // 1 µs … ~33 s.
            Histogram::new(exponential_buckets(1e-6, 2.0, 26))
        });
        registry.register(
            "decision_latency_seconds",
            "Time to judge a message, by direction and deciding layer",
            latency.clone(),
        );
        let sessions_started = Counter::default();
        registry.register(
            "sessions_started",
            "Sessions started",
            sessions_started.clone(),
        );
        let sessions_active = Gauge::default();
        registry.register(
            "sessions_active",
            "Sessions running now",
            sessions_active.clone(),
        );
        let sessions_ended = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "sessions_ended",
            "Sessions ended, by outcome (AgentClosed, UpstreamExited, Signalled, Failed)",
            sessions_ended.clone(),
        );
        let kernel_denials = Counter::default();
        registry.register(
            "kernel_denials",
            "Accesses the kernel sandbox refused that a result reported",
            kernel_denials.clone(),
        );
        let input_errors = Counter::default();
        registry.register(
            "input_errors",
            "Lines that were not JSON-RPC, not UTF-8 or too long",
            input_errors.clone(),
        );
        let egress = Family::<EgressLabels, Counter>::default();
        registry.register(
            "egress_connections",
            "Connections through the egress proxy, allowed or refused",
            egress.clone(),
        );
        let egress_bytes = Family::<BytesLabels, Counter>::default();
        registry.register(
            "egress_bytes",
            "Bytes through the egress proxy, by direction (up: to the destination)",
            egress_bytes.clone(),
        );
        let l2_unavailable = Counter::default();
        registry.register(
            "l2_unavailable",
            "Calls L2 could not score (backend down, timed out or answered badly)",
            l2_unavailable.clone(),
        );
        let risk = Histogram::new([1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        registry.register(
            "session_risk",
            "L3 session risk at each judged message",
            risk.clone(),
        );
        Metrics {
            registry,
            messages,
            tool_calls,
            findings,
            latency,
            sessions_started,
            sessions_active,
            sessions_ended,
            kernel_denials,
            input_errors,
            egress,
            egress_bytes,
            l2_unavailable,
            risk,
            tools_seen: Mutex::new(HashSet::new()),
        }
    }

    fn tool_label(&self, tool: &str) -> String {
        let mut seen = self.tools_seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(tool) {
            return tool.to_string();
        }
        if seen.len() < MAX_TOOLS {
            seen.insert(tool.to_string());
            return tool.to_string();
        }
        "other".into()
    }

    /// Counts one audit event.
    pub fn observe(&self, ev: &Event) {
        let verdict = name_of(&ev.verdict);
        let layer = ev
            .layer
            .as_ref()
            .map(name_of)
            .unwrap_or_else(|| "none".into());
        for f in &ev.findings {
            self.findings
                .get_or_create(&RuleLabels {
                    rule: f.rule.clone(),
                    layer: name_of(&f.layer),
                    action: name_of(&f.action),
                })
                .inc();
            if f.rule == "KERNEL-DENIAL" {
                self.kernel_denials.inc();
            }
            if f.rule == "L2-UNAVAILABLE" {
                self.l2_unavailable.inc();
            }
        }
        match ev.kind {
            EventKind::SessionStart => {
                self.sessions_started.inc();
                self.sessions_active.inc();
            }
            EventKind::SessionEnd => {
                self.sessions_active.dec();
                let outcome = ev
                    .detail
                    .as_ref()
                    .and_then(|d| d.get("outcome"))
                    .and_then(serde_json::Value::as_str)
                    // One of `Outcome::label`'s four words.
                    .map(str::to_string)
                    .unwrap_or_else(|| "unknown".into());
                self.sessions_ended
                    .get_or_create(&OutcomeLabels { outcome })
                    .inc();
            }
            EventKind::InputError => {
                self.input_errors.inc();
            }
            EventKind::Egress => {
                let allowed = if verdict == "allow" { "true" } else { "false" };
                self.egress.get_or_create(&EgressLabels { allowed }).inc();
                let bytes = |k: &str| {
                    ev.detail
                        .as_ref()
                        .and_then(|d| d.get(k))
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(0)
                };
                self.egress_bytes
                    .get_or_create(&BytesLabels { direction: "up" })
                    .inc_by(bytes("bytes_up"));
                self.egress_bytes
                    .get_or_create(&BytesLabels { direction: "down" })
                    .inc_by(bytes("bytes_down"));
            }
            EventKind::Decision => {
                let method = ev
                    .method
                    .as_deref()
                    .map(|m| if METHODS.contains(&m) { m } else { "other" })
                    .unwrap_or("response");
                let dir = direction(ev);
                self.messages
                    .get_or_create(&MessageLabels {
                        direction: dir,
                        method: method.to_string(),
                        verdict: verdict.clone(),
                        layer: layer.clone(),
                    })
                    .inc();
                self.latency
                    .get_or_create(&LatencyLabels {
                        direction: dir,
                        layer,
                    })
                    .observe(ev.latency_us as f64 / 1e6);
                if method == "tools/call" && dir == "agent_to_server" {
                    if let Some(t) = &ev.tool {
                        self.tool_calls
                            .get_or_create(&ToolLabels {
                                tool: self.tool_label(t),
                                verdict,
                            })
                            .inc();
                    }
                }
                if let Some(r) = ev.risk {
                    self.risk.observe(r);
                }
            }
            _ => {}
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The content type of [`Metrics::encode`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Direction;

    fn ev(kind: EventKind, method: Option<&str>, tool: Option<&str>) -> Event {
        Event {
            ts: crate::audit::Stamp::now(),
            event_id: "e".into(),
            session_id: "s".into(),
            server_id: "srv".into(),
            direction: Direction::AgentToServer,
            kind,
            method: method.map(crate::audit::Label::new),
            request_id: None,
            tool: tool.map(crate::audit::Label::new),
            verdict: crate::verdict::Verdict::Block,
            layer: Some(crate::verdict::Layer::L1),
            rules: vec![],
            findings: vec![],
            latency_us: 42,
            profile: "balanced".into(),
            principal: None,
            risk: Some(12.0),
            mode: crate::policy::Mode::Enforce,
            detail: None,
        }
    }

    #[test]
    fn events_become_series_with_bounded_labels() {
        let m = Metrics::new();
        m.observe(&ev(EventKind::SessionStart, None, None));
        m.observe(&ev(
            EventKind::Decision,
            Some("tools/call"),
            Some("read_file"),
        ));
        m.observe(&ev(EventKind::Decision, Some("x-evil/\"method"), None));
        for i in 0..(MAX_TOOLS + 10) {
            let t = format!("t{i}");
            m.observe(&ev(EventKind::Decision, Some("tools/call"), Some(&t)));
        }
        let text = m.encode();
        assert!(text.contains("vanguard_sessions_active 1"), "{text}");
        assert!(
            text.contains(r#"vanguard_tool_calls_total{tool="read_file",verdict="block"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"method="other""#), "{text}");
        assert!(!text.contains("x-evil"), "{text}");
        assert!(text.contains(r#"tool="other""#), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn an_ended_session_counts_under_its_outcome_word() {
        let m = Metrics::new();
        m.observe(&ev(EventKind::SessionStart, None, None));
        let mut end = ev(EventKind::SessionEnd, None, None);
        end.detail = Some(serde_json::json!({"outcome": "AgentClosed", "forced": false}));
        m.observe(&end);
        let text = m.encode();
        assert!(
            text.contains(r#"vanguard_sessions_ended_total{outcome="AgentClosed"} 1"#),
            "{text}"
        );
        assert!(text.contains("vanguard_sessions_active 0"), "{text}");
    }
}
