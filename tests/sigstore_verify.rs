//! The Sigstore verifier against real bundles: every case of
//! `tests/data/trust/manifest.json`, the npm registry signatures and
//! attestations, and PyPI (PEP 740) attestations.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vanguard::sigstore::keys::PublicKey;
use vanguard::sigstore::npm::{self, RegistryKeys, RegistrySignature};
use vanguard::sigstore::pypi;
use vanguard::sigstore::{
    verify_bundle, Artifact, Category, IdentityRule, Policy, SigstoreError, TrustedRoot, Verified,
};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/trust")
        .join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let v: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

fn manifest() -> Vec<Value> {
    let m: Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    m["cases"].as_array().unwrap().clone()
}

fn npm_keys() -> RegistryKeys {
    RegistryKeys::from_json(&String::from_utf8(read("npm/keys.json")).unwrap()).unwrap()
}

/// Runs one manifest case as the manifest describes it.
fn run_case(case: &Value) -> Result<Verified, SigstoreError> {
    let s = |k: &str| case.get(k).and_then(Value::as_str);
    let root = TrustedRoot::from_file(&data(s("trusted_root").unwrap()))?;
    let identity = match s("identity") {
        Some(i) => IdentityRule::Exact(i.to_string()),
        None => IdentityRule::Any,
    };
    let mut policy = Policy::new(identity);
    policy.issuer = s("issuer").map(str::to_string);
    if let Some(pk) = s("public_key") {
        policy.key = Some(match pk.split_once('#') {
            Some((_, keyid)) => npm_keys().get(keyid).unwrap().key.clone(),
            None => PublicKey::from_pem(&String::from_utf8(read(pk)).unwrap()).unwrap(),
        });
    }
    let bytes;
    let artifact = if let Some(a) = s("artifact") {
        bytes = read(a);
        Artifact::Bytes(&bytes)
    } else if let Some(d) = s("subject_sha512") {
        Artifact::Sha512(unhex(d))
    } else if let Some(d) = s("subject_sha256") {
        Artifact::Sha256(unhex(d))
    } else if let Some(d) = s("artifact_digest") {
        Artifact::Sha256(unhex(d.trim_start_matches("sha256:")))
    } else {
        panic!("case without artifact: {case}")
    };
    verify_bundle(&read(s("bundle").unwrap()), artifact, &root, &policy)
}

/// What vanguard does with each manifest case. Every case is listed: a case
/// missing here fails the test, so new test data gets a decision.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Verify,
    Refuse(Category),
    /// Refused with an explicit "not supported" (never accepted).
    NotSupported,
}
use Category as C;
use Outcome::*;

fn decision(id: &str) -> (Outcome, &'static str) {
    match id {
        "conformance/rekor2-no-timestamp_fail" | "python/bundle_v3_no_signed_time.txt" => {
            (Refuse(C::Time), "no signed time")
        }
        "conformance/rekor2-no-inclusion-proof_fail" => (Refuse(C::Log), "no inclusion proof"),
        "conformance/rekor2-checkpoint-missing-log-signature_fail"
        | "conformance/rekor2-checkpoint-missing-origin_fail"
        | "conformance/rekor2-checkpoint-missing-root-hash_fail"
        | "conformance/rekor2-checkpoint-missing-size_fail"
        | "conformance/rekor2-checkpoint-no-matching-signature_fail" => {
            (Refuse(C::Log), "Rekor v2 checkpoint (Ed25519 signed note)")
        }
        "conformance/rekor2-dsse-invalid-sig_fail" => (Refuse(C::Signature), "DSSE signature"),
        "conformance/rekor2-dsse-mismatch-envelope_fail"
        | "conformance/rekor2-dsse-mismatch-sig_fail" => (
            Refuse(C::Entry),
            "hashedrekord 0.0.2 entry for other materials",
        ),
        "conformance/rekor2-timestamp-outside-trust-root-tsa-validity_fail"
        | "conformance/rekor2-timestamp-outside-tsa-cert-validity_fail"
        | "conformance/rekor2-timestamp-payload-mismatch_fail"
        | "conformance/rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail"
        | "conformance/rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail"
        | "conformance/rekor2-timestamp-with-incorrect-time_fail" => {
            (Refuse(C::Time), "RFC 3161 timestamp")
        }
        "conformance/bundle-empty-certificate-chain_fail"
        | "conformance/bundle-invalid-base64-signature_fail"
        | "conformance/bundle-malformed-json_fail"
        | "conformance/bundle-negative-log-index_fail"
        | "conformance/bundle-unknown-version_fail"
        | "conformance/trust-root-tlog-missing-validity-start_fail"
        | "python/bundle_no_cert_v1.txt"
        | "python/bundle_invalid_version.txt" => (Refuse(C::Malformed), "malformed bundle or root"),
        "conformance/bundle-from-wrong-instance_fail" => {
            (Refuse(C::Log), "log key not in the trusted root")
        }
        "conformance/set-invalid-signature_fail" | "conformance/incorrect-public-key_fail" => {
            (Refuse(C::Log), "SET")
        }
        "conformance/invalid-inclusion-proof_fail"
        | "conformance/inclusion-proof-corrupted-hash_fail"
        | "conformance/checkpoint-wrong-roothash_fail"
        | "conformance/invalid-checkpoint-signature_fail"
        | "conformance/checkpoint-bad-keyhint_fail"
        | "conformance/intoto-missing-inclusion-proof_fail"
        | "python/bundle_no_checkpoint.txt"
        | "python/bundle_no_log_entry.txt" => (Refuse(C::Log), "inclusion proof / checkpoint"),
        // v0.1 with an inclusion proof but no checkpoint: refused for that
        // before the chain is looked at. Its 3-certificate chain (with the
        // root) alone would be accepted: see `chain_with_root_is_accepted`.
        "conformance/bundle-with-root-cert_fail" => (Refuse(C::Log), "proof without checkpoint"),
        "python/Python-3.12.5.tgz" => (
            Refuse(C::Log),
            "proof without checkpoint (sigstore-python refuses it too)",
        ),
        "conformance/signature-mismatch_fail"
        | "conformance/dsse-invalid-sig_fail"
        | "conformance/managed-key-wrong-key_fail" => (Refuse(C::Signature), "signature"),
        "conformance/message-digest-mismatch_fail" | "conformance/wrong-material_fail" => {
            (Refuse(C::Artifact), "artifact digest")
        }
        "conformance/dsse-mismatch-envelope_fail"
        | "conformance/dsse-mismatch-sig_fail"
        | "conformance/intoto-log-entry-mismatch_fail"
        | "conformance/wrong-hashedrekord-artifact_fail"
        | "conformance/wrong-hashedrekord-entry_fail"
        | "conformance/wrong-hashedrekord-cert-and-sig_fail"
        | "python/bundle_cve_2022_36056.txt" => (Refuse(C::Entry), "log entry for other materials"),
        // Integrated 2026-05-07, after the certificate's ten minutes: the
        // clock has since passed that "future" time, the expiry still refuses.
        "conformance/integrated-time-in-future_fail"
        | "conformance/intoto-expired-certificate_fail"
        | "conformance/intoto-set-outside-signing-cert-validity_fail"
        | "conformance/intoto-tsa-timestamp-outside-cert-validity_fail"
        | "python/tsa/bundle.txt.late_timestamp" => (Refuse(C::Time), "time"),
        // Its second token does not verify (a local test TSA no root here
        // lists): every timestamp given must verify, so it is refused (the
        // manifest accepts either outcome).
        "python/tsa/bundle.txt" => (Refuse(C::Time), "a timestamp that does not verify"),
        "conformance/invalid-ct-key_fail" => {
            (Refuse(C::Chain), "no SCT from a CT log of the trusted root")
        }
        "conformance/managed-key-no-key_fail" => (Refuse(C::Key), "no key given"),
        _ => (Verify, "verifies"),
    }
}

#[test]
fn every_manifest_case_has_its_outcome() {
    let (mut verified, mut refused, mut unsupported) = (0, 0, 0);
    let mut wrong = Vec::new();
    for case in manifest() {
        let id = case["id"].as_str().unwrap();
        let expect = case["expect"].as_str().unwrap();
        let (want, why) = decision(id);
        // Our table never accepts what the manifest refuses, nor claims
        // support for a case we do not verify.
        match (expect, want) {
            ("refuse", Verify) => panic!("{id}: the table would accept a refusal case"),
            ("verify", Refuse(_)) => panic!("{id}: the table would refuse a valid case"),
            _ => {}
        }
        let got = match run_case(&case) {
            Ok(_) => Verify,
            Err(e) if e.category() == Category::Unsupported => {
                assert!(e.to_string().starts_with("not supported: "), "{id}: {e}");
                NotSupported
            }
            Err(e) => Refuse(e.category()),
        };
        match got {
            Verify => verified += 1,
            Refuse(_) => refused += 1,
            NotSupported => unsupported += 1,
        }
        if got != want {
            wrong.push(format!(
                "{id}: expected {want:?} ({why}), got {got:?}: {:?}",
                run_case(&case).err().map(|e| e.to_string())
            ));
        }
    }
    println!("manifest: {verified} verified, {refused} refused, {unsupported} unsupported");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(verified >= 25 && refused >= 35);
}

fn conformance_policy() -> Policy {
    let mut p = Policy::new(IdentityRule::Exact(BEACON.into()));
    p.issuer = Some(GITHUB.into());
    p
}

const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GITHUB: &str = "https://token.actions.githubusercontent.com";
const HAPPY: &str = "sigstore/conformance/happy-path-v0.3/bundle.sigstore.json";

fn public_good() -> TrustedRoot {
    TrustedRoot::public_good().unwrap()
}

fn refusal(r: Result<Verified, SigstoreError>) -> SigstoreError {
    match r {
        Ok(v) => panic!("accepted: {}", v.describe()),
        Err(e) => e,
    }
}

#[test]
fn happy_path_names_the_signer_and_its_workflow_claims() {
    let a = read("sigstore/conformance/a.txt");
    let mut p = conformance_policy();
    p.repository = Some(
        "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon".into(),
    );
    p.git_ref = Some("refs/heads/main".into());
    p.workflow = Some(".github/workflows/extremely-dangerous-oidc-beacon.yml".into());
    let v = verify_bundle(&read(HAPPY), Artifact::Bytes(&a), &public_good(), &p).unwrap();
    assert!(v.describe().contains(BEACON), "{}", v.describe());
    assert_eq!(v.log_url, "https://rekor.sigstore.dev");
}

#[test]
fn tampered_artifact_is_refused() {
    let mut a = read("sigstore/conformance/a.txt");
    a.push(b'!');
    let e = refusal(verify_bundle(
        &read(HAPPY),
        Artifact::Bytes(&a),
        &public_good(),
        &conformance_policy(),
    ));
    assert_eq!(e.category(), C::Artifact, "{e}");
}

#[test]
fn wrong_identity_issuer_repository_and_workflow_are_refused() {
    let a = read("sigstore/conformance/a.txt");
    let root = public_good();
    let mut p = conformance_policy();
    p.identity = IdentityRule::Exact(
        "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main".into(),
    );
    let e = refusal(verify_bundle(&read(HAPPY), Artifact::Bytes(&a), &root, &p));
    assert!(matches!(e, SigstoreError::IdentityMismatch { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("does not match required https://github.com/evil"),
        "{e}"
    );

    let mut p = conformance_policy();
    p.identity = IdentityRule::Regex(
        regex::Regex::new("^https://github.com/sigstore-conformance/").unwrap(),
    );
    p.issuer = Some("https://accounts.google.com".into());
    let e = refusal(verify_bundle(&read(HAPPY), Artifact::Bytes(&a), &root, &p));
    assert!(matches!(e, SigstoreError::IssuerMismatch { .. }), "{e}");

    let mut p = conformance_policy();
    p.repository = Some("https://github.com/modelcontextprotocol/servers".into());
    let e = refusal(verify_bundle(&read(HAPPY), Artifact::Bytes(&a), &root, &p));
    assert!(
        matches!(
            e,
            SigstoreError::ClaimMismatch {
                claim: "source repository",
                ..
            }
        ),
        "{e}"
    );

    let mut p = conformance_policy();
    p.workflow = Some(".github/workflows/release.yml".into());
    let e = refusal(verify_bundle(&read(HAPPY), Artifact::Bytes(&a), &root, &p));
    assert!(
        matches!(
            e,
            SigstoreError::ClaimMismatch {
                claim: "workflow",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn certificate_outside_its_validity_at_log_time_is_refused() {
    let c = "sigstore/conformance/intoto-set-outside-signing-cert-validity_fail";
    let root = TrustedRoot::from_file(&data(&format!("{c}/trusted_root.json"))).unwrap();
    let art = read(&format!("{c}/artifact"));
    let e = refusal(verify_bundle(
        &read(&format!("{c}/bundle.sigstore.json")),
        Artifact::Bytes(&art),
        &root,
        &conformance_policy(),
    ));
    assert!(matches!(e, SigstoreError::CertificateTime(_)), "{e}");
    assert!(
        e.to_string()
            .contains("the certificate expired before the log integrated the entry"),
        "{e}"
    );
}

/// Edits a bundle's JSON and returns it.
fn edited(rel: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&read(rel)).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn broken_inclusion_proof_is_refused() {
    let a = read("sigstore/conformance/a.txt");
    let bundle = edited(HAPPY, |v| {
        let h = &mut v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][2];
        let mut s = h.as_str().unwrap().to_string();
        s.replace_range(0..1, if s.starts_with('A') { "B" } else { "A" });
        *h = Value::String(s);
    });
    let e = refusal(verify_bundle(
        &bundle,
        Artifact::Bytes(&a),
        &public_good(),
        &conformance_policy(),
    ));
    assert!(matches!(e, SigstoreError::InclusionProof(_)), "{e}");
    assert!(e.to_string().contains("does not lead to"), "{e}");
}

#[test]
fn substituted_log_key_is_refused() {
    let staging: Value = serde_json::from_slice(&read("trusted_root/staging.json")).unwrap();
    let mut pg: Value = serde_json::from_slice(&read("trusted_root/public-good.json")).unwrap();
    // 1. Staging's Rekor key filed under public-good's log ID: the root
    //    itself is refused (a log ID must be derived from its key).
    pg["tlogs"][0]["publicKey"]["rawBytes"] = staging["tlogs"][0]["publicKey"]["rawBytes"].clone();
    let e = TrustedRoot::from_json(&pg.to_string()).unwrap_err();
    assert!(e.to_string().contains("is not derived from its key"), "{e}");
    // 2. With its own ID, the substituted key is another log, which the
    //    bundle's entry does not name.
    pg["tlogs"][0]["logId"]["keyId"] = staging["tlogs"][0]["logId"]["keyId"].clone();
    let root = TrustedRoot::from_json(&pg.to_string()).unwrap();
    let a = read("sigstore/conformance/a.txt");
    let e = refusal(verify_bundle(
        &read(HAPPY),
        Artifact::Bytes(&a),
        &root,
        &conformance_policy(),
    ));
    assert!(matches!(e, SigstoreError::UnknownLogKey(_)), "{e}");
    assert!(e.to_string().contains("not in the trusted root"), "{e}");
    // 3. A SET signed by another key (conformance `set-invalid-signature_fail`
    //    and `incorrect-public-key_fail` in the manifest) is refused as BadSet.
    let c = "sigstore/conformance/set-invalid-signature_fail/bundle.sigstore.json";
    let e = refusal(verify_bundle(
        &read(c),
        Artifact::Bytes(&a),
        &public_good(),
        &conformance_policy(),
    ));
    assert!(matches!(e, SigstoreError::BadSet(_)), "{e}");
}

#[test]
fn untrusted_ca_is_refused() {
    // Public-good logs, but staging's Fulcio: the certificate chains to no trusted CA.
    let staging: Value = serde_json::from_slice(&read("trusted_root/staging.json")).unwrap();
    let mut pg: Value = serde_json::from_slice(&read("trusted_root/public-good.json")).unwrap();
    pg["certificateAuthorities"] = staging["certificateAuthorities"].clone();
    let root = TrustedRoot::from_json(&pg.to_string()).unwrap();
    let a = read("sigstore/conformance/a.txt");
    let e = refusal(verify_bundle(
        &read(HAPPY),
        Artifact::Bytes(&a),
        &root,
        &conformance_policy(),
    ));
    assert!(matches!(e, SigstoreError::UntrustedChain(_)), "{e}");
}

/// The open decision: a v0.1 chain that carries the intermediate and the
/// root (as sigstore-js and sigstore-go wrote npm provenance bundles) is
/// accepted, because the path is built from the trusted root's own chain and
/// every extra certificate must be byte-identical to one of it; a chain
/// with any other certificate is refused.
#[test]
fn chain_with_root_is_accepted_only_when_it_is_the_trusted_chain() {
    let rel = "sigstore/js/bundleV01-full-cert-chain.sigstore";
    let sha512 = unhex("7bea9f6e7ff37f5fab0b36bf061200fff03099fd2fd696b91d04bc5e4f225eb9fd6e0cadcad54ba980f43fb352a99e8810b4e0abeb5c0ef2cf9108cd1f258b36");
    let mut p = Policy::new(IdentityRule::Exact("brian@dehamer.com".into()));
    p.issuer = Some("https://github.com/login/oauth".into());
    let root = public_good();
    let original: Value = serde_json::from_slice(&read(rel)).unwrap();
    assert_eq!(
        original["verificationMaterial"]["x509CertificateChain"]["certificates"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    verify_bundle(&read(rel), Artifact::Sha512(sha512), &root, &p).unwrap();
    let staging: Value = serde_json::from_slice(&read("trusted_root/staging.json")).unwrap();
    let foreign = edited(rel, |v| {
        v["verificationMaterial"]["x509CertificateChain"]["certificates"][2]["rawBytes"] = staging
            ["certificateAuthorities"][0]["certChain"]["certificates"][1]["rawBytes"]
            .clone();
    });
    let e = refusal(verify_bundle(&foreign, Artifact::Sha512(sha512), &root, &p));
    assert!(matches!(e, SigstoreError::UntrustedChain(_)), "{e}");
}

#[test]
fn message_signature_needs_the_artifact_not_a_digest() {
    let a = read("sigstore/conformance/a.txt");
    let digest = ring::digest::digest(&ring::digest::SHA256, &a);
    let e = refusal(verify_bundle(
        &read(HAPPY),
        Artifact::Sha256(digest.as_ref().try_into().unwrap()),
        &public_good(),
        &conformance_policy(),
    ));
    assert!(e.to_string().starts_with("not supported: "), "{e}");
}

// ---- npm registry signatures ----

/// Packument `time[version]` for the old-key entries: all were published
/// before that key's expiry (2025-01-29).
const BEFORE_OLD_KEY_EXPIRY: i64 = 1_672_531_200; // 2023-01-01

#[test]
fn npm_registry_signatures() {
    let keys = npm_keys();
    let doc: Value = serde_json::from_slice(&read("npm/signatures.json")).unwrap();
    let (mut ok, mut refused) = (0, 0);
    for e in doc["entries"].as_array().unwrap() {
        let s = |k: &str| e[k].as_str().unwrap();
        let sigs = [RegistrySignature {
            keyid: s("keyid").into(),
            sig: s("sig").into(),
        }];
        let published = keys
            .get(s("keyid"))
            .and_then(|k| k.expires)
            .map(|_| BEFORE_OLD_KEY_EXPIRY);
        let r = npm::verify_registry_signature(
            &keys,
            s("name"),
            s("version"),
            s("integrity"),
            &sigs,
            published,
        );
        match s("expect") {
            "verify" => {
                assert_eq!(r.unwrap(), s("keyid"));
                ok += 1;
            }
            _ => {
                // An edited signature either no longer decodes or no longer verifies.
                let err = r.unwrap_err();
                assert!(
                    matches!(err.category(), C::Signature | C::Malformed),
                    "{}@{}: {err}",
                    s("name"),
                    s("version")
                );
                refused += 1;
            }
        }
        if let Some(t) = e.get("tarball").and_then(Value::as_str) {
            npm::check_tarball(&read(&format!("npm/{t}")), s("integrity")).unwrap();
        }
    }
    assert_eq!((ok, refused), (6, 3));
}

#[test]
fn npm_expired_key_refuses_versions_published_after_expiry() {
    let keys = npm_keys();
    let doc: Value = serde_json::from_slice(&read("npm/signatures.json")).unwrap();
    let e = &doc["entries"][0];
    let s = |k: &str| e[k].as_str().unwrap().to_string();
    let sigs = [RegistrySignature {
        keyid: s("keyid"),
        sig: s("sig"),
    }];
    let after = vanguard::sigstore::time::parse_rfc3339("2025-06-01T00:00:00Z");
    let err = npm::verify_registry_signature(
        &keys,
        &s("name"),
        &s("version"),
        &s("integrity"),
        &sigs,
        after,
    )
    .unwrap_err();
    assert!(
        matches!(err, SigstoreError::RegistryKey(_)) && err.to_string().contains("expired"),
        "{err}"
    );
    let err = npm::verify_registry_signature(
        &keys,
        &s("name"),
        &s("version"),
        &s("integrity"),
        &sigs,
        None,
    )
    .unwrap_err();
    assert_eq!(err.category(), C::Key, "{err}");
}

#[test]
fn npm_keys_document_cannot_rename_a_key() {
    let text = String::from_utf8(read("npm/keys.json"))
        .unwrap()
        .replace("SHA256:DhQ8wR5APBvFHLF", "SHA256:XhQ8wR5APBvFHLF");
    assert!(matches!(
        RegistryKeys::from_json(&text),
        Err(SigstoreError::RegistryKey(_))
    ));
}

// ---- npm attestations ----

fn provenance_policy(repo: &str) -> Policy {
    let mut p = Policy::new(IdentityRule::Any);
    p.issuer = Some(GITHUB.into());
    p.repository = Some(repo.into());
    p
}

fn attest(
    file: &str,
    name: &str,
    version: &str,
    sha512: [u8; 64],
) -> Result<Vec<npm::VerifiedAttestation>, SigstoreError> {
    npm::verify_attestations(
        &read(&format!("npm/attestations/{file}")),
        name,
        version,
        sha512,
        &npm_keys(),
        &public_good(),
        &provenance_policy("https://github.com/sigstore/sigstore-js"),
    )
}

#[test]
fn npm_attestations_verify_against_the_tarballs() {
    for (file, name, tarball, repo) in [
        (
            "sigstore@1.0.0.json",
            "sigstore",
            "sigstore-1.0.0.tgz",
            "https://github.com/sigstore/sigstore-js",
        ),
        (
            "tuf-js@1.0.0.json",
            "tuf-js",
            "tuf-js-1.0.0.tgz",
            "https://github.com/theupdateframework/tuf-js",
        ),
    ] {
        let tgz = read(&format!("npm/tarballs/{tarball}"));
        let sha512: [u8; 64] = ring::digest::digest(&ring::digest::SHA512, &tgz)
            .as_ref()
            .try_into()
            .unwrap();
        let got = npm::verify_attestations(
            &read(&format!("npm/attestations/{file}")),
            name,
            "1.0.0",
            sha512,
            &npm_keys(),
            &public_good(),
            &provenance_policy(repo),
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(got.len(), 2, "{file}: provenance and publish");
        assert!(got
            .iter()
            .any(|a| a.predicate_type.starts_with("https://slsa.dev/provenance/")));
        assert!(got
            .iter()
            .any(|a| a.predicate_type.contains("npm/attestation")));
    }
}

/// sigstore@0.4.0's tarball is not in the test data: its sha512 is the
/// subject digest of the untampered fixture's publish statement.
fn pacote_sha512() -> [u8; 64] {
    let doc: Value =
        serde_json::from_slice(&read("npm/attestations/sigstore@0.4.0.pacote-valid.json")).unwrap();
    let payload = doc["attestations"][1]["bundle"]["dsseEnvelope"]["payload"]
        .as_str()
        .unwrap();
    use base64::Engine;
    let statement: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(statement["subject"][0]["name"], "pkg:npm/sigstore@0.4.0");
    unhex(
        statement["subject"][0]["digest"]["sha512"]
            .as_str()
            .unwrap(),
    )
}

#[test]
fn npm_pacote_fixtures_valid_verifies_tampered_are_refused() {
    attest(
        "sigstore@0.4.0.pacote-valid.json",
        "sigstore",
        "0.4.0",
        pacote_sha512(),
    )
    .unwrap();
    for (case, want) in [
        ("invalid", C::Malformed),
        ("unsupported", C::Signature),
        // The edited payloads no longer carry the registry's signature: the
        // signature check refuses them before the subject is compared.
        ("mismatched-subject-name", C::Signature),
        ("mismatched-subject-digest", C::Signature),
        ("malformed-subject", C::Signature),
        ("mismatched-keyid", C::Key),
        // Its corrupted base64 still decodes (leniently), to a wrong signature.
        ("no-keyid", C::Signature),
    ] {
        let e = match attest(
            &format!("sigstore@0.4.0.pacote-{case}.json"),
            "sigstore",
            "0.4.0",
            pacote_sha512(),
        ) {
            Ok(_) => panic!("pacote-{case} accepted"),
            Err(e) => e,
        };
        assert_eq!(e.category(), want, "pacote-{case}: {e}");
    }
}

#[test]
fn npm_repository_constraint_needs_a_provenance_attestation() {
    // Only the registry's publish attestation left: it says nothing about
    // the source repository, so a repository constraint is not met.
    let mut doc: Value =
        serde_json::from_slice(&read("npm/attestations/sigstore@1.0.0.json")).unwrap();
    doc["attestations"].as_array_mut().unwrap().retain(|a| {
        a["predicateType"]
            .as_str()
            .unwrap()
            .contains("npm/attestation")
    });
    let tgz = read("npm/tarballs/sigstore-1.0.0.tgz");
    let sha512: [u8; 64] = ring::digest::digest(&ring::digest::SHA512, &tgz)
        .as_ref()
        .try_into()
        .unwrap();
    let bytes = serde_json::to_vec(&doc).unwrap();
    let root = public_good();
    let e = npm::verify_attestations(
        &bytes,
        "sigstore",
        "1.0.0",
        sha512,
        &npm_keys(),
        &root,
        &provenance_policy("https://github.com/sigstore/sigstore-js"),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            SigstoreError::ClaimMismatch {
                claim: "provenance",
                ..
            }
        ),
        "{e}"
    );
    // Without a constraint the publish attestation alone verifies.
    npm::verify_attestations(
        &bytes,
        "sigstore",
        "1.0.0",
        sha512,
        &npm_keys(),
        &root,
        &Policy::new(IdentityRule::Any),
    )
    .unwrap();
}

#[test]
fn npm_attestation_for_another_version_is_refused() {
    let tgz = read("npm/tarballs/sigstore-1.0.0.tgz");
    let sha512: [u8; 64] = ring::digest::digest(&ring::digest::SHA512, &tgz)
        .as_ref()
        .try_into()
        .unwrap();
    let e = attest("sigstore@1.0.0.json", "sigstore", "1.0.1", sha512).unwrap_err();
    assert_eq!(e.category(), C::Artifact, "{e}");
}

// ---- PyPI (PEP 740) ----

#[test]
fn pypi_attestations_verify_against_their_distributions() {
    let mut p = Policy::new(IdentityRule::Exact("https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19".into()));
    p.issuer = Some(GITHUB.into());
    p.repository = Some("https://github.com/trailofbits/pypi-attestations".into());
    let dist = read("pypi/pypi_attestations-0.0.19.tar.gz");
    let name = "pypi_attestations-0.0.19.tar.gz";
    let got = pypi::verify_provenance(
        &read(&format!("pypi/{name}.provenance")),
        name,
        &dist,
        &public_good(),
        &p,
    )
    .unwrap();
    assert!(!got.is_empty());
    for kind in ["publish", "slsa"] {
        let att: Value =
            serde_json::from_slice(&read(&format!("pypi/{name}.{kind}.attestation"))).unwrap();
        pypi::verify_attestation(&att, name, &dist, &public_good(), &p)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    // GitLab-issued, and a staging one.
    let gl = "gitlab_oidc_project-0.0.3.tar.gz";
    let att: Value =
        serde_json::from_slice(&read(&format!("pypi/{gl}.publish.attestation"))).unwrap();
    let mut glp = Policy::new(IdentityRule::Exact(
        "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main".into(),
    ));
    glp.issuer = Some("https://gitlab.com".into());
    pypi::verify_attestation(&att, gl, &read(&format!("pypi/{gl}")), &public_good(), &glp).unwrap();
    // The right attestation for another file is refused.
    let mut other = dist.clone();
    other.push(0);
    let att: Value =
        serde_json::from_slice(&read(&format!("pypi/{name}.publish.attestation"))).unwrap();
    let e = pypi::verify_attestation(&att, name, &other, &public_good(), &p).unwrap_err();
    assert_eq!(e.category(), C::Artifact, "{e}");
}

// ---- the command line ----

fn vanguard(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vanguard"))
        .args(args)
        .current_dir(data(""))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_prints_the_signer_and_exits_3_with_the_reason_on_refusal() {
    let (code, out, _) = vanguard(&[
        "sigstore",
        "verify",
        "--bundle",
        HAPPY,
        "--artifact",
        "sigstore/conformance/a.txt",
        "--identity",
        BEACON,
        "--issuer",
        GITHUB,
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("signed by https://github.com/sigstore-conformance/"),
        "{out}"
    );
    let (code, _, err) = vanguard(&[
        "sigstore",
        "verify",
        "--bundle",
        HAPPY,
        "--artifact",
        "sigstore/conformance/a.txt",
        "--identity",
        "someone@example.com",
    ]);
    assert_eq!(code, 3);
    assert!(
        err.contains("does not match required someone@example.com"),
        "{err}"
    );
    // Without an identity constraint any certificate would pass: refused as usage.
    let (code, _, err) = vanguard(&[
        "sigstore",
        "verify",
        "--bundle",
        HAPPY,
        "--artifact",
        "sigstore/conformance/a.txt",
    ]);
    assert_eq!(code, 2, "{err}");
    // npm: the registry signature by the (since expired) key is judged by
    // the publish attestation's log time.
    let doc: Value = serde_json::from_slice(&read("npm/signatures.json")).unwrap();
    let e = &doc["entries"][0];
    let dir = tempfile::tempdir().unwrap();
    let sigs = dir.path().join("dist-signatures.json");
    std::fs::write(
        &sigs,
        serde_json::json!([{ "keyid": e["keyid"], "sig": e["sig"] }]).to_string(),
    )
    .unwrap();
    let integrity = e["integrity"].as_str().unwrap();
    let mut args = vec![
        "sigstore",
        "npm",
        "--package",
        "sigstore@1.0.0",
        "--integrity",
        integrity,
        "--keys",
        "npm/keys.json",
        "--signatures",
        sigs.to_str().unwrap(),
        "--tarball",
        "npm/tarballs/sigstore-1.0.0.tgz",
        "--repository",
        "https://github.com/sigstore/sigstore-js",
    ];
    let (code, _, err) = vanguard(&args);
    assert_eq!(
        code, 3,
        "without a publish time the expired key is refused: {err}"
    );
    assert!(err.contains("publish time is unknown"), "{err}");
    args.extend(["--attestations", "npm/attestations/sigstore@1.0.0.json"]);
    let (code, out, err) = vanguard(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("registry signature: verified")
            && out.contains("attestation https://slsa.dev/provenance/v0.2"),
        "{out}"
    );
}
