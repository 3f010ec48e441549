//! The official MCP conformance suite (`@modelcontextprotocol/conformance`
//! 0.1.16, server mode) against the project's fixture server
//! (`tests/fixtures/conformance/server.mjs`, built for every server scenario
//! of the suite) directly over HTTP and through `vanguard sse` in front of
//! the same fixture over stdio, in one run. Every active scenario must pass
//! both ways: no baseline of expected failures.

mod common;
#[path = "fixtures/http/support.rs"]
mod support;

use common::{fixture, require_env, sh_join};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

/// Active scenarios of suite 0.1.16 (two more are pending upstream).
const ACTIVE_SCENARIOS: usize = 30;

fn run_suite(url: &str) -> (BTreeMap<String, bool>, bool, String) {
    let node22 = require_env("VANGUARD_TEST_NODE22");
    let suite = require_env("VANGUARD_TEST_CONFORMANCE");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(node22);
    cmd.arg(suite)
        .args(["server", "--url", url, "-o"])
        .arg(out_dir.path());
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
fn every_scenario_passes_directly_and_through_vanguard() {
    let node = require_env("VANGUARD_TEST_NODE");
    let server = fixture("conformance/server.mjs");
    let npm = format!("{}/.test-env/npm/node_modules", env!("CARGO_MANIFEST_DIR"));
    let port = free_port();
    let mut direct = Command::new(&node)
        .arg(&server)
        .args(["--http", &port.to_string(), "--npm-root", &npm])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the fixture over HTTP");
    let direct_url = format!("http://127.0.0.1:{port}/mcp");
    assert!(
        wait_until(Duration::from_secs(10), || std::net::TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "the fixture did not listen on {port}"
    );
    let stdio_cmd = sh_join(&[
        node.as_str(),
        &server.to_string_lossy(),
        "--stdio",
        "--npm-root",
        &npm,
    ]);
    // The sandbox lets the fixture read its SDK (outside the scratch workspace).
    let gw = Gateway::start(&stdio_cmd, &["--read", &npm], &[]);
    let (direct_results, direct_ok, direct_text) = run_suite(&direct_url);
    let (gw_results, gw_ok, gw_text) = run_suite(&gw.url("/mcp"));
    let _ = direct.kill();
    let _ = direct.wait();

    assert_eq!(
        direct_results.len(),
        ACTIVE_SCENARIOS,
        "direct run: {direct_text}"
    );
    let failing = |r: &BTreeMap<String, bool>| -> Vec<String> {
        r.iter()
            .filter(|(_, ok)| !**ok)
            .map(|(n, _)| n.clone())
            .collect()
    };
    assert!(
        failing(&direct_results).is_empty() && direct_ok,
        "the fixture itself fails: {:?}\n{direct_text}",
        failing(&direct_results)
    );
    assert_eq!(
        direct_results.keys().collect::<Vec<_>>(),
        gw_results.keys().collect::<Vec<_>>(),
        "the two runs covered different scenarios"
    );
    assert!(
        failing(&gw_results).is_empty() && gw_ok,
        "fail through vanguard: {:?}\n{gw_text}",
        failing(&gw_results)
    );
    assert_eq!(
        gw_results.get("dns-rebinding-protection"),
        Some(&true),
        "{gw_text}"
    );
}
