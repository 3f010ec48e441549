//! Policy: profiles on disk → one validated [`Policy`].
//!
//! A profile is a TOML file (`profiles/*.toml`, built into the binary, or any
//! path). Profiles layer with `extends`; each file is parsed and checked on
//! its own, so every error names the file, the line and the field. The
//! merged policy is compiled into the inspector and the kernel sandbox
//! plan; both read the same zones.

pub mod behavior;
mod builtin;
pub mod explain;
pub mod instructions;
mod load;
pub mod pattern;
pub mod schema;
pub mod semantic;
pub mod trust;
mod vars;

pub use load::{load, Overrides, RuleCheck};
pub use schema::{
    Access, Action, DriftAction, MetadataAction, Mode, NetMode, NewTools, PinMode, ResultAction,
    SandboxLevel, Severity, Target, ToolAccessDef,
};
pub use vars::Vars;

use crate::policy::instructions::{FileKind, FilePatterns};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A configuration problem, located as precisely as the source allows.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {field}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyError {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

/// One rule after loading: its definition plus where it came from.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub family: String,
    pub description: String,
    pub severity: Severity,
    pub action: Action,
    pub target: Target,
    pub patterns: Vec<String>,
    pub case_sensitive: bool,
    pub tools: Option<Vec<String>>,
    pub hint: Option<String>,
    /// File and line the rule was defined at.
    pub origin: String,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub command: Option<Vec<String>>,
    pub cwd: PathBuf,
    pub env: Vec<String>,
    pub env_set: BTreeMap<String, String>,
    /// Run a launched package's install scripts (outside the sandbox).
    pub install_scripts: bool,
}

#[derive(Debug, Clone)]
pub struct ZonesConfig {
    pub enabled: bool,
    pub read: Vec<PathBuf>,
    pub write: Vec<PathBuf>,
    pub action: Action,
    /// Paths inside the write zones that stay read-only (absolute: each
    /// protected name under each write zone). Whether they exist or not:
    /// the inspector refuses writes to them (ZONE-PROTECTED); the kernel
    /// binds those that exist read-only.
    pub protected: Vec<PathBuf>,
    /// The names they come from, for `explain`.
    pub protected_names: Vec<String>,
}

/// Paths inside a write zone that hold code or configuration something
/// else runs outside any sandbox — git's configuration and hooks, editor,
/// agent and CI settings, environment loaders, package-manager and shell
/// configuration, credentials — kept read-only unless a profile
/// (`[zones] unprotect`) or `--unprotect NAME` says otherwise.
pub const DEFAULT_PROTECTED: &[&str] = &[
    ".git/config",
    ".git/hooks",
    ".gitmodules",
    ".husky",
    ".vscode",
    ".idea",
    ".cursor",
    ".claude",
    ".mcp.json",
    ".envrc",
    ".direnv",
    ".npmrc",
    ".yarnrc.yml",
    ".pypirc",
    ".cargo/config.toml",
    ".cargo/config",
    ".github/workflows",
    ".gitlab-ci.yml",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".config/fish",
    ".ssh",
    ".gnupg",
    ".netrc",
    ".git-credentials",
    ".gitconfig",
];

#[derive(Debug, Clone)]
pub struct NetworkConfig {
    pub mode: NetMode,
    /// The entries as written (for messages and `explain`).
    pub allow: Vec<String>,
    /// The same, parsed once at load: the inspector and the egress proxy
    /// match on this.
    pub allow_list: crate::canon::AllowList,
    /// Egress proxy resolver overrides, name → address text (checked when
    /// the egress configuration is built).
    pub resolve: BTreeMap<String, String>,
    pub max_bytes_per_connection: Option<u64>,
    pub max_bytes_per_session: Option<u64>,
    pub max_connection_secs: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub level: SandboxLevel,
    pub strict_seccomp: bool,
    pub max_open_files: Option<u64>,
    pub max_processes: Option<u64>,
    pub max_address_space_mb: Option<u64>,
    pub max_file_size_mb: Option<u64>,
    pub memory_max_mb: Option<u64>,
    pub pids_max: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// `None` when the audit log is switched off.
    pub path: Option<PathBuf>,
    pub max_bytes: u64,
    pub keep: u32,
}

#[derive(Debug, Clone)]
pub struct MetadataConfig {
    pub action: MetadataAction,
    pub max_schema_bytes: usize,
    pub max_schema_depth: usize,
    pub refuse_unlisted_tools: bool,
}

#[derive(Debug, Clone)]
pub struct PinningConfig {
    pub mode: PinMode,
    pub on_drift: DriftAction,
    pub file: Option<PathBuf>,
    pub new_tools: NewTools,
}

#[derive(Debug, Clone)]
pub struct ResultsConfig {
    pub secrets: ResultAction,
    pub injection: ResultAction,
    pub escapes: ResultAction,
    /// Agent instruction files (`AGENTS.md`, …): text addressed to the AI
    /// in their contents is logged, not withheld (`policy::instructions`).
    pub instruction_files: FilePatterns,
    /// Prompts the application sends its own model (none by default).
    pub prompt_files: FilePatterns,
}

impl ResultsConfig {
    /// What the file at `path` is ([`FileKind`]), and the pattern that says
    /// so: instruction files are checked before prompt files.
    pub fn kind_of(&self, path: &str) -> Option<(FileKind, &str)> {
        self.by_kind(|f| f.matching(path))
    }

    /// What the files a call named are, when it named at least one path
    /// and all of them are of one kind (in the order of
    /// [`kind_of`](Self::kind_of)); the pattern is the first path's.
    pub fn kind_of_all(&self, paths: &[String]) -> Option<(FileKind, &str)> {
        self.by_kind(|f| f.all_match(paths))
    }

    fn by_kind<'a>(
        &'a self,
        matches: impl Fn(&'a FilePatterns) -> Option<&'a str>,
    ) -> Option<(FileKind, &'a str)> {
        matches(&self.instruction_files)
            .map(|p| (FileKind::Instructions, p))
            .or_else(|| matches(&self.prompt_files).map(|p| (FileKind::Prompt, p)))
    }
}

/// A fully loaded, merged, expanded and validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub description: String,
    /// The files this policy was built from, base first.
    pub sources: Vec<String>,
    pub mode: Mode,
    pub server: ServerConfig,
    pub max_line_bytes: usize,
    /// Requests of the agent's waiting for the server at once (`[limits]`).
    pub max_in_flight: usize,
    pub stderr_lines_per_sec: u32,
    pub close_grace: Duration,
    pub term_grace: Duration,
    /// How long a call held for the server's tool list waits (then -31003).
    pub list_timeout: Duration,
    pub zones: ZonesConfig,
    pub network: NetworkConfig,
    pub sandbox: SandboxConfig,
    pub audit: AuditConfig,
    pub metadata: MetadataConfig,
    pub pinning: PinningConfig,
    pub results: ResultsConfig,
    pub tool_access: Vec<ToolAccessDef>,
    pub rules: Vec<Rule>,
    /// Action overrides by rule id or glob, also for built-in checks (`ZONE-*`, `L0-*`).
    pub rule_actions: BTreeMap<String, Action>,
    /// L3 session behaviour.
    pub behavior: behavior::BehaviorConfig,
    /// Where L3 keeps its state (`None`: in memory).
    pub state_url: Option<String>,
    /// L2 semantic scoring.
    pub semantic: SemanticPolicy,
    /// Trusted signers per purpose; rule packs and whether they must be signed.
    pub trust: trust::TrustPolicy,
}

/// The profile's L2 settings (the backend comes from the environment).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SemanticPolicy {
    /// Score every tool call (`--semantic`); otherwise only when the
    /// session's risk requires it.
    pub enabled: bool,
    /// Also score each tool of a `tools/list` answer.
    pub metadata: bool,
    /// Thresholds, fail mode, timeout, retries, concurrency, cache.
    pub settings: semantic::Settings,
}

/// Checks built into vanguard whose action a profile's `[rule_actions]` can
/// change, besides the rules the profiles define.
pub const BUILTIN_RULE_IDS: &[&str] = &[
    "ZONE-READ",
    "ZONE-WRITE",
    "ZONE-PROTECTED",
    "L0-INVISIBLE",
    "L0-MIXED-SCRIPT",
    "NET-ALLOWLIST",
    "NET-RESOLVE",
    "BEH-REPEAT",
    "BEH-RATE-TOOL",
    "BEH-RATE-READ",
    "BEH-RATE-LIST",
    "BEH-RATE-WRITE",
    "BEH-RATE-EXEC",
    "BEH-RATE-NETWORK",
    "BEH-ENUM",
    "BEH-EXFIL",
    "BEH-RISK",
    "BEH-VOLUME",
    "BEH-STATE-UNAVAILABLE",
    "L2-SEMANTIC",
    "L2-UNAVAILABLE",
];

/// Names of the profiles built into the binary.
pub fn builtin_names() -> Vec<&'static str> {
    builtin::PROFILES.iter().map(|(n, _)| *n).collect()
}
