//! The server entries of a client file, each with the byte spans of its
//! `command` and `args` values, and the decision of how to wrap one.

use super::clients::Client;
use super::jsonc::{Kind, Node};
use std::ops::Range;

/// One entry of a server list.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key path of the list (`["mcpServers"]`, `["projects", P, "mcpServers"]`).
    pub container: Vec<String>,
    pub name: String,
    pub shape: Shape,
}

#[derive(Debug, Clone)]
pub enum Shape {
    /// A local server started as `command args…`.
    Stdio(Stdio),
    /// A server reached by URL (`url`, or `type` http/sse): nothing to wrap.
    Remote,
    /// Not an entry `configure` understands (no command, not strings).
    Unusable(&'static str),
}

#[derive(Debug, Clone)]
pub struct Stdio {
    pub command: String,
    pub args: Vec<String>,
    pub command_span: Range<usize>,
    pub args_span: Option<Range<usize>>,
    /// The names of the entry's `env`: vanguard scrubs the server's
    /// environment, so each is passed through with `--env NAME`.
    pub env: Vec<String>,
    /// Whether a new member goes after `command` as `, "args": …` (JSON or
    /// an inline TOML table) or on a line of its own (a TOML table).
    pub inline: bool,
}

impl Stdio {
    /// The text an undo restores: from the first to the last byte of the
    /// `command` and `args` values (what wrapping replaces).
    pub fn region(&self) -> Range<usize> {
        match &self.args_span {
            Some(a) => self.command_span.start.min(a.start)..self.command_span.end.max(a.end),
            None => self.command_span.clone(),
        }
    }
}

/// The entries of a JSON(C) client file.
pub fn from_json(client: Client, root: &Node) -> Vec<Entry> {
    let projects: Vec<String> = root
        .get("projects")
        .map(|p| p.members().iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for container in client.containers(&projects) {
        let mut node = Some(root);
        for key in &container {
            node = node.and_then(|n| n.get(key));
        }
        for (name, entry) in node.map(Node::members).unwrap_or(&[]) {
            out.push(Entry {
                container: container.clone(),
                name: name.clone(),
                shape: json_shape(entry),
            });
        }
    }
    out
}

fn json_shape(entry: &Node) -> Shape {
    if !matches!(entry.kind, Kind::Object(_)) {
        return Shape::Unusable("not an object");
    }
    let kind = entry.get("type").and_then(Node::as_str);
    if entry.get("url").is_some() || matches!(kind, Some("http" | "sse" | "streamable-http")) {
        return Shape::Remote;
    }
    let Some(command) = entry.get("command") else {
        return Shape::Unusable("no command");
    };
    let Some(cmd) = command.as_str() else {
        return Shape::Unusable("command is not a string");
    };
    let args = match entry.get("args") {
        None => Some((Vec::new(), None)),
        Some(a) => a.string_list().map(|l| (l, Some(a.span.clone()))),
    };
    let Some((args, args_span)) = args else {
        return Shape::Unusable("args is not a list of strings");
    };
    Shape::Stdio(Stdio {
        command: cmd.to_string(),
        args,
        command_span: command.span.clone(),
        args_span,
        env: entry
            .get("env")
            .map(|e| e.members().iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default(),
        inline: true,
    })
}

/// The entries of Codex's `config.toml` (`[mcp_servers.NAME]`).
pub fn from_toml(doc: &toml_edit::ImDocument<&str>) -> Vec<Entry> {
    let Some(servers) = doc.get("mcp_servers").and_then(|i| i.as_table_like()) else {
        return Vec::new();
    };
    servers
        .iter()
        .map(|(name, item)| Entry {
            container: vec!["mcp_servers".to_string()],
            name: name.to_string(),
            shape: toml_shape(item),
        })
        .collect()
}

fn toml_shape(item: &toml_edit::Item) -> Shape {
    let Some(t) = item.as_table_like() else {
        return Shape::Unusable("not a table");
    };
    if t.get("url").is_some() {
        return Shape::Remote;
    }
    let Some(command) = t.get("command").and_then(|c| c.as_value()) else {
        return Shape::Unusable("no command");
    };
    let (Some(cmd), Some(command_span)) = (command.as_str(), command.span()) else {
        return Shape::Unusable("command is not a string");
    };
    let (args, args_span) = match t.get("args").map(|a| a.as_array()) {
        None => (Vec::new(), None),
        Some(Some(arr)) => {
            let list: Option<Vec<String>> =
                arr.iter().map(|v| v.as_str().map(str::to_string)).collect();
            match (list, arr.span()) {
                (Some(l), Some(span)) => (l, Some(span)),
                _ => return Shape::Unusable("args is not a list of strings"),
            }
        }
        Some(None) => return Shape::Unusable("args is not a list of strings"),
    };
    Shape::Stdio(Stdio {
        command: cmd.to_string(),
        args,
        command_span,
        args_span,
        env: t
            .get("env")
            .and_then(|e| e.as_table_like())
            .map(|e| e.iter().map(|(k, _)| k.to_string()).collect())
            .unwrap_or_default(),
        inline: item.is_inline_table() || item.as_value().is_some(),
    })
}

/// How one server is wrapped.
#[derive(Debug, PartialEq, Eq)]
pub struct Wrapping {
    pub profile: String,
    pub env: Vec<String>,
    pub workspace: Option<String>,
    pub write: Vec<String>,
}

/// Chooses the profile (and zones) for a server command line. `forced` is
/// `--profile`; the filesystem server's directories become zones anyway,
/// since they are what the user meant it to reach.
pub fn choose(command: &str, args: &[String], env: &[String], forced: Option<&str>) -> Wrapping {
    let words: Vec<&str> = std::iter::once(command)
        .chain(args.iter().map(String::as_str))
        .collect();
    let package = |name: &str| words.iter().position(|w| mentions_package(w, name));
    let (profile, write) = if let Some(i) = package("server-filesystem") {
        let dirs: Vec<String> = words
            .iter()
            .skip(i + 1)
            .filter(|w| !w.starts_with('-'))
            .map(|w| w.to_string())
            .collect();
        ("filesystem", dirs)
    } else if package("server-memory").is_some() {
        ("memory", Vec::new())
    } else {
        ("balanced", Vec::new())
    };
    Wrapping {
        profile: forced.unwrap_or(profile).to_string(),
        env: env.to_vec(),
        workspace: write.first().cloned(),
        write,
    }
}

/// `@modelcontextprotocol/server-filesystem`, `…@1.2.3`, or a path through
/// the package's directory (`…/server-filesystem/dist/index.js`).
fn mentions_package(word: &str, name: &str) -> bool {
    word.split('/').any(|part| {
        part == name
            || part
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('@'))
    })
}

/// The wrapped `args`: `start --profile P [zones] -- COMMAND ARGS…`.
pub fn wrapped_args(w: &Wrapping, command: &str, args: &[String]) -> Vec<String> {
    let mut out = vec![
        "start".to_string(),
        "--profile".to_string(),
        w.profile.clone(),
    ];
    if let Some(ws) = &w.workspace {
        out.extend(["--workspace".to_string(), ws.clone()]);
    }
    for dir in &w.write {
        out.extend(["--write".to_string(), dir.clone()]);
    }
    for name in &w.env {
        out.extend(["--env".to_string(), name.clone()]);
    }
    out.push("--".to_string());
    out.push(command.to_string());
    out.extend(args.iter().cloned());
    out
}

/// Whether a command already is vanguard (this binary or any `vanguard`).
pub fn is_vanguard(command: &str, this: &str) -> bool {
    command == this
        || std::path::Path::new(command)
            .file_name()
            .is_some_and(|n| n == "vanguard")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_filesystem_server_gets_its_directories_as_zones() {
        let w = choose(
            "npx",
            &s(&["-y", "@modelcontextprotocol/server-filesystem", "/a", "/b"]),
            &[],
            None,
        );
        assert_eq!(w.profile, "filesystem");
        assert_eq!(w.workspace.as_deref(), Some("/a"));
        assert_eq!(w.write, s(&["/a", "/b"]));
        let args = wrapped_args(
            &w,
            "npx",
            &s(&["-y", "@modelcontextprotocol/server-filesystem", "/a", "/b"]),
        );
        assert_eq!(
            args,
            s(&[
                "start",
                "--profile",
                "filesystem",
                "--workspace",
                "/a",
                "--write",
                "/a",
                "--write",
                "/b",
                "--",
                "npx",
                "-y",
                "@modelcontextprotocol/server-filesystem",
                "/a",
                "/b"
            ])
        );
        let node = choose(
            "node",
            &s(&[
                "/x/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js",
                "/d",
            ]),
            &[],
            None,
        );
        assert_eq!(node.write, s(&["/d"]));
    }

    #[test]
    fn other_servers_get_their_profile_or_balanced() {
        assert_eq!(
            choose(
                "npx",
                &s(&["-y", "@modelcontextprotocol/server-memory@2025.1.1"]),
                &[],
                None
            )
            .profile,
            "memory"
        );
        assert_eq!(
            choose("uvx", &s(&["mcp-server-time"]), &[], None).profile,
            "balanced"
        );
        assert_eq!(
            choose("npx", &s(&["server-filesystemish"]), &[], None).profile,
            "balanced"
        );
        assert_eq!(
            choose("uvx", &s(&["x"]), &s(&["TOKEN"]), Some("strict")).profile,
            "strict"
        );
    }

    #[test]
    fn vanguard_is_recognised() {
        assert!(is_vanguard("/usr/local/bin/vanguard", "/x/vanguard-dev"));
        assert!(is_vanguard("/x/vanguard-dev", "/x/vanguard-dev"));
        assert!(!is_vanguard("npx", "/x/vanguard"));
    }
}
