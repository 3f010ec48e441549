//! L1 safe zones: every path argument must fall inside the read zones (or
//! the write zones, for access that writes), judged on the canonical path
//! after symlinks that exist are resolved.
//!
//! Whether a call writes is decided, strongest first, by an explicit
//! `[[tool_access]]` entry in the profile, then by the tool's name (write
//! verbs) or its `tools/list` annotations (`readOnlyHint: false`,
//! `destructiveHint: true`) — whichever says "write". A tool whose name reads
//! but whose annotations claim read-only is read; a tool named like a writer
//! is a writer whatever it claims.

use super::ToolHints;
use crate::glob::matches as glob_match;
use crate::policy::{Access, Action, ToolAccessDef, ZonesConfig};
use std::path::{Path, PathBuf};

pub struct SafeZones {
    enabled: bool,
    read: Vec<PathBuf>,
    write: Vec<PathBuf>,
    action: Action,
    tool_access: Vec<ToolAccessDef>,
    protected: Vec<PathBuf>,
}

/// Verbs that move or remove what a path names (and so everything below).
const MOVE_VERBS: &[&str] = &[
    "move", "rename", "mv", "delete", "remove", "rm", "rmdir", "unlink",
];

/// Verbs that make a tool a writer when they are a word of its name.
const WRITE_VERBS: &[&str] = &[
    "write",
    "create",
    "edit",
    "update",
    "modify",
    "move",
    "rename",
    "delete",
    "remove",
    "rm",
    "rmdir",
    "mkdir",
    "append",
    "save",
    "put",
    "upload",
    "copy",
    "cp",
    "mv",
    "patch",
    "insert",
    "replace",
    "truncate",
    "chmod",
    "chown",
    "touch",
    "overwrite",
    "unlink",
    "set",
    "add",
    "commit",
    "init",
    "reset",
    "checkout",
    "install",
    "download",
    "store",
    "upsert",
    "drop",
    "make",
    "extract",
    "unzip",
    "untar",
    "clone",
    "apply",
    "link",
    "symlink",
];

/// Splits `read_text_file`, `writeFile`, `git-add` into lowercase words.
pub(crate) fn name_words(tool: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in tool.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// True when a word of the tool's name is a write verb.
pub fn name_writes(tool: &str) -> bool {
    name_words(tool)
        .iter()
        .any(|w| WRITE_VERBS.contains(&w.as_str()))
}

impl SafeZones {
    pub fn new(cfg: &ZonesConfig, tool_access: &[ToolAccessDef]) -> SafeZones {
        SafeZones {
            enabled: cfg.enabled,
            read: cfg.read.clone(),
            write: cfg.write.clone(),
            action: cfg.action,
            tool_access: tool_access.to_vec(),
            protected: cfg.protected.clone(),
        }
    }

    /// The protected path a write to `path` (canonical) would change: the
    /// path itself or one above it; with `moves` (the tool moves or removes
    /// what it names) also one below it.
    pub fn protected_hit(&self, path: &Path, moves: bool) -> Option<&Path> {
        if !self.enabled {
            return None;
        }
        self.protected
            .iter()
            .find(|p| {
                path.starts_with(p)
                    || (moves
                        && p.starts_with(path)
                        && !self.write.iter().any(|w| w.starts_with(path)))
            })
            .map(|p| p.as_path())
    }

    /// True when a word of the tool's name moves or removes.
    pub fn moves(tool: &str) -> bool {
        name_words(tool)
            .iter()
            .any(|w| MOVE_VERBS.contains(&w.as_str()))
    }

    pub fn action(&self) -> Action {
        self.action
    }

    /// The access a tool needs for the path under `key`. A call that only
    /// previews (its tool's declared preview flag set) reads.
    pub fn access_for(&self, tool: &str, key: Option<&str>, hints: Option<&ToolHints>) -> Access {
        if hints.is_some_and(|h| h.previewing) {
            return Access::Read;
        }
        if let Some(entry) = self.tool_access.iter().find(|t| glob_match(&t.tool, tool)) {
            let k = key.unwrap_or("");
            if entry.write_args.iter().any(|a| a == k) {
                return Access::Write;
            }
            if entry.read_args.iter().any(|a| a == k) {
                return Access::Read;
            }
            if let Some(a) = entry.access {
                return a;
            }
        }
        let by_name = name_writes(tool);
        let by_hints =
            hints.is_some_and(|h| h.destructive == Some(true) || h.read_only == Some(false));
        if by_name || by_hints {
            Access::Write
        } else {
            Access::Read
        }
    }

    /// `None` when `path` (canonical) is allowed for `access`; otherwise the
    /// access that was refused.
    pub fn check(&self, path: &Path, access: Access) -> Option<Access> {
        if !self.enabled {
            return None;
        }
        let inside = |zones: &[PathBuf]| zones.iter().any(|z| path.starts_with(z));
        let ok = match access {
            Access::Read => inside(&self.read) || inside(&self.write),
            Access::Write => inside(&self.write),
        };
        (!ok).then_some(access)
    }

    pub fn hint(&self, refused: Access) -> String {
        let list = |z: &[PathBuf]| {
            if z.is_empty() {
                "none".to_string()
            } else {
                z.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        match refused {
            Access::Read => format!(
                "paths must be inside the read zones ({}) or write zones ({}); add one with --read",
                list(&self.read),
                list(&self.write)
            ),
            Access::Write => format!(
                "writes must be inside the write zones ({}); add one with --write",
                list(&self.write)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_paths_inside_write_zones() {
        let z = zones();
        let hit = |p: &str, moves| {
            z.protected_hit(Path::new(p), moves)
                .map(|p| p.to_path_buf())
        };
        assert_eq!(
            hit("/ws/out/.git/config", false),
            Some("/ws/out/.git/config".into())
        );
        assert_eq!(
            hit("/ws/out/.vscode/tasks.json", false),
            Some("/ws/out/.vscode".into())
        );
        assert_eq!(hit("/ws/out/.git/index", false), None);
        assert_eq!(hit("/ws/out/src/main.rs", false), None);
        // Moving or deleting the directory around a protected path.
        assert_eq!(
            hit("/ws/out/.git", true),
            Some("/ws/out/.git/config".into())
        );
        assert_eq!(hit("/ws/out/.git", false), None);
        // The zone itself is not "around" it.
        assert_eq!(hit("/ws/out", true), None);
        assert!(SafeZones::moves("move_file"));
        assert!(SafeZones::moves("deleteFile"));
        assert!(!SafeZones::moves("write_file"));
    }

    fn zones() -> SafeZones {
        SafeZones::new(
            &ZonesConfig {
                enabled: true,
                read: vec!["/ws".into()],
                write: vec!["/ws/out".into()],
                action: Action::Block,
                protected: vec!["/ws/out/.git/config".into(), "/ws/out/.vscode".into()],
                protected_names: vec![".git/config".into(), ".vscode".into()],
            },
            &[ToolAccessDef {
                tool: "copy_*".into(),
                access: None,
                read_args: vec!["source".into()],
                write_args: vec!["destination".into()],
            }],
        )
    }

    #[test]
    fn containment_is_by_component() {
        let z = zones();
        assert_eq!(z.check(Path::new("/ws/a"), Access::Read), None);
        assert_eq!(
            z.check(Path::new("/wsx/a"), Access::Read),
            Some(Access::Read)
        );
        assert_eq!(
            z.check(Path::new("/ws/a"), Access::Write),
            Some(Access::Write)
        );
        assert_eq!(z.check(Path::new("/ws/out/a"), Access::Write), None);
        assert_eq!(z.check(Path::new("/ws/out/a"), Access::Read), None);
    }

    #[test]
    fn access_from_mapping_name_and_hints() {
        let z = zones();
        assert_eq!(
            z.access_for("copy_file", Some("source"), None),
            Access::Read
        );
        assert_eq!(
            z.access_for("copy_file", Some("destination"), None),
            Access::Write
        );
        for w in [
            "write_file",
            "edit_file",
            "create_directory",
            "move_file",
            "writeFile",
            "git_add",
            "delete",
        ] {
            assert_eq!(z.access_for(w, Some("path"), None), Access::Write, "{w}");
        }
        for r in [
            "read_text_file",
            "list_directory",
            "search_files",
            "get_file_info",
            "directory_tree",
            "read_multiple_files",
        ] {
            assert_eq!(z.access_for(r, Some("path"), None), Access::Read, "{r}");
        }
        let hint = ToolHints {
            read_only: Some(false),
            ..ToolHints::default()
        };
        assert_eq!(
            z.access_for("frobnicate", Some("path"), Some(&hint)),
            Access::Write
        );
        assert_eq!(
            z.access_for("get_address", Some("path"), None),
            Access::Read
        );
        let ro = ToolHints {
            read_only: Some(true),
            ..ToolHints::default()
        };
        assert_eq!(
            z.access_for("write_file", Some("path"), Some(&ro)),
            Access::Write
        );
        // A preview reads, whatever the name says.
        let preview = ToolHints {
            preview_flag: Some("dryRun"),
            previewing: true,
            ..ToolHints::default()
        };
        assert_eq!(
            z.access_for("edit_file", Some("path"), Some(&preview)),
            Access::Read
        );
    }
}
