//! The server side: each line from the server is matched to its request,
//! inspected (metadata, pins, results, kernel denials, L3 on results) and
//! relayed, rewritten or refused.

use super::*;

/// What happens to a line from the server.
pub(super) enum Relay {
    Original,
    Replace(Vec<u8>),
    /// An error for the message's id instead of the message.
    Refuse(Vec<u8>),
    Drop,
}

#[derive(Default)]
pub(super) struct UpstreamOutput {
    pub(super) forward: Option<Vec<u8>>,
    /// More lines for the agent (errors for replies that could not be read).
    pub(super) also: Vec<Vec<u8>>,
    /// Lines for the server: a request of vanguard's own, or the refusal of
    /// a server→client request that was withheld from the agent.
    pub(super) to_server: Vec<Vec<u8>>,
    /// Held agent lines can be decided now.
    pub(super) replay: bool,
    /// A result for L3 to observe before it is relayed.
    pub(super) l3: Option<(RequestId, Option<String>, crate::behavior::ResultObs)>,
    /// An agent's `tools/list` answer, for L2 to score before it is relayed.
    pub(super) tools_list: Option<RequestId>,
}

pub(super) enum Forward {
    Original,
    Parts(Vec<Vec<u8>>),
    /// Batch elements to send together with the allowed deferred ones.
    Batch(Vec<String>),
    Nothing,
}

/// The rule of a server message vanguard could not read within its limits.
pub(crate) const UNREADABLE_RULE: &str = "RESULT-UNREADABLE";

/// Where a checked payload sits in its message, and what to call it.
struct Part<'a> {
    /// `result`, `error` or `params`.
    key: &'static str,
    /// For messages: "the tool result", "the server's error", ….
    what: &'a str,
}

/// Fingerprints of the secrets the detector finds in `text` (each secret
/// and its line); the kind of the first, if any.
fn secret_fingerprints(
    text: &str,
    set: &mut crate::behavior::fingerprint::Fingerprints,
) -> Option<&'static str> {
    let mut first = None;
    for m in crate::inspect::secrets::scan_text(text) {
        let Some(secret) = text.get(m.range.clone()) else {
            continue;
        };
        let before = text.get(..m.range.start).unwrap_or_default();
        let after = text.get(m.range.end..).unwrap_or_default();
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let end = after.find('\n').map_or(text.len(), |i| m.range.end + i);
        crate::behavior::fingerprint::of_secret(
            secret,
            text.get(start..end).unwrap_or(secret),
            set,
        );
        first.get_or_insert(m.kind);
    }
    first
}

/// `raw` with its id replaced by `id`.
fn respell(raw: &[u8], id: &RequestId) -> Relay {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(mut obj)) => {
            obj.insert("id".into(), id.to_value());
            Relay::Replace(serde_json::to_vec(&obj).unwrap_or_default())
        }
        _ => Relay::Original,
    }
}

/// A response's `result`: still raw (from `classify`), or decoded with the
/// envelope (`parse_success`).
enum Body<'a> {
    Raw(Option<&'a serde_json::value::RawValue>),
    Decoded(Value),
}

impl Body<'_> {
    /// The decoded result, `None` when the response has none.
    fn decoded(self) -> Option<Result<Value, serde_json::Error>> {
        match self {
            Body::Raw(r) => r.map(|r| serde_json::from_str::<Value>(r.get())),
            Body::Decoded(v) => Some(Ok(v)),
        }
    }
}

impl Shared {
    /// Decides one line from the server. Nothing reaches the agent unread:
    /// a line that cannot be read within vanguard's limits is replaced by an
    /// error for the request it answers, or dropped and audited.
    pub(super) fn upstream_line(&self, mut line: Vec<u8>) -> UpstreamOutput {
        crate::gateway::note_activity();
        let mut out = UpstreamOutput::default();
        // The common line (a success response) in one pass; every other
        // goes through `classify`.
        let handled = if let Some((id, result)) = parse_success(&line) {
            self.server_response(id, false, Body::Decoded(result), None, &line, &mut out)
        } else {
            self.classified_line(&line, &mut out)
        };
        out.forward = match handled {
            Relay::Original => {
                line.push(b'\n');
                Some(line)
            }
            Relay::Replace(mut b) | Relay::Refuse(mut b) => {
                if b.last() != Some(&b'\n') {
                    b.push(b'\n');
                }
                Some(b)
            }
            Relay::Drop => None,
        };
        out
    }

    /// A line from the server that is too long, not UTF-8, not JSON or not
    /// JSON-RPC. If the request it answers can be told (from the parser, or
    /// from an `"id"` at either end of the line), that request is answered
    /// with an error; otherwise the line is dropped and audited.
    pub(super) fn unreadable_line(
        &self,
        head: &[u8],
        tail: &[u8],
        reason: &str,
        parsed_id: Option<&RequestId>,
        out: &mut UpstreamOutput,
    ) {
        let mut candidates: Vec<RequestId> = parsed_id.into_iter().cloned().collect();
        if candidates.is_empty() {
            candidates = crate::protocol::message::recover_ids(head, tail);
        }
        let mut answered = false;
        for id in candidates {
            let entry = self
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove_entry(&id);
            let Some((id, p)) = entry else { continue };
            answered = true;
            self.cfg.egress_in_flight.remove(&id.to_value());
            if p.internal {
                self.internal_listing(None, true);
                out.replay = true;
                continue;
            }
            if let Some(line) = self.unreadable_reply(&id, &p, reason) {
                out.also.push(line);
            }
        }
        if !answered {
            self.noise(&format!("{reason}; not relayed"));
        }
    }

    /// Whether the agent cancelled request `id` (forgetting it: one answer).
    fn was_cancelled(&self, id: &RequestId) -> bool {
        let mut cancelled = self.cancelled.lock().unwrap_or_else(|p| p.into_inner());
        match cancelled.iter().position(|c| c == id) {
            Some(i) => {
                cancelled.remove(i);
                true
            }
            None => false,
        }
    }

    /// The error that replaces a reply vanguard could not read (recorded);
    /// `None` in shadow mode, which only records.
    fn unreadable_reply(&self, id: &RequestId, p: &Pending, reason: &str) -> Option<Vec<u8>> {
        let shadow = self.cfg.mode == Mode::Shadow;
        let message = format!("the server's reply could not be inspected: {reason}");
        let f = crate::inspect::Finding {
            rule: UNREADABLE_RULE.into(),
            layer: Layer::L1,
            severity: crate::policy::Severity::High,
            action: crate::policy::Action::Block,
            message: message.clone(),
            location: "/".into(),
            evidence: String::new(),
            hint: Some("vanguard relays only what it can inspect; check the server's output (its stderr) for the cause".into()),
        };
        let mut d = Decision::new();
        d.tool = p.tool.clone();
        d.push(f);
        d.finish();
        let event_id = self.cfg.ids.next();
        let verdict = if shadow {
            Verdict::ShadowBlock
        } else {
            Verdict::Block
        };
        self.decision_event(
            &event_id,
            Direction::ServerToAgent,
            &p.method,
            Some(id),
            &d,
            verdict,
            p.since.elapsed(),
            None,
        );
        tracing::warn!(
            request_id = id.as_json(),
            method = p.method.as_str(),
            "{message}"
        );
        if shadow {
            return None;
        }
        let data = json!({ "rule": UNREADABLE_RULE, "layer": Layer::L1, "event_id": event_id, "reason": reason });
        Some(error_line(
            Some(id),
            errors::UPSTREAM_UNREADABLE,
            &format!("Blocked by vanguard: {message}"),
            Some(data),
        ))
    }

    /// A line from the server that is not a plain success response.
    fn classified_line(&self, line: &[u8], out: &mut UpstreamOutput) -> Relay {
        match classify(line) {
            Err(e) => {
                self.unreadable_line(line, line, &e.to_string(), e.id(), out);
                Relay::Drop
            }
            Ok(Message::Batch(items)) => {
                // Rare (2025-03-26 only): each element is decided alone and
                // the batch rebuilt only if one of them changed.
                let mut changed = false;
                let mut parts: Vec<Vec<u8>> = Vec::new();
                for raw in &items {
                    let bytes = raw.get().as_bytes();
                    let relay = match classify_raw(raw) {
                        Ok(m) => self.server_message(m, bytes, out),
                        Err(e) => {
                            let mut one = UpstreamOutput::default();
                            self.unreadable_line(bytes, bytes, &e.to_string(), e.id(), &mut one);
                            out.also.append(&mut one.also);
                            out.replay |= one.replay;
                            Relay::Drop
                        }
                    };
                    match relay {
                        Relay::Original => parts.push(bytes.to_vec()),
                        Relay::Replace(mut b) | Relay::Refuse(mut b) => {
                            changed = true;
                            while b.last() == Some(&b'\n') {
                                b.pop();
                            }
                            parts.push(b);
                        }
                        Relay::Drop => changed = true,
                    }
                }
                if !changed {
                    Relay::Original
                } else if parts.is_empty() {
                    Relay::Drop
                } else {
                    let mut b = vec![b'['];
                    b.extend(parts.join(&b',').iter());
                    b.extend_from_slice(b"]");
                    Relay::Replace(b)
                }
            }
            Ok(m) => self.server_message(m, line, out),
        }
    }

    pub(super) fn server_message(
        &self,
        m: Message<'_>,
        raw: &[u8],
        out: &mut UpstreamOutput,
    ) -> Relay {
        match m {
            Message::Response {
                id,
                is_error,
                result,
                error,
            } => self.server_response(id, is_error, Body::Raw(result), error, raw, out),
            Message::Notification { method, params } => {
                if method == "notifications/tools/list_changed" {
                    // Re-inspect: calls wait for a fresh listing, which vanguard
                    // asks for itself once the handshake is done.
                    self.server
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .invalidate_listing();
                    if self.agent_ready.load(std::sync::atomic::Ordering::Acquire) {
                        out.to_server.extend(self.start_listing());
                    }
                }
                let Some(params) = params else {
                    return Relay::Original;
                };
                let what = format!("the server's {method} notification");
                let part = Part {
                    key: "params",
                    what: &what,
                };
                self.inspect_payload(None, &method, None, params.get(), raw, &part, out, None)
            }
            Message::Request { id, method, params } => {
                // A server→client request (sampling, elicitation, roots,
                // ping): what it asks the agent is checked like a result.
                let Some(params) = params else {
                    return Relay::Original;
                };
                let what = format!("the server's {method} request");
                let part = Part {
                    key: "params",
                    what: &what,
                };
                match self.inspect_payload(
                    Some(&id),
                    &method,
                    None,
                    params.get(),
                    raw,
                    &part,
                    out,
                    None,
                ) {
                    Relay::Refuse(refusal) => {
                        // Withheld from the agent: the server hears why.
                        out.to_server.push(refusal);
                        Relay::Drop
                    }
                    relay => relay,
                }
            }
            Message::Batch(_) => {
                self.noise("a nested batch; not relayed");
                Relay::Drop
            }
        }
    }

    /// A response from the server to a request of the agent's (or of
    /// vanguard's own `tools/list`).
    fn server_response(
        &self,
        id: RequestId,
        is_error: bool,
        result: Body<'_>,
        error: Option<&serde_json::value::RawValue>,
        raw: &[u8],
        out: &mut UpstreamOutput,
    ) -> Relay {
        // Matched by value, as the SDKs do (`5.0` answers `5`); the
        // agent's own spelling of the id is kept.
        let entry = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove_entry(&id);
        let respelled = entry
            .as_ref()
            .is_some_and(|(ours, _)| ours.as_json() != id.as_json());
        let Some((id, p)) = entry else {
            if self.was_cancelled(&id) {
                tracing::debug!(
                    id = %id.as_json(),
                    "dropped the server's answer to a request the agent cancelled"
                );
                return Relay::Drop;
            }
            self.noise(&format!(
                "a reply to id {} that no request in flight has; not relayed",
                id.as_json()
            ));
            return Relay::Drop;
        };
        self.cfg.egress_in_flight.remove(&id.to_value());
        if p.internal {
            self.internal_listing(result.decoded().and_then(Result::ok), is_error);
            out.replay = true;
            return Relay::Drop;
        }
        let relay = match (is_error, result.decoded()) {
            (true, _) | (false, None) => {
                let what = format!("the server's error for {}", p.method);
                let part = Part {
                    key: "error",
                    what: &what,
                };
                let text = error.map(|e| e.get()).unwrap_or("null");
                self.inspect_payload(
                    Some(&id),
                    &p.method,
                    p.tool.as_deref(),
                    text,
                    raw,
                    &part,
                    out,
                    Some(&p),
                )
            }
            (false, Some(result)) => {
                if p.method == "tools/list"
                    && self.cfg.semantic_policy.metadata
                    && self.cfg.semantic.is_some()
                {
                    out.tools_list = Some(id.clone());
                }
                let mut denied = false;
                if p.method == "tools/call" {
                    let text = std::str::from_utf8(raw).unwrap_or("");
                    if crate::inspect::denial::may_contain_denial(text)
                        || (self.visible.is_some()
                            && crate::inspect::denial::may_contain_missing(text))
                    {
                        denied = self.kernel_denial(&id, &p, text);
                    }
                }
                self.inspect_result(&id, &p, result, raw, denied, out)
            }
        };
        match relay {
            // The agent gets its id back as it spelled it.
            Relay::Original if respelled => respell(raw, &id),
            relay => relay,
        }
    }

    /// A payload of a server message other than a method's own result
    /// (an error, a notification's or a request's params): secrets,
    /// injection and escapes, then block, redact or relay.
    #[allow(clippy::too_many_arguments)]
    fn inspect_payload(
        &self,
        id: Option<&RequestId>,
        method: &str,
        tool: Option<&str>,
        text: &str,
        raw: &[u8],
        part: &Part<'_>,
        out: &mut UpstreamOutput,
        pending: Option<&Pending>,
    ) -> Relay {
        let started = Instant::now();
        let value = match serde_json::from_str::<Value>(text) {
            Ok(v) => v,
            Err(e) => {
                let reason = format!("its {} could not be decoded ({e})", part.key);
                return match (id, pending) {
                    (Some(id), Some(p)) => match self.unreadable_reply(id, p, &reason) {
                        Some(line) => Relay::Refuse(line),
                        None => Relay::Original,
                    },
                    _ => {
                        self.noise(&format!("{}: {reason}; not relayed", part.what));
                        if self.cfg.mode == Mode::Shadow {
                            Relay::Original
                        } else {
                            if let (Some(id), None) = (id, pending) {
                                // A server request nobody will answer now.
                                out.to_server.push(error_line(
                                    Some(id),
                                    errors::INVALID_PARAMS,
                                    &format!("vanguard could not inspect this request: {reason}"),
                                    None,
                                ));
                            }
                            Relay::Drop
                        }
                    }
                };
            }
        };
        let outcome = self
            .server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .on_payload(&value, &format!("/{}", part.key), part.what);
        self.settle(id, method, tool, outcome, raw, part, started)
    }

    /// Records what the server-side checks found and applies it: relay,
    /// redact (the part replaced) or block (an error for the id; a
    /// notification is dropped).
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &self,
        id: Option<&RequestId>,
        method: &str,
        tool: Option<&str>,
        outcome: super::super::server_side::Outcome,
        raw: &[u8],
        part: &Part<'_>,
        started: Instant,
    ) -> Relay {
        if outcome.findings.is_empty() && outcome.replace.is_none() && outcome.block.is_none() {
            return Relay::Original;
        }
        let shadow = self.cfg.mode == Mode::Shadow;
        let verdict = outcome.verdict(shadow);
        let event_id = self.cfg.ids.next();
        let mut d = Decision::new();
        d.tool = tool.map(Into::into);
        d.findings = outcome.findings;
        d.finish();
        let mut ev = self.event_with_id(
            EventKind::Decision,
            Direction::ServerToAgent,
            audit::Label::new(&event_id),
        );
        ev.method = Some(method.into());
        ev.request_id = id.map(RequestId::to_value);
        ev.tool = tool.map(audit::Label::new);
        ev.verdict = verdict;
        ev.layer = d.primary().map(|f| f.layer);
        ev.rules = d.rule_ids().into_iter().map(String::from).collect();
        ev.latency_us = started.elapsed().as_micros() as u64;
        ev.findings = d.findings.clone();
        ev.detail = (part.key != "result").then(|| json!({ "part": part.key }));
        self.cfg.audit.record(ev);
        if verdict != Verdict::Allow {
            tracing::warn!(method, tool = ?tool, verdict = verdict.as_str(), rules = ?d.rule_ids(), event_id = event_id.as_str(), "{}", part.what);
        }
        if shadow {
            return Relay::Original;
        }
        if let Some((message, rule)) = outcome.block {
            let Some(id) = id else {
                return Relay::Drop;
            };
            let data = json!({ "rule": rule, "layer": Layer::L1, "event_id": event_id, "rules": d.rule_ids() });
            return Relay::Refuse(error_line(
                Some(id),
                errors::POLICY_BLOCKED,
                &format!("Blocked by vanguard: {message}"),
                Some(data),
            ));
        }
        if let Some(new_part) = outcome.replace {
            let Ok(mut whole) = serde_json::from_slice::<Value>(raw) else {
                // Unreachable in practice (the part was decoded from it); never
                // relay the unredacted original.
                return match id {
                    Some(id) => Relay::Refuse(error_line(
                        Some(id),
                        errors::UPSTREAM_UNREADABLE,
                        "Blocked by vanguard: the server's message could not be rewritten",
                        None,
                    )),
                    None => Relay::Drop,
                };
            };
            if let Some(obj) = whole.as_object_mut() {
                obj.insert(part.key.to_string(), new_part);
                if let (Some(id), true) = (id, part.key != "params") {
                    // A reply carries the id as the agent spelled it.
                    obj.insert("id".into(), id.to_value());
                }
            }
            return Relay::Replace(serde_json::to_vec(&whole).unwrap_or_default());
        }
        Relay::Original
    }

    /// Metadata and result inspection for a response to `p`.
    pub(super) fn inspect_result(
        &self,
        id: &RequestId,
        p: &Pending,
        result: Result<Value, serde_json::Error>,
        raw: &[u8],
        denied: bool,
        out: &mut UpstreamOutput,
    ) -> Relay {
        let started = Instant::now();
        let value = match result {
            Ok(v) => v,
            Err(e) => {
                let reason = format!("its result could not be decoded ({e})");
                return match self.unreadable_reply(id, p, &reason) {
                    Some(line) => Relay::Refuse(line),
                    None => Relay::Original,
                };
            }
        };
        if p.method == "tools/list" {
            self.learn_tools(&value);
        }
        let what: std::borrow::Cow<'_, str> = match p.method.as_str() {
            "tools/call" => "the tool result".into(),
            "resources/read" => "the resource contents".into(),
            m => format!("the server's {m} answer").into(),
        };
        let outcome = {
            let mut view = self.server.lock().unwrap_or_else(|p| p.into_inner());
            match p.method.as_str() {
                "initialize" => view.on_initialize(&value),
                "tools/list" => view.on_tools_list(&value),
                "prompts/list" => view.on_items_list(&value, "prompts", "prompt"),
                "resources/list" => view.on_items_list(&value, "resources", "resource"),
                "resources/templates/list" => {
                    view.on_items_list(&value, "resourceTemplates", "resource_template")
                }
                "tools/call" => {
                    let file = view.file_kind(&p.paths);
                    let mut outcome = view.on_payload_from(&value, "/result", &what, file);
                    prompt_file_hint(&mut outcome, file.is_none(), &p.paths);
                    outcome
                }
                _ => view.on_payload(&value, "/result", &what),
            }
        };
        if p.method == "tools/call" || p.method == "resources/read" {
            self.result_obs(id, p, &value, raw.len(), denied, &outcome.findings, out);
        } else if p.method == "initialize" || p.method == "tools/list" {
            crate::gateway::trim_after_start();
        }
        let part = Part {
            key: "result",
            what: &what,
        };
        self.settle(
            Some(id),
            &p.method,
            p.tool.as_deref(),
            outcome,
            raw,
            &part,
            started,
        )
    }

    /// The answer to vanguard's own `tools/list`.
    pub(super) fn internal_listing(&self, value: Option<Value>, is_error: bool) {
        self.listing_in_flight
            .store(false, std::sync::atomic::Ordering::Release);
        let mut view = self.server.lock().unwrap_or_else(|p| p.into_inner());
        match value {
            Some(v) if !is_error => {
                drop(view);
                self.learn_tools(&v);
                let outcome = self
                    .server
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .on_tools_list(&v);
                if !outcome.findings.is_empty() {
                    let mut ev = self.base_event(EventKind::Decision, Direction::ServerToAgent);
                    ev.method = Some("tools/list".into());
                    ev.verdict = outcome.verdict(self.cfg.mode == Mode::Shadow);
                    ev.rules = outcome.findings.iter().map(|f| f.rule.clone()).collect();
                    ev.findings = outcome.findings;
                    ev.detail = Some(json!({ "internal": true }));
                    self.cfg.audit.record(ev);
                }
            }
            _ => {
                tracing::warn!("the server did not list its tools; tool calls cannot be checked against a listing");
                view.listing_failed();
            }
        }
    }

    /// What L3 learns from a result: its size, the taint of a sensitive
    /// read or of secrets in it (fingerprints of the text as the server
    /// sent it, before redaction), and risk from result findings.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn result_obs(
        &self,
        id: &RequestId,
        p: &Pending,
        value: &Value,
        bytes: usize,
        denied: bool,
        findings: &[crate::inspect::Finding],
        out: &mut UpstreamOutput,
    ) {
        use crate::behavior::{fingerprint, weight, ResultObs, TaintAdd};
        if !self.cfg.behavior.as_ref().is_some_and(|e| e.cfg.enabled) {
            return;
        }
        let secret = findings.iter().find(|f| f.rule.starts_with("SECRET-"));
        // Only strong signs of injection (orders to override, conceal,
        // redirect, exfiltrate) raise risk; documentation that says "use
        // the X tool" or mentions "the LLM" is recorded, at no cost.
        let injection = findings.iter().any(|f| {
            f.rule.starts_with("RESULT-INJ") && f.severity >= crate::policy::Severity::High
        });
        let mut risk_add: f64 = 0.0;
        if denied {
            risk_add = risk_add.max(weight::KERNEL_DENIAL);
        }
        if secret.is_some() {
            risk_add = risk_add.max(weight::RESULT_SECRET);
        }
        if injection {
            risk_add = risk_add.max(weight::RESULT_INJECTION);
        }
        if risk_add > 0.0 {
            let what = if denied {
                "KERNEL-DENIAL".to_string()
            } else {
                findings
                    .iter()
                    .filter(|f| f.rule.starts_with("SECRET-") || f.rule.starts_with("RESULT-INJ"))
                    .map(|f| f.rule.as_str())
                    .next()
                    .unwrap_or("result")
                    .to_string()
            };
            let tool = p.tool.as_deref().unwrap_or(&p.method);
            self.note_risk(
                crate::behavior::now_ms(),
                risk_add,
                format!("{what} in a result of {tool}"),
            );
        }
        // A credential store taints with everything it returned; any other
        // read only when the secrets detector found secrets in the result,
        // and then with those secrets (and their lines) alone: copying code
        // from `auth_token.py` carries nothing out.
        let taint = match (&p.sensitive, secret) {
            (Some((level, path)), _) => {
                let mut set = fingerprint::Fingerprints::default();
                crate::inspect::arguments::walk(value, |a| {
                    fingerprint::of_text(a.value, &mut set, fingerprint::MAX_PER_TAINT)
                });
                Some(TaintAdd {
                    level: *level,
                    reason: path.clone(),
                    fingerprints: set.into_iter().collect(),
                    sources: vec![path.clone()],
                })
            }
            (None, found) => {
                // The secrets as the detector found them in the text, or in
                // what the text decodes to (a hex dump of `.env`).
                let mut set = fingerprint::Fingerprints::default();
                let mut decoded_kind: Option<&'static str> = None;
                if found.is_none() {
                    // Without a finding only an encoded secret taints: the
                    // decoded views are looked at first, and the text's own
                    // fingerprints are taken only when one was found there.
                    crate::inspect::arguments::walk(value, |a| {
                        for view in crate::behavior::decode::views(a.value) {
                            if let Some(kind) = secret_fingerprints(&view, &mut set) {
                                decoded_kind.get_or_insert(kind);
                            }
                        }
                    });
                }
                if found.is_some() || decoded_kind.is_some() {
                    crate::inspect::arguments::walk(value, |a| {
                        secret_fingerprints(a.value, &mut set);
                    });
                }
                let rule = match (found, decoded_kind) {
                    (Some(f), _) => f.rule.clone(),
                    (None, Some(kind)) => format!("SECRET ({kind}, encoded)"),
                    (None, None) => String::new(),
                };
                if rule.is_empty() || set.is_empty() {
                    None
                } else {
                    let level = if rule.contains("PRIVATE-KEY") || rule.contains("private-key") {
                        Sensitivity::System
                    } else {
                        Sensitivity::Project
                    };
                    let tool = p.tool.as_deref().unwrap_or(&p.method);
                    let from = p
                        .paths
                        .first()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default();
                    Some(TaintAdd {
                        level,
                        reason: format!("{rule} in a result of {tool}{from}"),
                        fingerprints: set.into_iter().collect(),
                        // Editing a file the secret came from is not a leak;
                        // which file of a multi-file read held it is not
                        // known here, so each named one is a source.
                        sources: p.paths.clone(),
                    })
                }
            }
        };
        out.l3 = Some((
            id.clone(),
            p.tool.clone(),
            ResultObs {
                now_ms: crate::behavior::now_ms(),
                bytes: bytes as u64,
                taint,
                risk_add,
            },
        ));
    }

    /// Records a result with L3 (awaiting a remote store) and applies the
    /// response-volume verdict.
    pub(super) async fn observe_result(
        &self,
        (id, tool, obs): (RequestId, Option<String>, crate::behavior::ResultObs),
        out: &mut UpstreamOutput,
    ) {
        let Some(engine) = self.cfg.behavior.clone() else {
            return;
        };
        let finding = match engine.store.observe_result(&self.l3_key, &obs).await {
            Ok(st) => {
                self.set_risk(st.risk, obs.now_ms);
                if let Some(why) = &st.egress_cut {
                    self.shared_cut(&engine, why);
                }
                crate::behavior::assess_result(&engine.cfg, &st)
            }
            Err(e) => {
                let mut f = self.store_failure(&engine, &e);
                f.location = "/result".into();
                Some(f)
            }
        };
        let Some(f) = finding else { return };
        let f = self.overridden(f);
        let block = f.action == crate::policy::Action::Block;
        let shadow = self.cfg.mode == Mode::Shadow;
        let verdict = match (block, shadow) {
            (true, true) => Verdict::ShadowBlock,
            (true, false) => Verdict::Block,
            _ => Verdict::Warn,
        };
        let mut d = Decision::new();
        d.tool = tool;
        d.push(f);
        d.finish();
        let event_id = self.cfg.ids.next();
        self.decision_event(
            &event_id,
            Direction::ServerToAgent,
            "tools/call",
            Some(&id),
            &d,
            verdict,
            Duration::ZERO,
            None,
        );
        if verdict == Verdict::Block && out.forward.is_some() {
            out.forward = Some(self.block_response(&id, &d, &event_id));
        }
    }

    /// L2 on server metadata: every tool of an agent's `tools/list` answer
    /// is scored (concurrently, cached across sessions); a tool at or above
    /// the block threshold is withheld from the list and refused if called.
    /// A failed score withholds the tool when L2 fails closed.
    pub(super) async fn score_metadata(&self, id: &RequestId, out: &mut UpstreamOutput) {
        let Some(scorer) = self.cfg.semantic.clone() else {
            return;
        };
        let Some(bytes) = out.forward.as_ref() else {
            return;
        };
        let Ok(mut whole) = serde_json::from_slice::<Value>(bytes) else {
            return;
        };
        let Some(tools) = whole
            .pointer("/result/tools")
            .and_then(Value::as_array)
            .cloned()
        else {
            return;
        };
        let started = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for (i, t) in tools.iter().enumerate() {
            let scorer = Arc::clone(&scorer);
            let t = t.clone();
            set.spawn(async move {
                let name = t
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let input = crate::semantic::Input {
                    kind: "tools/list",
                    tool: Some(&name),
                    payload: &t,
                    findings: &[],
                };
                let r = scorer.score(&input).await;
                (i, name, r)
            });
        }
        let p = self.cfg.semantic_policy.settings.clone();
        let mut withheld: Vec<usize> = Vec::new();
        let mut findings = Vec::new();
        let mut scores = serde_json::Map::new();
        while let Some(Ok((i, name, r))) = set.join_next().await {
            let (action, message) = match r {
                Ok(sc) => {
                    scores.insert(name.clone(), json!(sc.score));
                    let verdict = crate::semantic::verdict_for(sc.score, p.warn, p.block);
                    let Some(action) = action_of(verdict) else {
                        self.server
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .unhide_tool(&name, "L2-METADATA");
                        continue;
                    };
                    let message = format!(
                        "semantic score {:.2} for tool {name:?}: {}",
                        sc.score, sc.reason
                    );
                    (action, message)
                }
                Err(e) => {
                    tracing::error!("L2 could not score tool {name:?}: {e}");
                    let action = if p.fail_closed {
                        crate::policy::Action::Block
                    } else {
                        crate::policy::Action::Warn
                    };
                    (
                        action,
                        format!("semantic scoring of tool {name:?} failed: {e}"),
                    )
                }
            };
            if action == crate::policy::Action::Block {
                withheld.push(i);
                self.server
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .hide_tool(
                        &name,
                        "L2-METADATA",
                        format!("tool {name:?} was withheld: {message}"),
                    );
            }
            findings.push(crate::inspect::Finding {
                rule: "L2-METADATA".into(),
                layer: Layer::L2,
                severity: crate::policy::Severity::High,
                action,
                message,
                location: format!("/result/tools/{i}"),
                evidence: name,
                hint: None,
            });
        }
        let shadow = self.cfg.mode == Mode::Shadow;
        let mut d = Decision::new();
        d.findings = findings;
        d.finish();
        let verdict = match (d.verdict, shadow) {
            (Verdict::Block, true) => Verdict::ShadowBlock,
            (v, _) => v,
        };
        let event_id = self.cfg.ids.next();
        self.decision_event(
            &event_id,
            Direction::ServerToAgent,
            "tools/list",
            Some(id),
            &d,
            verdict,
            started.elapsed(),
            Some(json!({ "l2": { "scores": scores } })),
        );
        if withheld.is_empty() || shadow {
            return;
        }
        if let Some(list) = whole
            .pointer_mut("/result/tools")
            .and_then(Value::as_array_mut)
        {
            let mut i = 0;
            list.retain(|_| {
                let keep = !withheld.contains(&i);
                i += 1;
                keep
            });
        }
        let mut b = serde_json::to_vec(&whole).unwrap_or_default();
        b.push(b'\n');
        out.forward = Some(b);
    }

    /// Links an OS refusal reported in a tool result to the call; true when
    /// the agent caused it (it then adds risk).
    pub(super) fn kernel_denial(&self, id: &RequestId, p: &Pending, line: &str) -> bool {
        // Decode the result's text so JSON escapes don't hide the path.
        let text = match serde_json::from_str::<Value>(line) {
            // A refusal comes back as a failed call. A successful one that
            // mentions "Access denied" returned text that says so (a web
            // server's log, a page about permissions); only a shell tool's
            // output (a command line among the arguments, or a shell tool)
            // carries its programs' refusals in a successful result.
            Ok(v)
                if v.get("error").is_none()
                    && v.pointer("/result/isError").and_then(Value::as_bool) != Some(true)
                    && !p.command
                    && !p
                        .tool
                        .as_deref()
                        .is_some_and(crate::inspect::arguments::is_shell_tool) =>
            {
                return false;
            }
            Ok(v) => {
                let mut all = String::new();
                crate::inspect::arguments::walk(v.get("result").unwrap_or(&Value::Null), |a| {
                    all.push_str(a.value);
                    all.push('\n');
                });
                all
            }
            Err(_) => line.to_string(),
        };
        let found = crate::inspect::denial::find(&text).or_else(|| {
            let visible = self.visible.as_deref()?;
            crate::inspect::denial::find_hidden(&text, |p| hidden_from_server(visible, p))
        });
        let Some(mut f) = found else {
            return false;
        };
        let denied_path = f
            .hint
            .as_deref()
            .and_then(|h| h.strip_prefix("path: "))
            .map(String::from);
        // The agent caused it when it named the refused path (or a directory
        // around it), ran a command, or when the error names no path at all.
        // A refusal of the server's own start-up or configuration reads
        // (`~/.gitconfig`, a cache under HOME) is recorded, without risk.
        let agent_driven = match &denied_path {
            None => true,
            Some(d) => {
                p.tool
                    .as_deref()
                    .is_some_and(crate::inspect::arguments::is_shell_tool)
                    || p.paths.iter().any(|c| {
                        let (c, d) = (std::path::Path::new(c), std::path::Path::new(d));
                        d.starts_with(c) || c.starts_with(d)
                    })
            }
        };
        if !agent_driven {
            f.message = format!("{} (not a path the call named: no risk)", f.message);
        }
        if let (None, Some(first)) = (&f.hint, p.paths.first()) {
            // The error text named no path: attribute it to the call's paths.
            f.hint = Some(format!("path: {first}"));
            f.message = format!("{} while the call named {}", f.message, p.paths.join(", "));
        }
        tracing::info!(request_id = id.as_json(), tool = ?p.tool, "{}", f.message);
        let mut ev = self.base_event(EventKind::Decision, Direction::ServerToAgent);
        ev.method = Some(p.method.as_str().into());
        ev.request_id = Some(id.to_value());
        ev.tool = p.tool.as_deref().map(audit::Label::new);
        ev.layer = Some(Layer::Kernel);
        ev.rules = vec![f.rule.clone()];
        ev.findings = vec![f];
        ev.latency_us = p.since.elapsed().as_micros() as u64;
        self.cfg.audit.record(ev);
        agent_driven
    }

    /// Remembers tool annotations from a `tools/list` result.
    pub(super) fn learn_tools(&self, v: &Value) {
        let Some(list) = v.get("tools").and_then(Value::as_array) else {
            return;
        };
        let mut tools = self.tools.lock().unwrap_or_else(|p| p.into_inner());
        for t in list {
            let Some(name) = t.get("name").and_then(Value::as_str) else {
                continue;
            };
            let a = t.get("annotations");
            let caps = crate::behavior::capability::infer_tool(
                name,
                t.get("description").and_then(Value::as_str),
                a,
            );
            self.tool_caps
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.to_string(), caps);
            let flag = |k: &str| a.and_then(|a| a.get(k)).and_then(Value::as_bool);
            tools.insert(
                name.to_string(),
                ToolHints {
                    read_only: flag("readOnlyHint"),
                    destructive: flag("destructiveHint"),
                    preview_flag: ToolHints::preview_flag_in(t.get("inputSchema")),
                    previewing: false,
                },
            );
        }
    }

    pub(super) async fn fail_pending(&self, agent_tx: &Tx, outcome: &Outcome) {
        let drained: Vec<(RequestId, Pending)> = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        for (id, _) in &drained {
            self.cfg.egress_in_flight.remove(&id.to_value());
        }
        let detail = match outcome {
            Outcome::UpstreamExited(s) => format!("the server exited ({s}) before answering"),
            Outcome::AgentClosed { .. } => {
                "the session was shut down before the server answered".into()
            }
            Outcome::Signalled(n) => {
                format!("vanguard was stopped by signal {n} before the server answered")
            }
            Outcome::Failed(why) => {
                format!("the session failed ({why}) before the server answered")
            }
        };
        for (id, p) in drained {
            let data = json!({ "method": p.method, "reason": detail });
            let line = error_line(
                Some(&id),
                errors::UPSTREAM_EXITED,
                "Upstream server exited",
                Some(data),
            );
            let _ = agent_tx.send(line).await;
        }
    }
}

/// A path that exists on the host but not in the server's minimal root:
/// absolute, plain, and under none of the trees bound into it.
fn hidden_from_server(visible: &[std::path::PathBuf], path: &str) -> bool {
    let p = std::path::Path::new(path);
    p.is_absolute()
        && !p
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        && p.symlink_metadata().is_ok()
        && !visible.iter().any(|v| p.starts_with(v))
}

/// A read withheld for what a prompt file holds by design (text addressed
/// to a model, a persona, an order to keep something from the user, a
/// request to call a tool) says how the operator declares such files:
/// an application's own prompts are read as source code once listed in
/// `[results] prompt_files` (README, "Prompt files"). Only when the call
/// named paths and none of them is declared already.
fn prompt_file_hint(
    outcome: &mut crate::gateway::server_side::Outcome,
    undeclared: bool,
    paths: &[String],
) {
    let Some((message, rule)) = outcome.block.as_mut() else {
        return;
    };
    if undeclared
        && !paths.is_empty()
        && crate::policy::instructions::FileKind::Prompt.expects(rule)
    {
        message.push_str(&format!(
            " (if {} {} prompts your application sends its own model, the operator can list {} in [results] prompt_files)",
            paths.join(", "),
            if paths.len() == 1 { "holds" } else { "hold" },
            if paths.len() == 1 { "it" } else { "them" },
        ));
    }
}
