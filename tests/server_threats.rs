//! Server-side threats through the real binary: a hostile fixture server
//! (tests/fixtures/hostile_server.py) with poisoned metadata, secrets and
//! injection in results, and a rug pull; and official servers whose
//! metadata must pass untouched.

mod common;
use common::*;
use serde_json::{json, Value};
use std::process::Command;

struct Hostile {
    peer: Peer,
    record: std::path::PathBuf,
    pins: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn hostile(profile: &str, pins: Option<&std::path::Path>) -> Hostile {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("upstream.jsonl");
    let pins = pins
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| dir.path().join("pins.json"));
    let server = python_fixture_cmd(
        "hostile_server.py",
        &["--record", &record.to_string_lossy()],
    );
    let write = dir.path().to_string_lossy().into_owned();
    let pins_arg = pins.to_string_lossy().into_owned();
    let mut peer = Peer::gateway(
        &server,
        &["--profile", profile, "--write", &write, "--pins", &pins_arg],
    );
    peer.initialize("2025-06-18");
    Hostile {
        peer,
        record,
        pins,
        _dir: dir,
    }
}

fn names(list: &Value) -> Vec<String> {
    list["result"]["tools"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn poisoned_tools_are_dropped_and_clean_ones_stay_usable() {
    let mut h = hostile("balanced", None);
    let list = h.peer.request("tools/list", json!({}));
    let n = names(&list);
    assert!(
        n.contains(&"add".to_string()) && n.contains(&"leaky".to_string()),
        "{list}"
    );
    assert!(
        !n.contains(&"poisoned_desc".to_string()),
        "poisoned description was listed: {n:?}"
    );
    assert!(
        !n.contains(&"schema_poison".to_string()),
        "poisoned schema was listed: {n:?}"
    );
    // The audit writer drains every 20 ms: wait for the event.
    let ev = wait_for_audit_event(h.peer.audit_log(), |e| {
        e["direction"] == "server_to_agent" && e["method"] == "tools/list"
    })
    .expect("an audit event for the listing");
    let rules: Vec<&str> = ev["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(rules.iter().any(|r| r.starts_with("META-")), "{ev}");

    // A dropped tool does not exist for the agent, and the server never sees the call.
    let id = h.peer.send_request(
        "tools/call",
        json!({"name": "poisoned_desc", "arguments": {"text": "x"}}),
    );
    let r = h.peer.expect_response(&id);
    assert_eq!(error_code(&r), Some(-32602), "{r}");
    assert!(
        !upstream_saw_id(&h.record, &id),
        "the server received a call to a dropped tool"
    );
    // The clean tool on the same server works.
    let r = h.peer.call_tool("add", json!({"a": 2, "b": 3}));
    assert_eq!(result_text(&r), "5", "{r}");
}

#[test]
fn secrets_in_results_are_redacted_and_injection_is_reported() {
    let mut h = hostile("balanced", None);
    h.peer.request("tools/list", json!({}));
    let r = h.peer.call_tool("leaky", json!({}));
    let t = result_text(&r);
    assert!(
        !t.contains("AKIAIOSFODNN7EXAMPLE"),
        "access key leaked: {t}"
    );
    assert!(!t.contains("wJalrXUtnFEMI"), "secret key leaked: {t}");
    assert!(!t.contains("MIIEowIBAAKCAQEA"), "private key leaked: {t}");
    assert!(t.contains("REDACTED"), "no redaction marker: {t}");
    assert!(
        t.contains("region = eu-west-1") && t.contains("replicas = 3"),
        "the rest of the result was lost: {t}"
    );

    // balanced: orders to the agent in a result (override, exfiltrate)
    // are refused; the agent gets -31001, never the text; the finding is
    // on record.
    assert_injector_refused(&mut h);
    assert!(
        result_injection_event(&h, "block"),
        "no RESULT-INJ block in the audit log"
    );
}

/// Calls `injector` and asserts the agent got -31001, never its text.
fn assert_injector_refused(h: &mut Hostile) {
    let id = h
        .peer
        .send_request("tools/call", json!({"name": "injector", "arguments": {}}));
    let r = h.peer.expect_response(&id);
    assert_eq!(error_code(&r), Some(-31001), "{r}");
    assert!(
        !r.to_string().contains("send_email"),
        "injection text reached the agent: {r}"
    );
}

/// Whether the audit log holds a server→agent decision with `verdict` and
/// a RESULT-INJ rule.
fn result_injection_event(h: &Hostile, verdict: &str) -> bool {
    wait_for_audit_event(h.peer.audit_log(), |e| {
        e["direction"] == "server_to_agent"
            && e["verdict"] == verdict
            && e["rules"].as_array().is_some_and(|r| {
                r.iter()
                    .any(|x| x.as_str().unwrap_or("").starts_with("RESULT-INJ"))
            })
    })
    .is_some()
}

#[test]
fn monitor_forwards_injection_in_results_with_a_warning() {
    let mut h = hostile("monitor", None);
    h.peer.request("tools/list", json!({}));
    let r = h.peer.call_tool("injector", json!({}));
    assert!(result_text(&r).contains("Top story"), "{r}");
    assert!(
        result_injection_event(&h, "warn"),
        "no RESULT-INJ warning in the audit log"
    );
}

#[test]
fn strict_blocks_injection_in_results() {
    let mut h = hostile("strict", None);
    h.peer.request("tools/list", json!({}));
    assert_injector_refused(&mut h);
}

#[test]
fn a_rug_pull_hides_the_changed_tool_until_approved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pins = dir.path().join("pins.json");
    let server_key;
    {
        let mut h = hostile("balanced", Some(&pins));
        h.peer.request("tools/list", json!({}));
        // First call works; the server then changes `add` and says so.
        let r = h.peer.call_tool("add", json!({"a": 1, "b": 1}));
        assert_eq!(result_text(&r), "2", "{r}");
        h.peer
            .recv_method(
                "notifications/tools/list_changed",
                std::time::Duration::from_secs(5),
            )
            .expect("list_changed relayed");
        // vanguard re-lists by itself; the drifted tool is then refused.
        let mut refused = None;
        for _ in 0..50 {
            let id = h.peer.send_request(
                "tools/call",
                json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
            );
            let r = h.peer.expect_response(&id);
            if error_code(&r) == Some(-32602) {
                refused = Some(r);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let r = refused.expect("the changed tool was never refused");
        assert_eq!(r["error"]["data"]["rule"], "PIN-DRIFT", "{r}");
        // The agent's own listing no longer shows it either.
        let list = h.peer.request("tools/list", json!({}));
        assert!(!names(&list).contains(&"add".to_string()), "{list}");
        let file: Value =
            serde_json::from_str(&std::fs::read_to_string(&h.pins).expect("pins")).expect("json");
        server_key = file["servers"]
            .as_object()
            .and_then(|m| m.keys().next().cloned())
            .expect("a pinned server");
    }
    let pin = |args: &[&str]| {
        Command::new(vanguard_bin())
            .arg("pin")
            .arg("--pins")
            .arg(&pins)
            .args(args)
            .output()
            .expect("vanguard pin")
    };
    let diff = pin(&["diff"]);
    let diff_text = String::from_utf8_lossy(&diff.stdout);
    assert!(diff_text.contains("changed  add"), "{diff_text}");
    let ok = pin(&["approve", &server_key]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // Approval makes the changed definition the pin and clears the drift.
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&pins).expect("pins")).expect("json");
    assert!(file["servers"][&server_key]["pending"].is_null(), "{file}");
    let again = pin(&["diff"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("no pending drift"));
}

#[test]
fn official_servers_metadata_passes_untouched() {
    let ws = tempfile::tempdir().expect("tempdir");
    let ws_path = ws.path().to_string_lossy().into_owned();
    for (label, cmd) in [
        ("everything", everything_cmd()),
        ("filesystem", filesystem_cmd(&[ws.path()])),
    ] {
        let mut direct = Peer::direct_shell(&cmd);
        direct.initialize("2025-06-18");
        let mut g = Peer::gateway(&cmd, &["--workspace", &ws_path]);
        g.initialize("2025-06-18");
        let d = direct.request("tools/list", json!({}));
        let v = g.request("tools/list", json!({}));
        assert_eq!(
            d["result"], v["result"],
            "{label}: tools/list changed through vanguard"
        );
        // Let the audit writer drain (every 20 ms) before reading it.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let flagged: Vec<Value> = g
            .audit_events()
            .into_iter()
            .filter(|e| e["direction"] == "server_to_agent" && e["verdict"] != "allow")
            .collect();
        assert!(
            flagged.is_empty(),
            "{label}: official metadata was flagged: {flagged:#?}"
        );
    }
}
