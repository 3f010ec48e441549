//! Agent instruction files: `AGENTS.md`, `CLAUDE.md`,
//! `.github/copilot-instructions.md`, `.cursorrules` and their kin.
//!
//! A repository's owner writes these for the AI that works in it, so they
//! address the AI and give it orders by design ("Instructions for AI
//! agents: never edit generated files"). Read from anywhere else, text of
//! that shape is the commonest form of prompt injection, and
//! `RESULT-INJ-ADDRESS` withholds it. When every path a `tools/call` names
//! is such a file, that one finding is recorded at `log` instead: the
//! result is what it says it is. Everything else is inspected as before:
//! orders to override the agent's instructions, to hide something from the
//! user, to send secrets or to steer calls to other tools still block, as do
//! hidden orders (HTML comments, pseudo-tags, Unicode tag characters, the
//! "rules file backdoor"), secrets and terminal escapes; and what the agent
//! does next is checked like any other call.
//!
//! Prompt files (`[results] prompt_files`, none by default) are the
//! prompts an application sends to *its own* model (`prompts/*.txt`):
//! source code of that application, in which "You are the support
//! assistant…", "do not tell the user which tools you used" and "call the
//! lookup tool" are the file's content, not orders to the agent editing
//! it. There, text addressed to the AI, a persona, an order to keep
//! something from the user and a request to call a tool are logged;
//! overrides, exfiltration, redirection, hidden orders and secrets still
//! block. Nothing is a prompt file until the profile says so.
//!
//! Patterns name the file's last path components, compared without regard
//! to ASCII case; `*` stands for any run of characters within one
//! component. `[]` turns the exception off.

use std::sync::Arc;

/// The built-in list: the files the common coding agents read.
pub const DEFAULT: &[&str] = &[
    "AGENTS.md",
    "AGENT.md",
    "AGENTS.override.md",
    "CLAUDE.md",
    "CLAUDE.local.md",
    "GEMINI.md",
    ".github/copilot-instructions.md",
    ".github/instructions/*.instructions.md",
    ".cursorrules",
    ".cursor/rules/*.mdc",
    ".cursor/rules/*.md",
    ".windsurfrules",
    ".windsurf/rules/*.md",
    ".clinerules",
    ".clinerules/*.md",
    ".roo/rules/*.md",
    ".junie/guidelines.md",
    ".goosehints",
];

/// What a file read by a call is, when its patterns say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// An agent instruction file: written for the agent reading it.
    Instructions,
    /// A prompt an application sends to its own model.
    Prompt,
}

impl FileKind {
    /// The result-injection rules whose findings in such a file are the
    /// file's purpose, and so logged rather than acted on.
    pub fn expects(self, rule: &str) -> bool {
        match self {
            FileKind::Instructions => rule == "RESULT-INJ-ADDRESS",
            FileKind::Prompt => matches!(
                rule,
                "RESULT-INJ-ADDRESS"
                    | "RESULT-INJ-PERSONA"
                    | "RESULT-INJ-CONCEAL"
                    | "RESULT-INJ-TOOL-CALL"
            ),
        }
    }

    /// What the file is, and the profile key that says so (for messages).
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            FileKind::Instructions => ("an agent instruction file", "instruction_files"),
            FileKind::Prompt => ("a prompt file of the application", "prompt_files"),
        }
    }
}

/// The patterns of one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePatterns(Arc<[String]>);

impl FilePatterns {
    /// The built-in agent instruction files ([`DEFAULT`]).
    pub fn instructions() -> Self {
        FilePatterns(DEFAULT.iter().map(|s| (*s).to_string()).collect())
    }

    /// No patterns: no file is of this kind.
    pub fn none() -> Self {
        FilePatterns(Arc::from(Vec::new()))
    }

    /// Checks the patterns of a profile; the error names the bad one.
    pub fn new(patterns: Vec<String>) -> Result<Self, String> {
        for p in &patterns {
            check(p)?;
        }
        Ok(FilePatterns(patterns.into()))
    }

    pub fn patterns(&self) -> &[String] {
        &self.0
    }

    /// The pattern `path` matches, if any.
    pub fn matching(&self, path: &str) -> Option<&str> {
        let path = path.trim_end_matches('/');
        self.0
            .iter()
            .find(|p| tail_matches(p, path))
            .map(String::as_str)
    }

    /// The pattern the call's paths all match (the first one's), when there
    /// is at least one path and every one matches a pattern.
    pub fn all_match<'a>(&'a self, paths: &[String]) -> Option<&'a str> {
        let first = self.matching(paths.first()?)?;
        paths
            .iter()
            .all(|p| self.matching(p).is_some())
            .then_some(first)
    }
}

fn check(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err("an empty pattern".into());
    }
    if p.starts_with('/') || p.starts_with('~') {
        return Err(format!(
            "{p:?}: name the file's last path components (e.g. \"AGENTS.md\", \".github/copilot-instructions.md\"), not an absolute path"
        ));
    }
    for c in p.split('/') {
        if c.is_empty() || c == "." || c == ".." {
            return Err(format!("{p:?}: empty, `.` or `..` path component"));
        }
        if c.matches('*').count() > 1 {
            return Err(format!(
                "{p:?}: at most one `*` per path component (`**` is not supported)"
            ));
        }
        if c == "*" {
            return Err(format!(
                "{p:?}: a bare `*` component would match every file"
            ));
        }
    }
    Ok(())
}

/// Whether the last components of `path` match `pattern`'s components.
fn tail_matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.rsplit('/');
    let mut have = path.rsplit('/');
    loop {
        match (want.next(), have.next()) {
            (None, _) => return true,
            (Some(_), None) => return false,
            (Some(w), Some(h)) => {
                if !component_matches(w, h) {
                    return false;
                }
            }
        }
    }
}

fn component_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(name),
        Some((pre, post)) => {
            name.len() >= pre.len() + post.len()
                && name
                    .get(..pre.len())
                    .is_some_and(|s| s.eq_ignore_ascii_case(pre))
                && name
                    .get(name.len() - post.len()..)
                    .is_some_and(|s| s.eq_ignore_ascii_case(post))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tails_match() {
        let f = FilePatterns::instructions();
        assert_eq!(f.matching("/w/repo/AGENTS.md"), Some("AGENTS.md"));
        assert_eq!(f.matching("AGENTS.md"), Some("AGENTS.md"));
        assert_eq!(f.matching("/w/repo/sub/pkg/agents.md"), Some("AGENTS.md"));
        assert_eq!(
            f.matching("/w/.github/copilot-instructions.md"),
            Some(".github/copilot-instructions.md")
        );
        assert_eq!(
            f.matching("/w/.cursor/rules/python-style.mdc"),
            Some(".cursor/rules/*.mdc")
        );
        assert_eq!(
            f.matching(".github/instructions/api.instructions.md"),
            Some(".github/instructions/*.instructions.md")
        );
        // The directory must be the one the pattern names.
        assert_eq!(f.matching("/w/docs/copilot-instructions.md"), None);
        assert_eq!(f.matching("/w/rules/python-style.mdc"), None);
        assert_eq!(f.matching("/w/repo/AGENTS.md.bak"), None);
        assert_eq!(f.matching("/w/repo/MY-AGENTS.md"), None);
        assert_eq!(f.matching("/w/repo/README.md"), None);
        // `*` never spans a `/`, and the fixed parts may not overlap.
        assert_eq!(f.matching("/w/.cursor/rules/a/b.mdc"), None);
        assert_eq!(
            f.matching("/w/.github/instructions/.instructions.md"),
            Some(".github/instructions/*.instructions.md")
        );
        assert_eq!(f.matching("/w/.github/instructions/instructions.md"), None);
    }

    #[test]
    fn every_path_must_match() {
        let f = FilePatterns::instructions();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(f.all_match(&s(&["/w/AGENTS.md"])), Some("AGENTS.md"));
        assert_eq!(
            f.all_match(&s(&["/w/AGENTS.md", "/w/CLAUDE.md"])),
            Some("AGENTS.md")
        );
        assert_eq!(f.all_match(&s(&["/w/AGENTS.md", "/w/notes.md"])), None);
        assert_eq!(f.all_match(&[]), None);
        assert_eq!(FilePatterns::none().all_match(&s(&["/w/AGENTS.md"])), None);
    }

    #[test]
    fn bad_patterns_are_named() {
        for (p, want) in [
            ("", "empty"),
            ("/etc/AGENTS.md", "absolute"),
            ("~/AGENTS.md", "absolute"),
            ("a//b", "component"),
            ("../AGENTS.md", "component"),
            ("**/*.md", "at most one"),
            (".cursor/*", "bare"),
        ] {
            let e = FilePatterns::new(vec![p.to_string()]).expect_err(p);
            assert!(e.contains(want), "{p}: {e}");
        }
        assert!(FilePatterns::new(vec!["docs/AI-NOTES.md".into()]).is_ok());
    }
}
