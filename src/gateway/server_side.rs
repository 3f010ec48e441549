//! What the server says: metadata (`initialize`, `tools/list`,
//! `prompts/list`, `resources/list`, `resources/templates/list`), pins
//! against drift, and tool results — and which tools the agent may call.
//!
//! The session owns one [`ServerView`]. It decides; the session applies:
//! a listing may come back with items removed, a result with secrets
//! redacted, or either replaced by an error. In shadow mode every decision
//! is recorded but nothing is changed.

use crate::inspect::metadata::{self, MetadataLimits};
use crate::inspect::pinning::{self, Fingerprint};
use crate::inspect::secrets::{self, Rewrite};
use crate::inspect::{Finding, Layer};
use crate::pins::{PinEntry, PinStore};
use crate::policy::instructions::FileKind;
use crate::policy::{
    Action, DriftAction, MetadataAction, MetadataConfig, NewTools, PinMode, PinningConfig,
    ResultAction, ResultsConfig, Severity,
};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use serde_json::Value;
use std::collections::BTreeMap;

/// Why the agent may not call a tool.
#[derive(Debug, Clone)]
pub struct Hidden {
    pub rule: String,
    pub message: String,
}

/// The answer to "may the agent call this tool?".
pub enum CallCheck {
    Allowed,
    /// The server's tools are not known yet: hold the call, list first.
    NeedListing,
    Refused(Hidden),
}

pub use crate::auth::ToolFilter;

pub struct ServerSideConfig {
    /// Tools outside the caller's scopes/roles: hidden from listings and
    /// refused with -32602 (`None`: every tool).
    pub tool_filter: Option<ToolFilter>,
    pub metadata: MetadataConfig,
    pub pinning: PinningConfig,
    pub results: ResultsConfig,
    pub shadow: bool,
    /// The pin identity of this server (its command line).
    pub server_key: String,
    /// A capability baseline the server is held to (`vanguard start
    /// --baseline`), on top of its pins.
    pub baseline: Option<BaselineCheck>,
}

/// What a session holds the server to when a (signed, verified) capability
/// baseline is given: the fingerprints of its `initialize` result and of
/// every tool definition. `block`: a drifted or unknown tool is withheld and
/// a drifted `initialize` refused; otherwise each drift is a warning.
#[derive(Debug, Clone)]
pub struct BaselineCheck {
    pub fingerprint: Fingerprint,
    pub block: bool,
    /// Where the baseline came from (for messages).
    pub source: String,
}

impl Default for ServerSideConfig {
    /// Observe only: nothing dropped, pinned or rewritten.
    fn default() -> Self {
        ServerSideConfig {
            metadata: MetadataConfig {
                action: MetadataAction::Warn,
                max_schema_bytes: 64 * 1024,
                max_schema_depth: 32,
                refuse_unlisted_tools: false,
            },
            pinning: PinningConfig {
                mode: PinMode::Off,
                on_drift: DriftAction::Warn,
                file: None,
                new_tools: NewTools::Trust,
            },
            baseline: None,
            results: ResultsConfig {
                secrets: ResultAction::Warn,
                injection: ResultAction::Warn,
                escapes: ResultAction::Warn,
                instruction_files: crate::policy::instructions::FilePatterns::instructions(),
                prompt_files: crate::policy::instructions::FilePatterns::none(),
            },
            shadow: false,
            server_key: String::new(),
            tool_filter: None,
        }
    }
}

pub struct ServerView {
    cfg: ServerSideConfig,
    pins: Option<PinStore>,
    limits: MetadataLimits,
    /// Tools the agent saw in the last complete listing; `None` before one.
    listed: Option<HashSet<String>>,
    /// The server could not list its tools: calls cannot be checked against a listing.
    listing_failed: bool,
    hidden: HashMap<String, Hidden>,
    seen: Fingerprint,
    /// Unlisted names a fresh listing was already fetched for (servers
    /// register tools right after the handshake; one re-listing settles it).
    relisted_for: HashSet<String>,
}

/// What to do with a response.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// Forward this instead of the original bytes.
    pub replace: Option<Value>,
    /// Answer with this error instead of the result: (message, rule).
    pub block: Option<(String, String)>,
    /// `replace` only redacts (the rest of the message is intact).
    pub redacted: bool,
}

impl Outcome {
    pub fn verdict(&self, shadow: bool) -> crate::verdict::Verdict {
        use crate::verdict::Verdict;
        let would_block = self.findings.iter().any(|f| f.action == Action::Block);
        if shadow && would_block {
            Verdict::ShadowBlock
        } else if self.block.is_some() || (self.replace.is_some() && !self.redacted) {
            Verdict::Block
        } else if self.redacted || self.findings.iter().any(|f| f.action >= Action::Warn) {
            Verdict::Warn
        } else {
            Verdict::Allow
        }
    }
}

/// A pin file that cannot be written loses no decision (the listing was
/// judged against what could be read), but the operator must hear of it.
fn log_pin_error(r: Result<(), crate::pins::PinError>) {
    if let Err(e) = r {
        tracing::error!("cannot write the pin file: {e}");
    }
}

fn finding(
    rule: &str,
    severity: Severity,
    action: Action,
    message: String,
    location: String,
    hint: &str,
) -> Finding {
    Finding {
        rule: rule.into(),
        layer: Layer::L1,
        severity,
        action,
        evidence: crate::inspect::truncate(&message),
        message,
        location,
        hint: Some(hint.into()),
    }
}

impl ServerView {
    pub fn new(cfg: ServerSideConfig) -> ServerView {
        let pins = match (cfg.pinning.mode, &cfg.pinning.file) {
            (PinMode::Off, _) | (_, None) => None,
            (_, Some(f)) => Some(PinStore::new(f)),
        };
        let limits = MetadataLimits {
            max_schema_bytes: cfg.metadata.max_schema_bytes,
            max_schema_depth: cfg.metadata.max_schema_depth,
            ..MetadataLimits::default()
        };
        ServerView {
            cfg,
            pins,
            limits,
            listed: None,
            listing_failed: false,
            hidden: HashMap::new(),
            seen: Fingerprint::default(),
            relisted_for: HashSet::new(),
        }
    }

    /// Withholds a tool another layer (L2 on metadata) judged: hidden from
    /// calls until a later listing clears it.
    /// The client's declared capabilities (from its `initialize`): a server
    /// may list other tools to a client with sampling or elicitation, so
    /// the pin key names the capability set (`CMD [client: elicitation,
    /// sampling]`); a client that declares none uses the bare key.
    pub fn set_client_capabilities(&mut self, caps: &Value) {
        let mut names: Vec<&str> = caps
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        names.sort_unstable();
        let base = self
            .cfg
            .server_key
            .split(" [client: ")
            .next()
            .unwrap_or_default()
            .to_string();
        self.cfg.server_key = if names.is_empty() {
            base
        } else {
            format!("{base} [client: {}]", names.join(","))
        };
    }

    pub fn hide_tool(&mut self, name: &str, rule: &str, message: String) {
        if self.cfg.shadow {
            return;
        }
        self.hidden.insert(
            name.to_string(),
            Hidden {
                rule: rule.to_string(),
                message,
            },
        );
        if let Some(l) = self.listed.as_mut() {
            l.remove(name);
        }
    }

    /// A later judgement cleared a tool `hide_tool` withheld under `rule`.
    pub fn unhide_tool(&mut self, name: &str, rule: &str) {
        if self.hidden.get(name).is_some_and(|h| h.rule == rule) {
            self.hidden.remove(name);
            if let Some(l) = self.listed.as_mut() {
                l.insert(name.to_string());
            }
        }
    }

    pub fn check_call(&mut self, tool: &str) -> CallCheck {
        // Authorisation holds in every mode; shadow only relaxes inspection.
        if let Some(f) = &self.cfg.tool_filter {
            if !f(tool) {
                return CallCheck::Refused(Hidden {
                    rule: "AUTH-TOOL".into(),
                    message: format!("the caller is not allowed to use tool {tool:?}"),
                });
            }
        }
        if self.cfg.shadow {
            return CallCheck::Allowed;
        }
        if let Some(h) = self.hidden.get(tool) {
            return CallCheck::Refused(h.clone());
        }
        if !self.cfg.metadata.refuse_unlisted_tools {
            return CallCheck::Allowed;
        }
        if self.listing_failed {
            // Fail closed: without a listing nothing can be checked (a
            // poisoned listing the server made unreadable must not make its
            // tools callable). The next call asks again.
            return CallCheck::Refused(Hidden {
                rule: "META-UNLISTED".into(),
                message: "the server's tool list could not be read (see the audit log), so no call can be checked against it; the next call lists the tools again".into(),
            });
        }
        match &self.listed {
            None => CallCheck::NeedListing,
            Some(l) if l.contains(tool) => CallCheck::Allowed,
            Some(_)
                if self.relisted_for.len() < 64 && self.relisted_for.insert(tool.to_string()) =>
            {
                self.listed = None;
                CallCheck::NeedListing
            }
            Some(_) => CallCheck::Refused(Hidden {
                rule: "META-UNLISTED".into(),
                message: format!("the server did not list a tool named {tool:?} in this session"),
            }),
        }
    }

    /// The server said its tools changed: calls wait for a fresh listing.
    pub fn invalidate_listing(&mut self) {
        self.listed = None;
    }

    pub fn listing_failed(&mut self) {
        self.listing_failed = true;
        self.listed = None;
    }

    /// After the calls that waited for a failed listing were refused: the
    /// next call lists again.
    pub fn retry_listing(&mut self) {
        self.listing_failed = false;
    }

    pub fn on_initialize(&mut self, result: &Value) -> Outcome {
        let mut out = Outcome {
            findings: metadata::inspect_initialize(result)
                .into_iter()
                .map(|mut f| {
                    f.location = format!("/result{}", f.location);
                    f
                })
                .collect(),
            ..Default::default()
        };
        self.seen.server_info = result.get("serverInfo").map(pinning::hash_json);
        self.seen.capabilities = result.get("capabilities").map(pinning::hash_json);
        if let Some(entry) = self.pin_entry(&mut out) {
            for (what, pinned, seen) in [
                (
                    "serverInfo",
                    &entry.pinned.server_info,
                    &self.seen.server_info,
                ),
                (
                    "capabilities",
                    &entry.pinned.capabilities,
                    &self.seen.capabilities,
                ),
            ] {
                if pinned.is_some() && pinned != seen {
                    out.findings.push(finding(
                        "PIN-SERVER-DRIFT",
                        Severity::Medium,
                        Action::Warn,
                        format!("the server's {what} changed since it was pinned"),
                        format!("/result/{what}"),
                        "review with `vanguard pin diff`, accept with `vanguard pin approve`",
                    ));
                }
            }
        }
        self.check_baseline_initialize(&mut out);
        self.apply_metadata_block(&mut out, "initialize");
        out
    }

    fn baseline_action(&self) -> Action {
        match &self.cfg.baseline {
            Some(b) if b.block => Action::Block,
            _ => Action::Warn,
        }
    }

    /// `initialize` against the baseline: another serverInfo (name,
    /// version) or other capabilities is another server.
    fn check_baseline_initialize(&mut self, out: &mut Outcome) {
        let Some(b) = &self.cfg.baseline else {
            return;
        };
        let action = self.baseline_action();
        let mut drifted = Vec::new();
        for (what, base, seen) in [
            (
                "serverInfo",
                &b.fingerprint.server_info,
                &self.seen.server_info,
            ),
            (
                "capabilities",
                &b.fingerprint.capabilities,
                &self.seen.capabilities,
            ),
        ] {
            if base != seen {
                drifted.push(what);
                out.findings.push(finding(
                    "BASELINE-DRIFT",
                    Severity::High,
                    action,
                    format!("the server's {what} differs from the capability baseline {}", b.source),
                    format!("/result/{what}"),
                    "compare with `vanguard baseline create` and the baseline; a new baseline must be signed again",
                ));
            }
        }
        if !drifted.is_empty() && action == Action::Block && !self.cfg.shadow {
            out.block = Some((
                format!(
                    "the server does not match its capability baseline {} ({} differ); it is not started for this session",
                    b.source,
                    drifted.join(" and ")
                ),
                "BASELINE-DRIFT".into(),
            ));
        }
    }

    /// A page of tools against the baseline; returns the names to hide.
    fn check_baseline_tools(
        &mut self,
        page: &BTreeMap<String, String>,
        complete: bool,
        out: &mut Outcome,
    ) -> Vec<String> {
        let Some(b) = &self.cfg.baseline else {
            return Vec::new();
        };
        let action = self.baseline_action();
        let block = action == Action::Block;
        let source = b.source.clone();
        let mut d = pinning::diff(&b.fingerprint.tools, page);
        if !complete {
            d.removed.clear();
        }
        for n in &d.removed {
            out.findings.push(finding(
                "BASELINE-TOOL-ABSENT",
                Severity::Low,
                Action::Log,
                format!("tool {n:?} is in the capability baseline but not listed in this session"),
                "/result/tools".into(),
                "nothing to do: an absent tool cannot be called",
            ));
        }
        let mut hide = Vec::new();
        for (kind, names) in [("changed from", &d.changed), ("not in", &d.added)] {
            for n in names {
                out.findings.push(finding(
                    "BASELINE-DRIFT",
                    Severity::High,
                    action,
                    format!("tool {n:?} is {kind} the capability baseline {source}"),
                    "/result/tools".into(),
                    "review the server's change; a new baseline must be created and signed again",
                ));
                if block {
                    hide.push(n.clone());
                    self.hidden.insert(
                        n.clone(),
                        Hidden {
                            rule: "BASELINE-DRIFT".into(),
                            message: format!(
                                "tool {n:?} is {kind} the signed capability baseline {source} and is withheld"
                            ),
                        },
                    );
                }
            }
        }
        hide
    }

    /// A `tools/list` result (possibly one page of several).
    pub fn on_tools_list(&mut self, result: &Value) -> Outcome {
        let mut out = Outcome::default();
        let Some(tools) = result.get("tools").and_then(Value::as_array) else {
            return out;
        };
        let complete = result.get("nextCursor").is_none_or(Value::is_null);
        let mut drop = HashSet::new();
        let mut page: BTreeMap<String, String> = BTreeMap::new();
        // The whole list at once: a description may name its sibling tools
        // ("call resolve-id before get-docs") without that being shadowing.
        let mut per_tool: HashMap<usize, Vec<Finding>> = HashMap::new();
        for mut f in metadata::inspect_tools(result, &self.limits) {
            let index = f
                .location
                .strip_prefix("/tools/")
                .and_then(|r| r.split('/').next())
                .and_then(|i| i.parse::<usize>().ok());
            f.location = format!("/result{}", f.location);
            match index {
                Some(i) => per_tool.entry(i).or_default().push(f),
                None => out.findings.push(f),
            }
        }
        for (i, t) in tools.iter().enumerate() {
            let name = t
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let f = per_tool.remove(&i).unwrap_or_default();
            if let Some(b) = f.iter().find(|x| x.action == Action::Block) {
                drop.insert(name.clone());
                self.hidden.insert(
                    name.clone(),
                    Hidden {
                        rule: b.rule.clone(),
                        message: format!("tool {name:?} was withheld: {}", b.message),
                    },
                );
            } else {
                self.hidden
                    .retain(|k, h| k != &name || !h.rule.starts_with("META-"));
            }
            out.findings.extend(f);
            page.insert(name, pinning::tool_hash(t));
        }
        let auth_drop: HashSet<String> = match &self.cfg.tool_filter {
            Some(f) => page.keys().filter(|n| !f(n)).cloned().collect(),
            None => HashSet::new(),
        };
        self.seen.tools.extend(page.clone());
        for name in self.check_pins(&page, complete, &mut out) {
            drop.insert(name);
        }
        for name in self.check_baseline_tools(&page, complete, &mut out) {
            drop.insert(name);
        }
        let listed = self.listed.get_or_insert_with(HashSet::new);
        if complete {
            listed.clear();
        }
        for t in tools {
            if let Some(n) = t.get("name").and_then(Value::as_str) {
                if !drop.contains(n) {
                    listed.insert(n.to_string());
                }
            }
        }
        if self.cfg.shadow {
            self.hidden.clear();
            drop.clear();
        }
        drop.extend(auth_drop);
        if let Some(l) = self.listed.as_mut() {
            l.retain(|n| !drop.contains(n));
        }
        if !drop.is_empty() {
            match self.cfg.metadata.action {
                MetadataAction::Block
                    if out.findings.iter().any(|f| f.rule.starts_with("META-")) =>
                {
                    out.block = Some((
                        "the server's tool list was withheld: it contains poisoned tool definitions".into(),
                        out.findings.first().map(|f| f.rule.clone()).unwrap_or_default(),
                    ));
                }
                _ => {
                    let mut r = result.clone();
                    if let Some(arr) = r.get_mut("tools").and_then(Value::as_array_mut) {
                        arr.retain(|t| {
                            !t.get("name")
                                .and_then(Value::as_str)
                                .is_some_and(|n| drop.contains(n))
                        });
                    }
                    out.replace = Some(r);
                }
            }
        }
        out
    }

    /// Pin comparison for a page of tools; returns the names to hide.
    fn check_pins(
        &mut self,
        page: &BTreeMap<String, String>,
        complete: bool,
        out: &mut Outcome,
    ) -> Vec<String> {
        let Some(store) = &self.pins else {
            return Vec::new();
        };
        let key = self.cfg.server_key.clone();
        let entry = match store.entry(&key) {
            Ok(e) => e,
            Err(e) => {
                out.findings.push(finding(
                    "PIN-ERROR",
                    Severity::High,
                    Action::Block,
                    e.to_string(),
                    "/".into(),
                    "fix or remove the pin file",
                ));
                // Without a readable pin file nothing can be trusted.
                return page.keys().cloned().collect();
            }
        };
        let mut hide = Vec::new();
        match entry {
            Some(e) if e.tools_pinned => {
                let mut d = pinning::diff(&e.pinned.tools, page);
                if !complete {
                    d.removed.clear();
                }
                if d.is_empty() {
                    return hide;
                }
                // Servers add tools by client capability (sampling, roots…):
                // with `new_tools = "trust"` a new name is pinned on sight and
                // reported; a changed definition is always drift.
                let trusted_new: Vec<String> = if self.cfg.pinning.new_tools == NewTools::Trust {
                    std::mem::take(&mut d.added)
                } else {
                    Vec::new()
                };
                for n in &trusted_new {
                    out.findings.push(finding(
                        "PIN-NEW-TOOL",
                        Severity::Low,
                        Action::Log,
                        format!("tool {n:?} is new since the server was pinned; pinned now"),
                        "/result/tools".into(),
                        "set [pinning] new_tools = \"hide\" to hold new tools for approval",
                    ));
                }
                if !trusted_new.is_empty() {
                    let add: BTreeMap<String, String> = trusted_new
                        .iter()
                        .filter_map(|n| page.get(n).map(|h| (n.clone(), h.clone())))
                        .collect();
                    log_pin_error(store.update(|f| {
                        if let Some(e) = f.servers.get_mut(&key) {
                            e.pinned.tools.extend(add);
                        }
                    }));
                }
                // A tool missing from this listing cannot be used, so it
                // cannot hurt: removal is reported, never drift to approve.
                for n in std::mem::take(&mut d.removed) {
                    out.findings.push(finding(
                        "PIN-TOOL-ABSENT",
                        Severity::Low,
                        Action::Log,
                        format!("tool {n:?} was pinned but is not listed in this session"),
                        "/result/tools".into(),
                        "servers list tools by client capability; nothing to approve",
                    ));
                }
                if d.is_empty() {
                    return hide;
                }
                let action = match self.cfg.pinning.on_drift {
                    DriftAction::Hide => Action::Block,
                    DriftAction::Warn => Action::Warn,
                };
                for (kind, names) in [("changed", &d.changed), ("added", &d.added)] {
                    for n in names {
                        out.findings.push(finding(
                            "PIN-DRIFT",
                            Severity::High,
                            action,
                            format!("tool {n:?} was {kind} since the server was pinned"),
                            "/result/tools".into(),
                            "review with `vanguard pin diff`, accept with `vanguard pin approve`",
                        ));
                    }
                }
                if self.cfg.pinning.on_drift == DriftAction::Hide {
                    for n in d.untrusted() {
                        hide.push(n.clone());
                        self.hidden.insert(n.clone(), Hidden {
                            rule: "PIN-DRIFT".into(),
                            message: format!("tool {n:?} changed since it was pinned and is withheld until approved (`vanguard pin approve`)"),
                        });
                    }
                }
                // Pending holds the pinned set with this listing's changes
                // applied, so `pin diff` shows the changes and nothing else,
                // and approving it drops no pinned tool.
                let mut pending = e.pinned.clone();
                for n in d.untrusted() {
                    if let Some(h) = page.get(n) {
                        pending.tools.insert(n.clone(), h.clone());
                    }
                }
                pending.server_info = self.seen.server_info.clone().or(pending.server_info);
                pending.capabilities = self.seen.capabilities.clone().or(pending.capabilities);
                log_pin_error(store.update(|f| {
                    if let Some(e) = f.servers.get_mut(&key) {
                        e.pending = Some(pending);
                        e.pending_at = Some(crate::audit::rfc3339_now());
                    }
                }));
            }
            _ if self.cfg.pinning.mode == PinMode::Require => {
                for n in page.keys() {
                    hide.push(n.clone());
                    self.hidden.insert(n.clone(), Hidden {
                        rule: "PIN-UNPINNED".into(),
                        message: format!("server is not pinned; tool {n:?} is withheld until `vanguard pin approve`"),
                    });
                }
                out.findings.push(finding(
                    "PIN-UNPINNED",
                    Severity::High,
                    Action::Block,
                    "the profile requires a pin and this server has none".into(),
                    "/result/tools".into(),
                    "approve it with `vanguard pin approve`",
                ));
                let seen = self.seen.clone();
                log_pin_error(store.update(|f| {
                    let e = f.servers.entry(key.clone()).or_default();
                    e.pending = Some(seen);
                    e.pending_at = Some(crate::audit::rfc3339_now());
                }));
            }
            existing => {
                // Trust on first use: pin what the server shows now.
                let seen = self.seen.clone();
                let write = store.update(|f| {
                    let e = f
                        .servers
                        .entry(key.clone())
                        .or_insert_with(|| existing.unwrap_or_default());
                    e.pinned.tools.extend(seen.tools.clone());
                    if e.pinned.server_info.is_none() {
                        e.pinned.server_info = seen.server_info.clone();
                        e.pinned.capabilities = seen.capabilities.clone();
                    }
                    e.tools_pinned = complete || e.tools_pinned;
                    e.pinned_at = crate::audit::rfc3339_now();
                });
                log_pin_error(write);
            }
        }
        hide
    }

    fn pin_entry(&self, out: &mut Outcome) -> Option<PinEntry> {
        let store = self.pins.as_ref()?;
        match store.entry(&self.cfg.server_key) {
            Ok(e) => e,
            Err(e) => {
                out.findings.push(finding(
                    "PIN-ERROR",
                    Severity::High,
                    Action::Warn,
                    e.to_string(),
                    "/".into(),
                    "fix or remove the pin file",
                ));
                None
            }
        }
    }

    /// `prompts/list`, `resources/list`, `resources/templates/list`.
    pub fn on_items_list(&mut self, result: &Value, key: &str, kind: &str) -> Outcome {
        let mut out = Outcome::default();
        let Some(items) = result.get(key).and_then(Value::as_array) else {
            return out;
        };
        let mut bad = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let mut f = metadata::inspect_listed_item(item, kind);
            for x in f.iter_mut() {
                x.location = format!("/result/{key}/{i}{}", x.location);
            }
            if f.iter().any(|x| x.action == Action::Block) {
                bad.push(i);
            }
            out.findings.extend(f);
        }
        if !bad.is_empty() && !self.cfg.shadow {
            match self.cfg.metadata.action {
                MetadataAction::Block => {
                    out.block = Some((
                        format!(
                            "the server's {key} listing was withheld: it contains poisoned entries"
                        ),
                        out.findings
                            .first()
                            .map(|f| f.rule.clone())
                            .unwrap_or_default(),
                    ));
                }
                MetadataAction::Drop => {
                    let mut r = result.clone();
                    if let Some(arr) = r.get_mut(key).and_then(Value::as_array_mut) {
                        let mut i = 0;
                        arr.retain(|_| {
                            let keep = !bad.contains(&i);
                            i += 1;
                            keep
                        });
                    }
                    out.replace = Some(r);
                }
                MetadataAction::Warn => {}
            }
        }
        out
    }

    fn apply_metadata_block(&self, out: &mut Outcome, what: &str) {
        if self.cfg.shadow || self.cfg.metadata.action == MetadataAction::Warn {
            return;
        }
        if let Some(f) = out
            .findings
            .iter()
            .find(|f| f.action == Action::Block && f.rule.starts_with("META-"))
        {
            out.block = Some((
                format!("the server's {what} response was withheld: {}", f.message),
                f.rule.clone(),
            ));
        }
    }

    /// A `tools/call` result or `resources/read` contents.
    pub fn on_result(&self, result: &Value) -> Outcome {
        self.on_payload(result, "/result", "the tool result")
    }

    /// Anything else the server sends the agent — a result of another
    /// method, an error object, a notification's or a server request's
    /// params — checked like a tool result (secrets, injection, terminal
    /// escapes): `base` is its location in the message, `what` names it in
    /// the error that replaces it.
    pub fn on_payload(&self, payload: &Value, base: &str, what: &str) -> Outcome {
        self.on_payload_from(payload, base, what, None)
    }

    /// What the files a call named are, and the pattern they matched,
    /// when it named at least one path and all of them match
    /// `[results] instruction_files` (or all match `prompt_files`).
    pub fn file_kind(&self, paths: &[String]) -> Option<(FileKind, &str)> {
        self.cfg.results.kind_of_all(paths)
    }

    /// [`on_payload`](Self::on_payload) for a result whose call named only
    /// agent instruction files or prompt files (`file`: which, and the
    /// pattern they matched). The findings such a file is expected to
    /// produce ([`FileKind::expects`]) are logged, not acted on; every other
    /// finding stands (`policy::instructions`).
    pub fn on_payload_from(
        &self,
        payload: &Value,
        base: &str,
        what: &str,
        file: Option<(FileKind, &str)>,
    ) -> Outcome {
        let r = &self.cfg.results;
        let rewrite = Rewrite {
            secrets: r.secrets == ResultAction::Redact,
            escapes: r.escapes == ResultAction::Redact,
        };
        // Read first; a copy is made and rewritten only when there is
        // something to redact.
        let listed = self.listed.as_ref();
        let is_tool = |name: &str| {
            listed
                .is_some_and(|l| l.contains(name) || l.iter().any(|t| t.eq_ignore_ascii_case(name)))
        };
        let kind_of = |name: &str| r.kind_of(name).map(|(kind, _)| kind);
        let (mut findings, changes) = secrets::scan_ref_among(
            payload,
            rewrite,
            listed.map(|_| &is_tool as &dyn Fn(&str) -> bool),
            Some(&kind_of),
        );
        let mut out = Outcome::default();
        let class = |rule: &str| {
            if rule.starts_with("SECRET") {
                r.secrets
            } else if rule.starts_with("RESULT-ANSI") {
                r.escapes
            } else {
                r.injection
            }
        };
        // The profile's setting is a ceiling: a result is withheld only when
        // the profile says block AND the finding itself is a block-level one
        // (a document that merely mentions a tool is reported, not withheld).
        for f in findings.iter_mut() {
            f.location = format!("{base}{}", f.location);
            f.action = match class(&f.rule) {
                ResultAction::Block if f.action == Action::Block => Action::Block,
                _ => f.action.min(Action::Warn),
            };
            if let Some((kind, pattern)) = file {
                if kind.expects(&f.rule) {
                    let (what, key) = kind.describe();
                    f.action = Action::Log;
                    f.severity = crate::policy::Severity::Low;
                    f.message = format!(
                        "{} ({what}, matching {pattern:?} in [results] {key}: logged)",
                        f.message
                    );
                }
            }
        }
        if !self.cfg.shadow {
            if let Some(f) = findings.iter().find(|f| f.action == Action::Block) {
                out.block = Some((
                    format!("{what} was withheld: {}", f.message),
                    f.rule.clone(),
                ));
            } else if changes {
                let mut copy = payload.clone();
                secrets::scan_with(&mut copy, rewrite);
                out.replace = Some(copy);
                out.redacted = true;
            }
        }
        out.findings = findings;
        out
    }
}
