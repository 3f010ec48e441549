//! Findings and how they compose into one verdict.
//!
//! Each finding carries the action of the rule that produced it; the verdict
//! is the strongest action among them (`Block` > `Warn` > `Log`/none →
//! `Allow`). Shadow mode is applied by the gateway, not here: the inspector
//! always says what enforcement would do.

use crate::policy::{Action, Rule, Severity};
use serde::Serialize;

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

impl Finding {
    pub fn from_rule(rule: &Rule, location: &str, evidence: &str) -> Finding {
        Finding {
            rule: rule.id.clone(),
            layer: Layer::L1,
            severity: rule.severity,
            action: rule.action,
            message: rule.description.clone(),
            location: location.to_string(),
            evidence: super::truncate(evidence),
            hint: rule.hint.clone(),
        }
    }
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
