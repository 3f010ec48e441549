//! The benign session corpus (tests/corpus/benign): ordinary agent sessions
//! against the real servers, driven by the official Python SDK client
//! through `vanguard start` under every profile each session lists. Any
//! block, unexpected client-visible error or (in balanced) any risk point
//! fails the run; see tests/corpus/benign/README.md.
//!
//! One test per server so the sessions run in parallel.

mod common;

use common::{repo_root, require_env, vanguard_bin};
use serde_json::Value;
use std::process::Command;

fn run_corpus(server: &str) {
    let python = require_env("VANGUARD_TEST_PYTHON");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let summary = out_dir.path().join("summary.json");
    let out = Command::new(python)
        .arg(repo_root().join("tests/corpus/run_benign.py"))
        .arg("--vanguard")
        .arg(vanguard_bin())
        .args(["--server", server, "--json"])
        .arg(&summary)
        .env("VANGUARD_CLOCK_SCALE", "1000")
        .output()
        .expect("run the corpus driver");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "benign sessions of {server} were refused or warned about:\n{text}"
    );
    // The run must have done real work: a driver that ran nothing would pass.
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(&summary).expect("the driver wrote its summary"),
    )
    .expect("summary JSON");
    let runs = results["runs"].as_u64().unwrap_or(0);
    let calls = results["calls"].as_u64().unwrap_or(0);
    assert!(
        runs > 0 && calls >= 10,
        "{server}: {runs} runs, {calls} calls:\n{text}"
    );
    assert_eq!(results["failing_runs"].as_u64(), Some(0), "{text}");
    assert_eq!(results["blocks"].as_u64(), Some(0), "{text}");
}

#[test]
fn benign_filesystem_sessions() {
    run_corpus("filesystem");
}

#[test]
fn benign_git_sessions() {
    run_corpus("git");
}

#[test]
fn benign_memory_sessions() {
    run_corpus("memory");
}

#[test]
fn benign_fetch_sessions() {
    run_corpus("fetch");
}

#[test]
fn benign_time_sessions() {
    run_corpus("time");
}

#[test]
fn benign_everything_sessions() {
    run_corpus("everything");
}
