//! Kernel-denial attribution: when a tool result says the operating system
//! refused something (EACCES/EPERM, "Permission denied", "Operation not
//! permitted", a seccomp kill), the audit event of that call gets a
//! `KERNEL-DENIAL` finding naming the path where the text shows one. With
//! the server under Landlock and seccomp, such a refusal is usually the
//! sandbox holding a line the inspector let through (shadow mode, or a
//! shape no rule knows).

use super::verdict::{Finding, Layer};
use crate::policy::{Action, Severity};
use regex::Regex;
use std::sync::OnceLock;

#[allow(clippy::expect_used, reason = "constant pattern, covered by tests")]
fn markers() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b(EACCES|EPERM|permission denied|operation not permitted|access denied|bad system call|SIGSYS)\b")
            .expect("denial marker regex")
    })
}

#[allow(clippy::expect_used, reason = "constant pattern, covered by tests")]
fn path_near() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r#"(/[^\s'"`,;:()<>\[\]{}]+)"#).expect("path regex"))
}

/// Compiles the pre-checks every result goes through (see
/// [`crate::inspect::warm`]).
pub fn warm() {
    may_contain_denial("");
    may_contain_missing("");
}

/// Cheap pre-check on the raw result text, before any JSON is decoded:
/// one pass of a literal alternation (an Aho-Corasick search inside the
/// regex engine), nothing built per call.
pub fn may_contain_denial(raw: &str) -> bool {
    #[allow(clippy::expect_used, reason = "constant pattern, covered by tests")]
    fn re() -> &'static Regex {
        static RE: OnceLock<Regex> = OnceLock::new();
        RE.get_or_init(|| {
            Regex::new(r"ermission|not permitted|EACCES|EPERM|denied|system call")
                .expect("denial pre-check")
        })
    }
    re().is_match(raw)
}

/// Cheap pre-check for "the file does not exist" reports.
pub fn may_contain_missing(raw: &str) -> bool {
    #[allow(clippy::expect_used, reason = "constant pattern, covered by tests")]
    fn re() -> &'static Regex {
        static RE: OnceLock<Regex> = OnceLock::new();
        RE.get_or_init(|| Regex::new(r"No such file|ENOENT").expect("missing pre-check"))
    }
    re().is_match(raw)
}

#[allow(clippy::expect_used, reason = "constant pattern, covered by tests")]
fn missing_markers() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b(ENOENT|no such file or directory)\b").expect("missing marker regex")
    })
}

/// Under a minimal root, a path outside the zones does not exist for the
/// server: a finding when `text` reports a missing file near a path for
/// which `hidden` holds (it exists on the host, not in the sandbox).
pub fn find_hidden(text: &str, hidden: impl Fn(&str) -> bool) -> Option<Finding> {
    for m in missing_markers().find_iter(text) {
        let (lo, hi) = around(text, m.start(), m.end());
        let window = &text[lo..hi];
        let Some(path) = path_near()
            .find_iter(window)
            .map(|p| p.as_str().trim_end_matches('.'))
            .find(|p| hidden(p))
        else {
            continue;
        };
        let message = format!(
            "the server was refused by the sandbox: {path} exists on the host but not in the server's root ({})",
            m.as_str()
        );
        return Some(denial(message, window, Some(path)));
    }
    None
}

/// Byte range of up to 200 characters either side of `start..end`.
fn around(text: &str, start: usize, end: usize) -> (usize, usize) {
    let lo = text[..start]
        .char_indices()
        .rev()
        .nth(200)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let hi = text[end..]
        .char_indices()
        .nth(200)
        .map(|(i, _)| end + i)
        .unwrap_or(text.len());
    (lo, hi)
}

/// A finding when `text` reports an OS-level refusal.
pub fn find(text: &str) -> Option<Finding> {
    let m = markers().find(text)?;
    // The path is usually in the same sentence: look around the marker.
    let (lo, hi) = around(text, m.start(), m.end());
    let window = &text[lo..hi];
    let path = path_near()
        .find(window)
        .map(|p| p.as_str().trim_end_matches('.'));
    let what = m.as_str();
    let message = match path {
        Some(p) => format!("the server was refused by the operating system ({what}) on {p}"),
        None => format!("the server was refused by the operating system ({what})"),
    };
    Some(denial(message, window, path))
}

/// The KERNEL-DENIAL finding: logged, with the text around the marker as
/// evidence and the path, when one was found, as the hint.
fn denial(message: String, window: &str, path: Option<&str>) -> Finding {
    Finding {
        rule: "KERNEL-DENIAL".into(),
        layer: Layer::Kernel,
        severity: Severity::Medium,
        action: Action::Log,
        message,
        location: "/result".into(),
        evidence: super::truncate(window.trim()),
        hint: path.map(|p| format!("path: {p}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_count_only_when_hidden_by_the_root() {
        let text = "cat: /home/u/.ssh/id_ed25519: No such file or directory";
        assert!(may_contain_missing(text));
        let f = find_hidden(text, |p| p.starts_with("/home/")).expect("finding");
        assert_eq!(f.rule, "KERNEL-DENIAL");
        assert_eq!(f.hint.as_deref(), Some("path: /home/u/.ssh/id_ed25519"));
        // A file that is missing on the host too is ordinary.
        assert!(find_hidden(text, |_| false).is_none());
        assert!(find_hidden("ls: /x: Is a directory", |_| true).is_none());
    }

    #[test]
    fn finds_denials_and_their_paths() {
        let f = find("Error: EACCES: permission denied, open '/tmp/x/outside/secret.txt'")
            .expect("finding");
        assert_eq!(f.hint.as_deref(), Some("path: /tmp/x/outside/secret.txt"));
        let f = find("cat: /etc/shadow: Permission denied").expect("finding");
        assert_eq!(f.hint.as_deref(), Some("path: /etc/shadow"));
        assert!(find("connect: Operation not permitted").is_some());
        assert!(find("all good, 3 files").is_none());
        assert!(may_contain_denial("x Permission denied"));
        assert!(!may_contain_denial("{\"content\":[]}"));
    }
}
