//! `vanguard manifest`: what exactly runs when a server starts, as a
//! document a team can review, sign and check — the command, what the
//! launcher resolved it to (package, exact version, registry integrity, the
//! installed tree's hash), the SHA-256 of the executable and of the script
//! it runs, and the sandbox plan it runs under (the plan itself and its
//! digest), with trust fields (the pin store's approval, a trust level).
//!
//! `vanguard start --manifest FILE` builds the same document for the server
//! about to start and compares: in `block` mode any difference refuses the
//! start and names every field that differs; in `warn` mode each is logged.
//!
//! Hashing a 100 MB runtime takes a few hundred milliseconds; hashes are
//! cached by (device, inode, size, mtime, ctime) in
//! `$XDG_CACHE_HOME/vanguard/file-hashes.json`, so a start re-hashes only a
//! file that changed (its ctime moves on any write, and cannot be set back
//! without root).

use super::start::{pins_path, plan_for, resolve_server, GatewayArgs};
use super::{fail, EXIT_CONFIG, EXIT_INTERNAL, EXIT_OK, EXIT_SPAWN};
use crate::launch::{self, Resolved};
use crate::policy::Policy;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The document's `kind`.
pub const KIND: &str = "vanguard-server-manifest";
/// The document format this binary writes and reads.
pub const VERSION: u64 = 1;

#[derive(clap::Subcommand, Debug)]
#[command(defer = true)]
pub enum ManifestCmd {
    /// Resolve the server as `vanguard start` would and write its manifest.
    Create(CreateArgs),
    /// Compare a manifest with what the same command resolves to now.
    Verify(VerifyArgs),
}

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    /// Where to write the manifest.
    #[arg(long, short)]
    out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
    /// The trust level recorded in the manifest (free text, e.g.
    /// `reviewed`, `vendor`, `community`).
    #[arg(long, default_value = "unreviewed")]
    trust_level: String,
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The manifest to check.
    #[arg(value_name = "MANIFEST")]
    file: PathBuf,
    #[command(flatten)]
    gateway: GatewayArgs,
}

pub fn run(cmd: ManifestCmd) -> u8 {
    match cmd {
        ManifestCmd::Create(a) => create(a),
        ManifestCmd::Verify(a) => verify(a),
    }
}

fn create(a: CreateArgs) -> u8 {
    if a.out.exists() && !a.force {
        return fail(
            EXIT_CONFIG,
            format!("{} exists; pass --force to replace it", a.out.display()),
        );
    }
    let (policy, argv) = match a.gateway.load() {
        Ok(x) => x,
        Err(code) => return code,
    };
    let current = match current(&a.gateway, &policy, &argv, &a.trust_level) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut doc = current.document();
    if let Some(o) = doc.as_object_mut() {
        o.insert("created".into(), json!(crate::audit::rfc3339_now()));
    }
    let text = match serde_json::to_string_pretty(&doc) {
        Ok(t) => t + "\n",
        Err(e) => return fail(EXIT_INTERNAL, format!("cannot encode the manifest: {e}")),
    };
    if let Err(e) = crate::pins::write_durably(&a.out, text.as_bytes()) {
        return fail(
            EXIT_CONFIG,
            format!("cannot write {}: {e}", a.out.display()),
        );
    }
    let text_at = |p: &str| doc.pointer(p).and_then(Value::as_str);
    println!(
        "wrote {}: {} (sandbox plan {}); sign it with `vanguard trust sign --key KEY.pem --purpose manifest {}`",
        a.out.display(),
        text_at("/resolved/package/key")
            .map(|k| format!(
                "{k}@{}",
                text_at("/resolved/package/version").unwrap_or("?")
            ))
            .unwrap_or_else(|| argv.join(" ")),
        current.plan_sha256.get(..16).unwrap_or_default(),
        a.out.display()
    );
    EXIT_OK
}

fn verify(a: VerifyArgs) -> u8 {
    let expected = match load(&a.file) {
        Ok(d) => d,
        Err(e) => return fail(EXIT_CONFIG, e),
    };
    let (policy, argv) = match a.gateway.load() {
        Ok(x) => x,
        Err(code) => return code,
    };
    let current = match current(&a.gateway, &policy, &argv, "unreviewed") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let diffs = compare(&expected, &current.document());
    if diffs.is_empty() {
        println!("{}: the server matches its manifest", a.file.display());
        EXIT_OK
    } else {
        eprintln!(
            "vanguard: the server does not match the manifest {}:",
            a.file.display()
        );
        for d in &diffs {
            eprintln!("  - {d}");
        }
        EXIT_INTERNAL
    }
}

/// The manifest of what starts now, built from the resolved command and
/// its plan.
pub(crate) struct Current {
    doc: Value,
    plan_sha256: String,
}

impl Current {
    fn document(&self) -> Value {
        self.doc.clone()
    }
}

fn current(
    gw: &GatewayArgs,
    policy: &Policy,
    argv: &[String],
    trust_level: &str,
) -> Result<Current, u8> {
    let resolved = resolve_server(
        policy,
        argv,
        gw.policy.cache_dir.as_deref(),
        launch::Reach::Install,
        false,
    )?;
    let plan = plan_for(policy, &resolved).map_err(|e| fail(EXIT_SPAWN, e))?;
    build(policy, argv, &resolved, &plan, trust_level).map_err(|e| fail(EXIT_SPAWN, e))
}

/// The manifest of `resolved` under `plan`.
pub(crate) fn build(
    policy: &Policy,
    argv: &[String],
    resolved: &Resolved,
    plan: &crate::sandbox::Plan,
    trust_level: &str,
) -> Result<Current, String> {
    let summary = plan.summary();
    let plan_sha256 = hex(&Sha256::digest(
        serde_json::to_vec(&summary).unwrap_or_default(),
    ));
    let program = plan.program().to_path_buf();
    let exe_hash = file_sha256(&program)?;
    // The script an interpreter runs: the first argument that is a file.
    let entry = resolved
        .argv
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .find(|p| p.is_absolute() && p.is_file());
    let entry = match entry {
        Some(p) => json!({"path": p.display().to_string(), "sha256": file_sha256(&p)?}),
        None => Value::Null,
    };
    let store = crate::pins::PinStore::new(&pins_path(policy));
    let (package, approval) = match &resolved.package {
        Some(p) => {
            let pin = store.package(&p.key).map_err(|e| e.to_string())?;
            let approval = match &pin {
                Some(pin) if pin.pending.is_some() => "pending",
                Some(pin) if pin.pinned.version == p.version => "approved",
                _ => "unpinned",
            };
            let integrity = pin
                .as_ref()
                .map(|pin| pin.pinned.integrity.clone())
                .unwrap_or_default();
            (
                json!({"key": p.key, "version": p.version, "integrity": integrity,
                       "tree_sha256": p.tree_sha256}),
                approval,
            )
        }
        None => (Value::Null, "not-a-package"),
    };
    let runtime = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let doc = json!({
        "version": VERSION,
        "kind": KIND,
        "server": {"argv": argv},
        "resolved": {"argv": resolved.argv, "package": package},
        "executable": {"path": program.display().to_string(), "sha256": exe_hash},
        "entry": entry,
        "runtime": runtime,
        "sandbox": {"profile": policy.name, "plan": summary, "sha256": plan_sha256},
        "trust": {"approval": approval, "level": trust_level},
    });
    Ok(Current { doc, plan_sha256 })
}

/// Reads and checks a manifest document.
pub fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the manifest {}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the manifest {} is not JSON: {e}", path.display()))?;
    let problem = if doc.get("kind").and_then(Value::as_str) != Some(KIND) {
        Some(format!("`kind` is not {KIND:?}"))
    } else {
        match doc.get("version").and_then(Value::as_u64) {
            Some(VERSION) => None,
            Some(v) => Some(format!(
                "version {v}; this vanguard reads version {VERSION}"
            )),
            None => Some("`version` is missing".into()),
        }
    };
    match problem {
        Some(p) => Err(format!("the manifest {}: {p}", path.display())),
        None => Ok(doc),
    }
}

/// Every difference between a manifest and what starts now, in words.
/// `created` and the trust level are statements, not facts to compare.
pub fn compare(expected: &Value, now: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let fields: [(&str, &str); 11] = [
        ("/server/argv", "command"),
        ("/resolved/argv", "resolved command"),
        ("/resolved/package/key", "package"),
        ("/resolved/package/version", "package version"),
        ("/resolved/package/integrity", "registry integrity"),
        ("/resolved/package/tree_sha256", "installed tree hash"),
        ("/executable/path", "executable"),
        ("/executable/sha256", "executable SHA-256"),
        ("/entry", "entry script"),
        ("/runtime", "runtime"),
        ("/trust/approval", "pin approval"),
    ];
    for (pointer, what) in fields {
        let (e, n) = (expected.pointer(pointer), now.pointer(pointer));
        if e != n {
            out.push(format!("{what}: {} → {}", short(e), short(n)));
        }
    }
    if expected.pointer("/sandbox/sha256") != now.pointer("/sandbox/sha256") {
        let (e, n) = (
            expected.pointer("/sandbox/plan"),
            now.pointer("/sandbox/plan"),
        );
        let keys: std::collections::BTreeSet<&String> = [e, n]
            .iter()
            .filter_map(|v| v.and_then(Value::as_object))
            .flat_map(|o| o.keys())
            .collect();
        let mut named = false;
        for k in keys {
            let (a, b) = (e.and_then(|v| v.get(k)), n.and_then(|v| v.get(k)));
            if a != b {
                named = true;
                out.push(format!("sandbox plan `{k}`: {}", list_diff(a, b)));
            }
        }
        if !named {
            out.push("sandbox plan digest differs".into());
        }
    }
    out
}

fn short(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            let s = other.to_string();
            if s.len() > 120 {
                format!("{}…", s.get(..120).unwrap_or_default())
            } else {
                s
            }
        }
    }
}

/// For lists, what was added and removed; else both values.
fn list_diff(a: Option<&Value>, b: Option<&Value>) -> String {
    if let (Some(Value::Array(x)), Some(Value::Array(y))) = (a, b) {
        let added: Vec<String> = y
            .iter()
            .filter(|v| !x.contains(v))
            .map(|v| short(Some(v)))
            .collect();
        let removed: Vec<String> = x
            .iter()
            .filter(|v| !y.contains(v))
            .map(|v| short(Some(v)))
            .collect();
        let mut parts = Vec::new();
        if !added.is_empty() {
            parts.push(format!("added {}", added.join(", ")));
        }
        if !removed.is_empty() {
            parts.push(format!("removed {}", removed.join(", ")));
        }
        if !parts.is_empty() {
            return parts.join("; ");
        }
    }
    format!("{} → {}", short(a), short(b))
}

/// `--manifest FILE` at start: the differences, or why the check failed.
pub(crate) fn check_at_start(
    path: &Path,
    policy: &Policy,
    argv: &[String],
    resolved: &Resolved,
    plan: &crate::sandbox::Plan,
) -> Result<Vec<String>, String> {
    let expected = load(path)?;
    let now = build(policy, argv, resolved, plan, "unreviewed")?;
    Ok(compare(&expected, &now.document()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, from the hash cache when the file is unchanged.
pub(crate) fn file_sha256(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::MetadataExt;
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    let key = format!(
        "{}:{}:{}:{}.{}:{}.{}",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    );
    let cache_file = launch::Options::default_cache().join("file-hashes.json");
    let mut cache: BTreeMap<String, String> = std::fs::read(&cache_file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let cache_key = format!("{}|{key}", path.display());
    if let Some(h) = cache.get(&cache_key) {
        return Ok(h.clone());
    }
    let mut f =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let digest = hex(&h.finalize());
    // Entries for other states of this path are stale.
    let prefix = format!("{}|", path.display());
    cache.retain(|k, _| !k.starts_with(&prefix));
    cache.insert(cache_key, digest.clone());
    if let Ok(bytes) = serde_json::to_vec(&cache) {
        if let Some(dir) = cache_file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // A cache that cannot be written only costs time.
        let _ = crate::pins::write_durably(&cache_file, &bytes);
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({
            "version": 1, "kind": KIND,
            "server": {"argv": ["npx", "-y", "pkg"]},
            "resolved": {"argv": ["/usr/bin/node", "/c/pkg/index.js"],
                         "package": {"key": "npm:pkg", "version": "1.0.0", "integrity": ["sha512-x"], "tree_sha256": "aa"}},
            "executable": {"path": "/usr/bin/node", "sha256": "11"},
            "entry": {"path": "/c/pkg/index.js", "sha256": "22"},
            "runtime": "node",
            "sandbox": {"profile": "balanced", "plan": {"write": ["/w"], "net": "none"}, "sha256": "p1"},
            "trust": {"approval": "approved", "level": "reviewed"}
        })
    }

    #[test]
    fn an_identical_manifest_has_no_differences_whatever_its_statements() {
        let a = doc();
        let mut b = doc();
        b["trust"]["level"] = json!("unreviewed");
        b["created"] = json!("2026-12-04T00:00:00Z");
        assert!(compare(&a, &b).is_empty());
    }

    #[test]
    fn every_difference_is_named() {
        let a = doc();
        let mut b = doc();
        b["resolved"]["package"]["version"] = json!("1.0.1");
        b["executable"]["sha256"] = json!("12");
        b["sandbox"]["plan"]["write"] = json!(["/w", "/home/me"]);
        b["sandbox"]["sha256"] = json!("p2");
        let d = compare(&a, &b);
        assert!(
            d.contains(&"package version: 1.0.0 → 1.0.1".to_string()),
            "{d:?}"
        );
        assert!(
            d.iter()
                .any(|x| x.starts_with("executable SHA-256: 11 → 12")),
            "{d:?}"
        );
        assert!(
            d.contains(&"sandbox plan `write`: added /home/me".to_string()),
            "{d:?}"
        );
        assert_eq!(d.len(), 3, "{d:?}");
    }

    #[test]
    fn file_hashes_are_cached_by_inode_and_times() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("bin");
        std::fs::write(&f, b"abc").expect("write");
        let h = file_sha256(&f).expect("hash");
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        std::fs::write(&f, b"abd").expect("rewrite");
        assert_ne!(file_sha256(&f).expect("hash"), h, "a stale cached hash");
    }
}
