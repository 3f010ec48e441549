//! npm: registry signatures (`dist.signatures`, as `npm audit signatures`
//! checks them) and the attestations the registry serves for a version
//! (`GET /-/npm/v1/attestations/<name>@<version>`): SLSA provenance signed
//! by a Fulcio certificate, and the publish attestation signed by the
//! registry's own key.

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::error::SigstoreError;
use super::keys::{hex, sha512, PublicKey};
use super::root::TrustedRoot;
use super::time::{format, parse_rfc3339};
use super::verify::{verify_bundle, Artifact, IdentityRule, Policy, Signer, Verified};

/// A registry signing key (`GET /-/npm/v1/keys`).
#[derive(Debug, Clone)]
pub struct RegistryKey {
    pub keyid: String,
    pub key: PublicKey,
    /// After this instant the key signs nothing new (Unix seconds).
    pub expires: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct RegistryKeys(pub Vec<RegistryKey>);

#[derive(Deserialize)]
struct KeysJson {
    keys: Vec<KeyJson>,
}

#[derive(Deserialize)]
struct KeyJson {
    keyid: String,
    #[serde(default)]
    expires: Option<String>,
    key: String,
}

fn key_err(m: String) -> SigstoreError {
    SigstoreError::RegistryKey(m)
}

/// The npm key ID: `SHA256:` + unpadded base64 of SHA-256 over the key's
/// OpenSSH wire form (`string "ecdsa-sha2-nistp256"`, `string "nistp256"`,
/// `string Q`, each length-prefixed, as `ssh-keygen -l` hashes it).
pub fn keyid(key: &PublicKey) -> Option<String> {
    let PublicKey::EcdsaP256 { point, .. } = key else {
        return None;
    };
    let mut blob = Vec::new();
    for part in [&b"ecdsa-sha2-nistp256"[..], b"nistp256", point] {
        blob.extend_from_slice(&u32::try_from(part.len()).ok()?.to_be_bytes());
        blob.extend_from_slice(part);
    }
    let digest = super::keys::sha256(&blob);
    Some(format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    ))
}

impl RegistryKeys {
    /// Reads the keys document; a key whose ID is not the hash of its key
    /// bytes is refused (a document cannot rename a key).
    pub fn from_json(json: &str) -> Result<Self, SigstoreError> {
        let doc: KeysJson =
            serde_json::from_str(json).map_err(|e| key_err(format!("keys document: {e}")))?;
        let mut keys = Vec::new();
        for k in doc.keys {
            let der = super::keys::b64("key", &k.key).map_err(|e| key_err(e.to_string()))?;
            let key =
                PublicKey::from_spki_der(&der).map_err(|e| key_err(format!("{}: {e}", k.keyid)))?;
            let computed = keyid(&key)
                .ok_or_else(|| key_err(format!("{}: not an ECDSA P-256 key", k.keyid)))?;
            if computed != k.keyid {
                return Err(key_err(format!(
                    "key {} hashes to {computed}, not its stated ID",
                    k.keyid
                )));
            }
            let expires = match k.expires.as_deref() {
                None => None,
                Some(e) => Some(
                    parse_rfc3339(e)
                        .ok_or_else(|| key_err(format!("{}: bad expiry {e:?}", k.keyid)))?,
                ),
            };
            keys.push(RegistryKey {
                keyid: k.keyid,
                key,
                expires,
            });
        }
        Ok(Self(keys))
    }

    pub fn get(&self, keyid: &str) -> Option<&RegistryKey> {
        self.0.iter().find(|k| k.keyid == keyid)
    }
}

impl RegistryKey {
    /// A key past its expiry still vouches for what was published before it.
    fn check_time(&self, published: Option<i64>) -> Result<(), SigstoreError> {
        match (self.expires, published) {
            (None, _) => Ok(()),
            (Some(exp), Some(p)) if p <= exp => Ok(()),
            (Some(exp), Some(p)) => Err(key_err(format!(
                "key {} expired at {} and the version was published later, at {}",
                self.keyid,
                format(exp),
                format(p)
            ))),
            (Some(exp), None) => Err(key_err(format!(
                "key {} expires at {} and the version's publish time is unknown",
                self.keyid,
                format(exp)
            ))),
        }
    }
}

/// One `dist.signatures` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct RegistrySignature {
    pub keyid: String,
    pub sig: String,
}

/// Verifies a version's registry signature: ECDSA P-256/SHA-256 over
/// `${name}@${version}:${integrity}`. `published` is the packument's
/// `time[version]`. Returns the key ID that verified.
pub fn verify_registry_signature(
    keys: &RegistryKeys,
    name: &str,
    version: &str,
    integrity: &str,
    signatures: &[RegistrySignature],
    published: Option<i64>,
) -> Result<String, SigstoreError> {
    if signatures.is_empty() {
        return Err(SigstoreError::MissingKey(format!(
            "{name}@{version} has no registry signature"
        )));
    }
    let message = format!("{name}@{version}:{integrity}");
    let mut last = None;
    for s in signatures {
        let Some(key) = keys.get(&s.keyid) else {
            last = Some(key_err(format!(
                "{name}@{version} is signed by key {}, which the registry keys do not list",
                s.keyid
            )));
            continue;
        };
        let sig = super::keys::b64("sig", &s.sig)?;
        if !key.key.verify(message.as_bytes(), &sig) {
            last = Some(SigstoreError::BadSignature(format!(
                "the registry signature by {} over {message} does not verify",
                s.keyid
            )));
            continue;
        }
        key.check_time(published)?;
        return Ok(s.keyid.clone());
    }
    Err(last.unwrap_or_else(|| key_err("no signature".into())))
}

/// The package URL npm attestations name: `pkg:npm/%40scope/name@version`.
pub fn purl(name: &str, version: &str) -> String {
    format!("pkg:npm/{}@{version}", name.replacen('@', "%40", 1))
}

/// The sha512 in an SRI `integrity` string (`sha512-<base64>`).
pub fn sri_sha512(integrity: &str) -> Result<[u8; 64], SigstoreError> {
    integrity
        .split_whitespace()
        .find_map(|part| part.strip_prefix("sha512-"))
        .and_then(|b| super::keys::b64("integrity", b).ok())
        .and_then(|d| <[u8; 64]>::try_from(d).ok())
        .ok_or_else(|| {
            SigstoreError::ArtifactMismatch(format!("integrity {integrity:?} has no sha512"))
        })
}

/// One verified attestation.
#[derive(Debug, Clone)]
pub struct VerifiedAttestation {
    pub predicate_type: String,
    pub verified: Verified,
}

/// Verifies every attestation of an attestations response for `name@version`
/// whose tarball has `sha512`. Provenance (keyless) bundles are held to
/// `provenance`; key-signed bundles must name a registry key (by
/// `publicKey.hint`), which must not have expired before the log time.
/// A DSSE signature that names a `keyid` must name a registry key: npm
/// treats such a signature as key-signed.
pub fn verify_attestations(
    json: &[u8],
    name: &str,
    version: &str,
    sha512_digest: [u8; 64],
    keys: &RegistryKeys,
    root: &TrustedRoot,
    provenance: &Policy,
) -> Result<Vec<VerifiedAttestation>, SigstoreError> {
    let doc: Value = serde_json::from_slice(json)
        .map_err(|e| SigstoreError::MalformedBundle(format!("attestations response: {e}")))?;
    let list = doc
        .get("attestations")
        .and_then(Value::as_array)
        .ok_or_else(|| SigstoreError::MalformedBundle("no attestations array".into()))?;
    if list.is_empty() {
        return Err(SigstoreError::MalformedBundle("no attestations".into()));
    }
    let want = purl(name, version);
    let mut out = Vec::new();
    for (i, att) in list.iter().enumerate() {
        let predicate_type = att
            .get("predicateType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let bundle = att.get("bundle").ok_or_else(|| {
            SigstoreError::MalformedBundle(format!("attestation {i} has no bundle"))
        })?;
        let named =
            |e: SigstoreError| rename(e, &format!("attestation {} ({predicate_type})", i + 1));
        let hint = bundle
            .pointer("/verificationMaterial/publicKey/hint")
            .and_then(Value::as_str);
        let sig_keyids: Vec<&str> = bundle
            .pointer("/dsseEnvelope/signatures")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .filter_map(|s| s.get("keyid").and_then(Value::as_str))
                    .filter(|k| !k.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for k in &sig_keyids {
            if keys.get(k).is_none() || hint.is_none() {
                return Err(named(key_err(format!(
                    "a signature names keyid {k} but no corresponding registry public key signed the bundle"
                ))));
            }
        }
        let registry_key = match hint {
            Some(h) => Some(
                keys.get(h)
                    .ok_or_else(|| named(key_err(format!("bundle key {h} is not a registry key")))),
            )
            .transpose()?,
            None => None,
        };
        let policy = match registry_key {
            Some(k) => Policy {
                now: provenance.now,
                ..Policy::with_key(k.key.clone())
            },
            None => provenance.clone(),
        };
        let bytes = serde_json::to_vec(bundle)
            .map_err(|e| SigstoreError::MalformedBundle(e.to_string()))?;
        let verified =
            verify_bundle(&bytes, Artifact::Sha512(sha512_digest), root, &policy).map_err(named)?;
        if let Some(k) = registry_key {
            k.check_time(Some(verified.signed_at)).map_err(named)?;
        }
        let digest = hex(&sha512_digest);
        let statement = verified.statement.as_ref();
        let named_right = statement.is_some_and(|s| {
            s.subject.iter().any(|sub| {
                sub.name == want
                    && sub
                        .digest
                        .get("sha512")
                        .is_some_and(|d| d.eq_ignore_ascii_case(&digest))
            })
        });
        if !named_right {
            let names: Vec<&str> = statement
                .map(|s| s.subject.iter().map(|x| x.name.as_str()).collect())
                .unwrap_or_default();
            return Err(named(SigstoreError::ArtifactMismatch(format!(
                "the statement's subject {names:?} is not {want} with the tarball's sha512"
            ))));
        }
        out.push(VerifiedAttestation {
            predicate_type,
            verified,
        });
    }
    // A provenance constraint (who built it, from which repository) is met
    // only by a provenance attestation: the registry's publish attestation
    // says nothing about the source.
    let constrained = !matches!(provenance.identity, IdentityRule::Any)
        || provenance.issuer.is_some()
        || provenance.repository.is_some()
        || provenance.git_ref.is_some()
        || provenance.workflow.is_some();
    let has_provenance = out
        .iter()
        .any(|a| matches!(a.verified.signer, Signer::Certificate { .. }));
    if constrained && !has_provenance {
        return Err(SigstoreError::ClaimMismatch {
            claim: "provenance",
            found: "(no provenance attestation)".into(),
            required: provenance
                .repository
                .clone()
                .unwrap_or_else(|| "a provenance attestation".into()),
        });
    }
    Ok(out)
}

/// Verifies a tarball against its SRI integrity.
pub fn check_tarball(tarball: &[u8], integrity: &str) -> Result<[u8; 64], SigstoreError> {
    let want = sri_sha512(integrity)?;
    if sha512(tarball) != want {
        return Err(SigstoreError::ArtifactMismatch(
            "the tarball's sha512 is not the registry integrity".into(),
        ));
    }
    Ok(want)
}

/// Prefixes an error's message with where it came from, keeping its category.
fn rename(e: SigstoreError, prefix: &str) -> SigstoreError {
    use SigstoreError::*;
    match e {
        MalformedBundle(m) => MalformedBundle(format!("{prefix}: {m}")),
        ArtifactMismatch(m) => ArtifactMismatch(format!("{prefix}: {m}")),
        BadSignature(m) => BadSignature(format!("{prefix}: {m}")),
        RegistryKey(m) => RegistryKey(format!("{prefix}: {m}")),
        EntryMismatch(m) => EntryMismatch(format!("{prefix}: {m}")),
        Unsupported(m) => Unsupported(format!("{prefix}: {m}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purl_escapes_the_scope() {
        assert_eq!(purl("@scope/pkg", "1.0.0"), "pkg:npm/%40scope/pkg@1.0.0");
        assert_eq!(purl("sigstore", "1.0.0"), "pkg:npm/sigstore@1.0.0");
    }

    #[test]
    fn expired_key_still_vouches_for_earlier_versions() {
        let pem_key = PublicKey::Ed25519 {
            key: vec![0; 32],
            spki: vec![],
        };
        let k = RegistryKey {
            keyid: "k".into(),
            key: pem_key,
            expires: Some(100),
        };
        assert!(k.check_time(Some(100)).is_ok());
        assert!(matches!(
            k.check_time(Some(101)),
            Err(SigstoreError::RegistryKey(_))
        ));
        assert!(k.check_time(None).is_err());
    }
}
