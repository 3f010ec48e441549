//! `vanguard audit-compliance` through the real binary: a sound set-up is
//! ready (exit 0); each weakness fails its check with a fix and exit 1.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn report(state: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let out = Command::new(vanguard_bin())
        .arg("audit-compliance")
        .arg("--json")
        .args(args)
        .env("XDG_STATE_HOME", state)
        // The MCP client configurations looked at are the test's own.
        .env("HOME", state)
        .env("XDG_CONFIG_HOME", state.join("config"))
        .current_dir(state)
        .env_remove("VANGUARD_API_KEY")
        .envs(env.iter().copied())
        .output()
        .expect("audit-compliance");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn status<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|x| x["id"] == id))
        .map(|c| &c["status"])
        .unwrap_or_else(|| panic!("no check {id}: {r:#}"))
}

#[test]
fn a_sound_setup_is_ready_and_each_weakness_fails_its_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path().join("project");
    std::fs::create_dir_all(&ws).expect("ws");
    let w = ws.to_str().expect("utf-8");
    let (code, r) = report(dir.path(), &["--workspace", w], &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["passed"], true, "{r:#}");
    for id in [
        "kernel.sandbox",
        "zones.scope",
        "audit.log",
        "profile.results",
        "trust.signatures",
        "clients.wrapped",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {r:#}");
    }
    // Manifests that only warn: a warning, still ready.
    let weak = dir.path().join("weak.toml");
    std::fs::write(
        &weak,
        "extends = \"balanced\"\n[trust]\nmanifest = \"warn\"\n",
    )
    .expect("profile");
    let (code, r) = report(
        dir.path(),
        &["--profile", weak.to_str().expect("utf-8"), "--workspace", w],
        &[],
    );
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(status(&r, "trust.signatures"), "warn", "{r:#}");
    // Shadow mode: verdicts only logged.
    let (code, r) = report(dir.path(), &["--profile", "monitor", "--workspace", w], &[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(status(&r, "profile.mode"), "fail", "{r:#}");
    // A write zone of the home directory (a zone of / the loader refuses).
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let h = home.to_str().expect("utf-8");
    let (code, r) = report(
        dir.path(),
        &["--workspace", w, "--write", h],
        &[("HOME", h)],
    );
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(status(&r, "zones.scope"), "fail", "{r:#}");
    // A gateway on a public address without a key; with one it passes.
    let host = ["--workspace", w, "--gateway-host", "192.0.2.10"];
    let (code, r) = report(dir.path(), &host, &[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(status(&r, "gateway.auth"), "fail", "{r:#}");
    let (code, r) = report(
        dir.path(),
        &host,
        &[("VANGUARD_API_KEY", "k-0123456789abcdef")],
    );
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(status(&r, "gateway.auth"), "pass", "{r:#}");
}

#[test]
fn a_client_server_started_without_vanguard_fails_until_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path().join("project");
    std::fs::create_dir_all(&ws).expect("ws");
    let w = ws.to_str().expect("utf-8");
    let claude = dir.path().join("config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(claude.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &claude,
        r#"{"mcpServers": {"notes": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]}}}"#,
    )
    .expect("config");
    let (code, r) = report(dir.path(), &["--workspace", w], &[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(status(&r, "clients.wrapped"), "fail", "{r:#}");
    let out = Command::new(vanguard_bin())
        .args(["configure", "--client", "claude-desktop"])
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_STATE_HOME", dir.path())
        .current_dir(dir.path())
        .output()
        .expect("configure");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, r) = report(dir.path(), &["--workspace", w], &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(status(&r, "clients.wrapped"), "pass", "{r:#}");
}

#[test]
fn a_broken_audit_chain_fails_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = dir.path().join("project");
    std::fs::create_dir_all(&ws).expect("ws");
    let log = dir.path().join("vanguard/audit.jsonl");
    std::fs::create_dir_all(log.parent().expect("dir")).expect("mkdir");
    // Two linked lines, then the first edited.
    let mut lines = Vec::new();
    let mut prev = "0".repeat(64);
    for i in 1..=2 {
        let line = format!(
            "{{\"event_id\":\"e{i}\",\"verdict\":\"block\",\"seq\":{i},\"prev\":\"{prev}\"}}"
        );
        prev = sha256_hex(line.as_bytes());
        lines.push(line);
    }
    std::fs::write(&log, lines.join("\n") + "\n").expect("log");
    let w = ws.to_str().expect("utf-8");
    let (code, r) = report(dir.path(), &["--workspace", w], &[]);
    assert_eq!(code, 0, "an intact chain: {r:#}");
    lines[0] = lines[0].replace("block", "allow");
    std::fs::write(&log, lines.join("\n") + "\n").expect("log");
    let (code, r) = report(dir.path(), &["--workspace", w], &[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(status(&r, "audit.log"), "fail", "{r:#}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(bytes)?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}
