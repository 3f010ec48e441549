//! Per-tool authorisation: `[[tool_auth]]` entries map tool-name globs to
//! the scopes (all required) and roles (one of) a principal must hold.
//!
//! The result is a [`ToolFilter`] for the session: tools the principal may
//! not use are hidden from `tools/list` and refused with -32602 on call,
//! in shadow mode too (authorisation is not inspection).

use super::config::ToolAuthRule;
use super::Principal;
use super::ToolFilter;
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct ToolAuth {
    rules: Vec<ToolAuthRule>,
}

impl ToolAuth {
    pub fn new(rules: Vec<ToolAuthRule>) -> ToolAuth {
        ToolAuth { rules }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `who` may see and call `tool`. Without a principal, only
    /// tools no entry mentions are allowed.
    pub fn allows(&self, who: Option<&Principal>, tool: &str) -> bool {
        self.rules
            .iter()
            .filter(|r| r.tools.iter().any(|g| crate::glob::matches(g, tool)))
            .all(|r| match who {
                None => false,
                Some(p) => {
                    r.scopes.iter().all(|s| p.scopes.contains(s))
                        && (r.roles.is_empty() || r.roles.iter().any(|x| p.roles.contains(x)))
                }
            })
    }

    /// The session's filter, or `None` when no entry restricts anything.
    pub fn filter_for(&self, who: Option<&Principal>) -> Option<ToolFilter> {
        if self.rules.is_empty() {
            return None;
        }
        let me = self.clone();
        let who = who.cloned();
        Some(Arc::new(move |tool: &str| me.allows(who.as_ref(), tool)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn principal(scopes: &[&str], roles: &[&str]) -> Principal {
        Principal {
            subject: "u".into(),
            scopes: scopes
                .iter()
                .map(|s| s.to_string())
                .collect::<BTreeSet<_>>(),
            roles: roles.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
        }
    }

    #[test]
    fn every_matching_rule_must_hold() {
        let t = ToolAuth::new(vec![
            ToolAuthRule {
                tools: vec!["get-env".into()],
                scopes: vec!["admin".into()],
                roles: vec![],
            },
            ToolAuthRule {
                tools: vec!["get-*".into()],
                scopes: vec![],
                roles: vec!["ops".into(), "dev".into()],
            },
        ]);
        assert!(t.allows(Some(&principal(&[], &[])), "echo"));
        assert!(!t.allows(Some(&principal(&["admin"], &[])), "get-env"));
        assert!(t.allows(Some(&principal(&["admin"], &["dev"])), "get-env"));
        assert!(!t.allows(Some(&principal(&[], &["dev"])), "get-env"));
        assert!(t.allows(Some(&principal(&[], &["dev"])), "get-sum"));
        assert!(!t.allows(None, "get-sum"));
        assert!(t.allows(None, "echo"));
    }
}
