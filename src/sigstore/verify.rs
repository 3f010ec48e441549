//! The verification policy and the order of checks for one bundle.
//!
//! Order (each step relies on the ones before it):
//! 1. the bundle parses and has a known media type;
//! 2. the transparency-log entry comes from a log of the trusted root; the
//!    signed time comes from its SET (the integrated time) and/or RFC 3161
//!    timestamps by a TSA of the root (Rekor v2 entries have only those);
//!    every one given must verify; the inclusion proof leads to a checkpoint
//!    the log signed (required from v0.2 on, checked whenever present); no
//!    time is in the future or outside the log key's validity;
//! 3. the certificate was valid at every such time, chains to a Fulcio CA the
//!    root trusted at that time, and carries an SCT from a CT log of the
//!    root (or, for a key-signed bundle, the caller supplied the key);
//! 4. the signature: over the artifact (message signature) or over the DSSE
//!    envelope, whose statement must name the artifact's digest;
//! 5. the log entry is about exactly this signature, signer and digest;
//! 6. the certificate's identity, issuer and workflow claims meet the policy.

use regex::Regex;

use super::bundle::{Bundle, SigningMaterial, Version};
use super::dsse::{verify_envelope, Statement};
use super::error::SigstoreError;
use super::keys::{b64, hex, sha256, sha512, PublicKey};
use super::rekor::{check_body, verify_inclusion, verify_set, Signed};
use super::root::TrustedRoot;
use super::sct::verify_embedded_sct;
use super::time::format;
use super::tsa::verify_token;
use super::x509::{verify_chain, Claims, SigningCertificate};

/// How far in the future an integrated time may be (clock skew).
const FUTURE_SKEW_SECS: i64 = 60;

/// Who must have signed: the certificate's SAN (email or URI).
#[derive(Debug, Clone)]
pub enum IdentityRule {
    /// Exactly this SAN.
    Exact(String),
    /// A SAN matching this regular expression (anchored by the caller if
    /// wanted: `^…$`).
    Regex(Regex),
    /// Any identity. Only for callers that check the claims themselves
    /// (e.g. a required source repository); never the CLI default.
    Any,
}

/// What a bundle must satisfy besides being cryptographically sound.
#[derive(Debug, Clone)]
pub struct Policy {
    pub identity: IdentityRule,
    /// The required OIDC issuer (certificate extension 1.3.6.1.4.1.57264.1.8).
    pub issuer: Option<String>,
    /// The required source repository URI (extension .1.12), e.g.
    /// `https://github.com/modelcontextprotocol/servers`.
    pub repository: Option<String>,
    /// The required source ref (extension .1.14), e.g. `refs/tags/v1.0.0`.
    pub git_ref: Option<String>,
    /// The required workflow, as its path in the repository
    /// (`.github/workflows/release.yml`): the build signer URI (.1.9) must
    /// name it before its `@ref`.
    pub workflow: Option<String>,
    /// For key-signed bundles (npm publish attestations, managed keys): the key.
    pub key: Option<PublicKey>,
    /// The verifier's clock (Unix seconds); `None` is now.
    pub now: Option<i64>,
}

impl Policy {
    pub fn new(identity: IdentityRule) -> Self {
        Self {
            identity,
            issuer: None,
            repository: None,
            git_ref: None,
            workflow: None,
            key: None,
            now: None,
        }
    }

    /// A policy for key-signed bundles only.
    pub fn with_key(key: PublicKey) -> Self {
        Self {
            key: Some(key),
            ..Self::new(IdentityRule::Any)
        }
    }
}

/// What is being verified: the artifact itself or its digest.
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    Bytes(&'a [u8]),
    Sha256([u8; 32]),
    Sha512([u8; 64]),
}

/// Who signed, once verified.
#[derive(Debug, Clone)]
pub enum Signer {
    Certificate {
        /// The SAN.
        identity: String,
        claims: Box<Claims>,
        /// The Fulcio CA the path went through.
        ca: String,
    },
    Key {
        hint: String,
    },
}

#[derive(Debug, Clone)]
pub struct Verified {
    pub signer: Signer,
    /// The signed time (the log's integrated time), Unix seconds.
    pub signed_at: i64,
    pub log_url: String,
    pub log_index: i64,
    /// For DSSE bundles, the verified in-toto statement.
    pub statement: Option<Statement>,
}

impl Verified {
    /// One line: who signed, when, where it is logged.
    pub fn describe(&self) -> String {
        let who = match &self.signer {
            Signer::Certificate {
                identity,
                claims,
                ca,
            } => format!(
                "{identity} (issuer {}, CA {ca})",
                claims.issuer.as_deref().unwrap_or("unknown")
            ),
            Signer::Key { hint } => format!("key {hint}"),
        };
        format!(
            "signed by {who} at {}, logged in {} entry {}",
            format(self.signed_at),
            self.log_url,
            self.log_index
        )
    }
}

/// Verifies one bundle (JSON bytes) for `artifact` under `policy`.
pub fn verify_bundle(
    json: &[u8],
    artifact: Artifact<'_>,
    root: &TrustedRoot,
    policy: &Policy,
) -> Result<Verified, SigstoreError> {
    // 1. Shape.
    let bundle = Bundle::parse(json)?;
    let material = bundle.signing_material()?;

    // 2. The transparency log entry and the signed time.
    let [entry] = bundle.verification_material.tlog_entries.as_slice() else {
        let n = bundle.verification_material.tlog_entries.len();
        return Err(if n == 0 {
            SigstoreError::InclusionProof("the bundle has no transparency log entry".into())
        } else {
            SigstoreError::Unsupported(format!("{n} transparency log entries (one is supported)"))
        });
    };
    let log_id = b64("logId.keyId", &entry.log_id.key_id)?;
    let log = root
        .tlog(&log_id)
        .ok_or_else(|| SigstoreError::UnknownLogKey(entry.log_id.key_id.clone()))?;
    let body = b64("canonicalizedBody", &entry.canonicalized_body)?;
    // The signed time: the SET's integrated time and/or the time of every
    // RFC 3161 timestamp (all must verify against the root's TSAs).
    let signature_bytes = match (&bundle.message_signature, &bundle.dsse_envelope) {
        (Some(ms), _) => b64("messageSignature.signature", &ms.signature)?,
        (None, Some(env)) => match env.signatures.first() {
            Some(s) => b64("dsseEnvelope.signatures[0].sig", &s.sig)?,
            None => Vec::new(),
        },
        (None, None) => Vec::new(),
    };
    let mut times = Vec::new();
    if let (Some(t), Some(_)) = (entry.integrated_time, &entry.inclusion_promise) {
        if t > 0 {
            verify_set(entry, log, t)?;
            times.push((t, "the log integrated the entry".to_string()));
        }
    }
    if let Some(data) = &bundle.verification_material.timestamp_verification_data {
        for (i, ts) in data.rfc3161_timestamps.iter().enumerate() {
            let raw = ts
                .get("signedTimestamp")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            let t = verify_token(&b64("signedTimestamp", raw)?, &signature_bytes, &root.tsas)
                .map_err(|e| match e {
                    SigstoreError::Timestamp(m) => {
                        SigstoreError::Timestamp(format!("timestamp {}: {m}", i + 1))
                    }
                    other => other,
                })?;
            times.push((t, format!("timestamp {} was issued", i + 1)));
        }
    }
    let Some(signed_at) = times.first().map(|(t, _)| *t) else {
        return Err(SigstoreError::NoSignedTime(
            "the log entry has no signed entry timestamp and the bundle no timestamp".into(),
        ));
    };
    match (&entry.inclusion_proof, bundle.version()) {
        (Some(proof), _) => verify_inclusion(entry, proof, &body, log)?,
        (None, Version::V01) => {}
        (None, _) => {
            return Err(SigstoreError::InclusionProof(
                "a v0.2+ bundle must carry an inclusion proof".into(),
            ))
        }
    }
    let now = policy.now.unwrap_or_else(super::time::now);
    if let Some((future, _)) = times.iter().find(|(t, _)| *t > now + FUTURE_SKEW_SECS) {
        let signed_at = *future;
        return Err(SigstoreError::FutureTime(format!(
            "integrated {}, now {}",
            format(signed_at),
            format(now)
        )));
    }
    if let Some((t, _)) = times.iter().find(|(t, _)| !log.valid.contains(*t)) {
        let signed_at = *t;
        return Err(SigstoreError::LogKeyNotValid {
            key: entry.log_id.key_id.clone(),
            time: format(signed_at),
        });
    }

    // 3. The signer at that time.
    let (key, signer, signer_der, cert) = match material {
        SigningMaterial::Certificate { leaf, rest } => {
            let cert = SigningCertificate::parse(&leaf)?;
            for (t, what) in &times {
                cert.check_time(*t, what)?;
            }
            let (ca, issuer_spki) = verify_chain(&leaf, &rest, &root.cas, signed_at)?;
            // A root without CT logs (a private deployment) cannot ask for SCTs.
            if !root.ctlogs.is_empty() {
                verify_embedded_sct(&leaf, &issuer_spki, &root.ctlogs)?;
            }
            let identity = cert.sans.first().cloned().unwrap_or_default();
            let signer = Signer::Certificate {
                identity,
                claims: Box::new(cert.claims.clone()),
                ca,
            };
            (cert.key.clone(), signer, leaf, Some(cert))
        }
        SigningMaterial::Key { hint } => {
            let key = policy.key.clone().ok_or_else(|| {
                SigstoreError::MissingKey(format!(
                    "the bundle is signed by key {hint:?}; no key was given"
                ))
            })?;
            let der = key.spki_der().to_vec();
            (key, Signer::Key { hint }, der, None)
        }
    };

    // 4. The signature, and 5. the log entry records exactly it.
    let statement = match (&bundle.message_signature, &bundle.dsse_envelope) {
        (Some(ms), _) => {
            let Artifact::Bytes(bytes) = artifact else {
                return Err(SigstoreError::Unsupported(
                    "a message signature is checked against the artifact itself, not a digest (ring verifies ECDSA over a message)".into(),
                ));
            };
            let digest = sha256(bytes);
            if let Some(md) = &ms.message_digest {
                if md.algorithm != "SHA2_256" || b64("messageDigest.digest", &md.digest)? != digest
                {
                    return Err(SigstoreError::ArtifactMismatch(format!(
                        "its sha256 {} is not the signed digest",
                        hex(&digest)
                    )));
                }
            }
            let signature = b64("messageSignature.signature", &ms.signature)?;
            if !key.verify(bytes, &signature) {
                return Err(SigstoreError::BadSignature(
                    "the signature over the artifact does not verify with the signer's key".into(),
                ));
            }
            check_body(
                entry,
                &body,
                &Signed::Message {
                    digest,
                    signature: &signature,
                },
                &signer_der,
            )?;
            None
        }
        (None, Some(envelope)) => {
            let payload = verify_envelope(envelope, &key)?;
            check_body(
                entry,
                &body,
                &Signed::Dsse {
                    envelope,
                    payload: &payload,
                },
                &signer_der,
            )?;
            let statement = Statement::parse(&envelope.payload_type, &payload)?;
            let (alg, digest) = match artifact {
                Artifact::Bytes(b) => {
                    if statement.has_digest("sha512", &hex(&sha512(b))) {
                        ("sha512", hex(&sha512(b)))
                    } else {
                        ("sha256", hex(&sha256(b)))
                    }
                }
                Artifact::Sha256(d) => ("sha256", hex(&d)),
                Artifact::Sha512(d) => ("sha512", hex(&d)),
            };
            if !statement.has_digest(alg, &digest) {
                return Err(SigstoreError::ArtifactMismatch(format!(
                    "no subject of the statement has its {alg} digest {digest}"
                )));
            }
            Some(statement)
        }
        (None, None) => return Err(SigstoreError::MalformedBundle("no signature".into())),
    };

    // 6. Identity.
    if let Some(cert) = &cert {
        check_identity(cert, policy)?;
    }
    Ok(Verified {
        signer,
        signed_at,
        log_url: log.base_url.clone(),
        log_index: entry.log_index,
        statement,
    })
}

/// The policy's identity, issuer and claim constraints.
pub fn check_identity(cert: &SigningCertificate, policy: &Policy) -> Result<(), SigstoreError> {
    let found = cert.sans.join(", ");
    let ok = match &policy.identity {
        IdentityRule::Exact(want) => cert.sans.iter().any(|s| s == want),
        IdentityRule::Regex(re) => cert.sans.iter().any(|s| re.is_match(s)),
        IdentityRule::Any => true,
    };
    if !ok {
        let required = match &policy.identity {
            IdentityRule::Exact(w) => w.clone(),
            IdentityRule::Regex(r) => format!("/{}/", r.as_str()),
            IdentityRule::Any => String::new(),
        };
        return Err(SigstoreError::IdentityMismatch { found, required });
    }
    let claims = &cert.claims;
    if let Some(want) = &policy.issuer {
        if claims.issuer.as_deref() != Some(want.as_str()) {
            return Err(SigstoreError::IssuerMismatch {
                found: claims.issuer.clone().unwrap_or_else(|| "(none)".into()),
                required: want.clone(),
            });
        }
    }
    let claim = |name: &'static str, found: &Option<String>, want: &Option<String>| match want {
        Some(w) if found.as_deref() != Some(w.as_str()) => Err(SigstoreError::ClaimMismatch {
            claim: name,
            found: found.clone().unwrap_or_else(|| "(none)".into()),
            required: w.clone(),
        }),
        _ => Ok(()),
    };
    claim(
        "source repository",
        &claims.source_repository,
        &policy.repository,
    )?;
    claim("source ref", &claims.source_ref, &policy.git_ref)?;
    if let Some(wf) = &policy.workflow {
        // Certificates from before Fulcio recorded the build signer (.1.9)
        // carry it as their identity: for GitHub Actions the SAN is the
        // job's workflow ref, `https://github.com/O/R/.github/workflows/W@REF`.
        let legacy = claims.build_signer_uri.is_none()
            && claims.issuer.as_deref() == Some("https://token.actions.githubusercontent.com");
        let signer = match &claims.build_signer_uri {
            Some(s) => s.as_str(),
            None if legacy => cert
                .sans
                .iter()
                .find(|s| s.starts_with("https://github.com/"))
                .map(String::as_str)
                .unwrap_or_default(),
            None => "",
        };
        let path = signer.split('@').next().unwrap_or_default();
        if !path.ends_with(&format!("/{}", wf.trim_start_matches('/'))) {
            return Err(SigstoreError::ClaimMismatch {
                claim: "workflow",
                found: if signer.is_empty() {
                    "(none)".into()
                } else {
                    signer.to_string()
                },
                required: wf.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signing certificate of the conformance happy path (GitHub Actions).
    fn beacon_cert() -> SigningCertificate {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/trust/sigstore/conformance/happy-path-v0.3/bundle.sigstore.json"
        );
        let bundle = Bundle::parse(&std::fs::read(path).unwrap()).unwrap();
        let SigningMaterial::Certificate { leaf, .. } = bundle.signing_material().unwrap() else {
            panic!("not a certificate bundle")
        };
        SigningCertificate::parse(&leaf).unwrap()
    }

    const REPO: &str =
        "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon";

    #[test]
    fn identity_policy_checks_san_issuer_and_workflow_claims() {
        let cert = beacon_cert();
        assert_eq!(cert.claims.source_repository.as_deref(), Some(REPO));
        assert_eq!(cert.claims.source_ref.as_deref(), Some("refs/heads/main"));
        let mut p = Policy::new(IdentityRule::Regex(
            Regex::new(&format!("^{REPO}/")).unwrap(),
        ));
        p.issuer = Some("https://token.actions.githubusercontent.com".into());
        p.repository = Some(REPO.into());
        p.git_ref = Some("refs/heads/main".into());
        p.workflow = Some(".github/workflows/extremely-dangerous-oidc-beacon.yml".into());
        check_identity(&cert, &p).unwrap();

        let mut wrong_ref = p.clone();
        wrong_ref.git_ref = Some("refs/tags/v1".into());
        assert!(matches!(
            check_identity(&cert, &wrong_ref),
            Err(SigstoreError::ClaimMismatch {
                claim: "source ref",
                ..
            })
        ));
        // A workflow whose path merely ends the same way is another workflow.
        let mut lookalike = p.clone();
        lookalike.workflow = Some("oidc-beacon.yml".into());
        assert!(check_identity(&cert, &lookalike).is_err());
        let mut anchored = p;
        anchored.identity =
            IdentityRule::Regex(Regex::new("^https://github.com/sigstore/").unwrap());
        assert!(matches!(
            check_identity(&cert, &anchored),
            Err(SigstoreError::IdentityMismatch { .. })
        ));
    }

    #[test]
    fn certificate_time_window_is_inclusive_and_says_which_side_failed() {
        let cert = beacon_cert();
        cert.check_time(cert.not_before, "x").unwrap();
        cert.check_time(cert.not_after, "x").unwrap();
        let late = cert
            .check_time(cert.not_after + 1, "the log integrated the entry")
            .unwrap_err();
        assert!(
            late.to_string()
                .starts_with("the certificate expired before the log integrated the entry"),
            "{late}"
        );
        let early = cert.check_time(cert.not_before - 1, "x").unwrap_err();
        assert!(early.to_string().contains("not yet valid"), "{early}");
    }
}
