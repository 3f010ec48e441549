//! The vocabulary every layer shares: what a check found ([`Finding`]), in
//! which layer ([`Layer`]), how bad it is ([`Severity`]), what it asks for
//! ([`Action`]), and how findings compose into one [`Verdict`]
//! ([`Decision`]). A leaf module: it uses nothing of the crate.
//!
//! Each finding carries the action of the check that produced it; the
//! verdict is the strongest action among them (`Block` > `Warn` > `Log`/none
//! → `Allow`). Shadow mode is applied by the gateway, not here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// What a matching check does. Ordered: `Log < Warn < Block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Log,
    Warn,
    Block,
}

/// What happens when a layer cannot decide (a state store or a model
/// backend unreachable): let the message through with a warning, or block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    Open,
    Closed,
}

/// Bytes of a matched value kept as evidence in a finding.
pub const EVIDENCE_CHARS: usize = 160;

/// `s`, cut to [`EVIDENCE_CHARS`] characters (with an ellipsis).
pub fn truncate(s: &str) -> String {
    if s.chars().count() <= EVIDENCE_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(EVIDENCE_CHARS).collect();
    out.push('…');
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Layer {
    L0,
    L1,
    L2,
    L3,
    /// Reported by the kernel sandbox (a denial seen in a tool result).
    Kernel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    Warn,
    Block,
    /// Would have been blocked; forwarded because the session is in shadow mode.
    ShadowBlock,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Warn => "warn",
            Verdict::Block => "block",
            Verdict::ShadowBlock => "shadow_block",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub layer: Layer,
    pub severity: Severity,
    pub action: Action,
    pub message: String,
    /// JSON pointer into the message.
    pub location: String,
    /// The (possibly decoded) text that matched, truncated.
    pub evidence: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    /// The tool a `tools/call` names.
    pub tool: Option<String>,
}

impl Default for Decision {
    fn default() -> Self {
        Self::new()
    }
}

impl Decision {
    pub fn new() -> Decision {
        Decision {
            verdict: Verdict::Allow,
            findings: Vec::new(),
            tool: None,
        }
    }

    pub fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    pub fn has_rule(&self, id: &str) -> bool {
        self.findings.iter().any(|f| f.rule == id)
    }

    /// Computes the verdict and orders findings strongest first.
    pub fn finish(&mut self) {
        self.findings
            .sort_by_key(|f| std::cmp::Reverse((f.action, f.severity)));
        self.verdict = match self.findings.first().map(|f| f.action) {
            Some(Action::Block) => Verdict::Block,
            Some(Action::Warn) => Verdict::Warn,
            _ => Verdict::Allow,
        };
    }

    /// The finding that decided the verdict.
    pub fn primary(&self) -> Option<&Finding> {
        self.findings.first()
    }

    pub fn rule_ids(&self) -> Vec<&str> {
        self.findings.iter().map(|f| f.rule.as_str()).collect()
    }
}
