//! Provenance of an npm package at resolution time: the registry's
//! signature over `NAME@VERSION:INTEGRITY` and the package's attestations
//! (the SLSA provenance, a keyless Sigstore bundle from the build; the
//! registry's publish attestation, key-signed), verified offline against
//! the Sigstore trust root and npm registry keys shipped in the binary
//! (`sigstore`), then held to `[trust.provenance."NAME"]`. The result is
//! recorded in the package pin.
//!
//! Only the attestation document is fetched here (its URL comes from the
//! registry's `dist.attestations`, through `npm view`, so the user's
//! registry configuration applies); keys and roots are never taken from
//! the registry, which is what they vouch against.

use crate::pins::ProvenanceRecord;
use crate::sigstore::npm::{self, RegistryKeys, RegistrySignature};
use crate::sigstore::verify::{IdentityRule, Policy, Signer};
use crate::trust::store::ProvenanceReq;
use serde_json::Value;
use std::time::Duration;

/// npm's registry keys (`GET /-/npm/v1/keys`, as corepack ships them).
const NPM_KEYS: &str = include_str!("../sigstore/npm-keys.json");
/// The OIDC issuer of GitHub Actions, the default build identity issuer.
pub const GITHUB_ACTIONS: &str = "https://token.actions.githubusercontent.com";
/// Largest attestation document fetched.
const MAX_ATTESTATIONS: usize = 8 << 20;

/// Checks `dist` (the registry's `versions[VERSION].dist`) of
/// `name@version`. `installed` are the integrity values of what was
/// installed (must include the registry's). `fetch` reads a URL.
/// An error is a refusal, worded for the operator.
pub(crate) fn check(
    name: &str,
    version: &str,
    dist: &Value,
    installed: &[String],
    req: Option<&ProvenanceReq>,
    root: Option<&std::path::Path>,
    fetch: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<ProvenanceRecord, String> {
    let mut rec = record("absent", req, None);
    let integrity = dist
        .get("integrity")
        .and_then(Value::as_str)
        .ok_or("the registry gives no dist.integrity for it")?;
    if !installed.is_empty() && !installed.iter().any(|i| i == integrity) {
        return Err(format!(
            "the registry's integrity {integrity} is not what was installed ({})",
            installed.join(", ")
        ));
    }
    let keys = RegistryKeys::from_json(NPM_KEYS).map_err(|e| format!("npm registry keys: {e}"))?;
    let sha512 = npm::sri_sha512(integrity).map_err(|e| e.to_string())?;
    let url = dist
        .pointer("/attestations/url")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut attested_at = None;
    match url {
        None => {
            if let Some(r) = req {
                return Err(format!(
                    "it has no provenance attestation, and [trust.provenance] requires one from {}",
                    r.repository
                ));
            }
        }
        Some(url) => match fetch(&url) {
            Err(e) => {
                if let Some(r) = req {
                    return Err(format!(
                        "its provenance attestation could not be read from {url} ({e}), and [trust.provenance] requires one from {}",
                        r.repository
                    ));
                }
                rec.status = "unavailable".into();
                rec.detail = Some(format!("{url}: {e}"));
            }
            Ok(doc) => {
                let root = trusted_root(root)?;
                let policy = policy_for(req);
                let got = match npm::verify_attestations(
                    &doc, name, version, sha512, &keys, &root, &policy,
                ) {
                    Ok(g) => g,
                    Err(e) if req.is_none() && cannot_judge(&e) => {
                        rec.status = "unverifiable".into();
                        rec.detail = Some(format!("its attestations cannot be judged here: {e}"));
                        Vec::new()
                    }
                    Err(e) => return Err(format!("its attestations do not hold: {e}")),
                };
                for att in &got {
                    match &att.verified.signer {
                        Signer::Certificate { .. } => {
                            rec.status = "verified".into();
                            note_signer(&mut rec, &att.verified);
                        }
                        Signer::Key { .. } => {
                            attested_at =
                                Some(attested_at.map_or(att.verified.signed_at, |t: i64| {
                                    t.min(att.verified.signed_at)
                                }))
                        }
                    }
                }
                if rec.status != "verified" && rec.status != "unverifiable" {
                    if let Some(r) = req {
                        return Err(format!(
                            "its attestations hold no build provenance, and [trust.provenance] requires one from {}",
                            r.repository
                        ));
                    }
                    rec.status = "absent".into();
                }
            }
        },
    }
    let sigs: Vec<RegistrySignature> = dist
        .get("signatures")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default();
    if !sigs.is_empty() {
        match npm::verify_registry_signature(&keys, name, version, integrity, &sigs, attested_at) {
            Ok(keyid) => rec.registry_signature = Some(keyid),
            Err(e) if req.is_none() && cannot_judge(&e) => {
                let note = format!("registry signature not judged: {e}");
                rec.detail = Some(match rec.detail.take() {
                    Some(d) => format!("{d}; {note}"),
                    None => note,
                });
            }
            Err(e) => return Err(format!("its registry signature does not hold: {e}")),
        }
    }
    Ok(rec)
}

/// Errors that say vanguard cannot judge the evidence (a key or format it
/// does not know, a trust root older than the log), not that the evidence
/// is false. Without a `[trust.provenance]` entry they are recorded, not
/// refused: whoever could forge them could as well withhold the
/// attestation, which is allowed without an entry. Evidence that is
/// false (a signature or digest that does not match, a broken log proof)
/// is always refused.
fn cannot_judge(e: &crate::sigstore::SigstoreError) -> bool {
    use crate::sigstore::SigstoreError as E;
    matches!(
        e,
        E::Unsupported(_)
            | E::UnknownLogKey(_)
            | E::LogKeyNotValid { .. }
            | E::RegistryKey(_)
            | E::MissingKey(_)
            | E::MalformedRoot(_)
            | E::MalformedBundle(_)
    )
}

/// Checks the PEP 740 provenance of `name==version` from the index's
/// simple JSON page (`project`): every file of the version whose SHA-256
/// the installed lock names (`installed`, `sha256:HEX`) and that lists a
/// `provenance` URL is verified (its attestations' subject is that file by
/// name and digest). With `req`, every such file must carry a verified
/// provenance from the required repository: the installer may have picked
/// any of them.
pub(crate) fn check_pypi(
    version: &str,
    project: &Value,
    installed: &[String],
    req: Option<&ProvenanceReq>,
    root: Option<&std::path::Path>,
    fetch: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<ProvenanceRecord, String> {
    let mut rec = record("absent", req, None);
    let wanted: Vec<&str> = installed
        .iter()
        .filter_map(|h| h.strip_prefix("sha256:"))
        .collect();
    let files: Vec<&Value> = project
        .get("files")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|f| {
                    f.pointer("/hashes/sha256")
                        .and_then(Value::as_str)
                        .is_some_and(|h| wanted.contains(&h))
                })
                .collect()
        })
        .unwrap_or_default();
    if files.is_empty() {
        if let Some(r) = req {
            return Err(format!(
                "the index lists no file of version {version} with the installed hashes, so no provenance from {} can be checked",
                r.repository
            ));
        }
        rec.status = "unavailable".into();
        rec.detail = Some("the index lists no file with the installed hashes".into());
        return Ok(rec);
    }
    let root = trusted_root(root)?;
    let policy = policy_for(req);
    let mut verified = 0;
    for f in &files {
        let filename = f.get("filename").and_then(Value::as_str).unwrap_or("");
        let url = f.get("provenance").and_then(Value::as_str);
        let Some(url) = url else {
            if let Some(r) = req {
                return Err(format!(
                    "{filename} has no provenance, and [trust.provenance] requires one from {}",
                    r.repository
                ));
            }
            continue;
        };
        let doc = match fetch(url) {
            Ok(d) => d,
            Err(e) if req.is_none() => {
                rec.status = "unavailable".into();
                rec.detail = Some(format!("{url}: {e}"));
                continue;
            }
            Err(e) => {
                return Err(format!(
                    "the provenance of {filename} could not be read from {url}: {e}"
                ))
            }
        };
        let sha = f
            .pointer("/hashes/sha256")
            .and_then(Value::as_str)
            .and_then(hex32)
            .ok_or_else(|| format!("{filename}: the index gives no valid sha256"))?;
        let got = match crate::sigstore::pypi::verify_provenance_of(
            &doc, filename, sha, &root, &policy,
        ) {
            Ok(g) => g,
            Err(e) if req.is_none() && cannot_judge(&e) => {
                rec.status = "unverifiable".into();
                rec.detail = Some(format!(
                    "{filename}: its provenance cannot be judged here: {e}"
                ));
                continue;
            }
            Err(e) => return Err(format!("the provenance of {filename} does not hold: {e}")),
        };
        for v in &got {
            note_signer(&mut rec, v);
        }
        verified += 1;
    }
    if verified > 0 && rec.status == "absent" {
        rec.status = "verified".into();
    }
    if let Some(r) = req {
        if rec.status != "verified" {
            return Err(format!(
                "no verified provenance from {} ({})",
                r.repository,
                rec.detail.as_deref().unwrap_or(&rec.status)
            ));
        }
    }
    Ok(rec)
}

fn hex32(h: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if h.len() != 64 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The operator's trusted root (`[trust] sigstore_root`), else the one
/// shipped in the binary.
fn trusted_root(
    path: Option<&std::path::Path>,
) -> Result<crate::sigstore::root::TrustedRoot, String> {
    match path {
        Some(p) => crate::sigstore::root::TrustedRoot::from_file(p)
            .map_err(|e| format!("the Sigstore trusted root {}: {e}", p.display())),
        None => crate::sigstore::root::TrustedRoot::public_good()
            .map_err(|e| format!("the Sigstore trusted root: {e}")),
    }
}

/// A record with nothing verified yet.
pub(crate) fn record(
    status: &str,
    req: Option<&ProvenanceReq>,
    detail: Option<String>,
) -> ProvenanceRecord {
    ProvenanceRecord {
        status: status.into(),
        required: req.cloned(),
        detail,
        checked_at: crate::audit::rfc3339_now(),
        ..Default::default()
    }
}

/// The identity policy of a `[trust.provenance]` entry (any identity
/// without one: the attestation must still be true).
fn policy_for(req: Option<&ProvenanceReq>) -> Policy {
    let mut policy = Policy::new(IdentityRule::Any);
    if let Some(r) = req {
        policy.repository = Some(r.repository.clone());
        policy.workflow = r.workflow.clone();
        policy.issuer = Some(r.issuer.clone().unwrap_or_else(|| GITHUB_ACTIONS.into()));
    }
    policy
}

/// Copies what a keyless signer's certificate says into the record.
fn note_signer(rec: &mut ProvenanceRecord, v: &crate::sigstore::verify::Verified) {
    if let Signer::Certificate {
        identity, claims, ..
    } = &v.signer
    {
        rec.repository = claims.source_repository.clone();
        rec.workflow = claims
            .build_signer_uri
            .clone()
            .or_else(|| Some(identity.clone()));
        rec.issuer = claims.issuer.clone();
        rec.source_ref = claims.source_ref.clone();
        rec.source_commit = claims.source_digest.clone();
        rec.signed_at = Some(unix_to_rfc3339(v.signed_at));
        rec.log_index = Some(v.log_index);
    }
}

/// Whether a recorded check already satisfies `req` (no network needed).
pub(crate) fn satisfies(rec: Option<&ProvenanceRecord>, req: &ProvenanceReq) -> bool {
    rec.is_some_and(|r| r.status == "verified" && r.required.as_ref() == Some(req))
}

/// A log time (Unix seconds), in whole seconds, through the audit log's
/// formatter.
fn unix_to_rfc3339(t: i64) -> String {
    crate::audit::format_unix(u64::try_from(t).unwrap_or(0), 0).replacen(".000000Z", "Z", 1)
}

/// GETs `url` (http or https) on a thread of its own, so it works from
/// inside a runtime and out of one.
pub(crate) fn http_get(url: &str) -> Result<Vec<u8>, String> {
    http_get_as(url, None)
}

/// [`http_get`] with an `Accept` header.
pub(crate) fn http_get_as(url: &str, accept: Option<&str>) -> Result<Vec<u8>, String> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!("not an http(s) URL: {url:?}"));
    }
    let url = url.to_string();
    std::thread::scope(|s| {
        s.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .map_err(|e| e.to_string())?;
                let mut req = client.get(&url);
                if let Some(a) = accept {
                    req = req.header("accept", a);
                }
                let r = req.send().await.map_err(|e| e.to_string())?;
                if !r.status().is_success() {
                    return Err(format!("HTTP {}", r.status()));
                }
                let b = r.bytes().await.map_err(|e| e.to_string())?;
                if b.len() > MAX_ATTESTATIONS {
                    return Err(format!("larger than {MAX_ATTESTATIONS} bytes"));
                }
                Ok(b.to_vec())
            })
        })
        .join()
        .unwrap_or_else(|_| Err("the fetch thread failed".into()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/trust/pypi/");
    const SDIST: &str = "pypi_attestations-0.0.19.tar.gz";
    const SDIST_SHA: &str = "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3";

    fn project(provenance: bool) -> Value {
        let mut f = serde_json::json!({"filename": SDIST, "hashes": {"sha256": SDIST_SHA}});
        if provenance {
            f["provenance"] = Value::String("https://index.test/provenance".into());
        }
        serde_json::json!({ "files": [f, {"filename": "other.whl", "hashes": {"sha256": "00"}}] })
    }

    fn served(name: &'static str) -> impl Fn(&str) -> Result<Vec<u8>, String> {
        move |_| std::fs::read(format!("{DATA}{name}")).map_err(|e| e.to_string())
    }

    fn req(repository: &str) -> ProvenanceReq {
        ProvenanceReq {
            repository: repository.into(),
            workflow: None,
            issuer: None,
        }
    }

    #[test]
    fn pypi_provenance_verified_recorded_and_held_to_the_requirement() {
        let installed = vec![format!("sha256:{SDIST_SHA}")];
        let fetch = served("pypi_attestations-0.0.19.tar.gz.provenance");
        let rec =
            check_pypi("0.0.19", &project(true), &installed, None, None, &fetch).expect("verifies");
        assert_eq!(rec.status, "verified");
        assert_eq!(
            rec.repository.as_deref(),
            Some("https://github.com/trailofbits/pypi-attestations")
        );
        assert!(rec
            .workflow
            .as_deref()
            .is_some_and(|w| w.contains("/.github/workflows/release.yml@refs/tags/v0.0.19")));
        let ok = req("https://github.com/trailofbits/pypi-attestations");
        let rec = check_pypi(
            "0.0.19",
            &project(true),
            &installed,
            Some(&ok),
            None,
            &fetch,
        )
        .expect("ok");
        assert!(satisfies(Some(&rec), &ok));
        let wrong = req("https://github.com/attacker/pypi-attestations");
        let e = check_pypi(
            "0.0.19",
            &project(true),
            &installed,
            Some(&wrong),
            None,
            &fetch,
        )
        .unwrap_err();
        assert!(e.contains("attacker") && e.contains("does not hold"), "{e}");
        // Without provenance: recorded as absent, refused when required.
        let rec =
            check_pypi("0.0.19", &project(false), &installed, None, None, &fetch).expect("absent");
        assert_eq!(rec.status, "absent");
        let e = check_pypi(
            "0.0.19",
            &project(false),
            &installed,
            Some(&ok),
            None,
            &fetch,
        )
        .unwrap_err();
        assert!(e.contains("has no provenance"), "{e}");
        // Another file's provenance served for this one: refused.
        let other = served("pypi_attestation_models-0.0.4a2.tar.gz.attestation");
        let wrapped = move |u: &str| {
            let att: Value = serde_json::from_slice(&other(u)?).map_err(|e| e.to_string())?;
            Ok(serde_json::json!({"version": 1, "attestation_bundles": [{"publisher": {}, "attestations": [att]}]})
                .to_string()
                .into_bytes())
        };
        let e = check_pypi("0.0.19", &project(true), &installed, None, None, &wrapped).unwrap_err();
        assert!(e.contains("does not hold"), "{e}");
        // An index that does not list the installed file: nothing to check.
        let rec = check_pypi(
            "0.0.19",
            &project(true),
            &["sha256:11".into()],
            None,
            None,
            &fetch,
        )
        .expect("unavailable");
        assert_eq!(rec.status, "unavailable");
        // The operator's root is the one used: the staging root does not
        // vouch for production provenance.
        let staging = std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/trust/trusted_root/staging.json"
        ));
        let e = check_pypi(
            "0.0.19",
            &project(true),
            &installed,
            Some(&ok),
            Some(&staging),
            &fetch,
        )
        .unwrap_err();
        assert!(e.contains("does not hold"), "{e}");
        let rec = check_pypi(
            "0.0.19",
            &project(true),
            &installed,
            None,
            Some(&staging),
            &fetch,
        )
        .expect("recorded");
        assert_eq!(rec.status, "unverifiable", "{rec:?}");
        let missing = std::path::Path::new("/nonexistent/root.json");
        let e = check_pypi(
            "0.0.19",
            &project(true),
            &installed,
            None,
            Some(missing),
            &fetch,
        )
        .unwrap_err();
        assert!(e.contains("/nonexistent/root.json"), "{e}");
    }

    #[test]
    fn dates() {
        assert_eq!(unix_to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(unix_to_rfc3339(1_675_123_200), "2023-01-31T00:00:00Z");
        assert_eq!(unix_to_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            unix_to_rfc3339(1_796_342_400 + 3661),
            "2026-12-04T01:01:01Z"
        );
    }
}
