//! The profile file format, as serde reads it.
//!
//! Every field is optional here because profiles layer (`extends`); the
//! merged, expanded and validated result is [`super::Policy`]. Unknown keys
//! are errors (`deny_unknown_fields`), so a typo never silently disables a
//! protection.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// Name or path of the profile this one layers on.
    pub extends: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub mode: Option<Mode>,
    pub server: Option<ServerSection>,
    pub limits: Option<LimitsSection>,
    pub lifecycle: Option<LifecycleSection>,
    pub zones: Option<ZonesSection>,
    pub network: Option<NetworkSection>,
    pub sandbox: Option<SandboxSection>,
    pub audit: Option<AuditSection>,
    pub metadata: Option<MetadataSection>,
    pub pinning: Option<PinningSection>,
    pub results: Option<ResultsSection>,
    pub behavior: Option<BehaviorSection>,
    pub semantic: Option<SemanticSection>,
    pub tool_access: Option<Vec<ToolAccessDef>>,
    pub rules: Option<Vec<RuleDef>>,
    /// Override the action of rules by id or glob (`"CMD-*" = "block"`).
    pub rule_actions: Option<BTreeMap<String, Action>>,
    /// Rule ids (or globs) to drop from the inherited set.
    pub disable_rules: Option<Vec<String>>,
    /// Signers trusted per purpose, rule packs, and whether they must be signed.
    pub trust: Option<TrustSection>,
}

pub use crate::trust::TrustSection;

/// `enforce` applies verdicts; `shadow` decides and logs but forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Enforce,
    Shadow,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// argv of the server; used when `--server` is not given.
    pub command: Option<Vec<String>>,
    /// Working directory of the server (relative paths in arguments resolve against it).
    pub cwd: Option<String>,
    /// Environment variables passed to the server (names); everything else is scrubbed.
    pub env: Option<Vec<String>>,
    /// Variables set for the server.
    pub env_set: Option<BTreeMap<String, String>>,
    /// Run the install scripts of a package a launcher (npx, uvx, …)
    /// installs. They run outside the sandbox, so the default is false.
    pub install_scripts: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub max_line_bytes: Option<usize>,
    /// Requests of the agent's that may wait for the server's answer at
    /// once; one more is answered -31005 without reaching the server.
    pub max_in_flight: Option<usize>,
    /// Lines per second of the server's stderr copied to ours.
    pub stderr_lines_per_sec: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSection {
    /// After closing the server's stdin, how long to wait before SIGTERM.
    pub close_grace_ms: Option<u64>,
    /// After SIGTERM, how long to wait before SIGKILL.
    pub term_grace_ms: Option<u64>,
    /// How long a call held for the server's tool list waits before it is
    /// answered -31003.
    pub list_timeout_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZonesSection {
    pub enabled: Option<bool>,
    pub read: Option<Vec<String>>,
    pub write: Option<Vec<String>>,
    /// What a path outside the zones does: block (default), warn or log.
    pub action: Option<Action>,
    /// More names (relative to each write zone) or absolute paths kept
    /// read-only inside the write zones, besides the built-in list.
    pub protected: Option<Vec<String>>,
    /// Names of the built-in (or listed) protected paths to drop.
    pub unprotect: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NetMode {
    None,
    Allowlist,
    Host,
}

impl NetMode {
    pub fn as_str(self) -> &'static str {
        match self {
            NetMode::None => "none",
            NetMode::Allowlist => "allowlist",
            NetMode::Host => "host",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    pub mode: Option<NetMode>,
    pub allow: Option<Vec<String>>,
    /// Names the egress proxy answers without DNS (`"test.internal" = "127.0.0.1"`);
    /// for tests and pinned hosts. A loopback or private answer still needs
    /// its address on the allow-list.
    pub resolve: Option<BTreeMap<String, String>>,
    /// Egress budgets (allowlist mode): bytes per proxied connection, both ways.
    pub max_bytes_per_connection: Option<u64>,
    /// Bytes all proxied connections of a session may move together.
    pub max_bytes_per_session: Option<u64>,
    /// How long one proxied connection may stay open.
    pub max_connection_secs: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxLevel {
    Enforce,
    BestEffort,
    Off,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSection {
    pub level: Option<SandboxLevel>,
    /// Use the allow-list seccomp profile instead of the deny-list one.
    pub strict_seccomp: Option<bool>,
    pub max_open_files: Option<u64>,
    pub max_processes: Option<u64>,
    pub max_address_space_mb: Option<u64>,
    pub max_file_size_mb: Option<u64>,
    pub memory_max_mb: Option<u64>,
    pub pids_max: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// Path of the JSONL audit log, or "off".
    pub path: Option<String>,
    pub max_bytes: Option<u64>,
    pub keep: Option<u32>,
}

/// What a poisoned tool, prompt or resource in a listing does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetadataAction {
    /// Remove the item from the listing; calls to it get -32602.
    Drop,
    /// Replace the whole listing with an error.
    Block,
    /// Forward unchanged and record the findings.
    Warn,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataSection {
    pub action: Option<MetadataAction>,
    pub max_schema_bytes: Option<usize>,
    pub max_schema_depth: Option<usize>,
    /// Refuse `tools/call` for tools the server did not list in this session.
    pub refuse_unlisted_tools: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PinMode {
    /// No pinning.
    Off,
    /// Trust on first use: pin what is seen when there is no pin yet.
    Tofu,
    /// Only pinned servers: without a pin, every tool is hidden until approved.
    Require,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftAction {
    /// Hide drifted tools (calls get -32602) until `vanguard pin approve`.
    Hide,
    /// Report the drift, change nothing.
    Warn,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinningSection {
    pub mode: Option<PinMode>,
    pub on_drift: Option<DriftAction>,
    /// The pin file (JSON).
    pub file: Option<String>,
    /// A tool that was not there when the server was pinned: `trust` pins it
    /// on sight (and reports it), `hide` treats it as drift.
    pub new_tools: Option<NewTools>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NewTools {
    Trust,
    Hide,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultAction {
    /// Replace each match with a marker; keep the rest.
    Redact,
    /// Answer the call with an error instead of the result.
    Block,
    /// Forward unchanged and record the finding.
    Warn,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultsSection {
    /// Secrets in tool results and resource contents.
    pub secrets: Option<ResultAction>,
    /// Prompt-injection text aimed at the agent.
    pub injection: Option<ResultAction>,
    /// Terminal escape sequences.
    pub escapes: Option<ResultAction>,
    /// Agent instruction files (`AGENTS.md`, `.cursorrules`, …): name
    /// patterns; `[]` turns the exception off (`policy::instructions`).
    pub instruction_files: Option<Vec<String>>,
    /// Prompt files of the application (`prompts/*.txt`): orders in them
    /// are their content (`policy::instructions`). None by default.
    pub prompt_files: Option<Vec<String>>,
}

/// A warn and a block threshold (0 turns either off).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitDef {
    #[serde(default)]
    pub warn: u64,
    #[serde(default)]
    pub block: u64,
}

/// L3: session behaviour (`[behavior]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviorSection {
    pub enabled: Option<bool>,
    /// Sliding-window length in seconds.
    pub window_secs: Option<u64>,
    /// How long a sensitive read taints the session, in seconds.
    pub taint_secs: Option<u64>,
    /// `content` (a later call must carry the data) or `any`.
    pub sequence: Option<super::behavior::SequenceMode>,
    /// Cut the session's egress through the proxy on an exfiltration sequence.
    pub cut_egress: Option<bool>,
    /// `memory` or a `redis://` URL (also `--state`, `VANGUARD_STATE_URL`).
    pub state: Option<String>,
    /// When the state store cannot be reached: `open` or `closed`.
    pub on_state_error: Option<crate::verdict::FailMode>,
    pub risk_half_life_secs: Option<u64>,
    pub risk_log: Option<f64>,
    pub risk_require_l2: Option<f64>,
    pub risk_block: Option<f64>,
    pub per_tool: Option<LimitDef>,
    pub read: Option<LimitDef>,
    pub list: Option<LimitDef>,
    pub write: Option<LimitDef>,
    pub exec: Option<LimitDef>,
    pub network: Option<LimitDef>,
    pub repeat: Option<LimitDef>,
    pub enumeration: Option<LimitDef>,
    pub response_bytes: Option<LimitDef>,
    /// Tool name or glob → capabilities (`read`, `list`, `write`, `exec`, `network`).
    pub capabilities: Option<BTreeMap<String, Vec<String>>>,
}

/// L2: semantic scoring by a model (`[semantic]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SemanticSection {
    pub enabled: Option<bool>,
    pub warn: Option<f64>,
    pub block: Option<f64>,
    /// When scoring fails: `open` (allow, logged) or `closed` (block).
    pub fail: Option<crate::verdict::FailMode>,
    pub timeout_secs: Option<f64>,
    pub retries: Option<u32>,
    pub concurrency: Option<usize>,
    pub cache_entries: Option<usize>,
    /// Also score server metadata (tool descriptions).
    pub metadata: Option<bool>,
}

/// How a tool uses its path arguments, when name and annotations are not enough.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolAccessDef {
    /// Tool name or glob.
    pub tool: String,
    /// `read` or `write`: the access for every path argument not listed below.
    pub access: Option<Access>,
    /// Argument keys that are only read.
    #[serde(default)]
    pub read_args: Vec<String>,
    /// Argument keys that are written.
    #[serde(default)]
    pub write_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
}

pub use crate::verdict::{Action, Severity};

/// Which view of a message a rule's patterns are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Every string in the arguments (all L0 views).
    Text,
    /// Path-like values, canonicalised (also path-like tokens inside commands).
    Path,
    /// Command-like values (by key, or any string argument of a shell-like tool).
    Command,
    /// URLs found anywhere in the arguments.
    Url,
    /// The canonical host of each URL (IPs in dotted form) and host-like values.
    Host,
    /// The tool name (`tools/call`) or the method.
    Tool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub id: String,
    /// Rule family, for grouping in `policy explain` and the audit log.
    pub family: String,
    pub description: String,
    pub severity: Severity,
    pub action: Action,
    pub target: Target,
    /// Regular expressions (Rust `regex` syntax); case-insensitive unless `case_sensitive`.
    pub patterns: Vec<Spanned<String>>,
    #[serde(default)]
    pub case_sensitive: bool,
    /// Only for these tools (names or globs); all tools when absent.
    pub tools: Option<Vec<String>>,
    /// A short, actionable hint returned to the agent.
    pub hint: Option<String>,
}
