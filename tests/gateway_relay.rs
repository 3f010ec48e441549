//! Allowed traffic crosses the gateway unchanged, in both directions: the
//! same server (the reference "everything" server) is driven directly and
//! through `vanguard start`, and the agent must not be able to tell apart the
//! bytes it gets back.

mod common;

use common::*;
use serde_json::{json, Value};

/// One handshake, directly and through the gateway.
fn both_initialized(version: &str) -> (Peer, Peer) {
    let server = everything_cmd();
    let mut direct = Peer::direct_shell(&server);
    let mut gateway = Peer::gateway(&server, &[]);
    direct.initialize(version);
    gateway.initialize(version);
    (direct, gateway)
}

/// Sends the same raw request line to both and asserts the responses are
/// byte-for-byte identical; returns the parsed response.
fn same_bytes_both_ways(direct: &mut Peer, gateway: &mut Peer, id: i64, line: &str) -> Value {
    let id = json!(id);
    for peer in [&mut *direct, &mut *gateway] {
        peer.send_line(line);
        peer.expect_response(&id);
    }
    let want = direct.raw_response(&id).expect("direct response recorded");
    let got = gateway
        .raw_response(&id)
        .expect("gateway response recorded");
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want),
        "the gateway changed the response to {line}"
    );
    serde_json::from_slice(&got).expect("response is JSON")
}

#[test]
fn initialize_result_is_identical_for_every_protocol_version() {
    for version in PROTOCOL_VERSIONS {
        let server = everything_cmd();
        let mut direct = Peer::direct_shell(&server);
        let mut gateway = Peer::gateway(&server, &[]);
        let want = direct.initialize(version);
        let got = gateway.initialize(version);
        for field in ["protocolVersion", "serverInfo", "capabilities"] {
            assert!(
                want["result"].get(field).is_some(),
                "{version}: the direct server sent no {field}: {want}"
            );
            assert_eq!(
                got["result"][field], want["result"][field],
                "{version}: {field} differs through the gateway"
            );
        }
        assert_eq!(got, want, "{version}: initialize response differs");
        let raw_want = direct.raw_response(&json!(1)).expect("direct initialize");
        let raw_got = gateway.raw_response(&json!(1)).expect("gateway initialize");
        assert_eq!(
            String::from_utf8_lossy(&raw_got),
            String::from_utf8_lossy(&raw_want),
            "{version}: initialize bytes differ"
        );
    }
}

#[test]
fn tools_list_and_echo_are_byte_identical() {
    let (mut direct, mut gateway) = both_initialized("2025-06-18");
    let list = same_bytes_both_ways(
        &mut direct,
        &mut gateway,
        100,
        r#"{"jsonrpc":"2.0","id":100,"method":"tools/list","params":{}}"#,
    );
    let tools = list["result"]["tools"].as_array().expect("tools array");
    assert!(
        tools.iter().any(|t| t["name"] == "echo"),
        "server-everything lists no echo tool: {list}"
    );
    let echo = same_bytes_both_ways(
        &mut direct,
        &mut gateway,
        101,
        r#"{"jsonrpc":"2.0","id":101,"method":"tools/call","params":{"name":"echo","arguments":{"message":"héllo \u2603 vanguard"}}}"#,
    );
    assert_eq!(
        echo["result"]["content"][0]["text"], "Echo: héllo \u{2603} vanguard",
        "{echo}"
    );
}

#[test]
fn unknown_method_error_passes_through_unchanged() {
    let (mut direct, mut gateway) = both_initialized("2025-06-18");
    let resp = same_bytes_both_ways(
        &mut direct,
        &mut gateway,
        200,
        r#"{"jsonrpc":"2.0","id":200,"method":"vanguard/no-such-method","params":{}}"#,
    );
    assert_eq!(error_code(&resp), Some(-32601), "{resp}");
}

#[test]
fn ping_from_agent_is_answered_by_the_server() {
    let (mut direct, mut gateway) = both_initialized("2025-03-26");
    let resp = same_bytes_both_ways(
        &mut direct,
        &mut gateway,
        300,
        r#"{"jsonrpc":"2.0","id":300,"method":"ping"}"#,
    );
    assert_eq!(resp["result"], json!({}), "{resp}");
}

#[test]
fn agent_bytes_reach_the_server_unchanged() {
    let workspace = tempfile::tempdir().expect("tempdir");
    let log = workspace.path().join("upstream.jsonl");
    let server = recording_cmd(&log, &everything_cmd());
    let code = npm_servers_dir();
    let mut gateway = Peer::gateway_in(Some(workspace.path()), &server, &["--read", &code]);
    gateway.initialize("2025-06-18");
    // Odd spacing, key order and escapes: a re-serialising relay changes them.
    let line = r#"{ "params" : {"arguments":{"message":"caf\u00e9 \"q\""} , "name":"echo"}, "method":"tools/call","id" : "str-id-1","jsonrpc":"2.0" }"#;
    gateway.send_line(line);
    let resp = gateway.expect_response(&json!("str-id-1"));
    assert_eq!(
        resp["result"]["content"][0]["text"], "Echo: café \"q\"",
        "{resp}"
    );
    let lines = recorded_lines(&log);
    assert!(
        lines.iter().any(|l| l == line),
        "the server did not receive the request byte for byte; it got:\n{}",
        lines.join("\n")
    );
}

#[test]
fn sampling_request_from_the_server_is_relayed_and_answered() {
    let mut gateway = Peer::gateway(&everything_cmd(), &[]);
    gateway.initialize_with("2025-06-18", json!({"sampling": {}}));
    let call = gateway.send_request(
        "tools/call",
        json!({"name": "trigger-sampling-request", "arguments": {"prompt": "vanguard-probe-41", "maxTokens": 7}}),
    );
    let request = gateway
        .recv_method("sampling/createMessage", TIMEOUT)
        .expect("no sampling/createMessage request relayed to the agent");
    assert!(
        request.to_string().contains("vanguard-probe-41"),
        "sampling request lost the prompt: {request}"
    );
    assert_eq!(request["params"]["maxTokens"], 7, "{request}");
    let sampling_id = request["id"].clone();
    assert!(
        !sampling_id.is_null(),
        "server request without id: {request}"
    );
    gateway.respond(
        &sampling_id,
        json!({
            "role": "assistant",
            "content": {"type": "text", "text": "SAMPLED-BY-AGENT-7731"},
            "model": "vanguard-test-model",
            "stopReason": "endTurn",
        }),
    );
    let resp = gateway.expect_response(&call);
    assert!(
        resp["result"].to_string().contains("SAMPLED-BY-AGENT-7731"),
        "the agent's sampling answer did not reach the server: {resp}"
    );
}

#[test]
fn elicitation_request_from_the_server_is_relayed_and_answered() {
    let mut gateway = Peer::gateway(&everything_cmd(), &[]);
    gateway.initialize_with("2025-06-18", json!({"elicitation": {}}));
    let call = gateway.send_request(
        "tools/call",
        json!({"name": "trigger-elicitation-request", "arguments": {}}),
    );
    let request = gateway
        .recv_method("elicitation/create", TIMEOUT)
        .expect("no elicitation/create request relayed to the agent");
    assert!(
        request["params"]["requestedSchema"].is_object(),
        "elicitation request without a schema: {request}"
    );
    gateway.respond(
        &request["id"],
        json!({"action": "accept", "content": {"name": "Ada Vanguard"}}),
    );
    let resp = gateway.expect_response(&call);
    assert!(
        resp["result"].to_string().contains("- Name: Ada Vanguard"),
        "the agent's elicitation answer did not reach the server: {resp}"
    );
}

#[test]
fn roots_request_from_the_server_is_relayed_and_answered() {
    let mut gateway = Peer::gateway(&everything_cmd(), &[]);
    gateway.initialize_with("2025-06-18", json!({"roots": {"listChanged": true}}));
    // The server asks for the roots on its own shortly after initialization.
    let request = gateway
        .recv_method("roots/list", TIMEOUT)
        .expect("no roots/list request relayed to the agent");
    gateway.respond(
        &request["id"],
        json!({"roots": [{"uri": "file:///srv/vanguard-root-probe", "name": "probe"}]}),
    );
    let note = gateway
        .recv_matching(TIMEOUT, |m| {
            m["method"] == "notifications/message" && m.to_string().contains("Roots updated")
        })
        .expect("the server never acknowledged the roots");
    assert!(note.to_string().contains("1 root(s)"), "{note}");
    let resp = gateway.call_tool("get-roots-list", json!({}));
    assert!(
        resp["result"]
            .to_string()
            .contains("file:///srv/vanguard-root-probe"),
        "the server does not hold the agent's roots: {resp}"
    );
}

#[test]
fn logging_notifications_reach_the_agent() {
    let mut gateway = Peer::gateway(&everything_cmd(), &[]);
    gateway.initialize("2025-06-18");
    let set = gateway.request("logging/setLevel", json!({"level": "debug"}));
    assert_eq!(set["result"], json!({}), "{set}");
    let toggle = gateway.call_tool("toggle-simulated-logging", json!({}));
    assert!(
        toggle["result"].to_string().contains("Started simulated"),
        "{toggle}"
    );
    let note = gateway
        .recv_method("notifications/message", TIMEOUT)
        .expect("no log notification relayed");
    assert!(note["params"]["level"].is_string(), "{note}");
    assert!(
        note.get("id").is_none(),
        "a notification grew an id: {note}"
    );
}

#[test]
fn server_stderr_goes_to_stderr_with_a_prefix_never_to_stdout() {
    const BANNER: &str = "Starting default (STDIO) server";
    let mut gateway = Peer::gateway(&everything_cmd(), &[]);
    gateway.initialize("2025-06-18");
    gateway.request("ping", json!({}));
    assert!(
        wait_until(TIMEOUT, || gateway.stderr_text().contains(BANNER)),
        "the server's stderr banner never reached vanguard's stderr:\n{}",
        gateway.stderr_text()
    );
    let stderr = gateway.stderr_text();
    let line = stderr
        .lines()
        .find(|l| l.contains(BANNER))
        .expect("banner line");
    assert!(
        !line.starts_with(BANNER),
        "the server's stderr was copied without a prefix: {line:?}"
    );
    for raw in gateway.transcript() {
        let text = String::from_utf8_lossy(raw);
        assert!(!text.contains(BANNER), "server stderr on stdout: {text}");
        assert!(
            serde_json::from_slice::<Value>(raw).is_ok(),
            "non-JSON on stdout: {text}"
        );
    }
}
