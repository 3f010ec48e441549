//! L3 and L2 on a call: behaviour in the state store, the risk score and
//! its ledger, semantic scoring, and the profile's overrides of their
//! findings.

use super::*;

/// One contribution to a session's risk score.
pub(super) struct RiskEntry {
    pub(super) at_ms: u64,
    pub(super) points: f64,
    pub(super) what: String,
}

/// Contributions kept for the BEH-RISK explanation.
pub(super) const RISK_LEDGER: usize = 8;

/// A layer could not judge: a block when it fails closed, else a warning.
pub(super) fn fail_mode_finding(
    rule: &str,
    layer: Layer,
    closed: bool,
    message: String,
    hint: &str,
) -> crate::inspect::Finding {
    crate::inspect::Finding {
        rule: rule.into(),
        layer,
        severity: crate::policy::Severity::High,
        action: if closed {
            crate::policy::Action::Block
        } else {
            crate::policy::Action::Warn
        },
        message,
        location: "/params".into(),
        evidence: String::new(),
        hint: Some(hint.into()),
    }
}

/// The rule of the finding that carried a call's risk points.
pub(super) fn strongest(findings: &[crate::inspect::Finding], tool: &str) -> String {
    let f = findings.iter().max_by_key(|f| f.action);
    format!(
        "{} on {tool}",
        f.map(|f| f.rule.as_str()).unwrap_or("a finding")
    )
}

/// The action a verdict stands for, if it is more than "allow".
pub(super) fn action_of(v: Verdict) -> Option<crate::policy::Action> {
    match v {
        Verdict::Block | Verdict::ShadowBlock => Some(crate::policy::Action::Block),
        Verdict::Warn => Some(crate::policy::Action::Warn),
        Verdict::Allow => None,
    }
}

impl Shared {
    /// The L3 observation of a `tools/call`.
    pub(super) fn call_obs(&self, engine: &crate::behavior::Engine, d: &Deferred) -> CallObs {
        let tool = d.decision.tool.as_deref().unwrap_or_default();
        let args = d.params.as_ref().and_then(|p| p.get("arguments"));
        let listed = self
            .tool_caps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(tool)
            .copied();
        crate::behavior::call_obs(
            &engine.cfg,
            tool,
            args,
            listed,
            d.paths.clone(),
            &d.decision.findings,
            crate::behavior::now_ms(),
        )
    }

    /// L3 for one call: observe it in the store, judge it, add the risk its
    /// findings carry and record an egress cut. Returns whether the
    /// session's risk requires L2.
    pub(super) async fn run_l3(
        &self,
        engine: &crate::behavior::Engine,
        obs: &CallObs,
        d: &mut Deferred,
    ) -> bool {
        let st = match engine.store.observe_call(&self.l3_key, obs).await {
            Ok(st) => st,
            Err(e) => {
                d.decision
                    .push(self.overridden(self.store_failure(engine, &e)));
                d.decision.finish();
                return false;
            }
        };
        let (require_l2, add) = self.apply_l3(engine, obs, &st, d);
        if add > 0.0 {
            match engine.store.add_risk(&self.l3_key, obs.now_ms, add).await {
                Ok(r) => self.set_risk(r, obs.now_ms),
                Err(e) => {
                    d.decision
                        .push(self.overridden(self.store_failure(engine, &e)));
                    d.decision.finish();
                }
            }
        }
        if let Some(why) = d.cut.take() {
            if let Err(e) = engine
                .store
                .cut_egress(&self.l3_key, obs.now_ms, &why)
                .await
            {
                tracing::error!("L3 could not record the egress cut in the state store: {e}");
            }
        }
        require_l2
    }

    /// [`Shared::run_l3`] against the in-process store, whose operations
    /// never wait: decided inline on the agent pump, with no task.
    pub(super) fn run_l3_in_memory(
        &self,
        engine: &crate::behavior::Engine,
        mem: &crate::behavior::store::MemoryStore,
        obs: &CallObs,
        d: &mut Deferred,
    ) -> bool {
        let st = mem.observe_call(&self.l3_key, obs);
        let (require_l2, add) = self.apply_l3(engine, obs, &st, d);
        if add > 0.0 {
            let r = mem.add_risk(&self.l3_key, obs.now_ms, add);
            self.set_risk(r, obs.now_ms);
        }
        if let Some(why) = d.cut.take() {
            mem.cut_egress(&self.l3_key, obs.now_ms, &why);
        }
        require_l2
    }

    /// Adds L3's findings to the decision; returns whether L2 is required
    /// and the risk points to add.
    pub(super) fn apply_l3(
        &self,
        engine: &crate::behavior::Engine,
        obs: &CallObs,
        st: &crate::behavior::CallState,
        d: &mut Deferred,
    ) -> (bool, f64) {
        self.set_risk(st.risk, obs.now_ms);
        let a = crate::behavior::assess_call(&engine.cfg, obs, st);
        if obs.risk_add > 0.0 {
            self.note_risk(
                obs.now_ms,
                obs.risk_add,
                strongest(&d.decision.findings, obs.tool.as_str()),
            );
        }
        if a.risk_add > 0.0 {
            let rules: Vec<&str> = a
                .findings
                .iter()
                .filter(|f| f.rule != "BEH-RISK")
                .map(|f| f.rule.as_str())
                .collect();
            self.note_risk(
                obs.now_ms,
                a.risk_add,
                format!("{} on {}", rules.join("+"), obs.tool),
            );
        }
        // The counters go into the audit event when L3 has something to
        // say (every event carries the risk score anyway).
        if !a.findings.is_empty() || st.taint.is_some() || obs.sensitive.is_some() {
            d.detail.insert(
                "l3".into(),
                json!({ "capabilities": obs.caps, "tool_rate": st.tool_rate, "repeat": st.repeat,
                    "tainted": st.taint.as_ref().map(|t| &t.reason) }),
            );
        }
        if a.exfiltration && engine.cfg.cut_egress {
            let why = format!(
                "exfiltration sequence after a sensitive read ({})",
                st.taint.as_ref().map(|t| t.reason.as_str()).unwrap_or("")
            );
            if self.cfg.mode == Mode::Shadow {
                // Shadow mode observes: the cut is recorded, not made.
                tracing::warn!("L3 would cut the session's egress: {why}");
                self.lifecycle(
                    EventKind::EgressCut,
                    json!({ "reason": why, "shadow": true }),
                );
            } else {
                self.cfg.egress_in_flight.cut(&why);
                tracing::warn!("L3 cut the session's egress: {why}");
                self.lifecycle(EventKind::EgressCut, json!({ "reason": why }));
                d.cut = Some(why);
            }
        } else if let Some(why) = &st.egress_cut {
            self.shared_cut(engine, why);
        }
        for f in a.findings {
            let f = self.explained_risk(f, st.risk, &engine.cfg);
            d.decision.push(self.overridden(f));
        }
        d.decision.finish();
        (a.require_l2, a.risk_add)
    }

    pub(super) fn note_risk(&self, at_ms: u64, points: f64, what: String) {
        let mut l = self.risk_ledger.lock().unwrap_or_else(|p| p.into_inner());
        if l.len() == RISK_LEDGER {
            l.pop_front();
        }
        l.push_back(RiskEntry {
            at_ms,
            points,
            what,
        });
    }

    /// BEH-RISK with what raised the score, when it falls below the
    /// threshold without new findings, and how an operator resets it.
    pub(super) fn explained_risk(
        &self,
        mut f: crate::inspect::Finding,
        score: f64,
        cfg: &crate::behavior::BehaviorConfig,
    ) -> crate::inspect::Finding {
        if f.rule != "BEH-RISK" {
            return f;
        }
        let now = crate::behavior::now_ms();
        let raised: Vec<String> = self
            .risk_ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .rev()
            .map(|e| {
                format!(
                    "{} +{:.0} ({} s ago)",
                    e.what,
                    e.points,
                    now.saturating_sub(e.at_ms) / 1000
                )
            })
            .collect();
        let hl = cfg.risk.half_life.as_secs_f64();
        let secs = (hl * (score / cfg.risk.block).log2()).max(0.0).ceil();
        if !raised.is_empty() {
            f.message = format!("{}; raised by {}", f.message, raised.join(", "));
        }
        f.hint = Some(format!(
            "the score halves every {:.0} s without new findings: calls are allowed again in about {secs:.0} s; an operator can reset it now with `vanguard risk reset {}`",
            hl, self.cfg.session_id
        ));
        f
    }

    /// A finding of L2 or L3 (made outside the inspector) with the
    /// profile's `[rule_actions]` applied, as L1's are.
    pub(super) fn overridden(&self, mut f: crate::inspect::Finding) -> crate::inspect::Finding {
        if let Some(a) = self.cfg.inspector.action_override(&f.rule) {
            f.action = a;
        }
        f
    }

    /// Another session with this state key (possibly on another gateway
    /// instance) cut the egress: cut this session's too.
    pub(super) fn shared_cut(&self, engine: &crate::behavior::Engine, why: &str) {
        if !engine.cfg.cut_egress
            || self.cfg.mode == Mode::Shadow
            || self.cfg.egress_in_flight.cut_reason().is_some()
        {
            return;
        }
        self.cfg.egress_in_flight.cut(why);
        tracing::warn!("L3 cut the session's egress (cut for this agent elsewhere): {why}");
        self.lifecycle(
            EventKind::EgressCut,
            json!({ "reason": why, "shared": true }),
        );
    }

    /// The state store failed: the profile's fail mode decides.
    pub(super) fn store_failure(
        &self,
        engine: &crate::behavior::Engine,
        e: &dyn std::fmt::Display,
    ) -> crate::inspect::Finding {
        let closed = engine.cfg.on_store_error == crate::behavior::FailMode::Closed;
        tracing::error!(
            "L3 state store failed: {e} (failing {})",
            if closed { "closed" } else { "open" }
        );
        fail_mode_finding(
            "BEH-STATE-UNAVAILABLE",
            Layer::L3,
            closed,
            format!("the L3 state store failed: {e}"),
            "set [behavior] on_state_error to choose between failing open and closed",
        )
    }

    /// L2 was needed and gave no score: the profile's fail mode decides.
    pub(super) fn l2_failed(&self, d: &mut Deferred, why: &str) {
        let closed = self.cfg.semantic_policy.settings.fail_closed;
        // A missing backend is a standing condition: said once per session
        // (every call still carries the finding in the audit log).
        let standing = self.cfg.semantic.is_none();
        if !standing
            || !self
                .l2_missing_said
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::error!(
                "L2 semantic scoring failed: {why} (failing {})",
                if closed { "closed" } else { "open" }
            );
        }
        d.detail.insert("l2".into(), json!({ "error": why }));
        d.decision.push(self.overridden(fail_mode_finding(
            "L2-UNAVAILABLE",
            Layer::L2,
            closed,
            format!("semantic scoring failed: {why}"),
            "set [semantic] fail to choose between failing open and closed",
        )));
        d.decision.finish();
    }

    /// Finishes a deferred decision: L3 against a remote store, then L2.
    pub(super) async fn finish(self: &Arc<Self>, mut d: Box<Deferred>) -> Handled {
        let mut require_l2 = d.require_l2;
        if let (Some(engine), Some(obs)) = (self.cfg.behavior.clone(), d.obs.take()) {
            require_l2 = self.run_l3(&engine, &obs, &mut d).await;
        }
        let wants_l2 = self.cfg.semantic_policy.enabled || require_l2;
        if wants_l2 && d.decision.verdict != Verdict::Block {
            match self.cfg.semantic.clone() {
                Some(scorer) => self.score(&scorer, &mut d).await,
                None => self.l2_failed(
                    &mut d,
                    "the session's risk requires L2 and no semantic backend is configured",
                ),
            }
        }
        self.conclude(*d)
    }

    /// Asks L2 for a score; it can only raise the verdict.
    pub(super) async fn score(&self, scorer: &crate::semantic::Scorer, d: &mut Deferred) {
        let null = Value::Null;
        let tool = d.decision.tool.clone();
        let result = {
            let input = crate::semantic::Input {
                kind: &d.method,
                tool: tool.as_deref(),
                payload: d.params.as_ref().unwrap_or(&null),
                findings: &d.decision.findings,
            };
            scorer.score(&input).await
        };
        let sc = match result {
            Ok(sc) => sc,
            Err(e) => return self.l2_failed(d, &e.to_string()),
        };
        let p = &self.cfg.semantic_policy.settings;
        d.detail.insert(
            "l2".into(),
            json!({ "score": sc.score, "reason": sc.reason, "cached": sc.cached,
                "attempts": sc.attempts, "latency_us": sc.latency.as_micros() as u64 }),
        );
        let Some(action) = action_of(crate::semantic::verdict_for(sc.score, p.warn, p.block))
        else {
            return;
        };
        let bound = if action == crate::policy::Action::Block {
            p.block
        } else {
            p.warn
        };
        let finding = crate::inspect::Finding {
            rule: "L2-SEMANTIC".into(),
            layer: Layer::L2,
            severity: if action == crate::policy::Action::Block {
                crate::policy::Severity::High
            } else {
                crate::policy::Severity::Medium
            },
            action,
            message: format!(
                "semantic score {:.2} (threshold {bound:.2}): {}",
                sc.score, sc.reason
            ),
            location: "/params".into(),
            evidence: sc.reason.chars().take(160).collect(),
            hint: None,
        };
        let finding = self.overridden(finding);
        let add = crate::behavior::risk_of(std::slice::from_ref(&finding));
        if add > 0.0 {
            self.note_risk(
                crate::behavior::now_ms(),
                add,
                format!("L2-SEMANTIC on {}", tool.as_deref().unwrap_or("?")),
            );
        }
        d.decision.push(finding);
        d.decision.finish();
        if let Some(engine) = self.cfg.behavior.as_ref() {
            let now = crate::behavior::now_ms();
            if let Ok(r) = engine.store.add_risk(&self.l3_key, now, add).await {
                self.set_risk(r, now);
            }
        }
    }

    pub(super) fn set_risk(&self, score: f64, at_ms: u64) {
        *self.risk.lock().unwrap_or_else(|p| p.into_inner()) = (score, at_ms);
        self.cfg
            .egress_in_flight
            .set_risk((score * 10.0).round() / 10.0);
    }

    /// The session's risk now (decayed since L3 last reported it).
    pub(super) fn risk_now(&self) -> Option<f64> {
        let engine = self.cfg.behavior.as_ref().filter(|e| e.cfg.enabled)?;
        let (score, at) = *self.risk.lock().unwrap_or_else(|p| p.into_inner());
        let r = crate::behavior::decay(
            score,
            at,
            crate::behavior::now_ms(),
            engine.cfg.risk.half_life,
        );
        Some((r * 10.0).round() / 10.0)
    }
}
