//! The README's first command: the raw-vs-guarded demonstration must show
//! the raw server falling to the attacks and both guarded columns holding.

use std::process::Command;

#[test]
fn demo_shows_raw_losing_and_guarded_holding() {
    let out = Command::new(env!("CARGO_BIN_EXE_vanguard"))
        .arg("demo")
        .output()
        .expect("run demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let worked = |col: &str| -> usize {
        let line = text
            .lines()
            .find(|l| l.starts_with(col))
            .unwrap_or_else(|| panic!("no summary for {col}:\n{text}"));
        line.split(": ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("count")
    };
    assert!(worked("raw server") >= 9, "{text}");
    assert_eq!(worked("vanguard (inspector + kernel)"), 0, "{text}");
    // Kernel only: everything holds except the copy that stays inside the
    // workspace, which only the inspector can see (it redacts the secret
    // before the agent sees it).
    assert_eq!(worked("vanguard shadow (kernel only)"), 1, "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("two steps: read credentials"))
        .unwrap_or_else(|| panic!("no two-step row:\n{text}"));
    assert!(row.contains("blocked (inspector) redacted"), "{row}");
    // Both layers show up: the inspector's rule ids and the kernel's denials.
    assert!(text.contains("blocked (inspector) ZONE-READ"), "{text}");
    assert!(text.contains("denied (kernel)"), "{text}");
}

/// In the kernel-only column the inspector let the attacks through, so each
/// refusal came from the sandbox: the audit log must attribute them.
#[test]
fn kernel_denials_in_shadow_mode_are_attributed_to_the_call() {
    let out = Command::new(env!("CARGO_BIN_EXE_vanguard"))
        .args(["demo", "--keep"])
        .output()
        .expect("run demo");
    let text = String::from_utf8_lossy(&out.stdout);
    let dir = text
        .lines()
        .find_map(|l| l.strip_prefix("kept "))
        .unwrap_or_else(|| panic!("demo did not say where it kept its files:\n{text}"))
        .to_string();
    let audit =
        std::fs::read_to_string(format!("{dir}/audit-shadow.jsonl")).expect("shadow audit log");
    let _ = std::fs::remove_dir_all(&dir);
    let denials: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| {
            e["rules"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == "KERNEL-DENIAL"))
        })
        .collect();
    assert!(!denials.is_empty(), "no KERNEL-DENIAL event in:\n{audit}");
    // The secret's read was denied by the kernel and the event names the file and the call.
    let secret = denials
        .iter()
        .find(|e| {
            e["findings"][0]["hint"]
                .as_str()
                .unwrap_or("")
                .contains("outside/credentials.txt")
        })
        .unwrap_or_else(|| panic!("no denial names the secret file:\n{denials:#?}"));
    assert_eq!(secret["direction"], "server_to_agent", "{secret}");
    assert!(secret["request_id"].is_number(), "{secret}");
    assert_eq!(secret["layer"], "Kernel", "{secret}");
}
