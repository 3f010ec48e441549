//! Thousands of calls sent at once, before vanguard has the server's tool
//! list: they wait for the listing, are replayed, and every one is answered.
//! (Replaying them from the pump that drains the server's output once
//! deadlocked as soon as the queues filled.)

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn a_burst_sent_before_the_tool_list_is_answered_in_full() {
    const N: usize = 5000;
    let scratch = tempfile::tempdir().expect("tempdir");
    let server = format!(
        "{} demo-server",
        sh_quote(&vanguard_bin().to_string_lossy())
    );
    let profile = scratch.path().join("p.toml");
    // Rate limits off: this is about the relay, not L3.
    std::fs::write(
        &profile,
        "extends = \"balanced\"\n[behavior]\nper_tool = { warn = 0, block = 0 }\n",
    )
    .expect("profile");
    let mut child = Command::new(vanguard_bin())
        .args([
            "start",
            "--server",
            &server,
            "--audit-log",
            "off",
            "--sandbox",
            "off",
        ])
        .arg("--profile")
        .arg(&profile)
        .arg("--pins")
        .arg(scratch.path().join("pins.json"))
        .current_dir(scratch.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vanguard");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(l) = line else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let writer = std::thread::spawn(move || {
        let mut buf = String::new();
        buf.push_str(r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#);
        buf.push('\n');
        buf.push_str(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        buf.push('\n');
        for i in 1..=N {
            buf.push_str(&format!(
                r#"{{"jsonrpc":"2.0","id":{i},"method":"tools/call","params":{{"name":"echo","arguments":{{"message":"m{i}"}}}}}}"#
            ));
            buf.push('\n');
        }
        // A failed write shows up as missing answers below.
        let _ = stdin.write_all(buf.as_bytes());
        let _ = stdin.flush();
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answered = std::collections::HashSet::new();
    let mut errors = Vec::new();
    while answered.len() < N + 1 {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            break;
        };
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON from vanguard");
        if let Some(id) = v.get("id").and_then(|i| i.as_u64()) {
            if v.get("error").is_some() && errors.len() < 5 {
                errors.push(line.clone());
            }
            answered.insert(id);
        }
    }
    // Killing vanguard first unblocks a writer stuck on a full pipe.
    let _ = child.kill();
    let _ = child.wait();
    let _ = writer.join();
    assert_eq!(
        answered.len(),
        N + 1,
        "only {} of {} requests were answered within 60 s",
        answered.len(),
        N + 1
    );
    assert!(errors.is_empty(), "error answers: {errors:?}");
}
