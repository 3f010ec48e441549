//! The inspector: one verdict per message.
//!
//! ```text
//! params ─▶ arguments::walk ─▶ each string, classified by key and shape
//!                 │                 (path / command / url / host / text)
//!                 ▼
//!          normalize (L0 views) ─▶ rules (L1 patterns, one set per target)
//!                                  zones (L1 safe zones on canonical paths)
//!                                            │
//!                                            ▼
//!                                 verdict::Decision (findings → verdict)
//! ```
//!
//! The inspector never mutates a message and never does I/O except resolving
//! symlinks of path arguments (zones must be judged on what the path really
//! names). It is built once from a [`crate::policy::Policy`] and shared.

pub mod arguments;
pub mod denial;
pub mod egress;
mod forward;
pub mod metadata;
pub mod normalize;
pub mod pinning;
pub mod resolve;
pub mod rules;
pub mod secrets;
pub mod shell;
pub mod verdict;
pub mod zones;

use crate::policy::{Access, Action, Policy, Severity, Target};
use arguments::{Kind, StringArg};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
pub use verdict::{Decision, Finding, Layer, Verdict};

/// What the session knows about a tool from `tools/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolHints {
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    /// The boolean argument with which a call only previews its change
    /// (`dryRun` of the filesystem server's `edit_file`), when the tool's
    /// input schema declares one. An argument the schema does not declare
    /// proves nothing: a server that ignores it would write.
    pub preview_flag: Option<&'static str>,
    /// Set for one call: it passes `preview_flag` as `true`, so the paths
    /// it names are read, not written.
    pub previewing: bool,
}

/// Argument names that mean "show the change, do not make it".
const PREVIEW_FLAGS: [&str; 2] = ["dryRun", "dry_run"];

impl ToolHints {
    /// The preview flag `input_schema` declares as a boolean property.
    pub fn preview_flag_in(input_schema: Option<&Value>) -> Option<&'static str> {
        let props = input_schema?.get("properties")?;
        PREVIEW_FLAGS.into_iter().find(|k| {
            props
                .get(*k)
                .and_then(|p| p.get("type"))
                .is_some_and(|t| t == "boolean")
        })
    }

    /// These hints for a call with `arguments`: `previewing` when the
    /// tool's preview flag is `true` there (the JSON boolean, nothing else).
    fn for_call(&self, arguments: &Value) -> ToolHints {
        let previewing = self
            .preview_flag
            .is_some_and(|k| arguments.get(k) == Some(&Value::Bool(true)));
        ToolHints {
            previewing,
            ..self.clone()
        }
    }
}

/// Compiled policy for message inspection.
pub struct Inspector {
    rules: rules::RuleSet,
    zones: zones::SafeZones,
    limits: normalize::Limits,
    rule_actions: BTreeMap<String, Action>,
    /// Network allow-list mode: URLs must name a listed destination.
    egress: Option<egress::UrlAllowList>,
    /// Host network mode: names are resolved and judged by their addresses.
    resolver: Option<resolve::Resolver>,
    cwd: PathBuf,
    home: PathBuf,
}

impl Inspector {
    pub fn new(policy: &Policy) -> Result<Inspector, rules::CompileError> {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        Ok(Inspector {
            rules: rules::RuleSet::compile(&policy.rules)?,
            zones: zones::SafeZones::new(&policy.zones, &policy.tool_access),
            limits: normalize::Limits::default(),
            rule_actions: policy.rule_actions.clone(),
            egress: egress::UrlAllowList::for_policy(policy),
            resolver: (policy.network.mode == crate::policy::NetMode::Host)
                .then(resolve::Resolver::default),
            cwd: policy.server.cwd.clone(),
            home,
        })
    }

    /// `raw` as an absolute, lexically normalised path, resolved against the
    /// server's working directory (`~` against HOME): how L3 compares the
    /// paths of different calls (`notes.md` and `/ws/notes.md` are one file).
    pub fn absolute_path(&self, raw: &str) -> String {
        normalize::lexical_path(raw, &self.cwd, &self.home)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| raw.to_string())
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Inspects an agent→server request or notification.
    ///
    /// `hints` are the annotations the server announced for the tool being
    /// called, if the session saw them.
    pub fn inspect_request(
        &self,
        method: &str,
        params: Option<&Value>,
        hints: Option<&ToolHints>,
    ) -> Decision {
        let mut d = Decision::new();
        match method {
            "tools/call" => {
                let tool = params
                    .and_then(|p| p.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                d.tool = Some(tool.to_string());
                self.match_tool(tool, &mut d);
                if let Some(args) = params.and_then(|p| p.get("arguments")) {
                    let call_hints = hints.map(|h| h.for_call(args));
                    self.inspect_value(
                        tool,
                        args,
                        "/params/arguments",
                        call_hints.as_ref(),
                        &mut d,
                    );
                }
                if let Some(meta) = params.and_then(|p| p.get("_meta")) {
                    self.inspect_text_only(tool, meta, "/params/_meta", &mut d);
                }
            }
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
                if let Some(p) = params {
                    self.match_tool(method, &mut d);
                    self.inspect_value(
                        method,
                        p,
                        "/params",
                        Some(&ToolHints {
                            read_only: Some(true),
                            ..ToolHints::default()
                        }),
                        &mut d,
                    );
                }
            }
            _ => {
                self.match_tool(method, &mut d);
                if let Some(p) = params {
                    self.inspect_text_only(method, p, "/params", &mut d);
                }
            }
        }
        d.finish();
        d
    }

    fn match_tool(&self, tool: &str, d: &mut Decision) {
        self.rules.each_match(Target::Tool, tool, tool, |rule| {
            d.push(verdict::from_rule(rule, "/params/name", tool));
        });
    }

    /// Only text rules, for params that are not tool arguments.
    fn inspect_text_only(&self, tool: &str, v: &Value, base: &str, d: &mut Decision) {
        arguments::walk(v, |arg| {
            self.match_views(tool, Target::Text, arg.value, base, &arg, d);
        });
    }

    fn inspect_value(
        &self,
        tool: &str,
        v: &Value,
        base: &str,
        hints: Option<&ToolHints>,
        d: &mut Decision,
    ) {
        let shell_like = arguments::is_shell_tool(tool);
        arguments::walk(v, |arg| {
            self.inspect_string(tool, &arg, base, hints, shell_like, d);
        });
    }

    fn inspect_string(
        &self,
        tool: &str,
        arg: &StringArg<'_>,
        base: &str,
        hints: Option<&ToolHints>,
        shell_like: bool,
        d: &mut Decision,
    ) {
        let s = arg.value;
        // L0 anomalies are findings of their own: they are how evasions look.
        if normalize::has_suspicious_invisible(s) {
            self.builtin_finding(
                d,
                "L0-INVISIBLE",
                Layer::L0,
                Severity::Medium,
                Action::Log,
                "invisible or format characters in an argument",
                base,
                arg,
                s,
                "remove zero-width and bidi control characters",
            );
        }
        if normalize::is_mixed_script(s) {
            self.builtin_finding(
                d,
                "L0-MIXED-SCRIPT",
                Layer::L0,
                Severity::Medium,
                Action::Log,
                "a word mixes scripts (homoglyph trick)",
                base,
                arg,
                s,
                "use one script per word",
            );
        }
        let (views, pair) = normalize::text_views_paired(s, &self.limits);
        // A view that names a URL meets the Text and the whole-view Url
        // rules: one pass over both sets answers for the two when neither
        // matches (prose with links, most of the time). Bit i: view i
        // needs neither pass. The original and its cleaned view are asked
        // together, in one walk where they agree (bits in `asked`).
        let mut quiet: u64 = 0;
        let mut asked: u64 = 0;
        if let Some(p) = pair.as_ref().filter(|p| p.cleaned < 64) {
            if let (Some(a), Some(b)) = (views.get(p.original), views.get(p.cleaned)) {
                let (ma, mb) = self.rules.text_or_url_may_match_pair(a, b, &p.edits);
                quiet |= u64::from(!ma) << p.original | u64::from(!mb) << p.cleaned;
                asked |= 1 << p.original | 1 << p.cleaned;
            }
        }
        for (i, v) in views.iter().enumerate().take(64) {
            if asked & (1 << i) == 0
                && has_scheme_separator(v)
                && !self.rules.text_or_url_may_match(v)
            {
                quiet |= 1 << i;
            }
        }
        let is_quiet = |i: usize| i < 64 && quiet & (1 << i) != 0;
        for (i, v) in views.iter().enumerate() {
            if !is_quiet(i) {
                self.match_in(tool, Target::Text, v, base, arg, d);
            }
        }
        let kind = arguments::classify(arg, shell_like);
        if kind.contains(Kind::COMMAND) {
            for v in &views {
                self.match_in(tool, Target::Command, v, base, arg, d);
                // Paths named inside a command meet the path rules too (not the zones:
                // a command line names binaries and flags that are not data).
                for tok in arguments::path_tokens(v) {
                    if let Some(p) = normalize::lexical_path(tok, &self.cwd, &self.home) {
                        self.match_in(tool, Target::Path, &p.to_string_lossy(), base, arg, d);
                    }
                    self.match_in(tool, Target::Path, tok, base, arg, d);
                }
            }
            self.inspect_command_files(tool, arg, s, base, d);
        }
        if kind.contains(Kind::PATH) {
            self.inspect_path(tool, arg, &views, base, hints, None, d);
        }
        if kind.contains(Kind::HOST) {
            let phase = d.findings.len();
            let hv = normalize::canonical_host(s);
            self.match_in(tool, Target::Host, &host_string(&hv), base, arg, d);
            self.resolved_host(tool, &hv, base, arg, d);
            if self.egress.as_ref().is_some_and(|e| e.lists_host_port(s)) {
                listed(d, phase);
            }
        }
        // URLs anywhere: the URL rules and the host rules on each URL's host.
        // A URL quoted in prose (a document being written, a message) is not
        // fetched by that call: its findings are recorded (Log), never a
        // warning or a block — READMEs mention localhost all the time.
        let prose = arguments::is_prose_key(arg.key) && !shell_like;
        let url_phase = d.findings.len();
        for (i, v) in views.iter().enumerate() {
            if !has_scheme_separator(v) {
                continue;
            }
            let view_phase = d.findings.len();
            if !is_quiet(i) {
                self.match_in(tool, Target::Url, v, base, arg, d);
            }
            let urls = normalize::extract_urls(v);
            for u in &urls {
                let whole = format!("{}://{}{}", u.scheme, u.host, u.path_and_query);
                self.match_in(tool, Target::Url, &whole, base, arg, d);
                let hv = normalize::canonical_host(&u.host);
                self.match_in(tool, Target::Host, &host_string(&hv), base, arg, d);
                self.resolved_host(tool, &hv, base, arg, d);
                if let Some(e) = &self.egress {
                    e.check(
                        u,
                        arg.pointer(base),
                        self.action_for(egress::RULE, Action::Block),
                        d,
                    );
                }
                if u.scheme == "file" && !kind.contains(Kind::PATH) && !prose {
                    let file_url = format!("file://{}{}", u.host, u.path_and_query);
                    let file_arg = StringArg {
                        value: &file_url,
                        ..arg.clone()
                    };
                    self.inspect_path(
                        tool,
                        &file_arg,
                        std::slice::from_ref(&std::borrow::Cow::Borrowed(file_url.as_str())),
                        base,
                        hints,
                        None,
                        d,
                    );
                }
            }
            // What the operator listed must work: the address rules give way
            // for exactly the listed host:port.
            if !urls.is_empty()
                && self
                    .egress
                    .as_ref()
                    .is_some_and(|e| urls.iter().all(|u| e.lists(u)))
            {
                listed(d, view_phase);
            }
        }
        if prose {
            for f in d.findings.iter_mut().skip(url_phase) {
                if f.action > Action::Log {
                    f.action = Action::Log;
                    f.message = format!("{} (quoted in text)", f.message);
                }
            }
        }
    }

    /// The files a command line names beyond its literal words: filename
    /// patterns expanded like `sh` would (judged by the path rules and the
    /// read zones: `od -tx1 .e?v` reads `.env`), and the file arguments of
    /// commands that change files in place (`chmod`, `chown`, `touch`, …:
    /// judged by the write zones wherever they point).
    fn inspect_command_files(
        &self,
        tool: &str,
        arg: &StringArg<'_>,
        cmd: &str,
        base: &str,
        d: &mut Decision,
    ) {
        let one = |p: &std::path::Path, access: Access, d: &mut Decision| {
            let text = p.to_string_lossy();
            let file_arg = StringArg {
                value: &text,
                ..arg.clone()
            };
            let view = [std::borrow::Cow::Borrowed(text.as_ref())];
            self.inspect_path(tool, &file_arg, &view, base, None, Some(access), d);
        };
        for tok in arguments::glob_tokens(cmd).take(shell::MAX_PATTERNS) {
            let Some(pattern) = normalize::lexical_path(tok, &self.cwd, &self.home) else {
                continue;
            };
            for p in shell::expand(&pattern) {
                one(&p, Access::Read, d);
            }
        }
        for args in shell::modifying_args(cmd) {
            for tok in arguments::path_tokens(args).chain(arguments::bare_words(args)) {
                let Some(p) = normalize::lexical_path(tok, &self.cwd, &self.home) else {
                    continue;
                };
                let targets = if crate::glob::is_shell_pattern(tok) {
                    shell::expand(&p)
                } else {
                    vec![p]
                };
                for p in targets {
                    one(&p, Access::Write, d);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn inspect_path(
        &self,
        tool: &str,
        arg: &StringArg<'_>,
        views: &[std::borrow::Cow<'_, str>],
        base: &str,
        hints: Option<&ToolHints>,
        access: Option<Access>,
        d: &mut Decision,
    ) {
        let access = access.unwrap_or_else(|| self.zones.access_for(tool, arg.key, hints));
        let mut checked: Vec<PathBuf> = Vec::new();
        for v in views {
            let Some(lex) = normalize::lexical_path(v, &self.cwd, &self.home) else {
                continue;
            };
            let real = normalize::resolve_existing(&lex);
            for p in [&lex, &real] {
                if checked.contains(p) {
                    continue;
                }
                self.match_in(tool, Target::Path, &p.to_string_lossy(), base, arg, d);
                checked.push(p.clone());
            }
            // Zones are judged on what the server will open: the resolved
            // path of the raw value and of its percent-decoded form.
            if let Some(violation) = self.zones.check(&real, access) {
                let (id, what) = match violation {
                    Access::Read => ("ZONE-READ", "reads outside the read zones"),
                    Access::Write => ("ZONE-WRITE", "writes outside the write zones"),
                };
                let shown = if real == lex {
                    real.display().to_string()
                } else {
                    format!("{} (resolves to {})", lex.display(), real.display())
                };
                let action = self.action_for(id, self.zones.action());
                d.push(Finding {
                    rule: id.to_string(),
                    layer: Layer::L1,
                    severity: Severity::High,
                    action,
                    message: format!("path {what}: {shown}"),
                    location: arg.pointer(base),
                    evidence: truncate(&shown),
                    hint: Some(self.zones.hint(violation)),
                });
                break;
            }
            if access == Access::Write {
                let moves = zones::SafeZones::moves(tool);
                if let Some(hit) = self
                    .zones
                    .protected_hit(&real, moves)
                    .or_else(|| self.zones.protected_hit(&lex, moves))
                {
                    let id = "ZONE-PROTECTED";
                    let shown = real.display().to_string();
                    let name = hit.display().to_string();
                    d.push(Finding {
                        rule: id.to_string(),
                        layer: Layer::L1,
                        severity: Severity::High,
                        action: self.action_for(id, self.zones.action()),
                        message: format!(
                            "write to a protected path inside a write zone: {shown} (protected: {name})"
                        ),
                        location: arg.pointer(base),
                        evidence: truncate(&shown),
                        hint: Some(
                            "git hooks and configuration, editor, agent and CI settings, shell and package-manager configuration run code outside any sandbox, so they stay read-only; if the server must change it, start with --unprotect NAME (or [zones] unprotect in a profile)".into(),
                        ),
                    });
                    break;
                }
            }
        }
    }

    /// In `--net host` mode, a host name meets the address rules with each
    /// address it resolves to (`/etc/hosts` included).
    fn resolved_host(
        &self,
        tool: &str,
        host: &normalize::HostView,
        base: &str,
        arg: &StringArg<'_>,
        d: &mut Decision,
    ) {
        let (Some(r), normalize::HostView::Name(name)) = (&self.resolver, host) else {
            return;
        };
        if name.is_empty() || name.len() > 253 || !name.contains(|c: char| c.is_ascii_alphabetic())
        {
            return;
        }
        match r.lookup(name) {
            resolve::Lookup::Addresses(ips) => {
                for ip in ips.into_iter().take(8) {
                    let before = d.findings.len();
                    let shown = host_string(&normalize::HostView::Ip(ip));
                    self.match_in(tool, Target::Host, &shown, base, arg, d);
                    for f in d.findings.iter_mut().skip(before) {
                        f.message = format!("{} ({name} resolves to {shown})", f.message);
                    }
                }
            }
            resolve::Lookup::Unknown => {}
            resolve::Lookup::Unanswered => d.push(Finding {
                rule: resolve::RULE.into(),
                layer: Layer::L1,
                severity: Severity::Low,
                action: self.action_for(resolve::RULE, Action::Log),
                message: format!(
                    "host name {name} did not resolve within {} ms: judged as written",
                    resolve::TIMEOUT.as_millis()
                ),
                location: arg.pointer(base),
                evidence: truncate(name),
                hint: None,
            }),
        }
    }

    fn match_views(
        &self,
        tool: &str,
        target: Target,
        s: &str,
        base: &str,
        arg: &StringArg<'_>,
        d: &mut Decision,
    ) {
        for v in normalize::text_views(s, &self.limits) {
            self.match_in(tool, target, &v, base, arg, d);
        }
    }

    fn match_in(
        &self,
        tool: &str,
        target: Target,
        view: &str,
        base: &str,
        arg: &StringArg<'_>,
        d: &mut Decision,
    ) {
        self.rules.each_match(target, view, tool, |rule| {
            match d
                .findings
                .iter_mut()
                .find(|f| f.rule == rule.id && !f.message.ends_with("(quoted in text)"))
            {
                None => d.push(verdict::from_rule(rule, &arg.pointer(base), view)),
                // The same rule matched again where it counts more (a capped
                // finding from prose, then the real URL argument): upgrade.
                Some(f) if f.action < rule.action => {
                    *f = verdict::from_rule(rule, &arg.pointer(base), view)
                }
                Some(_) => {}
            }
        });
    }

    fn action_for(&self, id: &str, default: Action) -> Action {
        self.action_override(id).unwrap_or(default)
    }

    /// The profile's `[rule_actions]` entry for rule `id`: by id, else the
    /// longest matching glob. L2 and L3 findings (made outside the
    /// inspector) are overridden through this too.
    pub fn action_override(&self, id: &str) -> Option<Action> {
        self.rule_actions.get(id).copied().or_else(|| {
            self.rule_actions
                .iter()
                .filter(|(g, _)| crate::glob::matches(g, id))
                .max_by_key(|(g, _)| g.len())
                .map(|(_, a)| *a)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn builtin_finding(
        &self,
        d: &mut Decision,
        id: &str,
        layer: Layer,
        severity: Severity,
        default: Action,
        message: &str,
        base: &str,
        arg: &StringArg<'_>,
        evidence: &str,
        hint: &str,
    ) {
        if d.has_rule(id) {
            return;
        }
        d.push(Finding {
            rule: id.to_string(),
            layer,
            severity,
            action: self.action_for(id, default),
            message: message.to_string(),
            location: arg.pointer(base),
            evidence: truncate(evidence),
            hint: Some(hint.to_string()),
        });
    }
}

/// Findings of the network rules since `phase` concern a destination the
/// operator listed: recorded, not acted on.
fn listed(d: &mut Decision, phase: usize) {
    for f in d.findings.iter_mut().skip(phase) {
        if f.rule.starts_with("NET-") && f.action > Action::Log {
            f.action = Action::Log;
            f.message = format!("{} (listed on the network allow-list)", f.message);
        }
    }
}

/// A searcher for `://`, built once (`memmem::find` builds one per call,
/// which costs a short string more than the search; `str::contains` scans
/// a byte at a time, and the text is often a whole document).
pub(crate) static SCHEME_SEPARATOR: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"://"));

/// Whether `s` holds `://`. Short strings (most argument values) are
/// scanned for `:` and checked in place, which costs less than setting up
/// the searcher; longer texts go through the prebuilt searcher.
pub(crate) fn has_scheme_separator(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() <= SHORT_SCHEME_SCAN {
        return memchr::memchr_iter(b':', b).any(|i| b.get(i + 1..i + 3) == Some(b"//".as_slice()));
    }
    SCHEME_SEPARATOR.find(b).is_some()
}

/// Up to this length `has_scheme_separator` scans for `:` instead of
/// running the searcher.
const SHORT_SCHEME_SCAN: usize = 256;

/// Builds now what the first tool call would otherwise build inside its
/// answer: the secret detectors (~15 M instructions), the result scan's
/// denial pre-checks and the argument key-list table (~0.6 M together).
/// Called before a gateway serves; idempotent.
pub fn warm() {
    secrets::warm();
    denial::warm();
    arguments::warm();
}

fn host_string(h: &normalize::HostView) -> String {
    match h {
        normalize::HostView::Ip(ip) => ip.to_string(),
        normalize::HostView::Name(n) => n.clone(),
    }
}

pub(crate) use crate::verdict::truncate;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{NetMode, Overrides};
    use serde_json::json;

    fn inspector(net: NetMode, allow: &[&str]) -> (tempfile::TempDir, Inspector) {
        let dir = tempfile::tempdir().expect("tempdir");
        let ov = Overrides {
            workspace: Some(dir.path().to_path_buf()),
            net: Some(net),
            allow_hosts: allow.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let policy = crate::policy::load("balanced", &ov).expect("policy");
        let insp = Inspector::new(&policy).expect("inspector");
        (dir, insp)
    }

    fn fetch(insp: &Inspector, url: &str) -> Decision {
        insp.inspect_request(
            "tools/call",
            Some(&json!({"name": "fetch", "arguments": {"url": url}})),
            None,
        )
    }

    #[test]
    fn in_host_mode_a_name_meets_the_address_rules_with_its_addresses() {
        let (_d, mut insp) = inspector(NetMode::Host, &[]);
        insp.resolver = Some(resolve::Resolver::with(&[
            (
                "internal-api.test",
                resolve::Lookup::Addresses(vec!["127.0.0.1".parse().expect("ip")]),
            ),
            (
                "docs.example",
                resolve::Lookup::Addresses(vec!["93.184.215.14".parse().expect("ip")]),
            ),
            ("slow.example", resolve::Lookup::Unanswered),
        ]));
        let d = fetch(&insp, "http://internal-api.test:8080/admin");
        assert_eq!(d.verdict, Verdict::Block);
        let f = d
            .findings
            .iter()
            .find(|f| f.rule == "NET-002")
            .expect("NET-002");
        assert!(
            f.message
                .contains("internal-api.test resolves to 127.0.0.1"),
            "{}",
            f.message
        );
        assert_eq!(
            fetch(&insp, "https://docs.example/a").verdict,
            Verdict::Allow
        );
        let slow = fetch(&insp, "https://slow.example/");
        assert!(
            slow.findings
                .iter()
                .any(|f| f.rule == resolve::RULE && f.action == Action::Log),
            "an unanswered lookup is recorded: {:?}",
            slow.findings
        );
        // The cache answered: no lookup for a name written as an address.
        assert_eq!(fetch(&insp, "http://127.0.0.1/").verdict, Verdict::Block);
    }

    #[test]
    fn outside_host_mode_names_are_not_resolved() {
        let (_d, insp) = inspector(NetMode::None, &[]);
        assert!(insp.resolver.is_none());
        let (_d, insp) = inspector(NetMode::Allowlist, &["example.org:443"]);
        assert!(insp.resolver.is_none());
    }

    #[test]
    fn a_listed_loopback_destination_is_honoured_for_exactly_its_port() {
        let (_d, insp) = inspector(NetMode::Allowlist, &["127.0.0.1:5432", "localhost:8080"]);
        let ok = fetch(&insp, "http://127.0.0.1:5432/health");
        assert_eq!(ok.verdict, Verdict::Allow, "{:?}", ok.findings);
        assert!(
            ok.findings.iter().any(|f| f.rule == "NET-002"
                && f.action == Action::Log
                && f.message.contains("listed")),
            "recorded, not acted on: {:?}",
            ok.findings
        );
        assert_eq!(
            fetch(&insp, "http://localhost:8080/").verdict,
            Verdict::Allow
        );
        // Another port of the same address is not what was listed.
        assert_eq!(
            fetch(&insp, "http://127.0.0.1:5433/").verdict,
            Verdict::Block
        );
        assert_eq!(
            fetch(&insp, "http://localhost:9090/").verdict,
            Verdict::Block
        );
        // A host:port argument.
        let d = insp.inspect_request(
            "tools/call",
            Some(&json!({"name": "query", "arguments": {"host": "127.0.0.1:5432"}})),
            None,
        );
        assert_eq!(d.verdict, Verdict::Allow, "{:?}", d.findings);
    }

    /// `edit_file` with `dryRun: true` shows a diff and writes nothing: on
    /// a protected path it is a read. Only the JSON boolean of a flag the
    /// tool's schema declares counts.
    #[test]
    fn a_declared_dry_run_reads_a_protected_path_anything_else_writes() {
        let (dir, insp) = inspector(NetMode::None, &[]);
        let ci = dir.path().join(".github/workflows/ci.yml");
        let ci = ci.to_string_lossy();
        let schema = json!({"type": "object", "properties": {
            "path": {"type": "string"},
            "dryRun": {"type": "boolean", "default": false}}});
        assert_eq!(ToolHints::preview_flag_in(Some(&schema)), Some("dryRun"));
        let declared = ToolHints {
            preview_flag: ToolHints::preview_flag_in(Some(&schema)),
            ..ToolHints::default()
        };
        let edit = |hints: &ToolHints, dry: Value| {
            insp.inspect_request(
                "tools/call",
                Some(&json!({"name": "edit_file", "arguments": {
                    "path": ci, "edits": [{"oldText": "a", "newText": "b"}], "dryRun": dry}})),
                Some(hints),
            )
        };
        let rules = |d: &Decision| {
            d.findings
                .iter()
                .map(|f| f.rule.clone())
                .collect::<Vec<_>>()
        };
        let preview = edit(&declared, json!(true));
        assert_eq!(preview.verdict, Verdict::Allow, "{:?}", preview.findings);
        for (hints, dry) in [
            (&declared, json!(false)),
            (&declared, json!("true")),
            (&declared, json!(1)),
            // The schema does not declare it: a server may ignore it and write.
            (&ToolHints::default(), json!(true)),
        ] {
            let d = edit(hints, dry.clone());
            assert_eq!(d.verdict, Verdict::Block, "dryRun {dry}: {:?}", d.findings);
            assert!(rules(&d).contains(&"ZONE-PROTECTED".to_string()), "{dry}");
        }
        // A flag typed as a string is not a declared boolean.
        let stringly = json!({"properties": {"dryRun": {"type": "string"}}});
        assert_eq!(ToolHints::preview_flag_in(Some(&stringly)), None);
        assert_eq!(ToolHints::preview_flag_in(None), None);
    }
}
