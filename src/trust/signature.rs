//! Detached signature documents (`*.sig.json`) and what they sign.
//!
//! A signature document is `{version, algorithm, key_id, manifest_sha256,
//! signature}`. The Ed25519 signature covers the *signed bytes* themselves
//! (not their digest, as the original does); `manifest_sha256` is the hex
//! SHA-256 of the same bytes, checked first so a changed document gets a
//! clear reason. Which bytes are signed is the [`View`]:
//!
//! - `json`: the canonical JSON of the whole document;
//! - `file`: the file's raw bytes (any file: a tarball, a rule file);
//! - `rules-manifest`, `server-manifest`, `capability-baseline`: the
//!   canonical JSON of the fields the original signs for that kind of
//!   document (its `canonicalize_*` functions), so its signatures verify.

use super::canonical::Json;
use super::key::{SignerDoc, SigningKey, ALGORITHM, VERSION};
use super::store::{Purpose, TrustStore};
use super::{sha256_hex, TrustError};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Which bytes of a document a signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
    /// Canonical JSON of the whole document.
    Json,
    /// The raw bytes of the file.
    File,
    /// `{"version", "rules"}` of a rule-pack manifest (the original's
    /// `canonicalize_manifest`; `rules` must be a non-empty object).
    RulesManifest,
    /// `{"version", "command", "executable", "runtime", "trust"}` (the
    /// original's `canonicalize_server_manifest`; a missing or empty field is `{}`).
    ServerManifest,
    /// `{"version", "initialize", "tools"}` (the original's
    /// `canonicalize_capability_manifest`; a missing field is `null`).
    CapabilityBaseline,
}

impl View {
    /// The view a purpose uses when none is given: the original's for its
    /// documents, the whole document for provenance.
    pub fn for_purpose(p: Purpose) -> View {
        match p {
            Purpose::Rules => View::RulesManifest,
            Purpose::Manifest => View::ServerManifest,
            Purpose::Baseline => View::CapabilityBaseline,
            Purpose::Provenance => View::Json,
        }
    }

    /// The view for `doc` under `purpose` when none is named: vanguard's
    /// own documents (a `kind` that starts with `vanguard-`: manifests and
    /// baselines from `vanguard manifest|baseline create`) are signed whole,
    /// so no field goes unsigned; the original's by its own view.
    pub fn for_document(purpose: Option<Purpose>, doc: &[u8]) -> View {
        let ours = serde_json::from_slice::<serde_json::Value>(doc)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
            .is_some_and(|k| k.starts_with("vanguard-"));
        match purpose {
            _ if ours => View::Json,
            Some(p) => View::for_purpose(p),
            None => View::Json,
        }
    }

    /// The bytes this view signs of `doc` (the file's contents); `what`
    /// names the document in errors.
    pub fn signed_bytes(self, doc: &[u8], what: &str) -> Result<Vec<u8>, TrustError> {
        if self == View::File {
            return Ok(doc.to_vec());
        }
        let json = Json::parse(doc, what)?;
        if self == View::Json {
            return Ok(json.canonical());
        }
        let Json::Object(obj) = json else {
            return Err(TrustError::field(
                what,
                "(document)",
                "is not a JSON object",
            ));
        };
        let mut out = BTreeMap::new();
        out.insert("version".to_string(), python_int(obj.get("version"), what)?);
        match self {
            View::RulesManifest => match obj.get("rules") {
                Some(r @ Json::Object(m)) if !m.is_empty() => {
                    out.insert("rules".into(), r.clone());
                }
                _ => {
                    return Err(TrustError::field(
                        what,
                        "rules",
                        "missing, or not a non-empty object",
                    ))
                }
            },
            View::ServerManifest => {
                for f in ["command", "executable", "runtime", "trust"] {
                    let v = obj.get(f).filter(|v| v.is_truthy()).cloned();
                    out.insert(f.into(), v.unwrap_or(Json::Object(BTreeMap::new())));
                }
            }
            View::CapabilityBaseline => {
                for f in ["initialize", "tools"] {
                    out.insert(f.into(), obj.get(f).cloned().unwrap_or(Json::Null));
                }
            }
            View::Json | View::File => {}
        }
        Ok(Json::Object(out).canonical())
    }
}

/// `int(manifest.get("version", 1))` as Python computes it.
fn python_int(v: Option<&Json>, what: &str) -> Result<Json, TrustError> {
    let bad = |m: &str| TrustError::field(what, "version", m);
    let n: i128 = match v {
        None => 1,
        Some(Json::Int(d)) => return Ok(Json::Int(d.clone())),
        Some(Json::Bool(b)) => i128::from(*b),
        Some(Json::Float(f)) if f.is_finite() => f.trunc() as i128,
        Some(Json::Str(s)) => s
            .trim()
            .parse::<i128>()
            .map_err(|_| bad("is a string that is not an integer"))?,
        Some(_) => return Err(bad("is not a number")),
    };
    Ok(Json::Int(n.to_string()))
}

/// A detached signature, as the original writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureDoc {
    pub version: u32,
    pub algorithm: String,
    pub key_id: String,
    /// Hex SHA-256 of the signed bytes.
    pub manifest_sha256: String,
    /// Base64 of the 64-byte Ed25519 signature over the signed bytes.
    pub signature: String,
}

/// Who signed a document that verified.
#[derive(Debug, Clone)]
pub struct Verified {
    pub key_id: String,
    /// Where the signer came from (a file, or "inline in PROFILE").
    pub source: String,
    pub not_after: Option<String>,
    pub sha256: String,
}

impl SignatureDoc {
    pub fn read(path: &Path) -> Result<SignatureDoc, TrustError> {
        let text = std::fs::read(path).map_err(|e| TrustError::io(path, e))?;
        serde_json::from_slice(&text).map_err(|e| TrustError::Json {
            what: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Signs `signed` (the bytes a [`View`] chose).
    pub fn sign(key: &SigningKey, key_id: &str, signed: &[u8]) -> SignatureDoc {
        SignatureDoc {
            version: VERSION,
            algorithm: ALGORITHM.into(),
            key_id: key_id.to_string(),
            manifest_sha256: sha256_hex(signed),
            signature: base64::engine::general_purpose::STANDARD.encode(key.sign(signed)),
        }
    }

    /// Pretty JSON with a final newline, as the original writes it.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Verifies against the signers `store` trusts for `purpose`, at `now`
    /// (seconds since the epoch). `what` names the document in errors.
    pub fn verify(
        &self,
        signed: &[u8],
        store: &TrustStore,
        purpose: Purpose,
        now: u64,
        what: &str,
    ) -> Result<Verified, TrustError> {
        super::key::check_header(self.version, &self.algorithm, what)?;
        let signer = store.signer(purpose, &self.key_id, now)?;
        self.verify_with(signed, &signer.doc, what)?;
        Ok(Verified {
            key_id: self.key_id.clone(),
            source: signer.source.clone(),
            not_after: signer.not_after.clone(),
            sha256: self.manifest_sha256.clone(),
        })
    }

    /// Verifies against one signer document, with no store and no expiry.
    pub fn verify_with(
        &self,
        signed: &[u8],
        signer: &SignerDoc,
        what: &str,
    ) -> Result<(), TrustError> {
        if self.key_id != signer.key_id {
            return Err(TrustError::field(
                what,
                "key_id",
                format!("{:?} is not the signer's {:?}", self.key_id, signer.key_id),
            ));
        }
        let actual = sha256_hex(signed);
        if self.manifest_sha256 != actual {
            return Err(TrustError::DigestMismatch {
                what: what.to_string(),
                expected: self.manifest_sha256.clone(),
                actual,
            });
        }
        let public = signer.public_key_bytes(&signer.key_id)?;
        let sig = base64::engine::general_purpose::STANDARD
            .decode(self.signature.as_bytes())
            .map_err(|e| TrustError::field(what, "signature", format!("not base64: {e}")))?;
        if sig.len() != 64 {
            return Err(TrustError::field(
                what,
                "signature",
                format!("decodes to {} bytes, not 64", sig.len()),
            ));
        }
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public)
            .verify(signed, &sig)
            .map_err(|_| TrustError::BadSignature {
                what: what.to_string(),
                key_id: self.key_id.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::store::Signer;

    fn store_with(purpose: Purpose, doc: SignerDoc, not_after: Option<&str>) -> TrustStore {
        let mut s = TrustStore::default();
        s.add(
            purpose,
            Signer {
                doc,
                not_after: not_after.map(str::to_string),
                not_after_secs: not_after
                    .map(|d| crate::trust::store::parse_not_after(d, "t").unwrap()),
                source: "test".into(),
            },
        );
        s
    }

    const MANIFEST: &str =
        r#"{"version": 1, "created": "x", "rules": {"a.toml": {"sha256": "00"}}}"#;
    const NOW: u64 = 1_800_000_000;

    #[test]
    fn round_trip_and_tamper() {
        let k = SigningKey::generate().unwrap();
        let signer = k.signer_doc(Some("ops-1"));
        let bytes = View::RulesManifest
            .signed_bytes(MANIFEST.as_bytes(), "m")
            .unwrap();
        assert_eq!(
            bytes,
            br#"{"rules":{"a.toml":{"sha256":"00"}},"version":1}"#
        );
        let sig = SignatureDoc::sign(&k, "ops-1", &bytes);
        let store = store_with(Purpose::Rules, signer.clone(), None);
        let v = sig
            .verify(&bytes, &store, Purpose::Rules, NOW, "m")
            .unwrap();
        assert_eq!(v.key_id, "ops-1");

        // A changed document: the digest no longer matches.
        let changed = MANIFEST.replace("\"00\"", "\"01\"");
        let bytes2 = View::RulesManifest
            .signed_bytes(changed.as_bytes(), "m")
            .unwrap();
        let e = sig
            .verify(&bytes2, &store, Purpose::Rules, NOW, "m")
            .unwrap_err();
        assert!(matches!(e, TrustError::DigestMismatch { .. }), "{e}");

        // A forged digest: the signature itself fails.
        let mut forged = sig.clone();
        forged.manifest_sha256 = sha256_hex(&bytes2);
        let e = forged
            .verify(&bytes2, &store, Purpose::Rules, NOW, "m")
            .unwrap_err();
        assert!(matches!(e, TrustError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn wrong_key_id_wrong_purpose_and_expired_are_refused() {
        let k = SigningKey::generate().unwrap();
        let bytes = b"raw file bytes".to_vec();
        let sig = SignatureDoc::sign(&k, "ops-1", &bytes);

        let other = store_with(Purpose::Rules, k.signer_doc(Some("ops-2")), None);
        let e = sig
            .verify(&bytes, &other, Purpose::Rules, NOW, "f")
            .unwrap_err();
        assert!(
            matches!(&e, TrustError::Untrusted { key_id, .. } if key_id == "ops-1"),
            "{e}"
        );

        let for_manifests = store_with(Purpose::Manifest, k.signer_doc(Some("ops-1")), None);
        let e = sig
            .verify(&bytes, &for_manifests, Purpose::Rules, NOW, "f")
            .unwrap_err();
        assert!(matches!(e, TrustError::Untrusted { .. }), "{e}");

        // 1_800_000_000 is 2027-01-15; a key valid through 2026-12-31 is expired.
        let expired = store_with(
            Purpose::Rules,
            k.signer_doc(Some("ops-1")),
            Some("2026-12-31"),
        );
        let e = sig
            .verify(&bytes, &expired, Purpose::Rules, NOW, "f")
            .unwrap_err();
        assert!(
            matches!(&e, TrustError::Expired { not_after, .. } if not_after == "2026-12-31"),
            "{e}"
        );
        let valid = store_with(
            Purpose::Rules,
            k.signer_doc(Some("ops-1")),
            Some("2027-01-15"),
        );
        sig.verify(&bytes, &valid, Purpose::Rules, NOW, "f")
            .unwrap();

        // Another key under the same id: the signature fails.
        let impostor = SigningKey::generate().unwrap();
        let wrong = store_with(Purpose::Rules, impostor.signer_doc(Some("ops-1")), None);
        let e = sig
            .verify(&bytes, &wrong, Purpose::Rules, NOW, "f")
            .unwrap_err();
        assert!(matches!(e, TrustError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn original_projections() {
        let doc = br#"{"version": "2", "command": [], "runtime": {"node": "22"}, "extra": 1}"#;
        let b = View::ServerManifest.signed_bytes(doc, "d").unwrap();
        assert_eq!(
            b,
            br#"{"command":{},"executable":{},"runtime":{"node":"22"},"trust":{},"version":2}"#
        );
        let b = View::CapabilityBaseline
            .signed_bytes(br#"{"tools": []}"#, "d")
            .unwrap();
        assert_eq!(b, br#"{"initialize":null,"tools":[],"version":1}"#);
        assert!(View::RulesManifest
            .signed_bytes(br#"{"rules": {}}"#, "d")
            .is_err());
    }
}
