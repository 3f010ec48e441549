//! Session lifecycle: shutdown on agent EOF, the server dying under us, the
//! gateway dying under the server, shadow mode, and the audit trail.

mod common;

use common::*;
use serde_json::{json, Value};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lifecycle fixture behind the gateway. The workspace path is passed to
/// the server as an argument, so `pids_with_arg(workspace)` finds the server
/// process wherever it runs.
struct Fixture {
    workspace: tempfile::TempDir,
    peer: Peer,
}

impl Fixture {
    fn start(server_args: &[&str]) -> Fixture {
        let workspace = tempfile::Builder::new()
            .prefix("vanguard-lifecycle-")
            .tempdir()
            .expect("tempdir");
        let pid_file = workspace.path().join("server.pid");
        let pid_file = pid_file.to_string_lossy().into_owned();
        let mut args = vec!["--pid-file", pid_file.as_str()];
        args.extend_from_slice(server_args);
        let server = python_fixture_cmd("lifecycle_server.py", &args);
        let mut peer = Peer::gateway_in(Some(workspace.path()), &server, &[]);
        peer.initialize("2025-06-18");
        let fixture = Fixture { workspace, peer };
        assert!(
            wait_until(TIMEOUT, || !fixture.server_pids().is_empty()),
            "the fixture server process cannot be found"
        );
        fixture
    }

    fn server_pids(&self) -> Vec<i32> {
        pids_with_arg(&self.workspace.path().to_string_lossy())
            .into_iter()
            .filter(|&pid| pid != self.peer.pid())
            .collect()
    }

    fn assert_server_gone(&self, within: Duration) {
        assert!(
            wait_until(within, || self.server_pids().is_empty()),
            "the server outlived the gateway: pids {:?}",
            self.server_pids()
        );
    }
}

fn exit_code_of(peer: &mut Peer, within: Duration) -> i32 {
    let status = peer
        .wait(within)
        .unwrap_or_else(|| panic!("vanguard did not exit within {within:?}"));
    status
        .code()
        .unwrap_or_else(|| panic!("vanguard died by signal {:?}", status.signal()))
}

#[test]
fn agent_eof_shuts_down_cleanly_with_status_0() {
    let mut f = Fixture::start(&[]);
    let echo = f.peer.call_tool("echo", json!({"text": "before eof"}));
    assert_eq!(echo["result"]["content"][0]["text"], "before eof", "{echo}");
    f.peer.close_stdin();
    assert_eq!(exit_code_of(&mut f.peer, TIMEOUT), 0);
    f.assert_server_gone(Duration::from_secs(5));
    assert!(
        f.peer.recv(Duration::from_millis(200)).is_none(),
        "output after shutdown"
    );
}

#[test]
fn calls_held_for_a_tool_list_that_never_comes_are_answered_at_eof() {
    let mut f = Fixture::start(&["--no-tools-list"]);
    // The first call waits for vanguard's own tools/list, which the server
    // never answers; the agent then closes its side.
    let id = f.peer.send_request(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "x"}}),
    );
    f.peer.close_stdin();
    let resp = f
        .peer
        .recv_until_id(&id, Duration::from_secs(30))
        .expect("an answer to the held call");
    assert_eq!(resp["error"]["code"], -31003, "{resp}");
    assert_eq!(exit_code_of(&mut f.peer, TIMEOUT), 0);
    f.assert_server_gone(Duration::from_secs(5));
}

#[test]
fn a_server_that_ignores_eof_and_sigterm_is_killed() {
    let mut f = Fixture::start(&["--stubborn"]);
    f.peer.close_stdin();
    // close grace + term grace of the balanced profile, with room to spare.
    f.peer
        .wait(Duration::from_secs(15))
        .expect("vanguard did not finish shutting down a stubborn server");
    f.assert_server_gone(Duration::from_secs(5));
}

/// Most Node servers keep running after stdin closes and exit on SIGTERM:
/// the shutdown must wait for that exit once (it panicked polling a
/// finished exit watch twice), write `session_end` and exit 0.
#[test]
fn a_server_that_ignores_eof_but_exits_on_sigterm_shuts_down_with_status_0() {
    let mut f = Fixture::start(&["--ignore-eof"]);
    let echo = f.peer.call_tool("echo", json!({"text": "x"}));
    assert_eq!(echo["result"]["content"][0]["text"], "x", "{echo}");
    f.peer.close_stdin();
    assert_eq!(exit_code_of(&mut f.peer, Duration::from_secs(15)), 0);
    assert!(
        !f.peer.stderr_text().contains("panicked"),
        "{}",
        f.peer.stderr_text()
    );
    f.assert_server_gone(Duration::from_secs(5));
    let end = f
        .peer
        .audit_events()
        .into_iter()
        .find(|e| e["kind"] == "session_end")
        .expect("a session_end event");
    assert_eq!(end["detail"]["outcome"], "AgentClosed", "{end}");
    assert_eq!(end["detail"]["forced"], true, "{end}");
}

#[test]
fn a_stubborn_server_needing_sigkill_still_ends_with_status_0_and_session_end() {
    let mut f = Fixture::start(&["--stubborn"]);
    f.peer.close_stdin();
    assert_eq!(exit_code_of(&mut f.peer, Duration::from_secs(15)), 0);
    assert!(!f.peer.stderr_text().contains("panicked"));
    f.assert_server_gone(Duration::from_secs(5));
    assert!(f
        .peer
        .audit_events()
        .iter()
        .any(|e| e["kind"] == "session_end"));
}

/// A panic inside a session (injected in debug builds) is caught at the
/// session boundary: the server is killed, `session_end` is written, and
/// vanguard exits 1 instead of aborting.
#[test]
fn a_panic_in_the_session_kills_the_server_and_still_records_the_end() {
    let workspace = tempfile::tempdir().expect("tempdir");
    let server = python_fixture_cmd(
        "lifecycle_server.py",
        &[
            "--stubborn",
            "--pid-file",
            &workspace.path().join("pid").to_string_lossy(),
        ],
    );
    let mut peer = Peer::gateway_env(
        Some(workspace.path()),
        &server,
        &[],
        &[("VANGUARD_FAULT_PANIC_METHOD", "fault/please")],
    );
    peer.initialize("2025-06-18");
    let marker = workspace.path().to_string_lossy().into_owned();
    assert!(wait_until(TIMEOUT, || !pids_with_arg(&marker)
        .into_iter()
        .filter(|&p| p != peer.pid())
        .collect::<Vec<_>>()
        .is_empty()));
    peer.send_request("fault/please", json!({}));
    assert_eq!(exit_code_of(&mut peer, Duration::from_secs(15)), 1);
    assert!(
        wait_until(Duration::from_secs(5), || pids_with_arg(&marker)
            .into_iter()
            .all(|p| p == peer.pid())),
        "the server outlived the session's panic"
    );
    let end = peer
        .audit_events()
        .into_iter()
        .find(|e| e["kind"] == "session_end")
        .expect("session_end after the panic");
    assert_eq!(end["detail"]["outcome"], "Failed", "{end}");
    assert_eq!(end["detail"]["error"], "a panic in the agent pump", "{end}");
}

#[test]
fn server_exit_fails_the_pending_request_and_exits_4() {
    let mut f = Fixture::start(&[]);
    let id = f.peer.send_request(
        "tools/call",
        json!({"name": "exit", "arguments": {"code": 3}}),
    );
    let resp = f.peer.expect_response(&id);
    assert_eq!(error_code(&resp), Some(UPSTREAM_EXITED), "{resp}");
    assert_eq!(resp["jsonrpc"], "2.0", "{resp}");
    assert_eq!(exit_code_of(&mut f.peer, TIMEOUT), 4);
}

#[test]
fn server_killed_by_a_signal_fails_the_pending_request_and_exits_5() {
    let mut f = Fixture::start(&[]);
    let id = f
        .peer
        .send_request("tools/call", json!({"name": "crash", "arguments": {}}));
    let resp = f.peer.expect_response(&id);
    assert_eq!(error_code(&resp), Some(UPSTREAM_EXITED), "{resp}");
    assert_eq!(exit_code_of(&mut f.peer, TIMEOUT), 5);
}

#[test]
fn killing_the_gateway_takes_the_server_with_it() {
    // Stubborn: stdin EOF and SIGTERM alone would not end it.
    let f = Fixture::start(&["--stubborn"]);
    assert!(!f.server_pids().is_empty(), "no server to orphan");
    f.peer.signal(libc::SIGKILL);
    f.assert_server_gone(Duration::from_secs(5));
}

#[test]
fn killing_the_gateway_takes_a_node_server_with_it() {
    let mut peer = Peer::gateway(&everything_cmd(), &[]);
    peer.initialize("2025-06-18");
    let script = require_env("VANGUARD_TEST_SERVER_EVERYTHING");
    let servers = || -> Vec<i32> {
        pids_with_arg(&script)
            .into_iter()
            .filter(|&pid| is_descendant_of(pid, peer.pid()))
            .collect()
    };
    let before = servers();
    assert!(!before.is_empty(), "the node server cannot be found");
    peer.signal(libc::SIGKILL);
    assert!(
        wait_until(Duration::from_secs(5), || before
            .iter()
            .all(|&p| !pid_alive(p))),
        "node server(s) {before:?} outlived the gateway"
    );
}

/// Whether `ancestor` is on `pid`'s parent chain.
fn is_descendant_of(mut pid: i32, ancestor: i32) -> bool {
    for _ in 0..64 {
        let Some(ppid) = parent_pid(pid) else {
            return false;
        };
        if ppid == ancestor {
            return true;
        }
        if ppid <= 1 {
            return false;
        }
        pid = ppid;
    }
    false
}

/// The filesystem server behind the gateway with a workspace and an outside
/// file, for the shadow and audit tests.
struct Zoned {
    _root: tempfile::TempDir,
    ws: PathBuf,
    outside_file: PathBuf,
    log: PathBuf,
}

impl Zoned {
    fn new() -> Zoned {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical tempdir");
        let ws = root.join("ws");
        let outside = root.join("outside");
        std::fs::create_dir(&ws).expect("mkdir");
        std::fs::create_dir(&outside).expect("mkdir");
        std::fs::write(ws.join("inside.txt"), "inside").expect("write");
        let outside_file = outside.join("notes.txt");
        std::fs::write(&outside_file, "outside").expect("write");
        let log = ws.join("upstream.jsonl");
        Zoned {
            _root: dir,
            ws,
            outside_file,
            log,
        }
    }

    fn gateway(&self, extra_args: &[&str]) -> Peer {
        let outside = self.outside_file.parent().expect("outside dir");
        let server = recording_cmd(&self.log, &filesystem_cmd(&[&self.ws, outside]));
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

#[test]
fn shadow_mode_forwards_what_enforce_would_block_and_logs_it() {
    let z = Zoned::new();
    let mut peer = z.gateway(&["--mode", "shadow"]);
    let id = peer.send_request(
        "tools/call",
        json!({"name": "read_text_file", "arguments": {"path": path_str(&z.outside_file)}}),
    );
    let resp = peer.expect_response(&id);
    assert_ne!(
        error_code(&resp),
        Some(POLICY_BLOCKED),
        "shadow mode blocked: {resp}"
    );
    assert!(
        upstream_saw_id(&z.log, &id),
        "shadow mode did not forward the request to the server"
    );
    let event = wait_for_audit_event(peer.audit_log(), |e| {
        e["request_id"] == id && e["verdict"] == "shadow_block"
    });
    assert!(
        event.is_some(),
        "no shadow_block event for request {id}: {:?}",
        peer.audit_events()
    );

    // The same call in enforce mode is blocked: the shadow verdict is real.
    let mut enforce = z.gateway(&[]);
    let id = enforce.send_request(
        "tools/call",
        json!({"name": "read_text_file", "arguments": {"path": path_str(&z.outside_file)}}),
    );
    let resp = enforce.expect_response(&id);
    assert_eq!(error_code(&resp), Some(POLICY_BLOCKED), "{resp}");
}

/// Fields every decision event carries. `tool` is required on tool calls
/// and `layer` on verdicts other than allow, where they mean something.
const EVENT_FIELDS: &[&str] = &[
    "ts",
    "event_id",
    "session_id",
    "server_id",
    "direction",
    "method",
    "request_id",
    "verdict",
    "rules",
    "findings",
    "latency_us",
    "profile",
];

#[test]
fn every_decision_is_audited_with_the_required_fields() {
    let z = Zoned::new();
    let mut peer = z.gateway(&[]);
    let allowed = peer.send_request(
        "tools/call",
        json!({"name": "read_text_file", "arguments": {"path": path_str(&z.ws.join("inside.txt"))}}),
    );
    let resp = peer.expect_response(&allowed);
    assert!(resp.get("result").is_some(), "{resp}");
    let blocked = peer.send_request(
        "tools/call",
        json!({"name": "read_text_file", "arguments": {"path": path_str(&z.outside_file)}}),
    );
    let resp = peer.expect_response(&blocked);
    let data = assert_blocked(&resp, &blocked);
    peer.close_stdin();
    assert_eq!(exit_code_of(&mut peer, TIMEOUT), 0);

    let events = peer.audit_events();
    let for_id = |id: &Value| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e.get("request_id") == Some(id))
            .cloned()
            .collect()
    };
    let mut session_ids = Vec::new();
    for (id, verdict) in [
        (&json!(1), "allow"),
        (&allowed, "allow"),
        (&blocked, "block"),
    ] {
        let found = for_id(id);
        assert!(
            !found.is_empty(),
            "no audit event for request {id}: {events:?}"
        );
        let decision = found
            .iter()
            .find(|e| e["verdict"] == verdict)
            .unwrap_or_else(|| panic!("no {verdict} event for request {id}: {found:?}"));
        for field in EVENT_FIELDS {
            assert!(
                decision.get(field).is_some(),
                "audit event lacks {field}: {decision}"
            );
        }
        if decision["method"] == "tools/call" {
            assert!(decision["tool"].is_string(), "no tool: {decision}");
        }
        if verdict != "allow" {
            assert!(decision["layer"].is_string(), "no layer: {decision}");
        }
        assert!(decision["rules"].is_array(), "{decision}");
        assert!(decision["findings"].is_array(), "{decision}");
        assert!(decision["latency_us"].is_u64(), "{decision}");
        assert_eq!(decision["profile"], "balanced", "{decision}");
        assert!(
            decision["event_id"].as_str().is_some_and(|s| !s.is_empty()),
            "{decision}"
        );
        session_ids.push(decision["session_id"].clone());
    }
    assert!(
        session_ids.windows(2).all(|w| w[0] == w[1]) && session_ids[0].is_string(),
        "events of one session carry different session ids: {session_ids:?}"
    );

    let block = for_id(&blocked)
        .into_iter()
        .find(|e| e["verdict"] == "block")
        .expect("block event");
    assert_eq!(block["event_id"], data["event_id"], "{block}");
    assert_eq!(block["method"], "tools/call", "{block}");
    assert_eq!(block["tool"], "read_text_file", "{block}");
    assert_eq!(block["layer"], "L1", "{block}");
    assert!(
        block["rules"]
            .as_array()
            .is_some_and(|r| r.contains(&data["rule"])),
        "{block}"
    );
    let mut ids: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event_id"].as_str())
        .collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "duplicate event ids in {events:?}");
}
