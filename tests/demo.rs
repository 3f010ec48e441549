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
    assert!(worked("raw server") >= 8, "{text}");
    assert_eq!(worked("vanguard (inspector + kernel)"), 0, "{text}");
    assert_eq!(worked("vanguard shadow (kernel only)"), 0, "{text}");
    // Both layers show up: the inspector's rule ids and the kernel's denials.
    assert!(text.contains("blocked (inspector) ZONE-READ"), "{text}");
    assert!(text.contains("denied (kernel)"), "{text}");
}
