//! PyPI attestations (PEP 740): an `Attestation` is a Sigstore bundle in
//! other clothes (certificate, transparency entries, and a DSSE envelope
//! whose payload is the in-toto statement). PyPI's integrity API serves a
//! provenance object holding them per publisher.

use serde_json::{json, Value};

use super::dsse::IN_TOTO_PAYLOAD;
use super::error::SigstoreError;
use super::root::TrustedRoot;
use super::verify::{verify_bundle, Artifact, Policy, Verified};

fn malformed(m: &str) -> SigstoreError {
    SigstoreError::MalformedBundle(format!("PEP 740 attestation: {m}"))
}

/// Rewrites a PEP 740 attestation as the v0.3 bundle it encodes.
pub fn attestation_to_bundle(att: &Value) -> Result<Value, SigstoreError> {
    if att.get("version").and_then(Value::as_i64) != Some(1) {
        return Err(malformed("unknown version"));
    }
    let vm = att
        .get("verification_material")
        .ok_or_else(|| malformed("no verification_material"))?;
    let cert = vm
        .get("certificate")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("no certificate"))?;
    let entries = vm
        .get("transparency_entries")
        .cloned()
        .ok_or_else(|| malformed("no transparency_entries"))?;
    let env = att
        .get("envelope")
        .ok_or_else(|| malformed("no envelope"))?;
    let statement = env
        .get("statement")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("no statement"))?;
    let signature = env
        .get("signature")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("no signature"))?;
    Ok(json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": { "certificate": { "rawBytes": cert }, "tlogEntries": entries },
        "dsseEnvelope": {
            "payload": statement,
            "payloadType": IN_TOTO_PAYLOAD,
            "signatures": [{ "sig": signature }]
        }
    }))
}

/// Verifies one attestation for the distribution `filename` with contents
/// `dist`: the bundle checks of [`verify_bundle`], and the statement's
/// subject must be this file by name and sha256.
pub fn verify_attestation(
    att: &Value,
    filename: &str,
    dist: &[u8],
    root: &TrustedRoot,
    policy: &Policy,
) -> Result<Verified, SigstoreError> {
    verify_attestation_of(att, filename, super::keys::sha256(dist), root, policy)
}

/// [`verify_attestation`] for a distribution known by its SHA-256 (a
/// launcher that installed it with `--require-hashes`).
pub fn verify_attestation_of(
    att: &Value,
    filename: &str,
    sha256: [u8; 32],
    root: &TrustedRoot,
    policy: &Policy,
) -> Result<Verified, SigstoreError> {
    let bundle =
        serde_json::to_vec(&attestation_to_bundle(att)?).map_err(|e| malformed(&e.to_string()))?;
    let verified = verify_bundle(&bundle, Artifact::Sha256(sha256), root, policy)?;
    let digest = super::keys::hex(&sha256);
    let named = verified.statement.as_ref().is_some_and(|s| {
        s.subject
            .iter()
            .any(|sub| sub.name == filename && sub.digest.get("sha256") == Some(&digest))
    });
    if !named {
        return Err(SigstoreError::ArtifactMismatch(format!(
            "the attestation's subject is not {filename} with its sha256"
        )));
    }
    Ok(verified)
}

/// Verifies every attestation of a provenance object (PyPI integrity API);
/// at least one is required.
pub fn verify_provenance(
    provenance: &[u8],
    filename: &str,
    dist: &[u8],
    root: &TrustedRoot,
    policy: &Policy,
) -> Result<Vec<Verified>, SigstoreError> {
    verify_provenance_of(
        provenance,
        filename,
        super::keys::sha256(dist),
        root,
        policy,
    )
}

/// [`verify_provenance`] for a distribution known by its SHA-256.
pub fn verify_provenance_of(
    provenance: &[u8],
    filename: &str,
    sha256: [u8; 32],
    root: &TrustedRoot,
    policy: &Policy,
) -> Result<Vec<Verified>, SigstoreError> {
    let doc: Value = serde_json::from_slice(provenance).map_err(|e| malformed(&e.to_string()))?;
    let bundles = doc
        .get("attestation_bundles")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("no attestation_bundles"))?;
    let mut out = Vec::new();
    for b in bundles {
        for att in b
            .get("attestations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(verify_attestation_of(att, filename, sha256, root, policy)?);
        }
    }
    if out.is_empty() {
        return Err(malformed("no attestations"));
    }
    Ok(out)
}
