//! `vanguard policy check|explain` and configuration errors, through the real binary.

use std::process::Command;

fn vanguard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vanguard"))
}

#[test]
fn every_shipped_profile_checks_ok() {
    let root = env!("CARGO_MANIFEST_DIR");
    for f in [
        "profiles/balanced.toml",
        "profiles/strict.toml",
        "profiles/monitor.toml",
        "profiles/servers/filesystem.toml",
        "profiles/servers/everything.toml",
        "profiles/servers/memory.toml",
        "profiles/servers/git.toml",
        "profiles/servers/fetch.toml",
        "profiles/servers/time.toml",
    ] {
        let out = vanguard()
            .args(["policy", "check"])
            .arg(format!("{root}/{f}"))
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(": ok ("),
            "{f}"
        );
    }
}

#[test]
fn broken_config_names_file_line_and_field() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path().join("broken.toml");
    std::fs::write(
        &p,
        "extends = \"balanced\"\n\n[zones]\nread = [\"/srv\"]\nwirte = [\"/srv/out\"]\n",
    )
    .expect("write");
    let out = vanguard()
        .args(["policy", "check"])
        .arg(&p)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:5", p.display())), "{err}");
    assert!(err.contains("wirte"), "{err}");

    // The same error stops `start` before any server is spawned.
    let marker = d.path().join("spawned");
    let out = vanguard()
        .args(["start", "--profile"])
        .arg(&p)
        .arg("--server")
        .arg(format!("touch {}", marker.display()))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !marker.exists(),
        "the server must not start with a broken config"
    );
}

#[test]
fn bad_regex_and_unknown_variable_are_located() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path().join("re.toml");
    std::fs::write(
        &p,
        "[[rules]]\nid = \"T-1\"\nfamily = \"t\"\ndescription = \"d\"\nseverity = \"low\"\naction = \"log\"\ntarget = \"text\"\npatterns = [\"a(b\"]\n",
    )
    .expect("write");
    let out = vanguard()
        .args(["policy", "check"])
        .arg(&p)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":8") && err.contains("T-1") && err.contains("regular expression"),
        "{err}"
    );

    std::fs::write(&p, "[zones]\nread = [\"${wrokspace}\"]\n").expect("write");
    let out = vanguard()
        .args(["policy", "check"])
        .arg(&p)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":2") && err.contains("zones.read") && err.contains("wrokspace"),
        "{err}"
    );
}

#[test]
fn explain_shows_effective_zones_rules_and_plan() {
    let d = tempfile::tempdir().expect("tempdir");
    let ws = d.path().join("ws");
    let extra = d.path().join("extra");
    std::fs::create_dir_all(&ws).expect("mkdir");
    std::fs::create_dir_all(&extra).expect("mkdir");
    let out = vanguard()
        .args(["policy", "explain", "--profile", "strict", "--workspace"])
        .arg(&ws)
        .arg("--read")
        .arg(&extra)
        .args(["--server", "/bin/true"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let ws = ws.canonicalize().expect("canon");
    let extra = extra.canonicalize().expect("canon");
    assert!(text.contains(&ws.display().to_string()), "{text}");
    assert!(text.contains(&extra.display().to_string()), "{text}");
    assert!(
        text.contains("FS-001") && text.contains("CMD-001") && text.contains("NET-001"),
        "{text}"
    );
    assert!(text.contains("kernel sandbox plan"), "{text}");
    // strict turns every rule into a block.
    assert!(
        !text
            .lines()
            .any(|l| l.contains("CMD-008") && l.contains(" warn ")),
        "{text}"
    );
}

#[test]
fn unknown_profile_and_missing_server_are_clear() {
    let out = vanguard()
        .args(["start", "--profile", "nope"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown profile"));
    let out = vanguard()
        .args(["start", "--audit-log", "off"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no server to start"));
}
