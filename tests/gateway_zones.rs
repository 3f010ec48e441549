//! Safe zones at the gateway: the filesystem server is allowed both the
//! workspace and a directory outside it, so only vanguard (and the kernel
//! sandbox behind it) stands between a path argument and a file outside the
//! zones. Every blocked call must get the -31001 error naming the rule, and
//! the recording shim in front of the server proves the server never
//! received it.
//!
//! The workspace is the server's first allowed directory, so the server
//! resolves relative paths against it, as vanguard does.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const INSIDE: &str = "INSIDE-CONTENT-5150";
const OUTSIDE: &str = "OUTSIDE-CONTENT-8086";

/// root/
///   ws/          the workspace: inside.txt, link -> ../outside/notes.txt,
///                upstream.jsonl (what the server received)
///   outside/     notes.txt
/// The server is allowed ws/ and outside/; vanguard's zones are ws/ alone.
struct Layout {
    _root: tempfile::TempDir,
    ws: PathBuf,
    outside: PathBuf,
    log: PathBuf,
}

impl Layout {
    fn new() -> Layout {
        let dir = tempfile::Builder::new()
            .prefix("vanguard-zones-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical tempdir");
        let ws = root.join("ws");
        let outside = root.join("outside");
        std::fs::create_dir(&ws).expect("mkdir ws");
        std::fs::create_dir(&outside).expect("mkdir outside");
        std::fs::write(ws.join("inside.txt"), INSIDE).expect("write inside.txt");
        std::fs::write(outside.join("notes.txt"), OUTSIDE).expect("write notes.txt");
        std::os::unix::fs::symlink(outside.join("notes.txt"), ws.join("link")).expect("symlink");
        let log = ws.join("upstream.jsonl");
        Layout {
            _root: dir,
            ws,
            outside,
            log,
        }
    }

    fn gateway(&self, extra_args: &[&str]) -> Peer {
        let server = recording_cmd(&self.log, &filesystem_cmd(&[&self.ws, &self.outside]));
        let ws = self.ws.to_string_lossy().into_owned();
        let code = npm_servers_dir();
        let mut args = vec!["--workspace", ws.as_str(), "--read", code.as_str()];
        args.extend_from_slice(extra_args);
        let mut peer = Peer::gateway_in(Some(&self.ws), &server, &args);
        peer.initialize("2025-06-18");
        peer
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Calls a tool that must be blocked: checks the single -31001 response, its
/// rule, the audit event it names, and that the server never received it.
fn assert_call_blocked(
    peer: &mut Peer,
    log: &Path,
    tool: &str,
    arguments: Value,
    rule_prefixes: &[&str],
) -> Value {
    let what = format!("{tool} {arguments}");
    let seen_before = peer.transcript().len();
    let id = peer.send_request("tools/call", json!({"name": tool, "arguments": arguments}));
    let resp = peer.expect_response(&id);
    let data = assert_blocked(&resp, &id);
    let rule = block_rule(&resp);
    assert!(
        rule_prefixes.iter().any(|p| rule.starts_with(p)),
        "{what}: blocked by {rule}, expected one of {rule_prefixes:?}: {resp}"
    );
    assert_eq!(data["layer"], "L1", "{what}: {resp}");

    // A barrier: once the server has answered a later request, the shim has
    // recorded everything sent before it.
    let ping = peer.request("ping", json!({}));
    assert_eq!(ping["result"], json!({}), "{ping}");
    assert!(
        !peer.take_aside().iter().any(|m| m.get("id") == Some(&id)),
        "{what}: more than one response for a blocked request"
    );
    assert!(
        !upstream_saw_id(log, &id),
        "{what}: the server received a blocked request"
    );
    for line in &peer.transcript()[seen_before..] {
        assert!(
            !String::from_utf8_lossy(line).contains(OUTSIDE),
            "{what}: outside content reached the agent"
        );
    }

    let event_id = data["event_id"].as_str().expect("event_id").to_string();
    let event = wait_for_audit_event(peer.audit_log(), |e| e["event_id"] == event_id)
        .unwrap_or_else(|| panic!("{what}: no audit event {event_id}"));
    assert_eq!(event["verdict"], "block", "{event}");
    assert_eq!(event["request_id"], id, "{event}");
    assert!(
        event["rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == rule.as_str())),
        "{what}: audit event does not list {rule}: {event}"
    );
    resp
}

fn text_of(resp: &Value) -> String {
    resp["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text result: {resp}"))
        .to_string()
}

#[test]
fn reads_inside_the_workspace_are_allowed() {
    let layout = Layout::new();
    let mut peer = layout.gateway(&[]);
    let absolute = peer.call_tool(
        "read_text_file",
        json!({"path": path_str(&layout.ws.join("inside.txt"))}),
    );
    assert_eq!(text_of(&absolute), INSIDE, "{absolute}");
    let relative = peer.call_tool("read_text_file", json!({"path": "inside.txt"}));
    assert_eq!(text_of(&relative), INSIDE, "{relative}");
    let list = peer.call_tool("list_directory", json!({"path": path_str(&layout.ws)}));
    assert!(text_of(&list).contains("inside.txt"), "{list}");
    assert!(upstream_saw_id(&layout.log, &json!(2)), "recording works");
}

#[test]
fn reads_outside_the_workspace_are_blocked_before_the_server() {
    let layout = Layout::new();
    let mut peer = layout.gateway(&[]);
    let notes = layout.outside.join("notes.txt");
    let cases: Vec<(&str, Value)> = vec![
        (
            "read_text_file",
            json!({"path": format!("{}/../outside/notes.txt", layout.ws.display())}),
        ),
        ("read_text_file", json!({"path": "../outside/notes.txt"})),
        ("read_text_file", json!({"path": path_str(&notes)})),
        ("read_file", json!({"path": path_str(&notes)})),
        (
            "read_text_file",
            json!({"path": path_str(&layout.ws.join("link"))}),
        ),
        (
            "read_text_file",
            json!({"path": format!("file://{}", notes.display())}),
        ),
        (
            "read_multiple_files",
            json!({"paths": [path_str(&layout.ws.join("inside.txt")), path_str(&notes)]}),
        ),
        ("list_directory", json!({"path": path_str(&layout.outside)})),
        ("get_file_info", json!({"path": path_str(&notes)})),
    ];
    for (tool, args) in cases {
        assert_call_blocked(&mut peer, &layout.log, tool, args, &["ZONE-READ"]);
    }
    // A sensitive file may be caught by a deny rule first.
    assert_call_blocked(
        &mut peer,
        &layout.log,
        "read_text_file",
        json!({"path": "/etc/passwd"}),
        &["ZONE-READ", "FS-"],
    );
}

#[test]
fn writes_outside_the_write_zone_are_blocked_and_nothing_is_written() {
    let layout = Layout::new();
    let mut peer = layout.gateway(&[]);
    let target = layout.outside.join("planted.txt");
    assert_call_blocked(
        &mut peer,
        &layout.log,
        "write_file",
        json!({"path": path_str(&target), "content": "planted"}),
        &["ZONE-WRITE"],
    );
    assert!(
        !target.exists(),
        "write_file outside the zone wrote the file"
    );

    let new_dir = layout.outside.join("made");
    assert_call_blocked(
        &mut peer,
        &layout.log,
        "create_directory",
        json!({"path": path_str(&new_dir)}),
        &["ZONE-WRITE"],
    );
    assert!(!new_dir.exists(), "create_directory outside the zone ran");

    let source = layout.ws.join("inside.txt");
    let destination = layout.outside.join("moved.txt");
    assert_call_blocked(
        &mut peer,
        &layout.log,
        "move_file",
        json!({"source": path_str(&source), "destination": path_str(&destination)}),
        &["ZONE-WRITE"],
    );
    assert!(source.exists() && !destination.exists(), "move_file ran");

    assert_call_blocked(
        &mut peer,
        &layout.log,
        "edit_file",
        json!({
            "path": path_str(&layout.outside.join("notes.txt")),
            "edits": [{"oldText": OUTSIDE, "newText": "edited"}],
        }),
        &["ZONE-WRITE", "ZONE-READ"],
    );
    let notes = std::fs::read_to_string(layout.outside.join("notes.txt")).expect("notes");
    assert_eq!(
        notes, OUTSIDE,
        "edit_file outside the zone changed the file"
    );
}

#[test]
fn a_read_zone_is_not_a_write_zone() {
    let layout = Layout::new();
    let extra = path_str(&layout.outside);
    let mut peer = layout.gateway(&["--read", &extra]);
    let notes = layout.outside.join("notes.txt");
    let read = peer.call_tool("read_text_file", json!({"path": path_str(&notes)}));
    assert_eq!(
        text_of(&read),
        OUTSIDE,
        "--read did not open the zone: {read}"
    );
    let target = layout.outside.join("planted.txt");
    assert_call_blocked(
        &mut peer,
        &layout.log,
        "write_file",
        json!({"path": path_str(&target), "content": "planted"}),
        &["ZONE-WRITE"],
    );
    assert!(!target.exists(), "a read zone accepted a write");
}

#[test]
fn writes_inside_the_workspace_are_allowed() {
    let layout = Layout::new();
    let mut peer = layout.gateway(&[]);
    let target = layout.ws.join("written.txt");
    let resp = peer.call_tool(
        "write_file",
        json!({"path": path_str(&target), "content": "written through vanguard"}),
    );
    assert!(resp.get("error").is_none(), "{resp}");
    assert_eq!(
        std::fs::read_to_string(&target).expect("the file was not written"),
        "written through vanguard"
    );
}

/// Inside the write zone, git's configuration and hooks and the editor's
/// settings stay read-only: a write there is refused before the server,
/// ordinary files next to them are written, and `--unprotect` lifts it.
#[test]
fn protected_paths_inside_the_workspace_are_refused_before_the_server() {
    let layout = Layout::new();
    std::fs::create_dir_all(layout.ws.join(".git/hooks")).expect("mkdir .git");
    let config = layout.ws.join(".git/config");
    std::fs::write(&config, "[core]\n\tbare = false\n").expect("write config");
    let mut peer = layout.gateway(&[]);
    assert_call_blocked(
        &mut peer,
        &layout.log,
        "write_file",
        json!({"path": path_str(&config), "content": "[core]\n\tfsmonitor = sh -c 'touch /tmp/pwned'\n"}),
        &["ZONE-PROTECTED"],
    );
    assert_eq!(
        std::fs::read_to_string(&config).expect("config"),
        "[core]\n\tbare = false\n"
    );
    let hook = layout.ws.join(".git/hooks/pre-commit");
    assert_call_blocked(
        &mut peer,
        &layout.log,
        "write_file",
        json!({"path": path_str(&hook), "content": "#!/bin/sh\ntouch /tmp/pwned\n"}),
        &["ZONE-PROTECTED"],
    );
    assert!(!hook.exists(), "the hook was written");
    // A relative path and a not-yet-existing protected directory.
    assert_call_blocked(
        &mut peer,
        &layout.log,
        "write_file",
        json!({"path": ".vscode/tasks.json", "content": "{}"}),
        &["ZONE-PROTECTED"],
    );
    assert!(!layout.ws.join(".vscode").exists());
    // Moving .git away (to plant a new config) is refused too.
    assert_call_blocked(
        &mut peer,
        &layout.log,
        "move_file",
        json!({"source": path_str(&layout.ws.join(".git")), "destination": path_str(&layout.ws.join("old-git"))}),
        &["ZONE-PROTECTED"],
    );
    assert!(layout.ws.join(".git/config").exists());
    // Ordinary work next to them goes through.
    let notes = layout.ws.join("notes.md");
    let resp = peer.request(
        "tools/call",
        json!({"name": "write_file", "arguments": {"path": path_str(&notes), "content": "ok"}}),
    );
    assert!(resp.get("result").is_some(), "{resp}");
    assert_eq!(std::fs::read_to_string(&notes).expect("notes"), "ok");

    // --unprotect .git/config lets the server change that one file only.
    drop(peer);
    // A fresh record of what the (new) server receives: request ids restart.
    std::fs::write(&layout.log, "").expect("truncate the record");
    let mut peer = layout.gateway(&["--unprotect", ".git/config"]);
    let resp = peer.request(
        "tools/call",
        json!({"name": "write_file", "arguments": {"path": path_str(&config), "content": "[core]\n\tbare = false\n[user]\n\tname = a\n"}}),
    );
    assert!(resp.get("result").is_some(), "{resp}");
    assert!(std::fs::read_to_string(&config)
        .expect("config")
        .contains("name = a"));
    assert_call_blocked(
        &mut peer,
        &layout.log,
        "write_file",
        json!({"path": path_str(&hook), "content": "#!/bin/sh\n"}),
        &["ZONE-PROTECTED"],
    );
}

/// `edit_file` with `dryRun: true` (the filesystem server declares the flag
/// as a boolean) only shows the diff: on a protected CI workflow it goes
/// through and nothing changes; the same edit without it, with a `"true"`
/// string, or a `dryRun` added to `write_file` (which declares none, so
/// the server would ignore it and write) is refused before the server.
#[test]
fn a_dry_run_edit_of_a_protected_workflow_previews_a_real_edit_is_refused() {
    let layout = Layout::new();
    let workflows = layout.ws.join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("mkdir workflows");
    let ci = workflows.join("ci.yml");
    let original = "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: cargo test\n";
    std::fs::write(&ci, original).expect("write ci.yml");
    let mut peer = layout.gateway(&[]);
    let edits = json!([{"oldText": "      - run: cargo test\n",
        "newText": "      - uses: Swatinem/rust-cache@v2\n      - run: cargo test\n"}]);
    let preview = peer.call_tool(
        "edit_file",
        json!({"path": path_str(&ci), "edits": edits, "dryRun": true}),
    );
    let diff = text_of(&preview);
    assert!(
        diff.contains("+      - uses: Swatinem/rust-cache@v2"),
        "no diff in the preview: {preview}"
    );
    assert_eq!(std::fs::read_to_string(&ci).expect("ci.yml"), original);
    for dry in [json!(false), json!("true")] {
        assert_call_blocked(
            &mut peer,
            &layout.log,
            "edit_file",
            json!({"path": path_str(&ci), "edits": edits, "dryRun": dry}),
            &["ZONE-PROTECTED"],
        );
    }
    assert_call_blocked(
        &mut peer,
        &layout.log,
        "write_file",
        json!({"path": path_str(&ci), "content": "name: pwned\n", "dryRun": true}),
        &["ZONE-PROTECTED"],
    );
    assert_eq!(std::fs::read_to_string(&ci).expect("ci.yml"), original);
}
