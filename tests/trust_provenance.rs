//! Package provenance at resolution time, through the real launcher and npm:
//! `vanguard fetch` of `npx -y --registry=<stand-in> sigstore@1.0.0`. The
//! stand-in registry (tests/fixtures/npm_registry.py) serves the package's
//! real tarball, registry signature and attestations (the public registry
//! here answers 404 for attestations) and redirects every other request
//! to the public registry, so npm installs the dependencies as usual.
//!
//! Checked: a verified provenance is recorded in the pin with its source
//! repository and workflow; a `[trust.provenance]` entry naming the right
//! repository passes and one naming another repository is refused, naming
//! both, with nothing pinned and no tree left; attestations about another
//! package are refused; a start with a satisfied entry needs no network.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const REPO: &str = "https://github.com/sigstore/sigstore-js";

struct Registry {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start(extra: &[&str]) -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port_file = dir.path().join("port");
        let child = Command::new(require_env("VANGUARD_TEST_PYTHON"))
            .arg(fixture("npm_registry.py"))
            .arg("--port-file")
            .arg(&port_file)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the stand-in registry");
        assert!(
            wait_until(Duration::from_secs(10), || port_file.exists()),
            "the stand-in registry did not start"
        );
        let port = std::fs::read_to_string(&port_file).expect("port");
        Registry {
            child,
            url: format!("http://127.0.0.1:{}/", port.trim()),
            _dir: dir,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn pins(&self) -> PathBuf {
        self.dir.path().join("pins.json")
    }
    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }
    fn profile(&self, provenance: &str) -> PathBuf {
        let p = self.dir.path().join("profile.toml");
        std::fs::write(
            &p,
            format!(
                "extends = \"balanced\"\n[pinning]\nfile = \"{}\"\n{provenance}",
                self.pins().display()
            ),
        )
        .expect("profile");
        p
    }
    fn vanguard(&self, cmd: &str, server: &str, profile: &Path) -> Output {
        Command::new(vanguard_bin())
            .args([cmd, "--server", server, "--profile"])
            .arg(profile)
            .arg("--cache-dir")
            .arg(self.cache())
            .current_dir(self.dir.path())
            .output()
            .expect("vanguard")
    }
    fn pin(&self) -> Value {
        let text = std::fs::read_to_string(self.pins()).unwrap_or_else(|_| "{}".into());
        let v: Value = serde_json::from_str(&text).expect("pins json");
        v["packages"]["npm:sigstore"].clone()
    }
    fn trees(&self) -> Vec<String> {
        std::fs::read_dir(self.cache().join("npm"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with("sigstore@"))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn server(reg: &Registry) -> String {
    format!("npx -y --registry={} sigstore@1.0.0", reg.url)
}

#[test]
fn provenance_is_verified_at_resolution_and_recorded_in_the_pin() {
    let reg = Registry::start(&[]);
    let home = Home::new();
    let required = format!("[trust.provenance.\"sigstore\"]\nrepository = \"{REPO}\"\nworkflow = \".github/workflows/publish.yml\"\n");
    let profile = home.profile(&required);
    let out = home.vanguard("fetch", &server(&reg), &profile);
    assert!(out.status.success(), "{}", text(&out));
    let pin = home.pin();
    let p = &pin["pinned"]["provenance"];
    assert_eq!(p["status"], "verified", "{pin:#}");
    assert_eq!(p["repository"], REPO, "{pin:#}");
    assert!(
        p["workflow"]
            .as_str()
            .is_some_and(|w| w.starts_with(&format!("{REPO}/.github/workflows/publish.yml@"))),
        "{pin:#}"
    );
    assert_eq!(
        p["issuer"], "https://token.actions.githubusercontent.com",
        "{pin:#}"
    );
    assert!(p["log_index"].is_i64(), "{pin:#}");
    assert_eq!(
        p["registry_signature"],
        "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"
    );
    assert_eq!(p["required"]["repository"], REPO);
    assert!(
        text(&out).contains(&format!("built by {REPO}/.github/workflows/publish.yml")),
        "{}",
        text(&out)
    );

    // The registry gone, the same requirement: the record is enough.
    drop(reg);
    let offline = Registry {
        child: Command::new("true").spawn().expect("true"),
        url: "http://127.0.0.1:9/".into(),
        _dir: tempfile::tempdir().expect("tempdir"),
    };
    let again = home.vanguard("fetch", &server(&offline), &profile);
    assert!(again.status.success(), "{}", text(&again));
}

#[test]
fn a_requirement_naming_another_repository_is_refused_and_nothing_is_pinned() {
    let reg = Registry::start(&[]);
    let home = Home::new();
    let profile = home.profile(
        "[trust.provenance.\"sigstore\"]\nrepository = \"https://github.com/attacker/sigstore-js\"\n",
    );
    let out = home.vanguard("fetch", &server(&reg), &profile);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("refusing sigstore@1.0.0"), "{t}");
    assert!(t.contains("https://github.com/attacker/sigstore-js"), "{t}");
    assert!(t.contains(REPO), "names what the certificate says: {t}");
    assert!(home.pin().is_null(), "nothing pinned: {:#}", home.pin());
    assert!(home.trees().is_empty(), "no tree left: {:?}", home.trees());

    // A workflow other than the one that built it: refused too.
    let profile = home.profile(&format!(
        "[trust.provenance.\"sigstore\"]\nrepository = \"{REPO}\"\nworkflow = \".github/workflows/other.yml\"\n"
    ));
    let out = home.vanguard("fetch", &server(&reg), &profile);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("other.yml"), "{}", text(&out));
}

#[test]
fn attestations_or_a_signature_about_another_package_are_refused_even_without_a_requirement() {
    let reg = Registry::start(&["--swap-attestations"]);
    let home = Home::new();
    let profile = home.profile("");
    let out = home.vanguard("fetch", &server(&reg), &profile);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("attestations do not hold"), "{t}");
    assert!(home.pin().is_null(), "nothing pinned");
    assert!(home.trees().is_empty(), "no tree left: {:?}", home.trees());
    drop(reg);

    // A registry signature over another package's message: refused.
    let reg = Registry::start(&["--swap-signature"]);
    let out = home.vanguard("fetch", &server(&reg), &profile);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("registry signature does not hold"), "{t}");
    assert!(home.pin().is_null(), "nothing pinned");
}

#[test]
fn a_requirement_added_later_is_checked_against_the_pinned_version() {
    let reg = Registry::start(&[]);
    let home = Home::new();
    let out = home.vanguard("fetch", &server(&reg), &home.profile(""));
    assert!(out.status.success(), "{}", text(&out));
    // Without a requirement the check still ran and was recorded.
    assert_eq!(home.pin()["pinned"]["provenance"]["status"], "verified");
    assert!(home.pin()["pinned"]["provenance"]["required"].is_null());
    let wrong = home.profile(
        "[trust.provenance.\"sigstore\"]\nrepository = \"https://github.com/attacker/sigstore-js\"\n",
    );
    let out = home.vanguard("fetch", &server(&reg), &wrong);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let right = home.profile(&format!(
        "[trust.provenance.\"sigstore\"]\nrepository = \"{REPO}\"\n"
    ));
    let out = home.vanguard("fetch", &server(&reg), &right);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        home.pin()["pinned"]["provenance"]["required"]["repository"],
        REPO
    );
}
