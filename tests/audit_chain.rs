//! The audit trail's hash chain through the real binary: sessions of two
//! vanguard processes appending to one log, and rotation, keep one intact
//! chain; `vanguard audit verify` names the first edited, deleted,
//! inserted or moved line, and a cut tail.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A profile writing the audit log to `log`, rotating at `max_bytes`.
fn profile(dir: &Path, log: &Path, max_bytes: u64) -> PathBuf {
    let p = dir.join("profile.toml");
    std::fs::write(
        &p,
        format!(
            "extends = \"balanced\"\n[audit]\npath = \"{}\"\nmax_bytes = {max_bytes}\nkeep = 50\n",
            log.display()
        ),
    )
    .expect("profile");
    p
}

/// One session through `vanguard start`: a few allowed and blocked calls.
fn session(dir: &Path, profile: &Path) -> std::process::Child {
    let ws = dir.join("ws");
    std::fs::create_dir_all(&ws).expect("ws");
    std::fs::write(ws.join("notes.txt"), "hello\n").expect("notes");
    let server = python_fixture_cmd("obey_server.py", &[]);
    let mut child = Command::new(vanguard_bin())
        .args(["start", "--server", &server, "--profile"])
        .arg(profile)
        .arg("--workspace")
        .arg(&ws)
        .arg("--pins")
        .arg(dir.join("pins.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let mut lines = vec![
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    ];
    for i in 0..6 {
        let path = if i % 2 == 0 {
            ws.join("notes.txt").display().to_string()
        } else {
            "/etc/shadow".to_string()
        };
        lines.push(
            json!({"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call",
            "params": {"name": "read_any_file", "arguments": {"path": path}}}),
        );
    }
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        for l in lines {
            let _ = writeln!(stdin, "{l}");
        }
    }
    child
}

fn verify(args: &[&Path]) -> (bool, Value) {
    let out = Command::new(vanguard_bin())
        .args(["audit", "verify", "--json"])
        .args(args)
        .output()
        .expect("audit verify");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify output is not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.success(), v["ok"] == true, "{v}");
    (out.status.success(), v)
}

fn lines_of(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .expect("log")
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(p: &Path, lines: &[String]) {
    std::fs::write(p, lines.join("\n") + "\n").expect("write");
}

#[test]
fn two_processes_and_rotation_keep_one_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit/audit.jsonl");
    let prof = profile(dir.path(), &log, 4096);
    let a = session(dir.path(), &prof);
    let b = session(dir.path(), &prof);
    for mut c in [a, b] {
        assert!(c.wait().expect("wait").success());
    }
    assert!(
        chain_file(&log, 1).exists(),
        "the log did not rotate at 4 KiB"
    );
    let (ok, v) = verify(&[&log]);
    assert!(ok, "{v:#}");
    // Both sessions' events, every one linked: seq 1..=n with no gap.
    assert_eq!(v["first_seq"], 1, "{v:#}");
    assert_eq!(v["last_seq"], v["lines"], "{v:#}");
    let sessions: std::collections::BTreeSet<String> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .flat_map(|f| lines_of(Path::new(f.as_str().expect("path"))))
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .filter_map(|e| e["session_id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
}

fn chain_file(log: &Path, n: u32) -> PathBuf {
    PathBuf::from(format!("{}.{n}", log.display()))
}

#[test]
fn every_kind_of_tampering_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.jsonl");
    let prof = profile(dir.path(), &log, 10 << 20);
    assert!(session(dir.path(), &prof).wait().expect("wait").success());
    let original = lines_of(&log);
    assert!(original.len() >= 8, "{original:?}");
    assert!(verify(&[&log]).0);
    let problem = |lines: &[String]| -> String {
        write_lines(&log, lines);
        let (ok, v) = verify(&[&log]);
        assert!(!ok, "tampering not detected: {v:#}");
        v["problem"].as_str().expect("problem").to_string()
    };
    // Edited: a block turned into an allow.
    let mut edited = original.clone();
    let i = edited
        .iter()
        .position(|l| l.contains("\"verdict\":\"block\""))
        .expect("a blocked call");
    edited[i] = edited[i].replace("\"verdict\":\"block\"", "\"verdict\":\"allow\"");
    let p = problem(&edited);
    assert!(
        p.contains(&format!("line {}", i + 2)) && p.contains("edited"),
        "{p}"
    );
    // Deleted.
    let mut deleted = original.clone();
    deleted.remove(3);
    let p = problem(&deleted);
    assert!(p.contains("line 4") && p.contains("deleted"), "{p}");
    // Inserted: a copy of another line.
    let mut inserted = original.clone();
    inserted.insert(5, original[2].clone());
    let p = problem(&inserted);
    assert!(p.contains("line 6"), "{p}");
    // Reordered.
    let mut swapped = original.clone();
    swapped.swap(4, 5);
    let p = problem(&swapped);
    assert!(p.contains("line 5"), "{p}");
    // The tail cut: the head file still records the last line.
    let p = problem(&original[..original.len() - 2]);
    assert!(p.contains("tail was cut"), "{p}");
    // The tail cut and the head rewritten to match: the head's signature
    // (the audit key beside the log) no longer verifies.
    let cut = &original[..original.len() - 2];
    write_lines(&log, cut);
    let last_hash = {
        use std::io::Write;
        let mut c = Command::new("sha256sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sha256sum");
        c.stdin
            .take()
            .expect("stdin")
            .write_all(cut[cut.len() - 1].as_bytes())
            .expect("write");
        let out = c.wait_with_output().expect("sha256sum");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let head = dir.path().join("audit.jsonl.head");
    let kept_head = std::fs::read(&head).expect("head");
    std::fs::write(
        &head,
        format!("{{\"seq\":{},\"hash\":\"{last_hash}\"}}\n", cut.len()),
    )
    .expect("forge head");
    let (ok, v) = verify(&[&log]);
    assert!(!ok, "a forged head was accepted: {v:#}");
    assert!(
        v["problem"]
            .as_str()
            .is_some_and(|p| p.contains("rewritten")),
        "{v:#}"
    );
    std::fs::write(&head, kept_head).expect("restore head");
    // Put back, it verifies again.
    write_lines(&log, &original);
    assert!(verify(&[&log]).0);
}

#[test]
fn tail_follows_two_sessions_across_rotation_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit/audit.jsonl");
    std::fs::create_dir_all(log.parent().expect("dir")).expect("mkdir");
    std::fs::write(&log, "").expect("empty log");
    let prof = profile(dir.path(), &log, 4096);
    let mut tail = Command::new(vanguard_bin())
        .args(["audit", "tail", "--json", "--last", "0", "--file"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("audit tail");
    let stdout = tail.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    // Give tail a moment to open the log before anything is written.
    std::thread::sleep(std::time::Duration::from_millis(300));
    for mut c in [session(dir.path(), &prof), session(dir.path(), &prof)] {
        assert!(c.wait().expect("wait").success());
    }
    assert!(
        chain_file(&log, 2).exists(),
        "the log rotated several times"
    );
    // Every line of every file, in chain order.
    let (ok, v) = verify(&[&log]);
    assert!(ok, "{v:#}");
    let written: Vec<u64> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .flat_map(|f| lines_of(Path::new(f.as_str().expect("path"))))
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    let mut seen: Vec<u64> = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen.len() < written.len() && std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            let e: Value = serde_json::from_str(&l).expect("tail --json prints events");
            seen.push(e["seq"].as_u64().expect("seq"));
        }
    }
    let _ = tail.kill();
    let _ = tail.wait();
    assert_eq!(seen, written, "tail showed every event once, in order");
}

/// Context switches of the gateway's audit writer thread so far.
fn writer_switches(pid: u32) -> u64 {
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks") {
        let dir = task.expect("task").path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() != "vanguard-audit" {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).expect("status");
        return status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
            .sum();
    }
    panic!("no audit writer thread in process {pid}");
}

/// An idle gateway's audit writer sleeps (it polled every 20 ms before:
/// fifty wake-ups a second with nothing to write), and the next event
/// wakes it: that call's decision reaches the log, linked.
#[test]
fn an_idle_audit_writer_sleeps_until_the_next_event() {
    use std::io::{BufRead, BufReader, Write};
    let d = tempfile::tempdir().expect("tempdir");
    let log = d.path().join("audit.jsonl");
    let prof = profile(d.path(), &log, 1 << 20);
    let ws = d.path().join("ws");
    std::fs::create_dir_all(&ws).expect("ws");
    let server = format!("{} demo-server", vanguard_bin().display());
    let mut child = Command::new(vanguard_bin())
        .args(["start", "--server", &server, "--profile"])
        .arg(&prof)
        .arg("--workspace")
        .arg(&ws)
        .arg("--pins")
        .arg(d.path().join("pins.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut ask = |v: Value| -> Value {
        writeln!(stdin, "{v}").expect("send");
        let mut line = String::new();
        out.read_line(&mut line).expect("answer");
        serde_json::from_str(&line).expect("json answer")
    };
    ask(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}}),
    );
    let call = |id: u64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": format!("call {id}")}}})
    };
    let first = ask(call(2));
    assert!(first.get("result").is_some(), "{first}");

    std::thread::sleep(std::time::Duration::from_millis(600));
    let before = writer_switches(child.id());
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let after = writer_switches(child.id());
    assert!(
        after - before <= 2,
        "the idle audit writer woke {} times in a second",
        after - before
    );

    let second = ask(call(3));
    assert!(second.get("result").is_some(), "{second}");
    // Written within a drain of the wake-up, while the session goes on.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let written = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let found = text.lines().any(|l| {
            serde_json::from_str::<Value>(l)
                .is_ok_and(|v| v["kind"] == "decision" && v["request_id"] == 3 && v["seq"].is_u64())
        });
        if found || std::time::Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(
        written,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    drop(stdin);
    assert!(child.wait().expect("wait").success());
    let (ok, v) = verify(&[&log]);
    assert!(ok, "{v}");
}
