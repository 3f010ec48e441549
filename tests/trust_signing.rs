//! Keys, detached signatures and rule packs, through the real binary, and
//! interoperability with the original product (McpVanguard): documents
//! signed its way — Python's `cryptography`, canonical JSON from
//! `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` —
//! verify here, and what vanguard signs verifies in Python.

mod common;

use common::{test_env, vanguard_bin};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXIT_CONFIG: i32 = 2;
const EXIT_UNTRUSTED: i32 = 6;

fn vanguard(args: &[&str], cwd: &Path) -> Output {
    Command::new(vanguard_bin())
        .args(args)
        .current_dir(cwd)
        .env("XDG_DATA_HOME", cwd.join("xdg-data"))
        .env("XDG_STATE_HOME", cwd.join("xdg-state"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "failed: {}", text(&o));
    text(&o)
}

/// A Python with `cryptography`: the test environment's, else the system's.
fn python() -> String {
    let candidates = test_env("VANGUARD_TEST_PYTHON")
        .into_iter()
        .chain(["python3".to_string()]);
    for py in candidates {
        let has = Command::new(&py)
            .args(["-c", "import cryptography"])
            .output()
            .is_ok_and(|o| o.status.success());
        if has {
            return py;
        }
    }
    panic!("no Python with `cryptography`: run scripts/setup-test-env.sh (it installs it into .test-env/venv)");
}

fn run_python(script: &str, cwd: &Path) -> String {
    let o = Command::new(python())
        .args(["-c", script])
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(o.status.success(), "python failed: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Signing the original's way: a key from `Ed25519PrivateKey.generate()`
/// written as PKCS#8 PEM, the signer document, and `sign(canonical)`.
const PY_ORIGINAL: &str = r##"
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

key = Ed25519PrivateKey.generate()
open("py.pem", "wb").write(key.private_bytes(
    encoding=serialization.Encoding.PEM,
    format=serialization.PrivateFormat.PKCS8,
    encryption_algorithm=serialization.NoEncryption()))
pub = key.public_key().public_bytes(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)
signer = {"version": 1, "algorithm": "ed25519", "key_id": "py-rules-1", "public_key": base64.b64encode(pub).decode("ascii")}
open("py.signer.json", "w").write(json.dumps(signer, indent=2) + "\n")

def sign(payload):
    return {"version": 1, "algorithm": "ed25519", "key_id": "py-rules-1",
            "manifest_sha256": hashlib.sha256(payload).hexdigest(),
            "signature": base64.b64encode(key.sign(payload)).decode("ascii")}

# A rule pack as the original's build_rules_manifest + sign_manifest make it.
import os
os.makedirs("pypack", exist_ok=True)
files = {"commands.toml": "# r\u00e8gles \u2014 \U0001F600\n", "network.toml": "# net\n"}
rules = {}
for name, body in files.items():
    open(os.path.join("pypack", name), "w", encoding="utf-8").write(body)
    rules[name] = {"sha256": hashlib.sha256(body.encode("utf-8")).hexdigest()}
manifest = {"version": 1, "rules": rules}
open("pypack/manifest.json", "w").write(json.dumps(manifest, indent=2) + "\n")
open("pypack/manifest.sig.json", "w").write(json.dumps(sign(canonical({"version": 1, "rules": rules})), indent=2) + "\n")

# A server manifest with fields outside the signed view, written with
# escapes, non-ASCII, floats and big integers that canonicalisation must
# reproduce exactly.
server = {"version": 1, "created_at": "not signed",
          "command": {"argv": ["npx", "-y", "caf\u00e9"], "quote": "a\"b\\c\nd\u0001\u007f"},
          "executable": {"sha256": "00" * 32, "size": 12345678901234567890123},
          "runtime": {"python": 3.12, "tiny": 1.5e-07, "huge": 1e+16, "whole": 100.0},
          "trust": {}}
open("server.json", "w").write(json.dumps(server, indent=1, ensure_ascii=True) + "\n")
view = {k: server[k] for k in ("command", "executable", "runtime", "trust")}
view["version"] = 1
view["trust"] = view["trust"] or {}
open("server.sig.json", "w").write(json.dumps(sign(canonical(view)), indent=2) + "\n")

# A generic document signed whole.
doc = {"z": [1, 2.5, None, True], "\u00e9t\u00e9": {"b": "\u2028", "a": -0.0}}
open("doc.json", "w", encoding="utf-8").write(json.dumps(doc, ensure_ascii=False))
open("doc.sig.json", "w").write(json.dumps(sign(canonical(doc)), indent=2) + "\n")
"##;

#[test]
fn keygen_writes_the_private_key_0600_and_never_overwrites_without_force() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(vanguard(
        &["keygen", "--out", "keys", "--key-id", "ops-1"],
        d.path(),
    ));
    assert!(out.contains("ops-1"), "{out}");
    let pem = d.path().join("keys/ops-1.pem");
    let mode = std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "private key mode {mode:o}");
    let pem_text = std::fs::read_to_string(&pem).unwrap();
    assert!(
        pem_text.starts_with("-----BEGIN PRIVATE KEY-----"),
        "{pem_text}"
    );
    let signer: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join("keys/ops-1.signer.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(signer["version"], 1);
    assert_eq!(signer["algorithm"], "ed25519");
    assert_eq!(signer["key_id"], "ops-1");
    assert_eq!(signer["public_key"].as_str().unwrap().len(), 44);

    let again = vanguard(&["keygen", "--out", "keys", "--key-id", "ops-1"], d.path());
    assert_eq!(again.status.code(), Some(EXIT_CONFIG), "{}", text(&again));
    assert!(text(&again).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&pem).unwrap(),
        pem_text,
        "key overwritten"
    );

    ok(vanguard(
        &["keygen", "--out", "keys", "--key-id", "ops-1", "--force"],
        d.path(),
    ));
    assert_ne!(
        std::fs::read_to_string(&pem).unwrap(),
        pem_text,
        "--force did not replace"
    );
    assert_eq!(
        std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Without --key-id: 16 hex digits of the public key's SHA-256.
    let out = ok(vanguard(&["keygen", "--out", "k2"], d.path()));
    let id = out
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 16, "{out}");
    assert!(d.path().join(format!("k2/{id}.pem")).is_file());
}

#[test]
fn documents_signed_the_original_way_verify_and_tampering_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    run_python(PY_ORIGINAL, p);
    let signer = ["--signer", "py.signer.json"];

    let rules = [&["rules", "verify", "pypack"][..], &signer].concat();
    let out = ok(vanguard(&rules, p));
    assert!(out.contains("signed by py-rules-1"), "{out}");
    let generic = [
        &[
            "trust",
            "verify",
            "--purpose",
            "rules",
            "--doc",
            "pypack/manifest.json",
        ][..],
        &signer,
    ]
    .concat();
    ok(vanguard(&generic, p));

    // The signer is trusted for rules, given on the command line for manifests too.
    let server = [
        &[
            "trust",
            "verify",
            "--purpose",
            "manifest",
            "--doc",
            "server.json",
        ][..],
        &signer,
    ]
    .concat();
    let out = ok(vanguard(&server, p));
    assert!(out.contains("py-rules-1"), "{out}");
    let whole = [
        &[
            "trust",
            "verify",
            "--purpose",
            "provenance",
            "--doc",
            "doc.json",
            "--view",
            "json",
        ][..],
        &signer,
    ]
    .concat();
    ok(vanguard(&whole, p));

    // One changed rule file: refused, naming it.
    std::fs::write(p.join("pypack/network.toml"), "# net, changed\n").unwrap();
    let o = vanguard(&rules, p);
    assert_eq!(o.status.code(), Some(EXIT_UNTRUSTED), "{}", text(&o));
    assert!(
        text(&o).contains("changed file network.toml"),
        "{}",
        text(&o)
    );

    // A signed field changed: the digest no longer matches.
    let s = std::fs::read_to_string(p.join("server.json")).unwrap();
    std::fs::write(
        p.join("server.json"),
        s.replace("12345678901234567890123", "12345678901234567890124"),
    )
    .unwrap();
    let o = vanguard(&server, p);
    assert_eq!(o.status.code(), Some(EXIT_UNTRUSTED), "{}", text(&o));
    assert!(text(&o).contains("manifest_sha256"), "{}", text(&o));

    // Another key under the same key id: the signature fails.
    ok(vanguard(
        &["keygen", "--out", "other", "--key-id", "py-rules-1"],
        p,
    ));
    let o = vanguard(
        &[
            "trust",
            "verify",
            "--purpose",
            "provenance",
            "--doc",
            "doc.json",
            "--view",
            "json",
            "--signer",
            "other/py-rules-1.signer.json",
        ],
        p,
    );
    assert_eq!(o.status.code(), Some(EXIT_UNTRUSTED), "{}", text(&o));
    assert!(
        text(&o).contains("signature does not verify"),
        "{}",
        text(&o)
    );
}

#[test]
fn vanguard_signatures_verify_in_python_and_python_keys_sign_here() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(vanguard(
        &["keygen", "--out", "keys", "--key-id", "vg-1"],
        p,
    ));
    std::fs::create_dir(p.join("pack")).unwrap();
    std::fs::write(p.join("pack/a.toml"), "# \u{e9}\n").unwrap();
    ok(vanguard(&["rules", "pack", "pack"], p));
    ok(vanguard(
        &["rules", "sign", "--key", "keys/vg-1.pem", "pack"],
        p,
    ));
    std::fs::write(
        p.join("doc.json"),
        "{\"\u{e9}\": [1e16, 0.00001, \"\\u0001\\u2028\"], \"a\": {\"n\": 123456789012345678901234567890}}",
    )
    .unwrap();
    ok(vanguard(
        &["trust", "sign", "--key", "keys/vg-1.pem", "doc.json"],
        p,
    ));

    let verified = run_python(
        r#"
import base64, hashlib, json
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

signer = json.load(open("keys/vg-1.signer.json"))
pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(signer["public_key"], validate=True))
# The original reads our private key too.
key = serialization.load_pem_private_key(open("keys/vg-1.pem", "rb").read(), password=None)
assert key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == base64.b64decode(signer["public_key"])

def check(payload, sig_path):
    sig = json.load(open(sig_path))
    assert sig["key_id"] == "vg-1" and sig["algorithm"] == "ed25519" and sig["version"] == 1
    assert sig["manifest_sha256"] == hashlib.sha256(payload).hexdigest()
    pub.verify(base64.b64decode(sig["signature"], validate=True), payload)

m = json.load(open("pack/manifest.json"))
for name, e in m["rules"].items():
    assert e["sha256"] == hashlib.sha256(open("pack/" + name, "rb").read()).hexdigest()
check(canonical({"version": int(m.get("version", 1)), "rules": m["rules"]}), "pack/manifest.sig.json")
check(canonical(json.load(open("doc.json", encoding="utf-8"))), "doc.sig.json")
print("ok")
"#,
        p,
    );
    assert_eq!(verified.trim(), "ok");

    // A key the original wrote (PKCS#8 v1) signs here, and verifies here.
    run_python(PY_ORIGINAL, p);
    ok(vanguard(
        &[
            "trust",
            "sign",
            "--key",
            "py.pem",
            "--key-id",
            "py-rules-1",
            "--out",
            "doc2.sig.json",
            "doc.json",
        ],
        p,
    ));
    ok(vanguard(
        &[
            "trust",
            "verify",
            "--purpose",
            "provenance",
            "--view",
            "json",
            "--doc",
            "doc.json",
            "--sig",
            "doc2.sig.json",
            "--signer",
            "py.signer.json",
        ],
        p,
    ));
}

fn make_pack(p: &Path, dir: &str, marker: &str) -> PathBuf {
    let d = p.join(dir);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("pack.toml"),
        format!(
            "[[rules]]\nid = \"PACK-001\"\nfamily = \"pack\"\ndescription = \"{marker}\"\n\
             severity = \"high\"\naction = \"block\"\ntarget = \"text\"\npatterns = [\"{marker}\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(d.join("notes.txt"), format!("{marker}\n")).unwrap();
    ok(vanguard(&["rules", "pack", dir], p));
    ok(vanguard(
        &["rules", "sign", "--key", "keys/ops.pem", dir],
        p,
    ));
    d
}

fn installed_marker(p: &Path) -> String {
    std::fs::read_to_string(p.join("state/current/notes.txt")).unwrap()
}

#[test]
fn an_update_with_one_changed_file_is_refused_and_rollback_restores() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(vanguard(&["keygen", "--out", "keys", "--key-id", "ops"], p));
    std::fs::write(
        p.join("signed.toml"),
        "extends = \"balanced\"\n[trust]\nrules = \"signed\"\nrule_packs = [\"state/current\"]\n\
         [[trust.signers.rules]]\nfile = \"keys/ops.signer.json\"\nnot_after = \"2099-12-31\"\n",
    )
    .unwrap();
    let update = |from: &str| {
        vanguard(
            &[
                "update",
                "--from",
                from,
                "--rules-dir",
                "state",
                "--profile",
                "signed.toml",
            ],
            p,
        )
    };

    make_pack(p, "v1", "marker-one");
    ok(update("v1"));
    assert_eq!(installed_marker(p), "marker-one\n");
    let explain = ok(vanguard(
        &["policy", "explain", "--profile", "signed.toml"],
        p,
    ));
    assert!(
        explain.contains("marker-one"),
        "pack rule not loaded:\n{explain}"
    );

    // v2 is signed, then one file changes: refused, v1 stays installed.
    let v2 = make_pack(p, "v2", "marker-two");
    std::fs::write(v2.join("notes.txt"), "marker-evil\n").unwrap();
    let o = update("v2");
    assert_eq!(o.status.code(), Some(EXIT_UNTRUSTED), "{}", text(&o));
    assert!(text(&o).contains("changed file notes.txt"), "{}", text(&o));
    assert_eq!(installed_marker(p), "marker-one\n");
    assert!(
        !p.join("state/previous").exists(),
        "a refused update touched the state"
    );

    // An extra file is refused too, by name.
    std::fs::write(v2.join("notes.txt"), "marker-two\n").unwrap();
    std::fs::write(v2.join("smuggled.toml"), "").unwrap();
    let o = update("v2");
    assert_eq!(o.status.code(), Some(EXIT_UNTRUSTED), "{}", text(&o));
    assert!(
        text(&o).contains("extra file smuggled.toml"),
        "{}",
        text(&o)
    );
    std::fs::remove_file(v2.join("smuggled.toml")).unwrap();

    ok(update("v2/manifest.json"));
    assert_eq!(installed_marker(p), "marker-two\n");
    ok(vanguard(
        &["update", "--rollback", "--rules-dir", "state"],
        p,
    ));
    assert_eq!(installed_marker(p), "marker-one\n");
    let explain = ok(vanguard(
        &["policy", "explain", "--profile", "signed.toml"],
        p,
    ));
    assert!(
        explain.contains("marker-one") && !explain.contains("marker-two"),
        "{explain}"
    );

    // The installed pack changed on disk: a profile requiring signed rules
    // does not start.
    std::fs::write(p.join("state/current/pack.toml"), "").unwrap();
    let o = vanguard(
        &["start", "--profile", "signed.toml", "--server", "true"],
        p,
    );
    assert_eq!(o.status.code(), Some(EXIT_CONFIG), "{}", text(&o));
    assert!(text(&o).contains("changed file pack.toml"), "{}", text(&o));
}

#[test]
fn unsigned_packs_and_expired_signers_are_refused_at_start_up() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(vanguard(&["keygen", "--out", "keys", "--key-id", "ops"], p));
    make_pack(p, "pack", "marker-one");
    let profile = |not_after: &str| {
        std::fs::write(
            p.join("p.toml"),
            format!(
                "extends = \"balanced\"\n[trust]\nrules = \"signed\"\nrule_packs = [\"pack\"]\n\
                 [[trust.signers.rules]]\nfile = \"keys/ops.signer.json\"\nnot_after = \"{not_after}\"\n"
            ),
        )
        .unwrap();
    };
    profile("2099-12-31");
    ok(vanguard(&["policy", "check", "p.toml"], p));

    profile("2020-01-01");
    let o = vanguard(&["policy", "check", "p.toml"], p);
    assert_eq!(o.status.code(), Some(EXIT_CONFIG), "{}", text(&o));
    assert!(
        text(&o).contains("\"ops\" for rules has expired (not_after = 2020-01-01)"),
        "{}",
        text(&o)
    );
    let o = vanguard(
        &[
            "trust",
            "verify",
            "--purpose",
            "rules",
            "--doc",
            "pack/manifest.json",
            "--profile",
            "p.toml",
        ],
        p,
    );
    assert_eq!(o.status.code(), Some(EXIT_UNTRUSTED), "{}", text(&o));
    assert!(text(&o).contains("expired"), "{}", text(&o));

    profile("2099-12-31");
    std::fs::remove_file(p.join("pack/manifest.sig.json")).unwrap();
    let o = vanguard(&["start", "--profile", "p.toml", "--server", "true"], p);
    assert_eq!(o.status.code(), Some(EXIT_CONFIG), "{}", text(&o));
    assert!(
        text(&o).contains("missing file manifest.sig.json"),
        "{}",
        text(&o)
    );

    // Not a key trusted for rules: a manifest signer cannot sign rule packs.
    ok(vanguard(
        &["rules", "sign", "--key", "keys/ops.pem", "pack"],
        p,
    ));
    std::fs::write(
        p.join("p.toml"),
        "extends = \"balanced\"\n[trust]\nrules = \"signed\"\nrule_packs = [\"pack\"]\n\
         [[trust.signers.rules]]\nkey_id = \"someone-else\"\npublic_key = \"5Lf/xap8NEJGzlQO/CHkWZfRcZZw/HISad0Ct54lA9Y=\"\n\
         [[trust.signers.manifest]]\nfile = \"keys/ops.signer.json\"\n",
    )
    .unwrap();
    let o = vanguard(&["policy", "check", "p.toml"], p);
    assert_eq!(o.status.code(), Some(EXIT_CONFIG), "{}", text(&o));
    assert!(
        text(&o).contains("signer \"ops\" is not trusted for rules"),
        "{}",
        text(&o)
    );
}

/// Random documents, written by Python in assorted styles (ASCII escapes or
/// raw UTF-8, indented or compact): the digest vanguard signs is the SHA-256
/// of Python's canonical bytes for every one. Floats are drawn from random
/// bit patterns, so the shortest-repr rules are exercised far from the
/// hand-picked cases of the unit tests.
#[test]
fn canonical_json_matches_python_on_random_documents() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(vanguard(
        &["keygen", "--out", "keys", "--key-id", "fuzz"],
        p,
    ));
    let listing = run_python(
        r##"
import hashlib, json, math, random, struct
rng = random.Random(20261204)
chars = ["a", "Z", "\"", "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "\u00e9", "\u2028", "\ufeff", "\U0001F600", "/", " "]
def rstr():
    return "".join(rng.choice(chars) for _ in range(rng.randint(0, 6)))
def rfloat():
    while True:
        f = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if math.isfinite(f):
            return f
def rval(depth):
    k = rng.randint(0, 8 if depth < 3 else 5)
    if k == 0: return None
    if k == 1: return rng.random() < 0.5
    if k == 2: return rng.randint(-10**30, 10**30)
    if k == 3: return rfloat()
    if k == 4: return rng.choice([0.1, 1e16, 1e-5, 123.0, -0.0, 1e22, 5e-324, rng.uniform(-1e6, 1e6)])
    if k == 5: return rstr()
    if k == 6: return [rval(depth + 1) for _ in range(rng.randint(0, 4))]
    return {rstr(): rval(depth + 1) for _ in range(rng.randint(0, 4))}
for i in range(40):
    doc = {rstr() + str(j): rval(0) for j in range(12)}
    text = json.dumps(doc, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1, 2]))
    open(f"doc{i}.json", "w", encoding="utf-8").write(text)
    canon = json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    print(f"doc{i}.json", hashlib.sha256(canon).hexdigest())
"##,
        p,
    );
    let mut checked = 0;
    for line in listing.lines() {
        let (doc, want) = line.split_once(' ').unwrap();
        ok(vanguard(
            &[
                "trust",
                "sign",
                "--key",
                "keys/fuzz.pem",
                "--view",
                "json",
                doc,
            ],
            p,
        ));
        let sig: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(p.join(doc.replace(".json", ".sig.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            sig["manifest_sha256"].as_str(),
            Some(want),
            "{doc} canonicalises differently:\n{}",
            std::fs::read_to_string(p.join(doc)).unwrap()
        );
        checked += 1;
    }
    assert_eq!(checked, 40);
}

#[test]
fn the_installed_pack_is_found_under_xdg_data_home_and_profile_paths_are_relative_to_the_profile() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(vanguard(
        &["keygen", "--out", "conf/keys", "--key-id", "ops"],
        p,
    ));
    // make_pack signs with keys/ops.pem; keep a copy there.
    std::fs::create_dir(p.join("keys")).unwrap();
    for f in ["ops.pem", "ops.signer.json"] {
        std::fs::copy(p.join("conf/keys").join(f), p.join("keys").join(f)).unwrap();
    }
    make_pack(p, "incoming", "marker-installed");
    std::fs::write(
        p.join("conf/p.toml"),
        "extends = \"balanced\"\n[trust]\nrules = \"signed\"\nrule_packs = [\"installed\"]\n\
         [[trust.signers.rules]]\nfile = \"keys/ops.signer.json\"\n",
    )
    .unwrap();
    // No --rules-dir: $XDG_DATA_HOME/vanguard/rules.
    ok(vanguard(
        &["update", "--from", "incoming", "--profile", "conf/p.toml"],
        p,
    ));
    assert!(p
        .join("xdg-data/vanguard/rules/current/pack.toml")
        .is_file());
    let explain = ok(vanguard(
        &["policy", "explain", "--profile", "conf/p.toml"],
        p,
    ));
    assert!(explain.contains("marker-installed"), "{explain}");
    assert!(
        explain.contains(&format!(
            "rules signer: ops ({}",
            p.join("conf/keys/ops.signer.json").display()
        )),
        "signer not read relative to the profile:\n{explain}"
    );
}

/// Serves the files under `root` over HTTP/1.1 on loopback (GET only, one
/// request per connection), for as long as the test runs.
fn serve_dir(root: PathBuf) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request = String::new();
            reader.read_line(&mut request).unwrap_or(0);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            let path = request
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_string();
            let mut stream = reader.into_inner();
            let resp = match std::fs::read(root.join(&path)) {
                Ok(body) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend(body);
                    r
                }
                Err(_) => {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                }
            };
            let _ = stream.write_all(&resp);
        }
    });
    port
}

#[test]
fn update_from_a_url_verifies_the_download_and_refuses_unsafe_names() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(vanguard(&["keygen", "--out", "keys", "--key-id", "ops"], p));
    make_pack(p, "site/v1", "marker-one");
    let v2 = make_pack(p, "site/v2", "marker-two");
    std::fs::write(v2.join("notes.txt"), "marker-evil\n").unwrap();
    // A manifest naming a file outside the pack, correctly signed.
    let evil = p.join("site/evil");
    std::fs::create_dir_all(&evil).unwrap();
    std::fs::write(
        evil.join("manifest.json"),
        "{\"version\":1,\"rules\":{\"../../escape.toml\":{\"sha256\":\"00\"}}}",
    )
    .unwrap();
    ok(vanguard(
        &[
            "trust",
            "sign",
            "--key",
            "keys/ops.pem",
            "--purpose",
            "rules",
            "site/evil/manifest.json",
        ],
        p,
    ));
    let port = serve_dir(p.join("site"));
    let update = |what: &str| {
        Command::new(vanguard_bin())
            .args([
                "update",
                "--from",
                &format!("http://127.0.0.1:{port}/{what}"),
                "--rules-dir",
                "state",
                "--signer",
                "keys/ops.signer.json",
            ])
            .current_dir(p)
            .env("NO_PROXY", "127.0.0.1")
            .env("no_proxy", "127.0.0.1")
            .output()
            .unwrap()
    };

    ok(update("v1/"));
    assert_eq!(installed_marker(p), "marker-one\n");

    let o = update("v2/manifest.json");
    assert_eq!(o.status.code(), Some(EXIT_UNTRUSTED), "{}", text(&o));
    assert!(text(&o).contains("changed file notes.txt"), "{}", text(&o));
    assert_eq!(installed_marker(p), "marker-one\n");

    let o = update("evil");
    assert_eq!(o.status.code(), Some(EXIT_UNTRUSTED), "{}", text(&o));
    assert!(
        text(&o).contains("not a plain relative path"),
        "{}",
        text(&o)
    );
    assert!(!p.join("escape.toml").exists() && !p.join("state/escape.toml").exists());

    let o = update("missing/");
    assert_eq!(o.status.code(), Some(EXIT_UNTRUSTED), "{}", text(&o));
    assert!(text(&o).contains("HTTP 404"), "{}", text(&o));
    assert_eq!(installed_marker(p), "marker-one\n");
    let leftovers: Vec<_> = std::fs::read_dir(p.join("state"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".download-") || n.starts_with(".staging-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
