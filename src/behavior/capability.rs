//! What a tool can do, inferred from its name, description, annotations and
//! the shape of a call's arguments; a profile can say it outright.

use serde_json::Value;

pub use crate::policy::behavior::{Capability, Caps};

/// Words of an identifier: `readFile`, `read_file`, `read-file` → read, file.
fn words(s: &str) -> Vec<String> {
    crate::inspect::zones::name_words(s)
}

const EXEC: &[&str] = &[
    "exec",
    "execute",
    "run",
    "shell",
    "bash",
    "sh",
    "cmd",
    "command",
    "eval",
    "spawn",
    "terminal",
    "script",
    "process",
    "subprocess",
    "python",
    "node",
];
const NETWORK: &[&str] = &[
    "fetch", "http", "https", "request", "download", "upload", "post", "send", "url", "browse",
    "browser", "curl", "wget", "webhook", "email", "mail", "slack", "notify", "publish", "web",
    "navigate", "api", "sms", "tweet", "push",
];
const WRITE: &[&str] = &[
    "write",
    "create",
    "edit",
    "update",
    "delete",
    "remove",
    "rm",
    "move",
    "mv",
    "rename",
    "save",
    "append",
    "put",
    "set",
    "insert",
    "patch",
    "mkdir",
    "add",
    "commit",
    "modify",
    "replace",
    "overwrite",
    "copy",
    "cp",
    "upsert",
    "store",
    "drop",
    "truncate",
    "apply",
    "checkout",
    "reset",
    "merge",
];
const LIST: &[&str] = &[
    "list",
    "ls",
    "search",
    "find",
    "glob",
    "tree",
    "query",
    "grep",
    "scan",
    "walk",
    "enumerate",
    "browse",
    "directory",
];
const READ: &[&str] = &[
    "read", "get", "cat", "view", "show", "load", "open", "head", "tail", "info", "stat", "diff",
    "log", "status", "describe", "inspect", "print", "dump", "export", "fetch",
];

/// Capabilities from a tool's name (and description, as a fallback) and
/// its MCP annotations.
pub fn infer_tool(name: &str, description: Option<&str>, annotations: Option<&Value>) -> Caps {
    let mut caps = Caps::default();
    let ws = words(name);
    let has = |set: &[&str]| ws.iter().any(|w| set.contains(&w.as_str()));
    if has(EXEC) {
        caps.add(Capability::Exec);
    }
    if has(NETWORK) {
        caps.add(Capability::Network);
    }
    if has(WRITE) {
        caps.add(Capability::Write);
    }
    if has(LIST) {
        caps.add(Capability::List);
    }
    if has(READ) && !caps.has(Capability::Network) {
        caps.add(Capability::Read);
    }
    let flag = |k: &str| annotations.and_then(|a| a.get(k)).and_then(Value::as_bool);
    if flag("readOnlyHint") == Some(true) {
        // A read-only tool writes and executes nothing, whatever its name.
        let net = caps.has(Capability::Network);
        let list = caps.has(Capability::List);
        caps = Caps::default();
        if net {
            caps.add(Capability::Network);
        }
        caps.add(if list {
            Capability::List
        } else {
            Capability::Read
        });
    } else if flag("destructiveHint") == Some(true) {
        caps.add(Capability::Write);
    }
    if flag("openWorldHint") == Some(true) && caps.is_empty() {
        caps.add(Capability::Network);
    }
    if caps.is_empty() {
        if let Some(d) = description {
            let dw = words(d);
            let first = dw.iter().take(12).map(String::as_str).collect::<Vec<_>>();
            let any = |set: &[&str]| first.iter().any(|w| set.contains(w));
            if any(EXEC) {
                caps.add(Capability::Exec);
            } else if any(NETWORK) {
                caps.add(Capability::Network);
            } else if any(WRITE) {
                caps.add(Capability::Write);
            } else if any(LIST) {
                caps.add(Capability::List);
            } else if any(READ) {
                caps.add(Capability::Read);
            }
        }
    }
    caps
}

/// Capabilities a call's arguments show: a URL → network, a command →
/// exec, a path with content → write, a path alone → read.
pub fn infer_args(args: Option<&Value>) -> Caps {
    let mut caps = Caps::default();
    let Some(Value::Object(map)) = args else {
        return caps;
    };
    let mut has_path = false;
    let mut has_content = false;
    // Every key named below fits in 16 bytes: the key is lowercased on
    // the stack (an allocation per argument before), and a longer key
    // names none of them.
    let mut buf = [0u8; 16];
    for (k, v) in map {
        let key: &[u8] = match buf.get_mut(..k.len()) {
            Some(lower) => {
                lower.copy_from_slice(k.as_bytes());
                lower.make_ascii_lowercase();
                lower
            }
            None => &[],
        };
        let s = v.as_str().unwrap_or("");
        if (s.starts_with("http://") || s.starts_with("https://") || s.starts_with("ftp://"))
            && !k
                .as_bytes()
                .windows(4)
                .any(|w| w.eq_ignore_ascii_case(b"path"))
        {
            caps.add(Capability::Network);
        }
        match key {
            b"command" | b"cmd" | b"script" | b"shell" | b"code" | b"argv" => {
                caps.add(Capability::Exec)
            }
            b"content" | b"contents" | b"data" | b"body" | b"text" | b"edits" | b"patch" => {
                has_content = true
            }
            b"path" | b"file" | b"filename" | b"file_path" | b"filepath" | b"source"
            | b"destination" | b"target" => has_path = true,
            _ => {}
        }
    }
    if has_path && has_content {
        caps.add(Capability::Write);
    } else if has_path {
        caps.add(Capability::Read);
    }
    caps
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(c: Caps) -> Vec<&'static str> {
        c.names()
    }

    #[test]
    fn from_names_of_real_servers() {
        assert_eq!(names(infer_tool("read_text_file", None, None)), ["read"]);
        assert_eq!(names(infer_tool("list_directory", None, None)), ["list"]);
        assert_eq!(names(infer_tool("search_files", None, None)), ["list"]);
        assert_eq!(names(infer_tool("write_file", None, None)), ["write"]);
        assert_eq!(names(infer_tool("edit_file", None, None)), ["write"]);
        assert_eq!(names(infer_tool("fetch", None, None)), ["network"]);
        assert_eq!(names(infer_tool("run_command", None, None)), ["exec"]);
        assert_eq!(names(infer_tool("git_commit", None, None)), ["write"]);
        assert_eq!(names(infer_tool("readFile", None, None)), ["read"]);
        assert_eq!(names(infer_tool("get_current_time", None, None)), ["read"]);
    }

    #[test]
    fn annotations_and_descriptions() {
        let ro = json!({"readOnlyHint": true});
        assert_eq!(names(infer_tool("write_report", None, Some(&ro))), ["read"]);
        assert_eq!(
            names(infer_tool("zap", Some("Executes a shell command"), None)),
            ["exec"]
        );
        let ow = json!({"openWorldHint": true});
        assert_eq!(names(infer_tool("zap", None, Some(&ow))), ["network"]);
    }

    #[test]
    fn from_arguments() {
        assert_eq!(
            names(infer_args(Some(&json!({"url": "https://x.test/a"})))),
            ["network"]
        );
        assert_eq!(names(infer_args(Some(&json!({"command": "ls"})))), ["exec"]);
        assert_eq!(
            names(infer_args(Some(&json!({"path": "/a", "content": "x"})))),
            ["write"]
        );
        assert_eq!(names(infer_args(Some(&json!({"path": "/a"})))), ["read"]);
        // Keys are compared without case; a key longer than any listed
        // one names none, and `path` anywhere in a key (any case) keeps
        // a URL value from counting as network access.
        assert_eq!(
            names(infer_args(Some(
                &json!({"File_Path": "/a", "CONTENT": "x"})
            ))),
            ["write"]
        );
        assert_eq!(names(infer_args(Some(&json!({"Cmd": "ls"})))), ["exec"]);
        assert_eq!(
            names(infer_args(Some(&json!({"a_much_longer_key_name": "/a"})))),
            Vec::<&str>::new()
        );
        assert_eq!(
            names(infer_args(Some(
                &json!({"a_much_longer_key_name": "ftp://x.test/a"})
            ))),
            ["network"]
        );
        assert_eq!(
            names(infer_args(Some(
                &json!({"DownloadPATHForTheResultFile": "https://x.test/a"})
            ))),
            Vec::<&str>::new()
        );
    }
}
