//! `vanguard bench`: a peer's case corpus run through vanguard's real
//! inspector, reported as agreement, false positives and false negatives.
//!
//! Each case names a harness; the ones vanguard can judge are run through
//! the same code the gateway uses (the L1 inspector for single requests,
//! the metadata inspection for server listings). The others are skipped
//! with the reason, never guessed.

use crate::inspect::metadata::{self, MetadataLimits};
use crate::inspect::{Inspector, Verdict};
use crate::policy::{self, Action, Overrides};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One case as the corpus states it.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub harness: String,
    pub expected: Expected,
    pub input: Value,
    pub title: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Expected {
    Allow,
    Warn,
    Block,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Result_ {
    Agree,
    /// A benign case was blocked.
    FalsePositive,
    /// An attack (or a warn case) was let through.
    FalseNegative,
    /// vanguard disagrees on purpose ([`on_purpose`] says why).
    OnPurpose,
    Skipped,
}

/// Cases where vanguard disagrees with the peer on purpose, and why.
pub fn on_purpose(id: &str) -> Option<&'static str> {
    match id {
        "bench-mcp24-large-response" => Some(
            "an 11 KB tool result is an ordinary file read; vanguard limits response volume per session (balanced: warn at 64 MiB, block at 512 MiB; [behavior] response_bytes)",
        ),
        _ => None,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseOutcome {
    pub id: String,
    pub file: String,
    pub harness: String,
    pub expected: Expected,
    /// What vanguard decided (`allow`, `warn`, `block`), when run.
    pub got: Option<&'static str>,
    pub result: Result_,
    pub rules: Vec<String>,
    pub note: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    Policy(String),
}

/// Loads every `*.yaml` file of `dir`, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Vec<Case>)>, CorpusError> {
    let rd = std::fs::read_dir(dir).map_err(|e| CorpusError::File {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CorpusError::File {
            path: dir.display().to_string(),
            message: "no .yaml case files".into(),
        });
    }
    files
        .into_iter()
        .map(|p| load_file(&p).map(|c| (p, c)))
        .collect()
}

pub fn load_file(path: &Path) -> Result<Vec<Case>, CorpusError> {
    let err = |message: String| CorpusError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).map_err(|e| err(e.to_string()))?;
    let json = serde_json::to_value(yaml).map_err(|e| err(e.to_string()))?;
    let Some(items) = json.as_array() else {
        return Err(err("expected a list of cases".into()));
    };
    let mut cases = Vec::new();
    for (i, c) in items.iter().enumerate() {
        let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
        let id = s("case_id").ok_or_else(|| err(format!("case {i}: no case_id")))?;
        let expected = match s("expected_action")
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("ALLOW") => Expected::Allow,
            Some("WARN") => Expected::Warn,
            Some("BLOCK") => Expected::Block,
            other => {
                return Err(err(format!(
                    "case {id}: expected_action {other:?} is not ALLOW, WARN or BLOCK"
                )))
            }
        };
        cases.push(Case {
            harness: s("harness").unwrap_or_default(),
            title: s("title").unwrap_or_default(),
            input: c.get("input").cloned().unwrap_or(Value::Null),
            id,
            expected,
        });
    }
    Ok(cases)
}

/// Which built-in profile a corpus file's expectations were written for:
/// the peer states it in the file's header comments.
pub fn profile_for(path: &Path) -> &'static str {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let header: String = text
        .lines()
        .take_while(|l| l.starts_with('#') || l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if header.contains("STRICT profile")
        || header
            .to_ascii_lowercase()
            .contains("strict profile adversarial")
    {
        "strict"
    } else {
        "balanced"
    }
}

/// Runs cases with one profile. Relative paths in the cases are taken as
/// inside a scratch workspace (what `src/main.py` means in a session).
pub struct Runner {
    inspector: Inspector,
    limits: MetadataLimits,
    behavior: crate::behavior::BehaviorConfig,
    semantic: crate::policy::SemanticPolicy,
    profile: String,
    _workspace: PathBuf,
}

impl Runner {
    pub fn new(profile: &str, workspace: &Path) -> Result<Runner, CorpusError> {
        let ov = Overrides {
            workspace: Some(workspace.to_path_buf()),
            audit_path: Some("off".into()),
            ..Default::default()
        };
        let mut p = policy::load(profile, &ov).map_err(|e| CorpusError::Policy(e.to_string()))?;
        p.server.cwd = workspace.to_path_buf();
        let inspector = Inspector::new(&p).map_err(|e| CorpusError::Policy(e.to_string()))?;
        let limits = MetadataLimits {
            max_schema_bytes: p.metadata.max_schema_bytes,
            max_schema_depth: p.metadata.max_schema_depth,
            ..MetadataLimits::default()
        };
        Ok(Runner {
            inspector,
            limits,
            behavior: p.behavior.clone(),
            semantic: p.semantic.clone(),
            profile: profile.to_string(),
            _workspace: workspace.to_path_buf(),
        })
    }

    pub fn profile(&self) -> &str {
        &self.profile
    }

    pub fn run(&self, file: &str, c: &Case) -> CaseOutcome {
        let decided = match c.harness.as_str() {
            "rules_engine" => Some(self.rules_engine(&c.input)),
            "metadata_tool_list" => Some(self.tool_list(&c.input)),
            "metadata_initialize" => Some(self.initialize(&c.input)),
            "proxy_auth_policy" => Some(self.auth_policy(&c.input)),
            "behavioral_request_sequence" | "behavioral_cross_server_sequence" => {
                Some(self.sequence(&c.input))
            }
            "behavioral_response" => Some(self.response(&c.input)),
            "semantic_threshold" => Some(self.semantic_threshold(&c.input)),
            _ => None,
        };
        let mut out = CaseOutcome {
            id: c.id.clone(),
            file: file.to_string(),
            harness: c.harness.clone(),
            expected: c.expected,
            got: None,
            result: Result_::Skipped,
            rules: Vec::new(),
            note: String::new(),
        };
        let Some((got, rules)) = decided else {
            out.note = format!("unknown harness {:?}: not judged", c.harness);
            return out;
        };
        out.got = Some(match got {
            Verdict::Block | Verdict::ShadowBlock => "block",
            Verdict::Warn => "warn",
            Verdict::Allow => "allow",
        });
        out.rules = rules;
        out.result = match (c.expected, got) {
            (Expected::Block, Verdict::Block) => Result_::Agree,
            (Expected::Block, _) => Result_::FalseNegative,
            (Expected::Warn, Verdict::Warn | Verdict::Block) => Result_::Agree,
            (Expected::Warn, _) => Result_::FalseNegative,
            (Expected::Allow, Verdict::Block) => Result_::FalsePositive,
            (Expected::Allow, _) => Result_::Agree,
        };
        if matches!(out.result, Result_::FalsePositive | Result_::FalseNegative) {
            if let Some(why) = on_purpose(&c.id) {
                out.result = Result_::OnPurpose;
                out.note = why.to_string();
            }
        }
        out
    }

    fn rules_engine(&self, input: &Value) -> (Verdict, Vec<String>) {
        let method = input.get("method").and_then(Value::as_str).unwrap_or("");
        let d = self
            .inspector
            .inspect_request(method, input.get("params"), None);
        (
            d.verdict,
            d.rule_ids().into_iter().map(String::from).collect(),
        )
    }

    fn tool_list(&self, input: &Value) -> (Verdict, Vec<String>) {
        let r = input.get("result").cloned().unwrap_or(Value::Null);
        verdict_of(metadata::inspect_tools(&r, &self.limits))
    }

    /// A request from an authenticated principal. vanguard's HTTP face
    /// refuses a token with verification warnings outright (no "warned"
    /// principals), hides tools whose scopes the principal lacks, and then
    /// inspects the message like any other.
    fn auth_policy(&self, input: &Value) -> (Verdict, Vec<String>) {
        let message = input.get("message").cloned().unwrap_or(Value::Null);
        let (mut verdict, mut rules) = self.rules_engine(&message);
        let principal = input.get("principal");
        let warnings = principal
            .and_then(|p| p.pointer("/attributes/auth_warnings"))
            .and_then(Value::as_array)
            .is_some_and(|w| !w.is_empty());
        if warnings {
            verdict = Verdict::Block;
            rules.push("AUTH-TOKEN".into());
        }
        let required: Vec<&str> = input
            .get("required_scopes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let held: Vec<&str> = principal
            .and_then(|p| {
                p.pointer("/attributes/token_scope")
                    .or_else(|| p.get("scopes"))
            })
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let tool = message
            .pointer("/params/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let writes = crate::inspect::zones::name_writes(tool);
        if writes && required.iter().any(|r| !held.contains(r)) {
            verdict = Verdict::Block;
            rules.push("AUTH-TOOL".into());
        }
        (verdict, rules)
    }

    /// A sequence of calls in one session (per server: the state key is
    /// the session and the server, as one gateway session fronts one
    /// server). Each call goes through L1 as in the gateway, its findings
    /// feed L3's risk, and the case's verdict is L3's on the last call (L1
    /// alone is what the `rules_engine` cases measure). Calls are 10 ms
    /// apart on a synthetic clock.
    fn sequence(&self, input: &Value) -> (Verdict, Vec<String>) {
        use crate::behavior::{self as b, store::MemoryStore};
        let store = MemoryStore::new(&self.behavior);
        let session = input
            .get("session_id")
            .and_then(Value::as_str)
            .unwrap_or("s");
        let default_server = input
            .get("server_id")
            .and_then(Value::as_str)
            .unwrap_or("srv");
        let mut now = 1_000_000u64;
        let mut last = (Verdict::Allow, Vec::new());
        let steps = input
            .get("steps")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for step in &steps {
            let repeat = step.get("repeat").and_then(Value::as_u64).unwrap_or(1);
            let server = step
                .get("server_id")
                .and_then(Value::as_str)
                .unwrap_or(default_server);
            let key = format!("{session}|{server}");
            let msg = step.get("message").cloned().unwrap_or(Value::Null);
            let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
            let params = msg.get("params");
            for _ in 0..repeat {
                now += 10;
                let d = self.inspector.inspect_request(method, params, None);
                if method != "tools/call" {
                    last = (Verdict::Allow, Vec::new());
                    continue;
                }
                let tool = params
                    .and_then(|p| p.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let args = params.and_then(|p| p.get("arguments"));
                let obs = b::call_obs(
                    &self.behavior,
                    tool,
                    args,
                    None,
                    b::call_paths(args),
                    &d.findings,
                    now,
                );
                let st = store.observe_call(&key, &obs);
                let a = b::assess_call(&self.behavior, &obs, &st);
                if a.risk_add > 0.0 {
                    store.add_risk(&key, now, a.risk_add);
                }
                last = verdict_of(a.findings);
            }
        }
        last
    }

    /// A response of `repeat` chunks, judged by L3's response volume.
    fn response(&self, input: &Value) -> (Verdict, Vec<String>) {
        use crate::behavior::{self as b, store::MemoryStore};
        let chunk = input
            .get("response_chunk")
            .and_then(Value::as_str)
            .unwrap_or("");
        let repeat = input.get("repeat").and_then(Value::as_u64).unwrap_or(1);
        let store = MemoryStore::new(&self.behavior);
        let st = store.observe_result(
            "s",
            &b::ResultObs {
                now_ms: 1_000_000,
                bytes: chunk.len() as u64 * repeat,
                taint: None,
                risk_add: 0.0,
            },
        );
        verdict_of(b::assess_result(&self.behavior, &st).into_iter().collect())
    }

    /// A synthetic L2 score against thresholds: the arithmetic vanguard's
    /// L2 applies (`semantic::verdict_for`); it tests no detector.
    fn semantic_threshold(&self, input: &Value) -> (Verdict, Vec<String>) {
        let num = |k: &str| input.get(k).and_then(Value::as_f64);
        let score = num("score").unwrap_or(0.0);
        let warn = num("threshold_warn").unwrap_or(self.semantic.settings.warn);
        let block = num("threshold_block").unwrap_or(self.semantic.settings.block);
        let v = crate::semantic::verdict_for(score, warn, block);
        (v, vec!["L2-SEMANTIC".into()])
    }

    fn initialize(&self, input: &Value) -> (Verdict, Vec<String>) {
        let r = input.get("result").cloned().unwrap_or(Value::Null);
        verdict_of(metadata::inspect_initialize(&r))
    }
}

fn verdict_of(findings: Vec<crate::inspect::Finding>) -> (Verdict, Vec<String>) {
    let v = match findings.iter().map(|f| f.action).max() {
        Some(Action::Block) => Verdict::Block,
        Some(Action::Warn) => Verdict::Warn,
        _ => Verdict::Allow,
    };
    (v, findings.into_iter().map(|f| f.rule).collect())
}

/// Totals over a set of outcomes.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub total: usize,
    pub agree: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    /// Disagreements on purpose, each explained in the output.
    pub on_purpose: usize,
    pub skipped: usize,
}

impl Summary {
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a CaseOutcome>) -> Summary {
        let mut s = Summary::default();
        for o in outcomes {
            s.total += 1;
            match o.result {
                Result_::Agree => s.agree += 1,
                Result_::FalsePositive => s.false_positives += 1,
                Result_::FalseNegative => s.false_negatives += 1,
                Result_::OnPurpose => s.on_purpose += 1,
                Result_::Skipped => s.skipped += 1,
            }
        }
        s
    }
}
