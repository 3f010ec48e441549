//! Server manifests through the real binary: `vanguard manifest create`
//! records what runs, `manifest verify` and `start --manifest` compare —
//! a changed script or a wider sandbox refuses the start (block) and names
//! what differs, warn mode starts and says so, a broken manifest is a
//! configuration error.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Setup {
    dir: tempfile::TempDir,
    script: PathBuf,
    manifest: PathBuf,
    /// Trusts the key that signed the manifest.
    profile: PathBuf,
}

impl Setup {
    /// A copy of the obey fixture in its own directory, and its manifest.
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("server.py");
        std::fs::copy(fixture("obey_server.py"), &script).expect("copy fixture");
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(&ws).expect("workspace");
        let s = Setup {
            manifest: dir.path().join("manifest.json"),
            profile: dir.path().join("signed.toml"),
            script,
            dir,
        };
        let out = s.vanguard(&["manifest", "create", "--out", s.path(&s.manifest)], &[]);
        assert!(out.status.success(), "create: {}", stderr(&out));
        sign_for(s.dir.path(), &[&s.manifest], "manifest");
        s
    }

    fn path<'a>(&self, p: &'a Path) -> &'a str {
        p.to_str().expect("utf-8")
    }

    fn server(&self) -> String {
        sh_join(&[
            require_env("VANGUARD_TEST_PYTHON"),
            self.script.display().to_string(),
        ])
    }

    /// `vanguard HEAD…` with the server, workspace and pin options.
    fn command(&self, head: &[&str]) -> Command {
        let mut c = Command::new(vanguard_bin());
        c.args(head)
            .args([
                "--server",
                &self.server(),
                "--audit-log",
                "off",
                "--workspace",
            ])
            .arg(self.dir.path().join("ws"))
            .arg("--pins")
            .arg(self.dir.path().join("pins.json"));
        c
    }

    /// vanguard with the server and workspace options, then `extra`.
    fn vanguard(&self, head: &[&str], extra: &[&str]) -> Output {
        self.command(head)
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .expect("vanguard")
    }

    /// `vanguard start --manifest …` with an initialize on stdin.
    fn start(&self, extra: &[&str]) -> Output {
        let mut child = self
            .command(&["start"])
            .arg("--manifest")
            .arg(&self.manifest)
            .arg("--profile")
            .arg(&self.profile)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "t", "version": "0"}}});
            let _ = writeln!(stdin, "{init}");
        }
        child.wait_with_output().expect("output")
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn answered_initialize(o: &Output) -> bool {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .any(|m| m["id"] == 1 && m["result"]["serverInfo"].is_object())
}

#[test]
fn the_manifest_records_what_runs_and_verifies_unchanged() {
    let s = Setup::new();
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.manifest).expect("read")).expect("json");
    assert_eq!(doc["kind"], "vanguard-server-manifest", "{doc:#}");
    assert_eq!(
        doc["entry"]["path"],
        s.script.display().to_string(),
        "{doc:#}"
    );
    assert_eq!(
        doc["entry"]["sha256"].as_str().map(str::len),
        Some(64),
        "{doc:#}"
    );
    assert_eq!(
        doc["executable"]["sha256"].as_str().map(str::len),
        Some(64),
        "{doc:#}"
    );
    assert_eq!(doc["sandbox"]["plan"]["net"], "none", "{doc:#}");
    assert_eq!(doc["trust"]["approval"], "not-a-package", "{doc:#}");
    let out = s.vanguard(&["manifest", "verify", s.path(&s.manifest)], &[]);
    assert!(out.status.success(), "verify: {}", stderr(&out));
    let out = s.start(&[]);
    assert!(answered_initialize(&out), "{}", stderr(&out));
}

#[test]
fn a_changed_script_refuses_the_start_and_says_so() {
    let s = Setup::new();
    let mut text = std::fs::read_to_string(&s.script).expect("read");
    text.push_str("\n# a line a compromised update added\n");
    std::fs::write(&s.script, text).expect("write");
    let out = s.start(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("does not match its manifest"), "{err}");
    assert!(err.contains("entry script"), "{err}");
    assert!(!answered_initialize(&out), "the server was started");
    let out = s.vanguard(&["manifest", "verify", s.path(&s.manifest)], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("entry script"), "{}", stderr(&out));
}

#[test]
fn a_wider_sandbox_is_named_field_by_field_and_warn_mode_starts() {
    let s = Setup::new();
    let extra = s.dir.path().join("extra");
    std::fs::create_dir_all(&extra).expect("mkdir");
    let e = extra.to_str().expect("utf-8");
    let out = s.start(&["--write", e]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("sandbox plan `write`: added") && err.contains(e),
        "{err}"
    );
    // warn: the same difference is reported and the server runs.
    let out = s.start(&["--write", e, "--manifest-mode", "warn"]);
    assert!(answered_initialize(&out), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("sandbox plan `write`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_broken_manifest_is_a_configuration_error() {
    let s = Setup::new();
    for (text, expect) in [
        ("[]", "kind"),
        (
            r#"{"kind": "vanguard-server-manifest", "version": 3}"#,
            "version 3",
        ),
        ("{", "not JSON"),
    ] {
        std::fs::write(&s.manifest, text).expect("write");
        let out = s.start(&[]);
        assert_eq!(out.status.code(), Some(2), "{text}: {}", stderr(&out));
        assert!(stderr(&out).contains(expect), "{text}: {}", stderr(&out));
        assert!(!answered_initialize(&out));
    }
}

#[test]
fn an_unsigned_or_resigned_by_a_stranger_manifest_is_refused() {
    let s = Setup::new();
    // The signature removed.
    let sig = s.dir.path().join("manifest.sig.json");
    let kept = std::fs::read(&sig).expect("sig");
    std::fs::remove_file(&sig).expect("rm");
    let out = s.start(&[]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("manifest.sig.json"),
        "{}",
        stderr(&out)
    );
    assert!(!answered_initialize(&out));
    // Signed by another key the profile does not trust.
    let other = tempfile::tempdir().expect("tempdir");
    let out = Command::new(vanguard_bin())
        .args(["keygen", "--key-id", "stranger", "--out"])
        .arg(other.path())
        .output()
        .expect("keygen");
    assert!(out.status.success());
    let out = Command::new(vanguard_bin())
        .args(["trust", "sign", "--purpose", "manifest", "--key"])
        .arg(other.path().join("stranger.pem"))
        .arg(&s.manifest)
        .output()
        .expect("sign");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = s.start(&[]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("stranger"), "{}", stderr(&out));
    // The trusted signature back: it starts.
    std::fs::write(&sig, kept).expect("restore");
    assert!(answered_initialize(&s.start(&[])));
}
