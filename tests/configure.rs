//! `vanguard configure` and `vanguard init`, driven through the real binary
//! on fixture files shaped like each client's documented configuration,
//! with HOME, XDG_CONFIG_HOME and XDG_STATE_HOME in a temporary directory.

mod common;

use common::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary home with copies of the client fixtures.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies fixture `name` to `rel` inside the home; returns its path.
    fn place(&self, name: &str, rel: &str) -> PathBuf {
        let to = self.path().join(rel);
        fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        fs::copy(fixture(&format!("clients/{name}")), &to).expect("copy fixture");
        to
    }

    fn vanguard(&self, args: &[&str]) -> Output {
        Command::new(vanguard_bin())
            .args(args)
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join(".config"))
            .env("XDG_STATE_HOME", self.path().join("state"))
            .env_remove("CODEX_HOME")
            .current_dir(self.path())
            .output()
            .expect("run vanguard")
    }

    fn configure(&self, client: &str, file: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["configure", "--client", client, "--config"];
        let f = file.to_str().expect("utf-8 path");
        args.push(f);
        args.extend_from_slice(extra);
        let out = self.vanguard(&args);
        assert!(
            out.status.success(),
            "configure {client} {extra:?} failed: {}",
            text(&out)
        );
        out
    }

    fn backups(&self, file: &Path) -> Vec<PathBuf> {
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let mut out: Vec<PathBuf> = fs::read_dir(file.parent().expect("parent"))
            .expect("read dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().is_some_and(|n| {
                    n.to_string_lossy()
                        .starts_with(&format!("{name}.vanguard-backup-"))
                })
            })
            .collect();
        out.sort();
        out
    }
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The absolute path `configure` writes as the command.
fn vanguard_path() -> String {
    vanguard_bin()
        .canonicalize()
        .expect("binary")
        .to_string_lossy()
        .into_owned()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn args_of(entry: &Value) -> Vec<String> {
    serde_json::from_value(entry["args"].clone()).expect("args as strings")
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(p).expect("read")).expect("valid JSON")
}

#[test]
fn claude_desktop_entries_are_wrapped_and_undone_byte_for_byte() {
    let home = Home::new();
    let file = home.place(
        "claude_desktop_config.json",
        ".config/Claude/claude_desktop_config.json",
    );
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
    let original = fs::read_to_string(&file).expect("read");
    let before = read_json(&file);

    // configure-claude finds the file through XDG_CONFIG_HOME on its own.
    let out = home.vanguard(&["configure-claude"]);
    assert!(out.status.success(), "{}", text(&out));
    let report = stdout(&out);
    assert!(
        report.contains("remote: remote server (url), left alone"),
        "{report}"
    );
    assert!(
        report.contains("guarded: already runs through vanguard, skipped"),
        "{report}"
    );

    let after = read_json(&file);
    let fs_entry = &after["mcpServers"]["filesystem"];
    assert_eq!(fs_entry["command"], json!(vanguard_path()));
    assert_eq!(
        args_of(fs_entry),
        strings(&[
            "start",
            "--profile",
            "filesystem",
            "--workspace",
            "/home/user/Desktop",
            "--write",
            "/home/user/Desktop",
            "--write",
            "/home/user/Downloads",
            "--",
            "npx",
            "-y",
            "@modelcontextprotocol/server-filesystem",
            "/home/user/Desktop",
            "/home/user/Downloads",
        ])
    );
    let memory = &after["mcpServers"]["memory"];
    assert_eq!(
        args_of(memory),
        strings(&[
            "start",
            "--profile",
            "memory",
            "--env",
            "MEMORY_FILE_PATH",
            "--",
            "npx",
            "-y",
            "@modelcontextprotocol/server-memory"
        ])
    );
    assert_eq!(
        memory["env"], before["mcpServers"]["memory"]["env"],
        "env kept"
    );
    assert_eq!(
        after["mcpServers"]["remote"],
        before["mcpServers"]["remote"]
    );
    assert_eq!(
        after["mcpServers"]["guarded"],
        before["mcpServers"]["guarded"]
    );
    assert_eq!(
        fs::metadata(&file).expect("stat").permissions().mode() & 0o777,
        0o600,
        "file mode kept"
    );
    let backups = home.backups(&file);
    assert_eq!(backups.len(), 1, "one backup: {backups:?}");
    assert_eq!(fs::read_to_string(&backups[0]).expect("backup"), original);

    // Running again changes nothing: every entry is wrapped or left alone.
    let wrapped = fs::read_to_string(&file).expect("read");
    let again = home.vanguard(&["configure-claude"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        stdout(&again).contains("filesystem: already runs through vanguard"),
        "{}",
        text(&again)
    );
    assert_eq!(fs::read_to_string(&file).expect("read"), wrapped);

    let undo = home.vanguard(&["configure-claude", "--undo"]);
    assert!(undo.status.success(), "{}", text(&undo));
    assert_eq!(
        fs::read_to_string(&file).expect("read"),
        original,
        "undo is byte-identical"
    );
}

#[test]
fn vscode_jsonc_keeps_comments_and_changes_only_command_and_args() {
    let home = Home::new();
    let file = home.place("vscode-mcp.json", "project/.vscode/mcp.json");
    let original = fs::read_to_string(&file).expect("read");
    home.configure("vscode", &file, &[]);
    let v = vanguard_path();
    let expected = original
        .replace(
            r#""command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "${workspaceFolder}"], // zone"#,
            &format!(
                r#""command": "{v}",
      "args": ["start", "--profile", "filesystem", "--workspace", "${{workspaceFolder}}", "--write", "${{workspaceFolder}}", "--", "npx", "-y", "@modelcontextprotocol/server-filesystem", "${{workspaceFolder}}"], // zone"#
            ),
        )
        .replace(
            r#""command": "uvx", // no args list below"#,
            &format!(r#""command": "{v}", "args": ["start", "--profile", "balanced", "--", "uvx"], // no args list below"#),
        );
    assert_ne!(expected, original, "the fixture has the expected snippets");
    assert_eq!(fs::read_to_string(&file).expect("read"), expected);

    home.configure("vscode", &file, &["--undo"]);
    assert_eq!(fs::read_to_string(&file).expect("read"), original);
}

#[test]
fn codex_toml_keeps_comments_and_inline_tables() {
    let home = Home::new();
    let file = home.place("codex-config.toml", ".codex/config.toml");
    let original = fs::read_to_string(&file).expect("read");
    // Found under HOME without --config.
    let out = home.vanguard(&["configure", "--client", "codex"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains("remote: remote server (url), left alone"),
        "{}",
        text(&out)
    );
    let v = vanguard_path();
    let expected = original
        .replace(
            r#"docs = { command = "uvx", args = ["mcp-server-fetch"] }"#,
            &format!(r#"docs = {{ command = "{v}", args = ["start", "--profile", "balanced", "--", "uvx", "mcp-server-fetch"] }}"#),
        )
        .replace(
            "command = \"npx\"   # the launcher\nargs = [\"-y\", \"@modelcontextprotocol/server-filesystem\", \"/home/user/project\"]",
            &format!("command = \"{v}\"   # the launcher\nargs = [\"start\", \"--profile\", \"filesystem\", \"--workspace\", \"/home/user/project\", \"--write\", \"/home/user/project\", \"--\", \"npx\", \"-y\", \"@modelcontextprotocol/server-filesystem\", \"/home/user/project\"]"),
        )
        .replace(
            "command = \"uvx\"\nenv",
            &format!("command = \"{v}\"\nargs = [\"start\", \"--profile\", \"balanced\", \"--env\", \"TZ\", \"--\", \"uvx\"]\nenv"),
        );
    assert_eq!(fs::read_to_string(&file).expect("read"), expected);
    let parsed: toml::Table = toml::from_str(&expected).expect("still TOML");
    assert!(parsed["mcp_servers"]["time"]["env"]["TZ"].as_str() == Some("UTC"));

    let undo = home.vanguard(&["configure", "--client", "codex", "--undo"]);
    assert!(undo.status.success(), "{}", text(&undo));
    assert_eq!(fs::read_to_string(&file).expect("read"), original);
}

#[test]
fn claude_code_user_and_project_servers_are_wrapped() {
    let home = Home::new();
    let file = home.place("claude.json", ".claude.json");
    let original = fs::read_to_string(&file).expect("read");
    home.configure("claude-code", &file, &["--profile", "strict"]);
    let after = read_json(&file);
    assert_eq!(
        args_of(&after["mcpServers"]["time"]),
        strings(&[
            "start",
            "--profile",
            "strict",
            "--",
            "uvx",
            "mcp-server-time"
        ])
    );
    let project = &after["projects"]["/home/user/src/app"]["mcpServers"];
    assert_eq!(project["git"]["command"], json!(vanguard_path()));
    assert_eq!(
        project["docs"],
        json!({"type": "http", "url": "https://docs.example.com/mcp"})
    );
    assert_eq!(after["numStartups"], json!(12));
    home.configure("claude-code", &file, &["--undo"]);
    assert_eq!(fs::read_to_string(&file).expect("read"), original);
}

#[test]
fn dry_run_prints_a_diff_and_changes_nothing() {
    let home = Home::new();
    let file = home.place("cursor-mcp.json", ".cursor/mcp.json");
    let original = fs::read_to_string(&file).expect("read");
    let out = home.configure("cursor", &file, &["--dry-run"]);
    let diff = stdout(&out);
    assert!(
        diff.contains(&format!(
            "--- {}\n+++ {} (vanguard)\n@@ ",
            file.display(),
            file.display()
        )),
        "{diff}"
    );
    assert!(diff.contains("\n-      \"command\": \"npx\",\n"), "{diff}");
    assert!(
        diff.contains(&format!("\n+      \"command\": \"{}\",\n", vanguard_path())),
        "{diff}"
    );
    assert_eq!(fs::read_to_string(&file).expect("read"), original);
    assert!(home.backups(&file).is_empty(), "no backup on a dry run");
    // And an undo afterwards finds nothing to restore.
    let undo = home.configure("cursor", &file, &["--undo"]);
    assert!(stdout(&undo).contains("nothing wrapped"), "{}", text(&undo));
}

#[test]
fn undo_keeps_later_edits_of_other_entries_and_leaves_changed_entries() {
    let home = Home::new();
    let file = home.place("cursor-mcp.json", ".cursor/mcp.json");
    let original = fs::read_to_string(&file).expect("read");
    home.configure("cursor", &file, &[]);

    // The user edits an unrelated entry after wrapping: that edit survives.
    let edited = fs::read_to_string(&file)
        .expect("read")
        .replace("https://mcp.sentry.dev/sse", "https://mcp.sentry.dev/mcp");
    fs::write(&file, &edited).expect("edit");
    let out = home.configure("cursor", &file, &["--undo"]);
    assert!(
        stdout(&out).contains("everything: restored"),
        "{}",
        text(&out)
    );
    assert_eq!(
        fs::read_to_string(&file).expect("read"),
        original.replace("https://mcp.sentry.dev/sse", "https://mcp.sentry.dev/mcp")
    );

    // A wrapped entry the user changed by hand is left as the user made it.
    home.configure("cursor", &file, &[]);
    let hand = fs::read_to_string(&file)
        .expect("read")
        .replace("\"--profile\", \"balanced\"", "\"--profile\", \"strict\"");
    fs::write(&file, &hand).expect("edit");
    let out = home.configure("cursor", &file, &["--undo"]);
    assert!(
        stdout(&out).contains("everything: changed since it was wrapped, left alone"),
        "{}",
        text(&out)
    );
    assert_eq!(fs::read_to_string(&file).expect("read"), hand);
}

#[test]
fn a_symlinked_configuration_stays_a_symlink() {
    let home = Home::new();
    let target = home.place("cursor-mcp.json", "dotfiles/cursor-mcp.json");
    let link = home.path().join(".cursor/mcp.json");
    fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let original = fs::read_to_string(&target).expect("read");
    home.configure("cursor", &link, &[]);
    assert!(fs::symlink_metadata(&link)
        .expect("lstat")
        .file_type()
        .is_symlink());
    assert!(fs::read_to_string(&target)
        .expect("read")
        .contains(&vanguard_path()));
    home.configure("cursor", &link, &["--undo"]);
    assert_eq!(fs::read_to_string(&target).expect("read"), original);
}

#[test]
fn broken_files_and_bad_requests_are_configuration_errors() {
    let home = Home::new();
    let json = home.path().join("claude_desktop_config.json");
    fs::write(
        &json,
        "{\n  \"mcpServers\": {\n    \"a\": { \"command\": \"x\" \n  }\n",
    )
    .expect("write");
    let out = home.vanguard(&["configure", "--config", json.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}: invalid JSON: line 5", json.display())),
        "{err}"
    );

    let toml = home.path().join("config.toml");
    fs::write(&toml, "[mcp_servers.a\ncommand = 1\n").expect("write");
    let out = home.vanguard(&["configure", "--config", toml.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("{}: invalid TOML", toml.display())),
        "{}",
        text(&out)
    );

    // A layout the span edits cannot handle is refused, the file unchanged.
    let dotted = home.path().join("dotted/config.toml");
    fs::create_dir_all(dotted.parent().expect("parent")).expect("mkdir");
    let dotted_text = "[mcp_servers]\nfoo.command = \"uvx\"\n";
    fs::write(&dotted, dotted_text).expect("write");
    let out = home.vanguard(&["configure", "--config", dotted.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("entry foo is laid out"),
        "{}",
        text(&out)
    );
    assert_eq!(fs::read_to_string(&dotted).expect("read"), dotted_text);
    assert!(home.backups(&dotted).is_empty());

    let missing = home.path().join("nope.json");
    let out = home.vanguard(&[
        "configure",
        "--client",
        "cursor",
        "--config",
        missing.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nope.json: no such file"),
        "{}",
        text(&out)
    );

    let out = home.vanguard(&[
        "configure",
        "--client",
        "cursor",
        "--profile",
        "no-such-profile",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let out = home.vanguard(&["configure", "--client", "notepad"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("notepad"),
        "{}",
        text(&out)
    );
}

/// The wrapped entry, spawned exactly as a client would, starts the real
/// filesystem server through vanguard inside its zone.
#[test]
fn a_wrapped_entry_runs_the_filesystem_server_through_vanguard() {
    let node = require_env("VANGUARD_TEST_NODE");
    let server = require_env("VANGUARD_TEST_SERVER_FILESYSTEM");
    let home = Home::new();
    let zone = home.path().join("zone");
    fs::create_dir(&zone).expect("mkdir");
    fs::write(zone.join("note.txt"), "inside").expect("write");
    let zone = zone.canonicalize().expect("zone");
    let file = home.path().join(".cursor/mcp.json");
    fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    let config = json!({"mcpServers": {"files": {
        "command": node, "args": [server, zone], "env": {"VANGUARD_TEST_MARK": "1"}
    }}});
    fs::write(&file, serde_json::to_string_pretty(&config).expect("json")).expect("write");
    home.configure("cursor", &file, &[]);

    let entry = &read_json(&file)["mcpServers"]["files"];
    let command = entry["command"].as_str().expect("command");
    let args = args_of(entry);
    assert_eq!(args[..3], strings(&["start", "--profile", "filesystem"]));
    // The entry's env names pass vanguard's environment scrubbing.
    assert!(
        args.windows(2)
            .any(|w| w == ["--env", "VANGUARD_TEST_MARK"]),
        "{args:?}"
    );
    let mut cmd = Command::new(command);
    cmd.args(&args)
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CACHE_HOME", home.path().join("cache"));
    for (k, v) in entry["env"].as_object().expect("env kept") {
        cmd.env(k, v.as_str().expect("string"));
    }
    let mut peer = Peer::custom(cmd, None, "wrapped filesystem entry");
    peer.initialize("2025-06-18");
    let list = peer.request("tools/list", json!({}));
    let tools: Vec<&str> = list["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for t in ["read_text_file", "write_file", "list_directory"] {
        assert!(tools.contains(&t), "{t} not listed: {tools:?}");
    }
    let inside = peer.call_tool("read_text_file", json!({"path": zone.join("note.txt")}));
    assert_eq!(
        inside["result"]["content"][0]["text"],
        json!("inside"),
        "{inside}"
    );
    let outside = peer.call_tool(
        "read_text_file",
        json!({"path": home.path().join(".cursor/mcp.json")}),
    );
    assert_eq!(error_code(&outside), Some(POLICY_BLOCKED), "{outside}");
}

// ------------------------------------------------------------------- init

#[test]
fn init_writes_a_loadable_profile_once_and_never_overwrites() {
    let home = Home::new();
    let ws = home.path().join("ws");
    fs::create_dir(&ws).expect("mkdir");
    let ws_arg = ws.to_str().expect("utf-8");
    let out = home.vanguard(&["init", ws_arg]);
    assert!(out.status.success(), "{}", text(&out));
    let profile = ws.join("vanguard.toml");
    let report = stdout(&out);
    assert!(
        report.contains(&format!(
            "vanguard policy explain --profile {}",
            profile.display()
        )),
        "{report}"
    );
    assert!(report.contains("vanguard configure --dry-run"), "{report}");
    let written = fs::read_to_string(&profile).expect("written");
    let canon = ws.canonicalize().expect("canon");
    assert!(
        written.contains(&format!("write = [\"{}\"]", canon.display())),
        "{written}"
    );

    let check = home.vanguard(&["policy", "check", profile.to_str().expect("utf-8")]);
    assert!(check.status.success(), "{}", text(&check));
    let explain = home.vanguard(&[
        "policy",
        "explain",
        "--profile",
        profile.to_str().expect("utf-8"),
    ]);
    assert!(explain.status.success(), "{}", text(&explain));
    assert!(
        stdout(&explain).contains(&canon.display().to_string()),
        "{}",
        text(&explain)
    );

    // Every commented option is one the loader accepts.
    let all_on: String = written
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(all_on, written.trim_end());
    let uncommented = home.path().join("all-options.toml");
    fs::write(&uncommented, all_on).expect("write");
    let check = home.vanguard(&["policy", "check", uncommented.to_str().expect("utf-8")]);
    assert!(check.status.success(), "{}", text(&check));

    let again = home.vanguard(&["init", ws_arg]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        stdout(&again).contains("already initialised"),
        "{}",
        text(&again)
    );

    fs::write(&profile, "extends = \"strict\"\n").expect("user edit");
    let refused = home.vanguard(&["init", ws_arg]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert_eq!(
        fs::read_to_string(&profile).expect("read"),
        "extends = \"strict\"\n"
    );
    let forced = home.vanguard(&["init", ws_arg, "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert_eq!(fs::read_to_string(&profile).expect("read"), written);
}

/// A wrapped entry's `env` reaches the server through vanguard's scrubbing;
/// what the client's own environment holds besides does not.
#[test]
fn a_wrapped_entry_passes_its_env_and_nothing_else() {
    let node = require_env("VANGUARD_TEST_NODE");
    let server = require_env("VANGUARD_TEST_SERVER_EVERYTHING");
    let home = Home::new();
    let file = home.path().join(".cursor/mcp.json");
    fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    let config = json!({"mcpServers": {"everything": {
        "command": node, "args": [server], "env": {"VANGUARD_TEST_MARK": "entry-env-value"}
    }}});
    fs::write(&file, serde_json::to_string_pretty(&config).expect("json")).expect("write");
    home.configure("cursor", &file, &[]);

    let entry = &read_json(&file)["mcpServers"]["everything"];
    let mut cmd = Command::new(entry["command"].as_str().expect("command"));
    cmd.args(args_of(entry))
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("VANGUARD_TEST_CLIENT_SECRET", "client-only-value")
        .env("VANGUARD_TEST_MARK", "entry-env-value");
    let mut peer = Peer::custom(cmd, None, "wrapped everything entry");
    peer.initialize("2025-06-18");
    let resp = peer.call_tool("get-env", json!({}));
    let shown = resp.to_string();
    assert!(shown.contains("entry-env-value"), "{resp}");
    assert!(!shown.contains("client-only-value"), "{resp}");
}
