//! The official MCP conformance suite (server mode) against server-everything
//! directly and through `vanguard sse`, in one run.

mod common;
#[path = "fixtures/http/support.rs"]
mod support;

use common::{everything_cmd, require_env};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

/// Scenarios that pass against the direct server but fail through vanguard
/// on purpose (see scripts/test-env/conformance-baseline.yml).
const DIFFERENT_BY_DESIGN: &[&str] = &["tools-call-simple-text", "tools-call-error"];

fn run_suite(url: &str, baseline: Option<&str>) -> (BTreeMap<String, bool>, bool, String) {
    let node22 = require_env("VANGUARD_TEST_NODE22");
    let suite = require_env("VANGUARD_TEST_CONFORMANCE");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(node22);
    cmd.arg(suite)
        .args(["server", "--url", url, "-o"])
        .arg(out_dir.path());
    if let Some(b) = baseline {
        cmd.args(["--expected-failures", b]);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .expect("run the conformance suite");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mut results = BTreeMap::new();
    for line in text.lines() {
        let (ok, rest) = if let Some(r) = line.strip_prefix("✓ ") {
            (true, r)
        } else if let Some(r) = line.strip_prefix("✗ ") {
            (false, r)
        } else {
            continue;
        };
        if let Some((name, _)) = rest.split_once(':') {
            results.insert(name.trim().to_string(), ok);
        }
    }
    (results, out.status.success(), text)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn gateway_passes_what_the_direct_server_passes_and_dns_rebinding() {
    let node = require_env("VANGUARD_TEST_NODE");
    let everything = require_env("VANGUARD_TEST_SERVER_EVERYTHING");
    let port = free_port();
    let mut direct = Command::new(node)
        .arg(&everything)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server-everything over HTTP");
    let direct_url = format!("http://127.0.0.1:{port}/mcp");
    assert!(
        wait_until(Duration::from_secs(10), || std::net::TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "server-everything did not listen on {port}"
    );
    let gw = Gateway::start(&everything_cmd(), &[], &[]);
    let (direct_results, _, direct_text) = run_suite(&direct_url, None);
    let baseline = format!(
        "{}/scripts/test-env/conformance-baseline.yml",
        env!("CARGO_MANIFEST_DIR")
    );
    let (gw_results, gw_ok, gw_text) = run_suite(&gw.url("/mcp"), Some(&baseline));
    let _ = direct.kill();
    let _ = direct.wait();

    assert!(
        direct_results.len() >= 25,
        "direct run parsed too few scenarios:\n{direct_text}"
    );
    assert_eq!(
        direct_results.keys().collect::<Vec<_>>(),
        gw_results.keys().collect::<Vec<_>>(),
        "the two runs covered different scenarios"
    );
    let regressions: Vec<&String> = direct_results
        .iter()
        .filter(|(name, ok)| {
            **ok && !gw_results[*name] && !DIFFERENT_BY_DESIGN.contains(&name.as_str())
        })
        .map(|(n, _)| n)
        .collect();
    assert!(
        regressions.is_empty(),
        "pass direct, fail through vanguard: {regressions:?}\n{gw_text}"
    );
    assert_eq!(
        direct_results.get("dns-rebinding-protection"),
        Some(&false),
        "the direct server was expected to fail dns-rebinding-protection"
    );
    assert_eq!(
        gw_results.get("dns-rebinding-protection"),
        Some(&true),
        "{gw_text}"
    );
    // Against the committed baseline the suite itself must be green: no
    // unexpected failure (and no stale entry, if the suite reports those).
    assert!(
        gw_ok,
        "conformance through vanguard deviates from the baseline:\n{gw_text}"
    );
}
