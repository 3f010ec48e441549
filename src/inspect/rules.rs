//! L1 pattern rules, compiled once per target into a `RegexSet`.
//!
//! A `RegexSet` runs all patterns of a target in one pass, so the cost of a
//! check grows far slower than the number of rules. A cheap `is_match` runs
//! first; only on a hit are the individual matches enumerated.
//!
//! Patterns are compiled in ASCII mode (`(?i)` folds ASCII case, `\b`, `\w`
//! and `\s` are ASCII): the L0 views have already folded what matters
//! (NFKC turns fullwidth letters and odd spaces into ASCII, confusables are
//! mapped to Latin, zero-width characters are gone), and Unicode classes
//! would multiply the automata's size — several MiB of resident memory for
//! the default rule set — for no detection gain.

use crate::glob::matches as glob_match;
use crate::policy::{Rule, Target};
use regex::bytes::{RegexSet, RegexSetBuilder};

#[derive(Debug, thiserror::Error)]
#[error("rule set for target {target:?} does not compile: {source}")]
pub struct CompileError {
    target: Target,
    #[source]
    source: regex::Error,
}

struct TargetSet {
    set: RegexSet,
    /// Pattern index → rule index.
    owner: Vec<usize>,
}

pub struct RuleSet {
    rules: Vec<Rule>,
    targets: Vec<(Target, TargetSet)>,
}

const TARGETS: [Target; 6] = [
    Target::Text,
    Target::Path,
    Target::Command,
    Target::Url,
    Target::Host,
    Target::Tool,
];

/// The one place patterns are configured, so validation (`policy`) and
/// matching agree on what compiles.
pub fn builder<I, S>(patterns: I) -> RegexSetBuilder
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut b = RegexSetBuilder::new(patterns);
    b.unicode(false)
        .size_limit(32 << 20)
        .dfa_size_limit(4 << 20);
    b
}

pub use crate::policy::pattern::{check_syntax, pattern_source};

impl RuleSet {
    pub fn compile(rules: &[Rule]) -> Result<RuleSet, CompileError> {
        let mut targets = Vec::new();
        for target in TARGETS {
            let mut patterns = Vec::new();
            let mut owner = Vec::new();
            for (i, r) in rules.iter().enumerate().filter(|(_, r)| r.target == target) {
                for p in &r.patterns {
                    patterns.push(pattern_source(p, r.case_sensitive));
                    owner.push(i);
                }
            }
            if patterns.is_empty() {
                continue;
            }
            let set = builder(&patterns)
                .build()
                .map_err(|source| CompileError { target, source })?;
            targets.push((target, TargetSet { set, owner }));
        }
        Ok(RuleSet {
            rules: rules.to_vec(),
            targets,
        })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Calls `f` once per rule of `target` whose patterns match `text` and
    /// whose tool filter admits `tool`.
    pub fn each_match(&self, target: Target, text: &str, tool: &str, mut f: impl FnMut(&Rule)) {
        let Some((_, ts)) = self.targets.iter().find(|(t, _)| *t == target) else {
            return;
        };
        if !ts.set.is_match(text.as_bytes()) {
            return;
        }
        let mut last = usize::MAX;
        for idx in ts.set.matches(text.as_bytes()).iter() {
            // Every pattern of the set has an owner, and owners are rule indexes.
            let Some(&ri) = ts.owner.get(idx) else {
                continue;
            };
            if ri == last {
                continue;
            }
            last = ri;
            let Some(rule) = self.rules.get(ri) else {
                continue;
            };
            let admitted = match &rule.tools {
                None => true,
                Some(globs) => globs.iter().any(|g| glob_match(g, tool)),
            };
            if admitted {
                f(rule);
            }
        }
    }
}
