//! Profiles from TOML text: `policy::load` (parsing, `extends` with the
//! built-in profiles, merging, `${var}` expansion, validation), then, for a
//! profile that loads, the inspector's rule compiler (`Inspector::new`),
//! `policy::explain::explain` and `sandbox::from_policy::egress_config`.
//! A profile that loads must compile (the loader has checked its regexes);
//! only the regex engine's size limit may still refuse it.
//!
//! The loader reads profiles from files only (there is no public parse
//! entry), so each input is written to `$TMPDIR/vanguard-fuzz-profile-PID/
//! profile.toml`, next to a `base.toml` that a relative `extends` can name.
//!
//! An input whose `extends` names a file other than those two is skipped:
//! following it would read whatever this machine has at that path (a FIFO
//! blocks, `/dev/zero` never ends), which is the operator's own choice in a
//! real profile, not input an attacker controls.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;
use vanguard::inspect::Inspector;
use vanguard::policy::{self, Overrides};
use vanguard::sandbox::from_policy::egress_config;

const BASE: &str = r#"
name = "fuzz-base"
mode = "enforce"

[zones]
read = ["${workspace}"]
write = ["${workspace}/out"]

[network]
mode = "allowlist"
allow = ["api.example.com:443"]

[[rules]]
id = "FUZZ-001"
family = "fuzz"
description = "a rule of the base profile"
severity = "high"
action = "block"
target = "command"
patterns = ['\brm\s+-rf\b']
"#;

fn dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("vanguard-fuzz-profile-{}", std::process::id()));
        std::fs::create_dir_all(d.join("out")).expect("mkdir");
        std::fs::write(d.join("base.toml"), BASE).expect("write base.toml");
        d
    })
}

/// Whether the loader may follow this `extends` (see the module comment).
fn extends_is_safe(name: &str) -> bool {
    // The loader's own test for "a path": otherwise a built-in name (no I/O).
    let looks_like_path =
        name.contains('/') && !name.starts_with("servers/") || name.ends_with(".toml");
    if !looks_like_path {
        return true;
    }
    let p = Path::new(name);
    if p.is_absolute() || p.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return false;
    }
    let normal: PathBuf = p.components().filter(|c| matches!(c, Component::Normal(_))).collect();
    normal == Path::new("base.toml") || normal == Path::new("profile.toml")
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = text.parse::<toml::Table>() {
        match v.get("extends") {
            Some(toml::Value::String(s)) if !extends_is_safe(s) => return,
            _ => {}
        }
    }
    let path = dir().join("profile.toml");
    std::fs::write(&path, text).expect("write profile");
    let spec = path.to_str().expect("UTF-8 temp path");
    let overrides = Overrides {
        workspace: Some(dir().clone()),
        ..Default::default()
    };
    let pol = match policy::load(spec, &overrides) {
        Ok(p) => p,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = policy::explain::explain(&pol);
    let _ = egress_config(&pol);
    match Inspector::new(&pol) {
        Ok(insp) => {
            let params = serde_json::json!({
                "name": "run_command",
                "arguments": {"command": "rm -rf /tmp/x", "path": "/etc/passwd", "url": "http://169.254.169.254/"}
            });
            let _ = insp.inspect_request("tools/call", Some(&params), None);
        }
        Err(e) => {
            // The loader checks rule syntax; only the regex engine's size
            // limits are left for the compiler to refuse.
            let msg = e.to_string();
            assert!(
                msg.contains("exceeds size limit"),
                "a profile that loaded does not compile: {msg}"
            );
        }
    }
});
