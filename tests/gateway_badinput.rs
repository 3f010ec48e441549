//! Malformed agent input: every bad line gets exactly one JSON-RPC error, the
//! server never sees it, and the session goes on.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::PathBuf;

const MAX_LINE: usize = 1024;

struct Session {
    _workspace: tempfile::TempDir,
    log: PathBuf,
    peer: Peer,
}

fn session() -> Session {
    let workspace = tempfile::tempdir().expect("tempdir");
    let log = workspace.path().join("upstream.jsonl");
    let log_arg = log.to_string_lossy().into_owned();
    let server = python_fixture_cmd("lifecycle_server.py", &["--record", &log_arg]);
    let max = MAX_LINE.to_string();
    let mut peer = Peer::gateway_in(Some(workspace.path()), &server, &["--max-line-bytes", &max]);
    peer.initialize("2025-06-18");
    peer.use_ids_from(1000);
    Session {
        _workspace: workspace,
        log,
        peer,
    }
}

/// The very next message must be the error for the bad line; then a valid
/// request must still be answered by the server.
fn expect_error_then_alive(peer: &mut Peer, what: &str, code: i64, id: &Value) -> Value {
    let err = peer
        .recv(TIMEOUT)
        .unwrap_or_else(|| panic!("{what}: no answer; stderr:\n{}", peer.stderr_text()));
    assert_eq!(err["jsonrpc"], "2.0", "{what}: {err}");
    assert_eq!(error_code(&err), Some(code), "{what}: {err}");
    assert_eq!(err.get("id"), Some(id), "{what}: wrong id: {err}");
    assert!(err["error"]["message"].is_string(), "{what}: {err}");
    let echo = peer.call_tool("echo", json!({"text": format!("after {what}")}));
    assert_eq!(
        echo["result"]["content"][0]["text"],
        format!("after {what}"),
        "{what}: the session did not go on: {echo}"
    );
    assert!(
        peer.take_aside().is_empty(),
        "{what}: more than one answer to the bad line"
    );
    err
}

#[test]
fn malformed_lines_get_one_error_each_and_the_session_goes_on() {
    let mut s = session();
    let null = Value::Null;
    let cases: &[(&str, &str, i64, Value)] = &[
        ("not JSON", "hello vanguard", PARSE_ERROR, null.clone()),
        (
            "truncated JSON",
            r#"{"jsonrpc":"2.0","id":5,"method":"ping""#,
            PARSE_ERROR,
            null.clone(),
        ),
        (
            "object without envelope",
            r#"{"foo":1}"#,
            INVALID_REQUEST,
            null.clone(),
        ),
        ("bare number", "42", INVALID_REQUEST, null.clone()),
        ("bare string", r#""ping""#, INVALID_REQUEST, null.clone()),
        (
            "id without method or result",
            r#"{"jsonrpc":"2.0","id":7}"#,
            INVALID_REQUEST,
            json!(7),
        ),
        (
            "wrong jsonrpc version",
            r#"{"jsonrpc":"1.0","id":"v1","method":"ping"}"#,
            INVALID_REQUEST,
            json!("v1"),
        ),
        (
            "method not a string",
            r#"{"jsonrpc":"2.0","id":8,"method":5}"#,
            INVALID_REQUEST,
            json!(8),
        ),
        (
            "params not structured",
            r#"{"jsonrpc":"2.0","id":9,"method":"ping","params":3}"#,
            INVALID_REQUEST,
            json!(9),
        ),
    ];
    for (what, line, code, id) in cases {
        s.peer.send_line(line);
        expect_error_then_alive(&mut s.peer, what, *code, id);
    }
    let recorded = recorded_lines(&s.log);
    for (what, line, _, _) in cases {
        assert!(
            !recorded.iter().any(|r| r == line),
            "{what}: the malformed line reached the server"
        );
    }
}

#[test]
fn invalid_utf8_is_a_parse_error() {
    let mut s = session();
    let mut line =
        br#"{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"echo","arguments":{"text":""#
            .to_vec();
    line.extend_from_slice(b"\xff\xfe\xc3");
    line.extend_from_slice(b"\"}}}\n");
    s.peer.send_bytes(&line);
    let err = s.peer.recv(TIMEOUT).expect("no answer to invalid UTF-8");
    assert_eq!(error_code(&err), Some(PARSE_ERROR), "{err}");
    assert!(err.get("id").is_some(), "error without an id member: {err}");
    let echo = s.peer.call_tool("echo", json!({"text": "still here"}));
    assert_eq!(echo["result"]["content"][0]["text"], "still here", "{echo}");
    assert!(
        !upstream_saw_id(&s.log, &json!(11)),
        "invalid UTF-8 reached the server"
    );
}

#[test]
fn overlong_line_is_refused_and_framing_resumes_at_the_next_line() {
    let mut s = session();
    let pad = "x".repeat(MAX_LINE * 4);
    let long = format!(
        r#"{{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{pad}"}}}}}}"#
    );
    let next = r#"{"jsonrpc":"2.0","id":22,"method":"ping"}"#;
    // Both lines in one write: the gateway must find the second one.
    s.peer.send_bytes(format!("{long}\n{next}\n").as_bytes());
    let err = s
        .peer
        .recv_matching(TIMEOUT, |m| error_code(m) == Some(INVALID_REQUEST))
        .expect("no error for the overlong line");
    assert_eq!(err["error"]["data"]["reason"], "line_too_long", "{err}");
    let ping = s.peer.expect_response(&json!(22));
    assert_eq!(
        ping["result"],
        json!({}),
        "the line after the long one was lost: {ping}"
    );
    assert!(
        s.peer
            .recv_until_id(&json!(21), std::time::Duration::from_millis(300))
            .is_none(),
        "the overlong request was answered a second time"
    );

    // Just under the limit still passes.
    let text = "y".repeat(MAX_LINE - 200);
    let echo = s.peer.call_tool("echo", json!({"text": text}));
    assert_eq!(
        echo["result"]["content"][0]["text"],
        text.as_str(),
        "{echo}"
    );
    let recorded = recorded_lines(&s.log);
    assert!(
        !recorded.iter().any(|l| l.contains(&pad)),
        "the overlong line reached the server"
    );
}

#[test]
fn deep_nesting_is_refused_without_killing_the_session() {
    let mut s = session();
    let depth = 400;
    let line = format!(
        r#"{{"jsonrpc":"2.0","id":31,"method":"ping","params":{{"a":{}{}}}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert!(line.len() < MAX_LINE, "keep this under the line limit");
    s.peer.send_line(&line);
    let resp = s
        .peer
        .recv(TIMEOUT)
        .expect("no answer to deeply nested JSON");
    // Refusing it (either code) or relaying it are both fine; a crash or
    // silence is not.
    let refused = matches!(error_code(&resp), Some(PARSE_ERROR | INVALID_REQUEST));
    let relayed = resp["id"] == 31 && resp["result"] == json!({});
    assert!(refused || relayed, "{resp}");
    let ping = s.peer.request("ping", json!({}));
    assert_eq!(ping["result"], json!({}), "{ping}");
}
