//! The agent side: each line from the agent is classified, inspected
//! (L1 inline; L3 and L2 through [`super::layers`]) and forwarded, answered
//! or held for the tool list.

use super::*;
use crate::protocol::inline::Label;

pub(super) struct AgentOutput {
    pub(super) forward: Forward,
    pub(super) replies: Vec<Vec<u8>>,
    /// Keep the line until the server's tools are known.
    pub(super) hold: bool,
    /// Decisions to finish with I/O: the whole line (`None`) or a batch
    /// element's text.
    pub(super) deferred: Vec<(Option<String>, Box<Deferred>)>,
}

/// What to do with one message (or batch element) from the agent.
pub(super) enum Handled {
    Forward,
    Reply(Vec<u8>),
    Drop,
    Hold,
    Defer(Box<Deferred>),
}

/// A JSON-RPC batch of elements, each element's text unchanged.
/// A fault-injection point for the tests of the session boundary: debug
/// builds panic on a request whose method is `VANGUARD_FAULT_PANIC_METHOD`.
/// Release builds compile it away.
pub(super) fn fault_point(method: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("VANGUARD_FAULT_PANIC_METHOD").is_ok_and(|m| m == method) {
        #[allow(clippy::panic)]
        {
            panic!("fault injected on {method} (VANGUARD_FAULT_PANIC_METHOD)");
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = method;
}

pub(super) fn batch_of<S: AsRef<str>>(parts: &[S]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.as_ref().len() + 1).sum();
    let mut b = Vec::with_capacity(len + 2);
    b.push(b'[');
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(p.as_ref().as_bytes());
    }
    b.extend_from_slice(b"]\n");
    b
}

/// What becomes of a line that held one message.
fn single(handled: Handled) -> AgentOutput {
    let mut deferred = Vec::new();
    let (forward, replies, hold) = match handled {
        Handled::Forward => (Forward::Original, vec![], false),
        Handled::Reply(r) => (Forward::Nothing, vec![r], false),
        Handled::Drop => (Forward::Nothing, vec![], false),
        Handled::Hold => (Forward::Nothing, vec![], true),
        Handled::Defer(d) => {
            deferred.push((None, d));
            (Forward::Nothing, vec![], false)
        }
    };
    AgentOutput {
        forward,
        replies,
        hold,
        deferred,
    }
}

/// The params of a message from the agent: still raw (from [`classify`]),
/// or decoded with the envelope ([`parse_call`]).
enum Params<'a> {
    Raw(Option<&'a serde_json::value::RawValue>),
    Decoded(Option<Value>),
}

impl Shared {
    pub(super) fn agent_line(&self, line: &[u8]) -> AgentOutput {
        crate::gateway::note_activity();
        // The common line in one pass; every other goes through `classify`.
        if let Some(call) = parse_call(line) {
            return single(self.agent_call(call.id, call.method, Params::Decoded(call.params)));
        }
        match classify(line) {
            Err(inv) => AgentOutput {
                forward: Forward::Nothing,
                replies: vec![self.invalid(&inv)],
                hold: false,
                deferred: Vec::new(),
            },
            Ok(Message::Batch(items)) => {
                let mut replies = Vec::new();
                let mut parts = Vec::new();
                let mut hold = false;
                let mut deferred = Vec::new();
                for raw in &items {
                    match classify_raw(raw) {
                        Err(inv) => replies.push(self.invalid(&inv)),
                        Ok(m) => match self.agent_message(m) {
                            Handled::Forward => parts.push(raw.get()),
                            Handled::Reply(r) => replies.push(r),
                            Handled::Drop => {}
                            Handled::Hold => hold = true,
                            Handled::Defer(d) => deferred.push((Some(raw.get().to_string()), d)),
                        },
                    }
                }
                if hold {
                    // The whole batch waits; it is decided again once the
                    // tools are known, so nothing is answered twice.
                    return AgentOutput {
                        forward: Forward::Nothing,
                        replies: Vec::new(),
                        hold: true,
                        deferred: Vec::new(),
                    };
                }
                if !deferred.is_empty() {
                    // Decided elements go with the deferred ones once those
                    // are finished (see `decide_and_send`).
                    let parts = parts.into_iter().map(String::from).collect();
                    return AgentOutput {
                        forward: Forward::Batch(parts),
                        replies,
                        hold: false,
                        deferred,
                    };
                }
                let forward = if replies.is_empty() && parts.len() == items.len() {
                    Forward::Original
                } else if parts.is_empty() {
                    Forward::Nothing
                } else {
                    // Forward the allowed elements as one batch, each element's
                    // bytes unchanged.
                    Forward::Parts(vec![batch_of(&parts)])
                };
                AgentOutput {
                    forward,
                    replies,
                    hold: false,
                    deferred: Vec::new(),
                }
            }
            Ok(m) => single(self.agent_message(m)),
        }
    }

    pub(super) fn agent_message(&self, m: Message<'_>) -> Handled {
        let (id, method, params) = match m {
            Message::Request { id, method, params } => (Some(id), method, params),
            Message::Notification { method, params } => (None, method, params),
            // The agent answering a server→client request.
            Message::Response { .. } => return Handled::Forward,
            Message::Batch(_) => {
                return Handled::Reply(error_line(
                    None,
                    errors::INVALID_REQUEST,
                    "nested batches are not allowed",
                    None,
                ))
            }
        };
        self.agent_call(id, method.into(), Params::Raw(params))
    }

    /// A request (`id`) or notification from the agent, decided.
    fn agent_call(&self, id: Option<RequestId>, method: Label, params: Params<'_>) -> Handled {
        if let Some(id) = &id {
            fault_point(&method);
            let (taken, waiting) = {
                let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                (pending.contains_key(id), pending.len())
            };
            if taken {
                // Its answer could not be told from the other's.
                let msg = format!(
                    "Invalid Request: id {} is already used by a request in flight",
                    id.as_json()
                );
                self.input_error(Direction::AgentToServer, &msg);
                return Handled::Reply(error_line(Some(id), errors::INVALID_REQUEST, &msg, None));
            }
            if waiting >= self.cfg.max_in_flight {
                // The table of requests waiting for the server is what
                // a peer could otherwise grow without bound.
                let limit = self.cfg.max_in_flight;
                let msg = format!(
                    "Too many requests in flight: {waiting} already wait for the server's answer \
                     (limits.max_in_flight = {limit}); this one was not forwarded"
                );
                self.input_error(Direction::AgentToServer, &msg);
                return Handled::Reply(error_line(
                    Some(id),
                    errors::TOO_MANY_IN_FLIGHT,
                    &msg,
                    Some(serde_json::json!({
                        "reason": "too_many_in_flight",
                        "limit": limit,
                    })),
                ));
            }
        }
        if method == "notifications/initialized"
            || (id.is_some() && method != "initialize" && method != "ping")
        {
            self.agent_ready
                .store(true, std::sync::atomic::Ordering::Release);
        }
        let started = Instant::now();
        let params: Option<Value> = match params {
            Params::Decoded(v) => v,
            Params::Raw(None) => None,
            Params::Raw(Some(p)) => match serde_json::from_str(p.get()) {
                Ok(v) => Some(v),
                Err(e) => {
                    // Syntax was checked by classify; what fails here is the depth
                    // limit (128 levels). Nothing this deep is inspected or forwarded.
                    let msg = format!("Parse error: params could not be decoded: {e}");
                    self.input_error(Direction::AgentToServer, &msg);
                    return Handled::Reply(error_line(
                        id.as_ref(),
                        errors::PARSE_ERROR,
                        &msg,
                        None,
                    ));
                }
            },
        };
        if method == "initialize" {
            // Servers list different tools to clients with different
            // capabilities (sampling, elicitation, roots): pins are kept
            // per capability set.
            if let Some(caps) = params.as_ref().and_then(|p| p.get("capabilities")) {
                self.server
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .set_client_capabilities(caps);
            }
        }
        if method == "tools/call" {
            let tool = params
                .as_ref()
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let check = self
                .server
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .check_call(tool);
            match check {
                CallCheck::Allowed => {}
                CallCheck::NeedListing => return Handled::Hold,
                CallCheck::Refused(h) => return self.refuse_tool(id, &method, tool, &h, started),
            }
        }
        let decision = {
            let tool = params
                .as_ref()
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str);
            let tools = self.tools.lock().unwrap_or_else(|p| p.into_inner());
            let hints = if method == "tools/call" {
                tool.and_then(|t| tools.get(t))
            } else {
                None
            };
            self.cfg
                .inspector
                .inspect_request(&method, params.as_ref(), hints)
        };
        let (paths, command) = if method == "tools/call" {
            let (paths, command) = crate::behavior::call_paths_and_command(
                params.as_ref().and_then(|p| p.get("arguments")),
            );
            let paths = paths
                .iter()
                .map(|p| self.cfg.inspector.absolute_path(p))
                .collect();
            (paths, command)
        } else {
            (Vec::new(), false)
        };
        let mut d = Deferred {
            paths,
            command,
            id,
            method,
            params,
            decision,
            started,
            obs: None,
            sensitive: None,
            require_l2: false,
            cut: None,
            detail: serde_json::Map::new(),
        };
        if d.method != "tools/call" {
            return self.conclude(d);
        }
        let engine = self.cfg.behavior.clone().filter(|e| e.cfg.enabled);
        if let Some(engine) = engine {
            let obs = self.call_obs(&engine, &d);
            d.sensitive = obs.sensitive.clone();
            // In memory, L3 is decided here without a task, and only a call
            // that L2 must score is finished off the pump; a remote store
            // needs I/O, so the whole call is.
            let crate::behavior::store::Store::Memory(mem) = &engine.store else {
                d.obs = Some(obs);
                return Handled::Defer(Box::new(d));
            };
            let require_l2 = self.run_l3_in_memory(&engine, mem, &obs, &mut d);
            let wants_l2 = self.cfg.semantic_policy.enabled || require_l2;
            if !wants_l2 || d.decision.verdict == Verdict::Block {
                return self.conclude(d);
            }
            if self.cfg.semantic.is_none() {
                self.l2_failed(
                    &mut d,
                    "the session's risk requires L2 and no semantic backend is configured",
                );
                return self.conclude(d);
            }
            d.require_l2 = require_l2;
            Handled::Defer(Box::new(d))
        } else if self.cfg.semantic.is_some() && self.cfg.semantic_policy.enabled {
            Handled::Defer(Box::new(d))
        } else {
            self.conclude(d)
        }
    }

    /// Applies the verdict: the audit event, the reply or the forward.
    pub(super) fn conclude(&self, d: Deferred) -> Handled {
        let Deferred {
            id,
            method,
            decision,
            started,
            sensitive,
            paths,
            command,
            mut detail,
            params,
            ..
        } = d;
        let latency = started.elapsed();
        let mut verdict = decision.verdict;
        if verdict == Verdict::Block && self.cfg.mode == Mode::Shadow {
            verdict = Verdict::ShadowBlock;
        }
        // What a refused or flagged call asked for, for the operator (the
        // dashboard, `audit query`): secrets redacted, long strings cut.
        if verdict != Verdict::Allow && method == "tools/call" && self.cfg.audit.is_enabled() {
            if let Some(args) = params.as_ref().and_then(|p| p.get("arguments")) {
                detail.insert("arguments".into(), events::audit_arguments(args));
            }
        }
        let event_id = self.cfg.ids.next();
        self.decision_event(
            &event_id,
            Direction::AgentToServer,
            &method,
            id.as_ref(),
            &decision,
            verdict,
            latency,
            (!detail.is_empty()).then_some(Value::Object(detail)),
        );
        match verdict {
            Verdict::Block => match id {
                Some(id) => Handled::Reply(self.block_response(&id, &decision, &event_id)),
                None => {
                    tracing::warn!(method = method.as_str(), rules = ?decision.rule_ids(), "blocked a notification");
                    Handled::Drop
                }
            },
            _ => {
                if verdict != Verdict::Allow {
                    tracing::warn!(method = method.as_str(), tool = ?decision.tool, verdict = verdict.as_str(), rules = ?decision.rule_ids(), event_id = event_id.as_str(), "forwarding despite findings");
                }
                if let Some(id) = id {
                    if matches!(
                        method.as_str(),
                        "tools/call" | "resources/read" | "prompts/get"
                    ) {
                        self.cfg.egress_in_flight.insert(id.to_value());
                    }
                    let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                    pending.insert(
                        id,
                        Pending {
                            paths,
                            command,
                            method,
                            tool: decision.tool,
                            since: started,
                            internal: false,
                            sensitive,
                        },
                    );
                } else if method == "notifications/cancelled" {
                    let cancelled = params
                        .as_ref()
                        .and_then(|p| p.get("requestId"))
                        .and_then(RequestId::from_value);
                    if let Some(id) = cancelled {
                        self.release_cancelled(id);
                    }
                }
                Handled::Forward
            }
        }
    }

    /// The agent cancelled its request `id` (`notifications/cancelled`,
    /// forwarded as usual). The server should not answer it, so it no longer
    /// counts towards `max_in_flight` nor keeps its entry; an answer that
    /// comes anyway (the spec allows the race) is dropped without noise
    /// (`server_message`). vanguard's own requests cannot be cancelled.
    fn release_cancelled(&self, id: RequestId) {
        let released = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            match pending.get(&id) {
                Some(p) if !p.internal => pending.remove_entry(&id),
                _ => None,
            }
        };
        let Some((id, _)) = released else { return };
        self.cfg.egress_in_flight.remove(&id.to_value());
        let mut cancelled = self.cancelled.lock().unwrap_or_else(|p| p.into_inner());
        if cancelled.len() >= CANCELLED_KEPT {
            cancelled.pop_front();
        }
        cancelled.push_back(id);
    }

    /// A call to a tool the server hid, withheld or never listed: -32602,
    /// as if the tool did not exist (it does not, for this agent).
    pub(super) fn refuse_tool(
        &self,
        id: Option<RequestId>,
        method: &str,
        tool: &str,
        h: &Hidden,
        started: Instant,
    ) -> Handled {
        let event_id = self.cfg.ids.next();
        let mut d = Decision::new();
        d.tool = Some(tool.to_string());
        d.push(crate::inspect::Finding {
            rule: h.rule.clone(),
            layer: Layer::L1,
            severity: crate::policy::Severity::High,
            action: crate::policy::Action::Block,
            message: h.message.clone(),
            location: "/params/name".into(),
            evidence: tool.to_string(),
            hint: None,
        });
        d.finish();
        self.decision_event(
            &event_id,
            Direction::AgentToServer,
            method,
            id.as_ref(),
            &d,
            Verdict::Block,
            started.elapsed(),
            None,
        );
        let Some(id) = id else { return Handled::Drop };
        let data = json!({ "rule": h.rule, "layer": Layer::L1, "event_id": event_id, "reason": h.message });
        Handled::Reply(error_line(
            Some(&id),
            errors::INVALID_PARAMS,
            &format!("Unknown tool: {tool}"),
            Some(data),
        ))
    }

    /// A `tools/list` request of vanguard's own, unless one is already out.
    pub(super) fn start_listing(&self) -> Option<Vec<u8>> {
        use std::sync::atomic::Ordering;
        if self.listing_in_flight.swap(true, Ordering::AcqRel) {
            return None;
        }
        // An id no request of the agent's in flight uses.
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let id = loop {
            let n = self.internal_ids.fetch_add(1, Ordering::Relaxed);
            let id = RequestId::from_value(&Value::String(format!("vanguard-internal-{n}")))?;
            if !pending.contains_key(&id) {
                break id;
            }
        };
        let mut line = serde_json::to_vec(
            &json!({"jsonrpc": "2.0", "id": id.to_value(), "method": "tools/list"}),
        )
        .unwrap_or_default();
        line.push(b'\n');
        pending.insert(
            id,
            Pending {
                method: "tools/list".into(),
                tool: None,
                since: Instant::now(),
                internal: true,
                paths: Vec::new(),
                command: false,
                sensitive: None,
            },
        );
        Some(line)
    }

    /// Answers the calls still held for a tool list that never came.
    pub(super) async fn fail_held(&self, agent_tx: &Tx) {
        let held = std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()));
        let msg = "the server did not list its tools before the session ended";
        self.answer_held(held, agent_tx, msg).await;
    }

    /// Answers the calls that waited `list_timeout` for the tool list; the
    /// listing is given up (a late answer is dropped and audited) so the
    /// next call asks again. The session goes on.
    pub(super) async fn expire_held(&self, agent_tx: &Tx) {
        let timeout = self.cfg.list_timeout;
        let expired: Vec<Held> = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            let (old, young): (Vec<Held>, Vec<Held>) = std::mem::take(&mut *held)
                .into_iter()
                .partition(|h| h.since.elapsed() >= timeout);
            *held = young;
            old
        };
        if expired.is_empty() {
            return;
        }
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, p| !p.internal);
        self.listing_in_flight
            .store(false, std::sync::atomic::Ordering::Release);
        let msg = format!(
            "the server did not list its tools within {} ms; the call was not sent (lifecycle.list_timeout_ms)",
            timeout.as_millis()
        );
        tracing::warn!("{msg}");
        self.answer_held(expired, agent_tx, &msg).await;
    }

    async fn answer_held(&self, held: Vec<Held>, agent_tx: &Tx, msg: &str) {
        for h in held {
            let ids: Vec<Value> = match serde_json::from_slice::<Value>(&h.line) {
                Ok(Value::Array(items)) => {
                    items.iter().filter_map(|m| m.get("id").cloned()).collect()
                }
                Ok(m) => m.get("id").cloned().into_iter().collect(),
                Err(_) => Vec::new(),
            };
            for id in ids {
                let Some(id) = RequestId::from_value(&id) else {
                    continue;
                };
                let _ = agent_tx
                    .send(error_line(
                        Some(&id),
                        errors::UPSTREAM_UNAVAILABLE,
                        msg,
                        None,
                    ))
                    .await;
            }
        }
    }

    /// Decides the lines that waited for the tool list, in arrival order.
    pub(super) async fn replay_held(self: &Arc<Self>, agent_tx: &Tx, up_tx: &Tx) {
        let held = std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()));
        for h in held {
            self.decide_and_send(h.line, agent_tx, up_tx).await;
        }
        // A failed listing refused what waited for it; the next call asks again.
        self.server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retry_listing();
    }

    /// Decides one agent line and sends what follows from it: replies to the
    /// agent, the line (or the allowed part of a batch) to the server, or —
    /// when the server's tools must be listed first — holds it and asks.
    pub(super) async fn decide_and_send(
        self: &Arc<Self>,
        mut line: Vec<u8>,
        agent_tx: &Tx,
        up_tx: &Tx,
    ) {
        let mut out = self.agent_line(&line);
        if let Some((None, _)) = out.deferred.first() {
            // One message whose decision needs I/O: finished in its own task,
            // so a slow scorer holds back only this call.
            let Some((_, d)) = out.deferred.pop() else {
                return;
            };
            let me = Arc::clone(self);
            let (agent_tx, up_tx) = (agent_tx.clone(), up_tx.clone());
            tokio::spawn(async move {
                match me.finish(d).await {
                    Handled::Forward => {
                        line.push(b'\n');
                        let _ = up_tx.send(line).await;
                    }
                    Handled::Reply(r) => {
                        let _ = agent_tx.send(r).await;
                    }
                    _ => {}
                }
            });
            return;
        }
        if !out.deferred.is_empty() {
            // A batch: its deferred elements are finished here, then the
            // allowed ones go with the rest as one batch.
            let mut parts = match std::mem::replace(&mut out.forward, Forward::Nothing) {
                Forward::Batch(p) => p,
                _ => Vec::new(),
            };
            for (raw, d) in std::mem::take(&mut out.deferred) {
                match self.finish(d).await {
                    Handled::Forward => parts.extend(raw),
                    Handled::Reply(r) => out.replies.push(r),
                    _ => {}
                }
            }
            if !parts.is_empty() {
                out.forward = Forward::Parts(vec![batch_of(&parts)]);
            }
        }
        for r in out.replies {
            let _ = agent_tx.send(r).await;
        }
        if out.hold {
            self.held
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Held {
                    since: Instant::now(),
                    line,
                });
            if let Some(req) = self.start_listing() {
                let _ = up_tx.send(req).await;
            }
            // A weak sender: the timer must not keep the agent's output open
            // (the session ends when the agent leaves, timer or not).
            let (me, agent_tx) = (Arc::clone(self), agent_tx.downgrade());
            tokio::spawn(async move {
                tokio::time::sleep(me.cfg.list_timeout).await;
                if let Some(agent_tx) = agent_tx.upgrade() {
                    me.expire_held(&agent_tx).await;
                }
            });
            return;
        }
        match out.forward {
            Forward::Original => {
                line.push(b'\n');
                let _ = up_tx.send(line).await;
            }
            Forward::Parts(parts) => {
                for p in parts {
                    let _ = up_tx.send(p).await;
                }
            }
            Forward::Batch(parts) => {
                let _ = up_tx.send(batch_of(&parts)).await;
            }
            Forward::Nothing => {}
        }
    }
}
