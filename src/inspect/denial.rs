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

fn markers() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b(EACCES|EPERM|permission denied|operation not permitted|access denied|bad system call|SIGSYS)\b")
            .expect("denial marker regex")
    })
}

fn path_near() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r#"(/[^\s'"`,;:()<>\[\]{}]+)"#).expect("path regex"))
}

/// Cheap pre-check on the raw result text, before any JSON is decoded.
pub fn may_contain_denial(raw: &str) -> bool {
    memchr::memmem::find(raw.as_bytes(), b"ermission").is_some()
        || memchr::memmem::find(raw.as_bytes(), b"not permitted").is_some()
        || memchr::memmem::find(raw.as_bytes(), b"EACCES").is_some()
        || memchr::memmem::find(raw.as_bytes(), b"EPERM").is_some()
        || memchr::memmem::find(raw.as_bytes(), b"denied").is_some()
        || memchr::memmem::find(raw.as_bytes(), b"system call").is_some()
}

/// A finding when `text` reports an OS-level refusal.
pub fn find(text: &str) -> Option<Finding> {
    let m = markers().find(text)?;
    // The path is usually in the same sentence: look around the marker.
    let lo = text[..m.start()]
        .char_indices()
        .rev()
        .nth(200)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let hi = text[m.end()..]
        .char_indices()
        .nth(200)
        .map(|(i, _)| m.end() + i)
        .unwrap_or(text.len());
    let window = &text[lo..hi];
    let path = path_near()
        .find(window)
        .map(|p| p.as_str().trim_end_matches('.').to_string());
    let what = m.as_str();
    Some(Finding {
        rule: "KERNEL-DENIAL".into(),
        layer: Layer::Kernel,
        severity: Severity::Medium,
        action: Action::Log,
        message: match &path {
            Some(p) => format!("the server was refused by the operating system ({what}) on {p}"),
            None => format!("the server was refused by the operating system ({what})"),
        },
        location: "/result".into(),
        evidence: super::truncate(window.trim()),
        hint: path.map(|p| format!("path: {p}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
