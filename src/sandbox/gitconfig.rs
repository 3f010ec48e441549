//! A git configuration for sandboxed servers: the user's identity and
//! harmless preferences, nothing that runs programs or holds secrets.
//!
//! git treats an unreadable `~/.gitconfig` as fatal, and Landlock makes it
//! unreadable (home directories are never granted). Granting the file would
//! hand the server whatever it holds: credential helpers, tokens in
//! `url.*.insteadOf` or `http.extraHeader`, `include.path` files, hooks
//! paths, `core.fsmonitor`/`core.sshCommand` programs. So vanguard asks git,
//! outside the sandbox, for the user's global settings (includes followed),
//! keeps only the keys in [`SAFE_KEYS`], writes them into the sandbox's
//! private temp dir and points `GIT_CONFIG_GLOBAL` at that file. Commit
//! signing is not carried over (the keys are not in the sandbox).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Global settings passed to sandboxed git, lower-cased as `git config
/// --list` prints them.
pub const SAFE_KEYS: &[&str] = &[
    "user.name",
    "user.email",
    "init.defaultbranch",
    "core.autocrlf",
    "core.eol",
    "core.quotepath",
    "core.ignorecase",
    "core.precomposeunicode",
    "merge.conflictstyle",
    "diff.algorithm",
    "diff.renames",
    "pull.rebase",
    "pull.ff",
    "push.default",
    "rebase.autostash",
    "color.ui",
    "log.date",
    "status.showuntrackedfiles",
    "advice.detachedhead",
];

/// The user's safe settings, asked of git once per process.
fn user_settings() -> &'static [(String, String)] {
    static SETTINGS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let Ok(git) = super::resolve_program("git") else {
            return Vec::new();
        };
        let out = std::process::Command::new(git)
            .args(["config", "--global", "--includes", "--list", "-z"])
            .current_dir("/")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => parse_list(&o.stdout),
            _ => Vec::new(),
        }
    })
}

/// `git config --list -z` output: `key\nvalue\0` entries.
fn parse_list(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    text.split('\0')
        .filter_map(|entry| {
            let (k, v) = entry.split_once('\n').unwrap_or((entry, "true"));
            let k = k.trim().to_ascii_lowercase();
            SAFE_KEYS.contains(&k.as_str()).then(|| (k, v.to_string()))
        })
        .collect()
}

/// The configuration text for `settings`.
fn render(settings: &[(String, String)]) -> String {
    let mut out =
        String::from("# Written by vanguard: the safe part of the user's git configuration.\n");
    let mut section = "";
    for (k, v) in settings {
        let Some((s, name)) = k.split_once('.') else {
            continue;
        };
        if s != section {
            out.push_str(&format!("[{s}]\n"));
            section = s;
        }
        let quoted: String = v
            .chars()
            .filter(|c| *c != '\n')
            .flat_map(|c| match c {
                '"' | '\\' => vec!['\\', c],
                _ => vec![c],
            })
            .collect();
        out.push_str(&format!("\t{name} = \"{quoted}\"\n"));
    }
    out
}

/// Writes the sanitised configuration into `dir`; returns its path.
pub fn write_sanitized(dir: &Path) -> Option<PathBuf> {
    let mut settings = user_settings().to_vec();
    settings.sort_by(|a, b| a.0.cmp(&b.0));
    let path = dir.join("gitconfig");
    std::fs::write(&path, render(&settings)).ok()?;
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_keys_survive() {
        let list = b"user.name\nAda Lovelace\0user.email\nada@example.org\0credential.helper\nstore\0url.https://tok@github.com/.insteadof\nhttps://github.com/\0core.fsmonitor\n/tmp/evil\0include.path\n~/.work\0http.extraheader\nAuthorization: Bearer x\0";
        let s = parse_list(list);
        assert_eq!(
            s,
            vec![
                ("user.name".to_string(), "Ada Lovelace".to_string()),
                ("user.email".to_string(), "ada@example.org".to_string())
            ]
        );
        let text = render(&s);
        assert!(
            text.contains("[user]\n\tname = \"Ada Lovelace\"\n\temail = \"ada@example.org\"\n"),
            "{text}"
        );
    }

    #[test]
    fn values_are_quoted() {
        let text = render(&[("user.name".into(), "a \"b\" \\ c\nd".into())]);
        assert!(text.contains("name = \"a \\\"b\\\" \\\\ cd\""), "{text}");
    }
}
