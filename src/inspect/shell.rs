//! What a command line does to files, as far as the inspector can tell
//! without running it: filename patterns (`.e?v`, `~/.ssh/id_*`) expanded
//! against the filesystem the way `sh` would, and the file arguments of
//! commands that change modes, owners, attributes or times (`chmod`,
//! `chown`, `chattr`, `setfacl`, `touch`, …), which are writes wherever
//! they point.
//!
//! Expansion is bounded ([`MAX_MATCHES`] paths per pattern, [`MAX_ENTRIES`]
//! directory entries read per pattern) and reads directory listings only.

use std::path::{Path, PathBuf};

/// Paths one pattern expands to, at most.
pub const MAX_MATCHES: usize = 64;
/// Directory entries read while expanding one pattern, at most.
pub const MAX_ENTRIES: usize = 4096;
/// Patterns expanded per command string, at most.
pub const MAX_PATTERNS: usize = 16;

/// Commands whose file arguments are changed in place (mode, owner, ACL,
/// extended attributes, times): their paths are judged as writes.
const MODIFYING: &[&str] = &[
    "chmod", "chown", "chgrp", "chattr", "setfacl", "setfattr", "touch", "ln", "truncate",
];

/// Words that run the next word as the command.
const PREFIXES: &[&str] = &[
    "sudo", "doas", "env", "nice", "nohup", "command", "exec", "busybox",
];

/// The existing paths `pattern` (absolute, lexically normalised) names,
/// expanded component by component like `sh` does: `*`, `?` and `[…]`
/// within one component; a leading `.` is matched only by a pattern that
/// starts with `.`.
pub fn expand(pattern: &Path) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::from("/")];
    let mut budget = MAX_ENTRIES;
    for comp in pattern.components().skip(1) {
        let part = comp.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        if !crate::glob::is_shell_pattern(&part) {
            for c in current {
                next.push(c.join(comp.as_os_str()));
            }
        } else {
            for dir in &current {
                let Ok(entries) = std::fs::read_dir(dir) else {
                    continue;
                };
                for e in entries.flatten() {
                    if budget == 0 || next.len() >= MAX_MATCHES {
                        break;
                    }
                    budget -= 1;
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    if name.starts_with('.') && !part.starts_with('.') {
                        continue;
                    }
                    if crate::glob::shell_matches(&part, &name) {
                        next.push(dir.join(name.as_ref()));
                    }
                }
            }
            next.sort();
        }
        current = next;
        if current.is_empty() {
            return current;
        }
    }
    current.retain(|p| p.symlink_metadata().is_ok());
    current.truncate(MAX_MATCHES);
    current
}

/// The argument text of each command in `cmd` (split at `;`, `&`, `|` and
/// newlines) that changes files in place: `chmod 4755 /usr/bin/x` gives
/// `4755 /usr/bin/x`.
pub fn modifying_args(cmd: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for seg in cmd.split([';', '&', '|', '\n', '(', ')', '`']) {
        let mut rest = seg.trim_start();
        // After a prefix's option (`sudo -u`), one word may be its value.
        let mut option_value = false;
        while !rest.is_empty() {
            let (word, after) = match rest.find(char::is_whitespace) {
                Some(i) => (rest.get(..i).unwrap_or(rest), rest.get(i..).unwrap_or("")),
                None => (rest, ""),
            };
            let base = word
                .rsplit('/')
                .next()
                .unwrap_or(word)
                .trim_matches(['\'', '"']);
            if MODIFYING.contains(&base) {
                out.push(after);
                break;
            }
            let skip = PREFIXES.contains(&base)
                || base.contains('=')
                || base.starts_with('-')
                || std::mem::take(&mut option_value);
            if !skip {
                break;
            }
            option_value = base.starts_with('-') && !base.contains('=');
            rest = after.trim_start();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_expand_like_sh() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        for f in [".env", "env", ".envrc", "a.py", "b.py", "c.rs"] {
            std::fs::write(root.join(f), "x").expect("write");
        }
        std::fs::create_dir_all(root.join("sub/deep")).expect("mkdir");
        std::fs::write(root.join("sub/deep/id_rsa"), "k").expect("write");
        let names = |pat: &str| -> Vec<String> {
            expand(&root.join(pat))
                .iter()
                .map(|p| {
                    p.strip_prefix(&root)
                        .unwrap_or(p)
                        .to_string_lossy()
                        .into_owned()
                })
                .collect()
        };
        assert_eq!(names(".e?v"), [".env"]);
        assert_eq!(names(".e[n]v"), [".env"]);
        assert_eq!(names("*.py"), ["a.py", "b.py"]);
        assert_eq!(names("e*"), ["env"], "no leading dot without a dot pattern");
        assert_eq!(names("*/*/id_*"), ["sub/deep/id_rsa"]);
        assert!(names("nothing*").is_empty());
    }

    #[test]
    fn expansion_is_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..200 {
            std::fs::write(dir.path().join(format!("f{i}")), "x").expect("write");
        }
        assert_eq!(expand(&dir.path().join("f*")).len(), MAX_MATCHES);
    }

    #[test]
    fn modifying_commands() {
        assert_eq!(
            modifying_args("chmod 644 /etc/shadow"),
            [" 644 /etc/shadow"]
        );
        assert_eq!(
            modifying_args("ls; sudo -u root /bin/chown root:root x && echo ok"),
            [" root:root x "]
        );
        assert_eq!(
            modifying_args("env A=1 touch -d yesterday f"),
            [" -d yesterday f"]
        );
        assert!(modifying_args("cat chmod.txt; echo chmod").is_empty());
        assert!(modifying_args("").is_empty());
    }
}
