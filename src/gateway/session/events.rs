//! Audit events and the error lines the session writes itself.

use super::*;

impl Shared {
    pub(super) fn block_response(&self, id: &RequestId, d: &Decision, event_id: &str) -> Vec<u8> {
        let f = d.primary();
        let message = match f {
            Some(f) => format!("Blocked by vanguard: {}", f.message),
            None => "Blocked by vanguard".to_string(),
        };
        let data = json!({
            "rule": f.map(|f| f.rule.as_str()),
            "layer": f.map(|f| f.layer).unwrap_or(Layer::L1),
            "severity": f.map(|f| f.severity),
            "event_id": event_id,
            "hint": f.and_then(|f| f.hint.as_deref()),
            "rules": d.rule_ids(),
        });
        tracing::warn!(request_id = id.as_json(), rules = ?d.rule_ids(), event_id, "blocked: {message}");
        error_line(Some(id), errors::POLICY_BLOCKED, &message, Some(data))
    }

    pub(super) fn invalid(&self, inv: &Invalid) -> Vec<u8> {
        let msg = match inv {
            Invalid::Utf8 { .. } => format!("Parse error: {inv}"),
            Invalid::Json { .. } => format!("Parse error: {inv}"),
            Invalid::Request { .. } => format!("Invalid Request: {inv}"),
        };
        self.input_error(Direction::AgentToServer, &msg);
        error_line(inv.id(), inv.code(), &msg, None)
    }

    pub(super) fn base_event(&self, kind: EventKind, direction: Direction) -> Event {
        self.event_with_id(kind, direction, self.cfg.ids.next())
    }

    /// An event under an id the caller already drew from the session's
    /// sequence (a decision's id is known before its event is built).
    pub(super) fn event_with_id(
        &self,
        kind: EventKind,
        direction: Direction,
        event_id: audit::Label,
    ) -> Event {
        Event {
            ts: audit::Stamp::now(),
            event_id,
            session_id: self.cfg.session_id.clone(),
            server_id: self.cfg.server_id.clone(),
            direction,
            kind,
            method: None,
            request_id: None,
            tool: None,
            verdict: Verdict::Allow,
            layer: None,
            rules: Vec::new(),
            findings: Vec::new(),
            latency_us: 0,
            profile: self.cfg.profile.clone(),
            principal: self.cfg.principal.clone(),
            risk: self.risk_now(),
            mode: self.cfg.mode,
            detail: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn decision_event(
        &self,
        event_id: &str,
        direction: Direction,
        method: &str,
        id: Option<&RequestId>,
        d: &Decision,
        verdict: Verdict,
        latency: Duration,
        detail: Option<Value>,
    ) {
        if !self.cfg.audit.is_enabled() {
            return;
        }
        let mut ev = self.event_with_id(EventKind::Decision, direction, event_id.into());
        ev.method = Some(method.into());
        ev.request_id = id.map(RequestId::to_value);
        ev.tool = d.tool.as_deref().map(audit::Label::new);
        ev.verdict = verdict;
        ev.layer = d.primary().map(|f| f.layer);
        ev.rules = d.rule_ids().into_iter().map(String::from).collect();
        ev.findings = d.findings.clone();
        ev.latency_us = latency.as_micros() as u64;
        ev.detail = detail;
        self.cfg.audit.record(ev);
    }

    pub(super) fn input_error(&self, direction: Direction, msg: &str) {
        match direction {
            Direction::AgentToServer => tracing::warn!("bad input from the agent: {msg}"),
            _ => tracing::warn!("bad input from the server: {msg}"),
        }
        let mut ev = self.base_event(EventKind::InputError, direction);
        ev.verdict = Verdict::Block;
        ev.detail = Some(json!({ "error": msg }));
        self.cfg.audit.record(ev);
    }

    pub(super) fn noise(&self, msg: &str) {
        let n = self
            .upstream_noise
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        tracing::warn!(count = n, "server stdout: {msg}");
        let mut ev = self.base_event(EventKind::UpstreamNoise, Direction::ServerToAgent);
        ev.verdict = Verdict::Block;
        ev.detail = Some(json!({ "error": msg, "count": n }));
        self.cfg.audit.record(ev);
    }

    pub(super) fn lifecycle(&self, kind: EventKind, detail: Value) {
        let mut ev = self.base_event(kind, Direction::Gateway);
        ev.detail = Some(detail);
        self.cfg.audit.record(ev);
    }
}

/// Longest string of an argument kept in the audit log, in characters.
const AUDIT_ARG_CHARS: usize = 256;
/// At most this many array items or object members per level.
const AUDIT_ARG_ITEMS: usize = 32;

/// A call's arguments as the audit log keeps them: secrets replaced by
/// `[REDACTED:<kind>]` (the result scanner's rewrite), terminal escapes
/// removed, strings cut to [`AUDIT_ARG_CHARS`] characters, at most
/// [`AUDIT_ARG_ITEMS`] items per level and 8 levels deep.
pub(super) fn audit_arguments(args: &Value) -> Value {
    let mut v = args.clone();
    crate::inspect::secrets::scan_with(
        &mut v,
        crate::inspect::secrets::Rewrite {
            secrets: true,
            escapes: true,
        },
    );
    shorten(v, 0)
}

fn shorten(v: Value, depth: usize) -> Value {
    if depth >= 8 && (v.is_object() || v.is_array()) {
        return Value::String("[…]".into());
    }
    match v {
        Value::String(s) => {
            let n = s.chars().count();
            if n <= AUDIT_ARG_CHARS {
                Value::String(s)
            } else {
                let head: String = s.chars().take(AUDIT_ARG_CHARS).collect();
                Value::String(format!("{head}…(+{} chars)", n - AUDIT_ARG_CHARS))
            }
        }
        Value::Array(a) => {
            let more = a.len().saturating_sub(AUDIT_ARG_ITEMS);
            let mut out: Vec<Value> = a
                .into_iter()
                .take(AUDIT_ARG_ITEMS)
                .map(|x| shorten(x, depth + 1))
                .collect();
            if more > 0 {
                out.push(Value::String(format!("…(+{more} items)")));
            }
            Value::Array(out)
        }
        Value::Object(m) => {
            let more = m.len().saturating_sub(AUDIT_ARG_ITEMS);
            let mut out: serde_json::Map<String, Value> = m
                .into_iter()
                .take(AUDIT_ARG_ITEMS)
                .map(|(k, x)| (k, shorten(x, depth + 1)))
                .collect();
            if more > 0 {
                out.insert("…".into(), Value::String(format!("+{more} members")));
            }
            Value::Object(out)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_arguments_are_redacted_and_bounded() {
        let long = "x".repeat(1000);
        let many: Vec<u32> = (0..100).collect();
        let v = audit_arguments(&json!({
            "content": "key AKIAQ7R2MZ5TN3XW8YLV here \u{1b}[31mred",
            "long": long,
            "many": many,
            "deep": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}},
        }));
        let content = v["content"].as_str().unwrap();
        assert!(content.contains("[REDACTED:aws-access-key]"), "{content}");
        assert!(!content.contains("AKIAQ7R2MZ5TN3XW8YLV"));
        assert!(!content.contains('\u{1b}'), "escape removed: {content:?}");
        let long = v["long"].as_str().unwrap();
        assert!(
            long.starts_with(&"x".repeat(256)) && long.ends_with("…(+744 chars)"),
            "{long}"
        );
        let many = v["many"].as_array().unwrap();
        assert_eq!(many.len(), 33);
        assert_eq!(many[32], "…(+68 items)");
        assert_eq!(v["deep"]["a"]["b"]["c"]["d"]["e"]["f"]["g"], "[…]");
    }
}
