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

/// The files git reads as the global configuration, in order.
fn global_files() -> Vec<PathBuf> {
    if let Some(p) = std::env::var_os("GIT_CONFIG_GLOBAL") {
        return vec![PathBuf::from(p)];
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    xdg.map(|x| x.join("git/config"))
        .into_iter()
        .chain(home.map(|h| h.join(".gitconfig")))
        .collect()
}

/// The safe settings of plain configuration files, read without running
/// git; `None` when a file needs git itself (includes, continued lines,
/// something this reader does not know).
fn read_plain(texts: &[String]) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for text in texts {
        let mut section = String::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if line.to_ascii_lowercase().contains("include") || line.ends_with('\\') {
                return None;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let (head, after) = rest.split_once(']')?;
                let after = after.trim();
                if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
                    return None;
                }
                // `[remote "origin"]`: a subsection, never a safe key.
                section = if head.contains('"') || head.contains(' ') {
                    String::new()
                } else {
                    head.trim().to_ascii_lowercase()
                };
                continue;
            }
            let (key, value) = match line.split_once('=') {
                Some((k, v)) => (k.trim(), plain_value(v.trim())?),
                None => (line, "true".to_string()),
            };
            if section.is_empty() || key.contains(char::is_whitespace) {
                continue;
            }
            let k = format!("{section}.{}", key.to_ascii_lowercase());
            if SAFE_KEYS.contains(&k.as_str()) {
                out.push((k, value));
            }
        }
    }
    Some(out)
}

/// A value: quotes removed, `\"`, `\\`, `\n`, `\t` decoded, a comment
/// outside quotes cut; `None` for anything else.
fn plain_value(v: &str) -> Option<String> {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                _ => return None,
            },
            '#' | ';' if !quoted => break,
            c => out.push(c),
        }
    }
    if quoted {
        return None;
    }
    Some(out.trim_end().to_string())
}

/// The user's safe settings, once per process: read directly from plain
/// files (no file at all: none), else asked of git.
fn user_settings() -> &'static [(String, String)] {
    static SETTINGS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let texts: Vec<String> = global_files()
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect();
        if let Some(plain) = read_plain(&texts) {
            return plain;
        }
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
    fn plain_files_are_read_without_git() {
        let text = "# mine\n[user]\n\tname = Ada \"The\" Lovelace ; comment\n\temail=ada@example.org\n[core]\n\tfsmonitor = /tmp/evil\n[remote \"origin\"]\n\turl = x\n[color]\n\tui\n";
        let s = read_plain(&[text.to_string()]).expect("plain");
        assert_eq!(
            s,
            vec![
                ("user.name".to_string(), "Ada The Lovelace".to_string()),
                ("user.email".to_string(), "ada@example.org".to_string()),
                ("color.ui".to_string(), "true".to_string()),
            ]
        );
        // Includes and continued lines are git's to read.
        assert!(read_plain(&["[include]\n\tpath = ~/.work\n".into()]).is_none());
        assert!(read_plain(&["[includeIf \"gitdir:~/w/\"]\n".into()]).is_none());
        assert!(read_plain(&["[user]\n\tname = a \\\n b\n".into()]).is_none());
        assert_eq!(read_plain(&[]), Some(vec![]));
    }

    #[test]
    fn values_are_quoted() {
        let text = render(&[("user.name".into(), "a \"b\" \\ c\nd".into())]);
        assert!(text.contains("name = \"a \\\"b\\\" \\\\ cd\""), "{text}");
    }
}
