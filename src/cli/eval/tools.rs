//! Reading a server's `tools/list`: which arguments take paths, URLs,
//! commands, code or free text, which tool reads, writes or lists, and how
//! to fill the arguments an attack does not target.

use super::catalogue::{ArgKind, Role};
use serde::Serialize;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Serialize)]
pub struct ArgInfo {
    pub name: String,
    /// `None` for arguments that are not strings (numbers, flags, objects).
    pub kind: Option<ArgKind>,
    /// An array of strings (e.g. `paths`): the value is wrapped in a list.
    pub array: bool,
    pub required: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub name: String,
    pub args: Vec<ArgInfo>,
    #[serde(skip)]
    pub schema: Value,
}

impl ToolInfo {
    fn has(&self, word: &str) -> bool {
        self.name.to_ascii_lowercase().contains(word)
    }
    fn has_any(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.has(w))
    }
    pub fn first_arg(&self, kind: ArgKind) -> Option<&ArgInfo> {
        // A required argument of the kind first, then any.
        self.args
            .iter()
            .find(|a| a.kind == Some(kind) && a.required)
            .or_else(|| self.args.iter().find(|a| a.kind == Some(kind)))
    }
    /// The argument a writer takes its content from.
    pub fn content_arg(&self) -> Option<&ArgInfo> {
        const NAMES: &[&str] = &["content", "contents", "text", "data", "body", "file_text"];
        self.args
            .iter()
            .find(|a| a.kind == Some(ArgKind::Text) && NAMES.contains(&a.name.as_str()))
    }
    fn required_count(&self) -> usize {
        self.args.iter().filter(|a| a.required).count()
    }
}

/// Classifies every tool of a `tools/list` result.
pub fn analyse(tools: &[Value]) -> Vec<ToolInfo> {
    tools
        .iter()
        .filter_map(|t| {
            let name = t.get("name")?.as_str()?.to_string();
            let schema = t.get("inputSchema").cloned().unwrap_or_else(|| json!({}));
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let args = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(k, p)| {
                            let (kind, array) = classify(k, p);
                            ArgInfo {
                                name: k.clone(),
                                kind,
                                array,
                                required: required.contains(&k.as_str()),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(ToolInfo { name, args, schema })
        })
        .collect()
}

fn type_is(p: &Value, t: &str) -> bool {
    match p.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(a)) => a.iter().any(|x| x == t),
        _ => false,
    }
}

/// What a property takes, by name first, then description; and whether it
/// is a list of such strings.
pub fn classify(name: &str, p: &Value) -> (Option<ArgKind>, bool) {
    let array = type_is(p, "array") && p.get("items").is_some_and(|i| type_is(i, "string"));
    let stringy =
        type_is(p, "string") || array || (p.get("type").is_none() && p.get("enum").is_none());
    if !stringy || p.get("enum").is_some() {
        return (None, false);
    }
    let n = name.to_ascii_lowercase();
    let d = p
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let is = |names: &[&str]| names.contains(&n.as_str());
    let ends = |sufs: &[&str]| sufs.iter().any(|s| n.ends_with(s));
    let kind = if is(&[
        "command",
        "cmd",
        "shell",
        "script",
        "commandline",
        "command_line",
        "args_line",
    ]) || ends(&["_command", "_cmd"])
    {
        ArgKind::Command
    } else if is(&[
        "code",
        "source_code",
        "program",
        "expression",
        "python",
        "javascript",
        "js",
        "snippet",
    ]) || ends(&["_code"])
    {
        ArgKind::Code
    } else if is(&[
        "url", "uri", "urls", "href", "link", "endpoint", "host", "hostname", "address",
    ]) || ends(&["_url", "_uri", "url"])
    {
        ArgKind::Url
    } else if is(&[
        "path",
        "paths",
        "file",
        "files",
        "filename",
        "filepath",
        "file_path",
        "dir",
        "directory",
        "folder",
        "source",
        "destination",
        "dest",
        "target",
        "src",
        "dst",
        "root",
        "cwd",
        "repo_path",
        "working_dir",
    ]) || ends(&["_path", "_paths", "_file", "_dir", "_directory", "path"])
    {
        ArgKind::Path
    } else if d.contains("shell command")
        || d.contains("command to run")
        || d.contains("command to execute")
    {
        ArgKind::Command
    } else if d.contains("code to run")
        || d.contains("code to execute")
        || d.contains("python code")
        || d.contains("javascript code")
    {
        ArgKind::Code
    } else if d.contains("url") || d.contains("uri") {
        ArgKind::Url
    } else if d.contains("path") || d.contains("directory") || d.starts_with("file") {
        ArgKind::Path
    } else {
        ArgKind::Text
    };
    (Some(kind), array)
}

/// The tool that best fits a step's argument kind and role, with the
/// argument the payload goes in.
pub fn pick(tools: &[ToolInfo], kind: ArgKind, role: Role) -> Option<(usize, String)> {
    let mut best: Option<(i32, usize, String)> = None;
    for (i, t) in tools.iter().enumerate() {
        let arg_name = if kind == ArgKind::NoArgs {
            if t.required_count() > 0 {
                continue;
            }
            String::new()
        } else {
            let Some(arg) = t.first_arg(kind) else {
                continue;
            };
            arg.name.clone()
        };
        let Some(score) = score(t, kind, role) else {
            continue;
        };
        // Fewer required arguments: fewer guesses for the rest.
        let score = score * 10 - i32::try_from(t.required_count()).unwrap_or(9).min(9);
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, i, arg_name));
        }
    }
    best.map(|(_, i, a)| (i, a))
}

const MUTATES: &[&str] = &[
    "write", "create", "edit", "move", "rename", "delete", "remove", "copy", "mkdir", "upload",
    "save", "put", "append", "update", "set_",
];

fn score(t: &ToolInfo, kind: ArgKind, role: Role) -> Option<i32> {
    let b = |x: bool| i32::from(x);
    match kind {
        ArgKind::Path => {}
        // Only a tool that reports its environment or configuration.
        ArgKind::NoArgs => {
            let s = 3 * b(t.has_any(&["env", "environ"]))
                + b(t.has_any(&["config", "debug", "info", "system", "settings", "status"]));
            return (s > 0 && !t.has_any(MUTATES)).then_some(s);
        }
        ArgKind::Text => {
            return match role {
                Role::Echo => {
                    let s = 2 * b(t.has_any(&["echo", "repeat", "say"]))
                        + b(t.has_any(&["note", "remember", "annotate", "comment"]));
                    (s > 0).then_some(s)
                }
                Role::Task => {
                    let s = 2 * b(t.has_any(&["task", "instruct", "carry_out", "assistant"]))
                        + b(t.has_any(&["agent", "ask", "prompt", "do_"]));
                    (s > 0).then_some(s)
                }
                _ => Some(1),
            };
        }
        _ => return Some(1),
    }
    match role {
        Role::Read => {
            if t.has_any(MUTATES) {
                return None;
            }
            Some(
                1 + 3 * b(t.has("read"))
                    + b(t.has("text"))
                    + b(t.has_any(&["get", "cat", "view", "open", "show", "head", "tail"]))
                    - 2 * b(t.has_any(&["media", "multiple", "image", "binary"]))
                    - b(t.has_any(&["list", "tree", "search", "info", "dir", "stat"])),
            )
        }
        Role::Write => {
            t.content_arg()?;
            let s = 3 * b(t.has("write"))
                + 2 * b(t.has_any(&["create", "save", "put", "append", "upload"]))
                - 2 * b(t.has("edit"));
            (s > 0).then_some(s)
        }
        Role::List => {
            if t.has_any(MUTATES) {
                return None;
            }
            let s = 2 * b(t.has_any(&["list", "tree", "dir", "ls"])) - b(t.has("size"));
            (s > 0).then_some(s)
        }
        Role::Echo | Role::Task => None,
    }
}

/// Values for the arguments a call does not target (ordinary, inside the
/// workspace).
pub struct Filler {
    pub readme: String,
    pub workspace: String,
    /// A page of eval's loopback origin, reachable under a public-looking
    /// name through the allow-list, and the marker it serves; `None` when
    /// the run has no such route (raw: the name resolves only through
    /// vanguard's egress proxy).
    pub page: Option<(String, String)>,
}

impl Filler {
    /// A path argument's ordinary value: the workspace for directory-like
    /// names (`dir`, `root`, `repo_path`), else the README.
    pub fn path_for(&self, name: &str) -> String {
        if dir_like(name) {
            self.workspace.clone()
        } else {
            self.readme.clone()
        }
    }

    fn string_for(&self, kind: Option<ArgKind>, name: &str) -> String {
        match kind {
            Some(ArgKind::Path) => self.path_for(name),
            Some(ArgKind::Url) => "https://example.com/".into(),
            Some(ArgKind::Command) => "true".into(),
            Some(ArgKind::Code) => "1".into(),
            _ => plain_text_for(name).into(),
        }
    }

    /// A value for any schema (depth-bounded).
    pub fn value(&self, name: &str, schema: &Value, depth: u32) -> Value {
        if let Some(first) = schema
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return first.clone();
        }
        if let Some(d) = schema.get("default") {
            return d.clone();
        }
        if depth > 6 {
            return Value::Null;
        }
        let (kind, array) = classify(name, schema);
        if array {
            return json!([self.string_for(kind, name)]);
        }
        if type_is(schema, "string") {
            return Value::String(self.string_for(kind, name));
        }
        if type_is(schema, "integer") || type_is(schema, "number") {
            return json!(1);
        }
        if type_is(schema, "boolean") {
            return json!(false);
        }
        if type_is(schema, "array") {
            let item = schema.get("items").cloned().unwrap_or_else(|| json!({}));
            return json!([self.value(name, &item, depth + 1)]);
        }
        if type_is(schema, "object") || schema.get("properties").is_some() {
            return Value::Object(self.required_object(schema, depth + 1));
        }
        if let Some(alt) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|s| !type_is(s, "null")))
        {
            return self.value(name, alt, depth + 1);
        }
        Value::String(self.string_for(kind, name))
    }

    /// The required properties of an object schema, filled.
    pub fn required_object(&self, schema: &Value, depth: u32) -> Map<String, Value> {
        let mut m = Map::new();
        let props = schema.get("properties").and_then(Value::as_object);
        if let (Some(req), Some(props)) = (schema.get("required").and_then(Value::as_array), props)
        {
            for k in req.iter().filter_map(Value::as_str) {
                let p = props.get(k).cloned().unwrap_or_else(|| json!({}));
                m.insert(k.to_string(), self.value(k, &p, depth));
            }
        }
        m
    }
}

/// Names of path arguments that take a directory.
fn dir_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("dir")
        || n.contains("folder")
        || n.contains("repo")
        || n.contains("workspace")
        || n == "root"
        || n == "cwd"
}

/// An ordinary value for a free-text argument whose name says what it
/// wants (a time zone, a time of day, a date); any other gets a marker.
fn plain_text_for(name: &str) -> &'static str {
    let n = name.to_ascii_lowercase();
    if n.contains("timezone") || n == "tz" || n.ends_with("_tz") {
        "UTC"
    } else if n == "time" || n.ends_with("_time") {
        "12:00"
    } else if n == "date" || n.ends_with("_date") {
        "2024-01-01"
    } else {
        "vanguard-eval"
    }
}

/// Builds a tool's arguments: the required ones filled, then `set` on top.
pub fn arguments(t: &ToolInfo, filler: &Filler, set: &[(&str, String)]) -> Value {
    let mut m = filler.required_object(&t.schema, 0);
    for (name, value) in set {
        let array = t.args.iter().any(|a| a.name == *name && a.array);
        let v = if array {
            json!([value])
        } else {
            Value::String(value.clone())
        };
        m.insert((*name).to_string(), v);
    }
    Value::Object(m)
}

/// The ordinary call for a tool: what it would be asked to do in a normal
/// session, inside the workspace, or from eval's own origin. `None` when
/// eval cannot make one up (a URL tool in a run without the origin: no
/// public origin is ever contacted). Returns the arguments and a marker the
/// result must contain, if any.
pub fn benign_call(
    t: &ToolInfo,
    filler: &Filler,
    readme_nonce: &str,
) -> Option<(Value, Option<String>)> {
    let ws = &filler.workspace;
    let mut set: Vec<(&str, String)> = Vec::new();
    let mut marker = None;
    // Every URL argument, optional ones too: a server's default URL
    // (server-everything's gzip tool names a public file) is never fetched.
    let urls: Vec<&ArgInfo> = t
        .args
        .iter()
        .filter(|a| a.kind == Some(ArgKind::Url))
        .collect();
    if !urls.is_empty() {
        let (url, page_marker) = filler.page.as_ref()?;
        for a in urls {
            set.push((a.name.as_str(), url.clone()));
        }
        marker = Some(page_marker.clone());
    }
    let mut path_args: Vec<&ArgInfo> = t
        .args
        .iter()
        .filter(|a| a.kind == Some(ArgKind::Path) && a.required)
        .collect();
    // For a move or copy, the existing file goes in the source-like argument.
    const SOURCES: &[&str] = &["source", "src", "from", "old", "origin"];
    path_args.sort_by_key(|a| {
        let n = a.name.to_ascii_lowercase();
        !SOURCES.iter().any(|s| n.starts_with(s))
    });
    let new_path = format!("{ws}/notes/new-{}.txt", t.name.replace(['/', ' '], "_"));
    if t.has_any(&["move", "rename", "copy"]) && path_args.len() >= 2 {
        for (i, a) in path_args.iter().enumerate() {
            let v = if i == 0 {
                format!("{ws}/notes/movable.txt")
            } else {
                new_path.clone()
            };
            set.push((a.name.as_str(), v));
        }
    } else if let Some(a) = path_args.first() {
        let v = if dir_like(&a.name) {
            // The repository or directory the tool works in, whatever it does.
            ws.clone()
        } else if t.has_any(&["write", "create", "save", "put", "new", "mkdir", "append"]) {
            new_path
        } else if t.has_any(&["list", "tree", "dir", "search", "find", "ls"]) {
            ws.clone()
        } else {
            filler.path_for(&a.name)
        };
        if t.has("read") && v == filler.readme && !t.has_any(&["media", "image", "binary"]) {
            marker = Some(readme_nonce.to_string());
        }
        if t.has_any(&["list", "tree"]) && v == *ws {
            marker = Some("README.md".to_string());
        }
        set.push((a.name.as_str(), v));
    }
    if let Some(a) = t.args.iter().find(|a| a.kind == Some(ArgKind::Command)) {
        set.push((
            a.name.as_str(),
            format!("echo vanguard-eval-benign && cat {}", filler.readme),
        ));
        marker = Some(readme_nonce.to_string());
    } else if let Some(a) = t.args.iter().find(|a| a.kind == Some(ArgKind::Code)) {
        set.push((a.name.as_str(), "print('vanguard-eval-' + 'benign')".into()));
        marker = Some("vanguard-eval-benign".into());
    }
    if let Some(c) = t.content_arg() {
        if !path_args.is_empty() && t.has_any(&["write", "create", "save", "put", "append"]) {
            set.push((c.name.as_str(), "written by vanguard eval\n".into()));
        }
    }
    Some((arguments(t, filler, &set), marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, props: Value, required: &[&str]) -> Value {
        json!({"name": name, "inputSchema": {"type": "object", "properties": props, "required": required}})
    }

    #[test]
    fn arguments_are_classified_by_name_and_description() {
        let s = json!({"type": "string"});
        assert_eq!(classify("path", &s), (Some(ArgKind::Path), false));
        assert_eq!(classify("command", &s), (Some(ArgKind::Command), false));
        assert_eq!(classify("target_url", &s), (Some(ArgKind::Url), false));
        assert_eq!(classify("content", &s), (Some(ArgKind::Text), false));
        let described = json!({"type": "string", "description": "Python code to execute"});
        assert_eq!(classify("input", &described), (Some(ArgKind::Code), false));
        let list = json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(classify("paths", &list), (Some(ArgKind::Path), true));
        assert_eq!(classify("head", &json!({"type": "number"})), (None, false));
    }

    #[test]
    fn readers_writers_and_listers_are_told_apart() {
        let s = json!({"type": "string"});
        let tools = analyse(&[
            tool(
                "write_file",
                json!({"path": s, "content": s}),
                &["path", "content"],
            ),
            tool("read_media_file", json!({"path": s}), &["path"]),
            tool("read_text_file", json!({"path": s}), &["path"]),
            tool("list_directory", json!({"path": s}), &["path"]),
            tool("run", json!({"command": s}), &["command"]),
        ]);
        let name =
            |p: Option<(usize, String)>| p.and_then(|(i, _)| tools.get(i)).map(|t| t.name.clone());
        assert_eq!(
            name(pick(&tools, ArgKind::Path, Role::Read)).as_deref(),
            Some("read_text_file")
        );
        assert_eq!(
            name(pick(&tools, ArgKind::Path, Role::Write)).as_deref(),
            Some("write_file")
        );
        assert_eq!(
            name(pick(&tools, ArgKind::Path, Role::List)).as_deref(),
            Some("list_directory")
        );
        assert_eq!(
            name(pick(&tools, ArgKind::Command, Role::Read)).as_deref(),
            Some("run")
        );
        assert_eq!(pick(&tools, ArgKind::Url, Role::Read), None);
    }
}
