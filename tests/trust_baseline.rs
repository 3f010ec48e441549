//! Capability baselines through the real binary: `vanguard baseline create`
//! records a server, `vanguard start --baseline` holds it to the record —
//! an unknown tool is withheld and never reaches the server (block) or is
//! warned about (warn), a changed `initialize` refuses the session, a
//! broken baseline is a configuration error.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

fn hostile(record: &Path, extra: &[&str]) -> String {
    let mut args = vec!["--record", record.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    python_fixture_cmd("hostile_server.py", &args)
}

/// `vanguard baseline create` of the hostile fixture (five tools).
fn create_baseline(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("baseline.json");
    let server = hostile(&dir.join("create-record.jsonl"), &[]);
    let run = Command::new(vanguard_bin())
        .args(["baseline", "create", "--server", &server, "--out"])
        .arg(&out)
        .current_dir(dir)
        .output()
        .expect("vanguard baseline create");
    assert!(
        run.status.success(),
        "baseline create failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("baseline")).expect("json");
    let names: Vec<&str> = doc["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    // Shadow mode records what the server announces, poisoned tools too.
    assert_eq!(
        names,
        ["add", "poisoned_desc", "schema_poison", "leaky", "injector"],
        "{doc:#}"
    );
    assert_eq!(
        doc["initialize"]["serverInfo"]["name"], "hostile-fixture",
        "{doc:#}"
    );
    // Running the server to record it made no change a second run would see.
    let again = Command::new(vanguard_bin())
        .args(["baseline", "create", "--server", &server, "--out"])
        .arg(&out)
        .output()
        .expect("second create");
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing file was replaced"
    );
    out
}

fn tool_names(list: &Value) -> Vec<String> {
    list["result"]["tools"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_tool_outside_the_baseline_is_withheld_and_never_reaches_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let baseline = create_baseline(dir.path());
    let record = dir.path().join("record.jsonl");
    // The server now has a sixth tool, clean to every other check.
    let server = hostile(&record, &["--extra-tool-desc", "Echo the text back."]);
    let prof = sign_for(dir.path(), &[&baseline], "baseline");
    let (b, p) = (
        baseline.to_str().expect("utf-8"),
        prof.to_str().expect("utf-8"),
    );
    let w = dir.path().to_str().expect("utf-8");
    let mut peer = Peer::gateway(&server, &["--baseline", b, "--write", w, "--profile", p]);
    peer.initialize("2025-06-18");
    let list = peer.request("tools/list", json!({}));
    let names = tool_names(&list);
    assert!(!names.iter().any(|n| n == "subtle"), "{list}");
    assert!(names.iter().any(|n| n == "add"), "{list}");
    let id = peer.send_request(
        "tools/call",
        json!({"name": "subtle", "arguments": {"text": "hi"}}),
    );
    let r = peer.expect_response(&id);
    assert!(r.get("error").is_some(), "{r}");
    assert!(r.to_string().contains("baseline"), "{r}");
    assert!(
        !upstream_saw_id(&record, &id),
        "the server received a call to a tool outside the baseline"
    );
    let drift = wait_for_audit_event(peer.audit_log(), |e| {
        e["rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "BASELINE-DRIFT"))
    });
    assert!(drift.is_some(), "no BASELINE-DRIFT in the audit log");
    // A tool of the baseline works as before.
    let r = peer.call_tool("add", json!({"a": 2, "b": 3}));
    assert_eq!(r["result"]["content"][0]["text"], "5", "{r}");
}

#[test]
fn warn_mode_lets_the_drifted_tool_through_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let baseline = create_baseline(dir.path());
    let record = dir.path().join("record.jsonl");
    let server = hostile(&record, &["--extra-tool-desc", "Echo the text back."]);
    let b = baseline.to_str().expect("utf-8");
    let w = dir.path().to_str().expect("utf-8");
    let mut peer = Peer::gateway(
        &server,
        &["--baseline", b, "--baseline-mode", "warn", "--write", w],
    );
    peer.initialize("2025-06-18");
    let list = peer.request("tools/list", json!({}));
    assert!(tool_names(&list).iter().any(|n| n == "subtle"), "{list}");
    // The listing's event also holds the poisoned tools' blocks: the
    // drift finding itself is a warning.
    let warned = wait_for_audit_event(peer.audit_log(), |e| {
        e["findings"].as_array().is_some_and(|f| {
            f.iter()
                .any(|x| x["rule"] == "BASELINE-DRIFT" && x["action"] == "warn")
        })
    });
    assert!(warned.is_some(), "no BASELINE-DRIFT warning");
    let r = peer.call_tool("subtle", json!({"text": "hi"}));
    assert!(r.get("result").is_some(), "{r}");
}

#[test]
fn another_server_version_is_refused_at_initialize() {
    let dir = tempfile::tempdir().expect("tempdir");
    let baseline = create_baseline(dir.path());
    // The baseline was made with version 0.9 of the server; 1.0 runs.
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).expect("read")).expect("json");
    doc["initialize"]["serverInfo"]["version"] = json!("0.9.0");
    std::fs::write(&baseline, doc.to_string()).expect("write");
    let prof = sign_for(dir.path(), &[&baseline], "baseline");
    let record = dir.path().join("record.jsonl");
    let server = hostile(&record, &[]);
    let (b, p) = (
        baseline.to_str().expect("utf-8"),
        prof.to_str().expect("utf-8"),
    );
    let w = dir.path().to_str().expect("utf-8");
    let mut peer = Peer::gateway(&server, &["--baseline", b, "--write", w, "--profile", p]);
    let id = peer.send_request(
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "t", "version": "0"}}),
    );
    let r = peer.expect_response(&id);
    assert_eq!(r["error"]["code"], -31001, "{r}");
    assert_eq!(r["error"]["data"]["rule"], "BASELINE-DRIFT", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("serverInfo")),
        "{r}"
    );
}

#[test]
fn a_broken_baseline_is_a_configuration_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.json");
    let record = dir.path().join("record.jsonl");
    for (text, expect) in [
        ("{not json", "not JSON"),
        (
            r#"{"kind": "vanguard-capability-baseline", "version": 7}"#,
            "version 7",
        ),
        (r#"{"kind": "something-else", "version": 1}"#, "kind"),
    ] {
        std::fs::write(&bad, text).expect("write");
        let out = Command::new(vanguard_bin())
            .args(["start", "--server", &hostile(&record, &[]), "--baseline"])
            .arg(&bad)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("start");
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(expect) && err.contains("bad.json"),
            "{text}: {err}"
        );
    }
    assert!(
        !record.exists(),
        "the server was started with a broken baseline"
    );
}

#[test]
fn a_baseline_without_a_trusted_signature_is_refused_or_warned_about() {
    let dir = tempfile::tempdir().expect("tempdir");
    let baseline = create_baseline(dir.path());
    let record = dir.path().join("record.jsonl");
    let server = hostile(&record, &[]);
    let start = |extra: &[&str]| {
        Command::new(vanguard_bin())
            .args([
                "start",
                "--server",
                &server,
                "--audit-log",
                "off",
                "--baseline",
            ])
            .arg(&baseline)
            .args(extra)
            // The workspace: the sandboxed server can write its record
            // there (outside it, `record.exists()` could never be true).
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("start")
    };
    // No signature at all, and no trusted signer: exit 6, nothing started.
    let out = start(&[]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no signer is trusted"));
    // Signed, then changed after signing: the digest no longer matches.
    let prof = sign_for(dir.path(), &[&baseline], "baseline");
    let p = prof.to_str().expect("utf-8");
    let text = std::fs::read_to_string(&baseline).expect("read");
    std::fs::write(
        &baseline,
        text.replace("Add two numbers", "Add two numbers!"),
    )
    .expect("write");
    let out = start(&["--profile", p]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("baseline.json"), "{err}");
    assert!(!record.exists(), "the server was started");
    // warn: the same baseline is used, with a warning.
    let out = start(&["--profile", p, "--baseline-mode", "warn"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("WARN"));
    assert!(record.exists(), "warn mode started the server");
}
