//! Findings of the inspector's rules. The vocabulary itself (findings,
//! layers, verdicts) lives in the leaf module [`crate::verdict`].

use crate::policy::Rule;
pub use crate::verdict::{Decision, Finding, Layer, Verdict};

/// The finding of L1 rule `rule` matching `evidence` at `location`.
pub fn from_rule(rule: &Rule, location: &str, evidence: &str) -> Finding {
    Finding {
        rule: rule.id.clone(),
        layer: Layer::L1,
        severity: rule.severity,
        action: rule.action,
        message: rule.description.clone(),
        location: location.to_string(),
        evidence: crate::verdict::truncate(evidence),
        hint: rule.hint.clone(),
    }
}
