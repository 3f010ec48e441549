//! Prometheus/OpenMetrics through the real binary, parsed by a real parser
//! (Python `prometheus_client`): `vanguard start --metrics-addr` counts the
//! session's allowed and blocked calls, `vanguard sse` serves `/metrics`
//! behind its authentication.

mod common;
#[path = "fixtures/http/support.rs"]
mod support;

use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Parses an exposition with prometheus_client's OpenMetrics parser and
/// returns every sample as {name, labels, value}.
fn parse(text: &str) -> Vec<Value> {
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;
    let mut child = Command::new(common::require_env("VANGUARD_TEST_PYTHON"))
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("parse");
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("samples")
}

fn sample(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s["name"] == name
                && labels
                    .iter()
                    .all(|(k, v)| s["labels"][*k].as_str() == Some(*v))
        })
        .and_then(|s| s["value"].as_f64())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

fn scrape(url: &str) -> Option<String> {
    let r = reqwest::blocking::Client::new()
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .ok()?;
    (r.status() == 200).then(|| r.text().unwrap_or_default())
}

#[test]
fn start_counts_allowed_and_blocked_calls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).expect("ws");
    std::fs::write(ws.join("a.txt"), "hello\n").expect("file");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let server = common::python_fixture_cmd("obey_server.py", &[]);
    let mut peer = common::Peer::gateway(
        &server,
        &[
            "--metrics-addr",
            &addr,
            "--workspace",
            ws.to_str().expect("utf-8"),
        ],
    );
    peer.initialize("2025-06-18");
    peer.request("tools/list", json!({}));
    let ok = peer.call_tool(
        "read_any_file",
        json!({"path": ws.join("a.txt").display().to_string()}),
    );
    assert!(ok.get("result").is_some(), "{ok}");
    for _ in 0..2 {
        let r = peer.call_tool("read_any_file", json!({"path": "/etc/shadow"}));
        assert_eq!(r["error"]["code"], -31001, "{r}");
    }
    let text = scrape(&format!("http://{addr}/metrics")).expect("metrics served");
    assert!(text.ends_with("# EOF\n"), "{text}");
    let s = parse(&text);
    let calls = |verdict: &str| {
        sample(
            &s,
            "vanguard_tool_calls_total",
            &[("tool", "read_any_file"), ("verdict", verdict)],
        )
    };
    assert_eq!(calls("allow"), Some(1.0), "{text}");
    assert_eq!(calls("block"), Some(2.0), "{text}");
    assert_eq!(
        sample(
            &s,
            "vanguard_findings_total",
            &[("rule", "ZONE-READ"), ("action", "block")]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&s, "vanguard_sessions_active", &[]),
        Some(1.0),
        "{text}"
    );
    let latency_count = sample(
        &s,
        "vanguard_decision_latency_seconds_count",
        &[("direction", "agent_to_server"), ("layer", "L1")],
    );
    assert!(latency_count.is_some_and(|c| c >= 2.0), "{text}");
    // Only /metrics is served there.
    assert!(scrape(&format!("http://{addr}/other")).is_none());
}

#[test]
fn sse_serves_metrics_behind_its_authentication() {
    let key = "metrics-test-key-0123456789";
    let gw = support::Gateway::start(&common::everything_cmd(), &[], &[("VANGUARD_API_KEY", key)]);
    let http = support::Http::default();
    let anon = http.send("GET", &gw.url("/metrics"), &[], None);
    assert_eq!(anon.status, 401, "{}", anon.text);
    let url = gw.url("/mcp");
    let auth = [("x-api-key", key)];
    let sid = http.open_session(&url, &auth);
    let r = http.rpc(
        &url,
        Some(&sid),
        &auth,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"message": "hi"}}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let m = http.send("GET", &gw.url("/metrics"), &auth, None);
    assert_eq!(m.status, 200, "{}", m.text);
    assert!(
        m.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{:?}",
        m.header("content-type")
    );
    let s = parse(&m.text);
    assert_eq!(
        sample(
            &s,
            "vanguard_tool_calls_total",
            &[("tool", "echo"), ("verdict", "allow")]
        ),
        Some(1.0),
        "{}",
        m.text
    );
    assert_eq!(
        sample(&s, "vanguard_sessions_started_total", &[]),
        Some(1.0)
    );
}
